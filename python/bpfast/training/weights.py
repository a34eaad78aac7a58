"""Network weights: n2p2's ``weights.ZZZ.data`` files and their initialisation.

A network is a list of layers ``(W, b)``: W has shape (n_in, n_out) (rows = source
neurons) and y = f(x W + b), as in ``docs/n2p2-format.md`` §7. The file lists, layer
by layer, the weights with the source neuron outer and the target neuron inner, then
the layer's biases; n2p2's annotation columns follow each value.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from .. import _core
from ..errors import FormatError
from .settings import Settings

__all__ = ["initialize_weights", "read_weights", "weights_file_name", "write_weights"]

Layer = Tuple[np.ndarray, np.ndarray]
PathLike = Union[str, "os.PathLike[str]"]

_HEADER = """\
################################################################################
# Neural network connection values (weights and biases).
################################################################################
# Col  Name       Description
################################################################################
# 1    connection Neural network connection value.
# 2    t          Connection type (a = weight, b = bias).
# 3    index      Index enumerating weights.
# 4    l_s        Starting point layer (end point layer for biases).
# 5    n_s        Starting point neuron in starting layer (end point neuron for biases).
# 6    l_e        End point layer.
# 7    n_e        End point neuron in end layer.
################################################################################
#                      1 2         3     4     5     6     7
#             connection t     index   l_s   n_s   l_e   n_e
############################################################
"""


def weights_file_name(element: str) -> str:
    """``weights.ZZZ.data`` with ZZZ the zero-padded atomic number of ``element``."""
    return f"weights.{_core.atomic_number(element):03d}.data"


def _check_layers(layers: Sequence[Layer]) -> None:
    n_prev = None
    for k, (w, b) in enumerate(layers, start=1):
        w, b = np.asarray(w), np.asarray(b)
        if w.ndim != 2 or b.shape != (w.shape[1],):
            raise ValueError(f"layer {k}: W must be (n_in, n_out) and b (n_out,), got "
                             f"{w.shape} and {b.shape}")
        if n_prev is not None and w.shape[0] != n_prev:
            raise ValueError(f"layer {k}: W has {w.shape[0]} rows, the previous layer has "
                             f"{n_prev} neurons")
        if not (np.isfinite(w).all() and np.isfinite(b).all()):
            raise ValueError(f"layer {k}: weights or biases are NaN or infinite")
        n_prev = w.shape[1]


def write_weights(path: PathLike, layers: Sequence[Layer]) -> Path:
    """Write one network as n2p2's ``weights.ZZZ.data`` (n2p2's header and columns)."""
    _check_layers(layers)
    lines = []
    index = 0
    for layer, (w, b) in enumerate(layers, start=1):
        w, b = np.asarray(w, dtype=np.float64), np.asarray(b, dtype=np.float64)
        for j in range(w.shape[0]):
            for k in range(w.shape[1]):
                index += 1
                lines.append(f"{w[j, k]:24.16E} a {index:9d} {layer - 1:5d} {j + 1:5d} "
                             f"{layer:5d} {k + 1:5d}")
        for k in range(w.shape[1]):
            index += 1
            lines.append(f"{b[k]:24.16E} b {index:9d} {layer:5d} {k + 1:5d}")
    p = Path(path)
    p.write_text(_HEADER + "\n".join(lines) + "\n")
    return p


def read_weights(path: PathLike, sizes: Sequence[int]) -> List[Layer]:
    """One network from a ``weights.ZZZ.data`` file, for the layer ``sizes``
    (inputs, hidden layers, output). Only the first column of non-comment lines is
    read, as n2p2 does; the count must match the architecture (FormatError otherwise).
    """
    p = Path(path)
    values = []
    for number, line in enumerate(p.read_text(errors="replace").splitlines(), start=1):
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        try:
            values.append(float(words[0].replace("d", "e").replace("D", "e")))
        except ValueError:
            raise FormatError(f"{p}:{number}: expected a weight in column 1, found "
                              f"{words[0]!r}", file=str(p), line=number) from None
    pairs = list(zip(sizes[:-1], sizes[1:]))
    expected = sum(a * b + b for a, b in pairs)
    if len(values) != expected:
        raise FormatError(f"{p}: expected {expected} weights and biases for the layer sizes "
                          f"{'-'.join(map(str, sizes))}, found {len(values)}", file=str(p))
    flat = np.array(values)
    layers, at = [], 0
    for n_in, n_out in pairs:
        w = flat[at:at + n_in * n_out].reshape(n_in, n_out)
        b = flat[at + n_in * n_out:at + n_in * n_out + n_out]
        layers.append((w.copy(), b.copy()))
        at += n_in * n_out + n_out
    return layers


def _layer_sizes(settings: Settings, element: str, n_inputs: Optional[int]) -> List[int]:
    sizes = list(settings.architecture(element))
    if n_inputs is not None:
        sizes[0] = int(n_inputs)
    return sizes


def _nguyen_widrow(layers: List[Layer], activations: Sequence[str]) -> None:
    """n2p2's Nguyen–Widrow rescaling, in place.

    Hidden layer l with n_in inputs and n_out neurons: β = 0.7 n_out^(1/n_in); each
    neuron's incoming weight vector is scaled to length β and its bias multiplied by
    β (both doubled for tanh layers). The output layer's weights are halved.
    """
    for (w, b), act in zip(layers[:-1], activations[:-1]):
        n_in, n_out = w.shape
        beta = 0.7 * n_out ** (1.0 / n_in)
        factor = 2.0 if act == "t" else 1.0
        norms = np.linalg.norm(w, axis=0)
        norms[norms == 0.0] = 1.0
        w *= factor * beta / norms
        b *= factor * beta
    layers[-1][0][:] *= 0.5


def _glorot_bengio(layers: List[Layer], activations: Sequence[str]) -> None:
    """n2p2's default rescaling, in place: weights of tanh layers times
    sqrt(6 / (n_in + n_out)); all biases zero."""
    for (w, b), act in zip(layers, activations):
        if act == "t":
            w *= np.sqrt(6.0 / (w.shape[0] + w.shape[1]))
        b[:] = 0.0


def initialize_weights(
    settings: Settings,
    seed: Optional[int] = None,
    *,
    n_inputs: Optional[Dict[str, int]] = None,
    scheme: str = "n2p2",
) -> Dict[str, List[Layer]]:
    """Initial weights of every element's network, reproducible for a given seed.

    Every weight and bias is first drawn uniformly from [``weights_min``,
    ``weights_max``) of ``settings.training`` (numpy's PCG64 generator seeded with
    ``seed``, default ``settings.training.random_seed``; elements in atomic-number
    order). Then, with ``scheme="n2p2"`` (default), as n2p2's ``nnp-train`` does: with
    ``nguyen_widrow_weights_short`` the Nguyen–Widrow rescaling (each hidden
    neuron's incoming weights scaled to length β = 0.7 n_out^(1/n_in), biases times
    β, both doubled for tanh layers; output weights halved); otherwise the
    Glorot–Bengio rescaling of tanh layers (× sqrt(6 / (n_in + n_out))) and zero
    biases. ``scheme="uniform"`` keeps the uniform draw.

    ``n_inputs`` overrides the number of network inputs per element (default: the
    element's number of symmetry functions). Returns ``{element: [(W, b), ...]}``.
    """
    if scheme not in ("n2p2", "uniform"):
        raise ValueError(f"scheme must be 'n2p2' or 'uniform', got {scheme!r}")
    t = settings.training
    rng = np.random.default_rng(t.random_seed if seed is None else seed)
    out: Dict[str, List[Layer]] = {}
    for element in settings.elements:
        sizes = _layer_sizes(settings, element, (n_inputs or {}).get(element))
        layers = [(rng.uniform(t.weights_min, t.weights_max, size=(n_in, n_out)),
                   rng.uniform(t.weights_min, t.weights_max, size=n_out))
                  for n_in, n_out in zip(sizes[:-1], sizes[1:])]
        if scheme == "n2p2":
            if t.nguyen_widrow_weights_short:
                _nguyen_widrow(layers, settings.activations)
            else:
                _glorot_bengio(layers, settings.activations)
        out[element] = layers
    return out


def zero_weights(settings: Settings) -> Dict[str, List[Layer]]:
    """All-zero networks of the settings' architecture."""
    out = {}
    for element in settings.elements:
        sizes = settings.architecture(element)
        out[element] = [(np.zeros((a, b)), np.zeros(b)) for a, b in zip(sizes[:-1], sizes[1:])]
    return out
