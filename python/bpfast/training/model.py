"""The networks of a potential under training, evaluated on precomputed inputs.

Per structure s: E_s = sum over atoms a of (NN_Z(x_a) / c_E + ē + E0_Z), where x_a are
the scaled symmetry functions of atom a (``scaling.data`` semantics of bpfast's core:
x = S_min + f (G - reference)), c_E and ē the normalisation (1 and 0 without) and E0_Z
the ``atom_energy`` offsets. The scaled inputs, the row -> structure indices and the
constant part of E_s do not depend on the weights and are computed once.

The parameters of all networks are one vector w: the elements in atomic-number order,
each network's weights and biases in n2p2's weights-file order.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import numpy as np

from .. import _core
from .data import TrainingSet
from .descriptors import Descriptors
from .scaling import ScalingData
from .settings import Settings
from .weights import Layer

__all__ = ["EnergyModel", "scale_inputs", "flatten_weights", "unflatten_weights"]


def scale_inputs(settings: Settings, scaling: Optional[ScalingData], element: str,
                 raw: np.ndarray) -> np.ndarray:
    """Raw symmetry functions (rows = atoms) -> network inputs, as bpfast's core scales."""
    mode = settings.scaling
    if mode == "none":
        return np.array(raw, dtype=np.float64)
    lo, hi = scaling.min[element], scaling.max[element]
    mean, sigma = scaling.mean[element], scaling.sigma[element]
    s_min, s_max = settings.scale_min, settings.scale_max
    factor = np.ones_like(lo)
    offset = np.zeros_like(lo)
    reference = mean
    if mode in ("scale", "scalecenter"):
        rng = hi - lo
        factor = np.divide(s_max - s_min, rng, out=np.zeros_like(rng), where=rng != 0.0)
        offset = np.full_like(lo, s_min)
        reference = lo if mode == "scale" else mean
    elif mode == "sigma":
        factor = np.divide(s_max - s_min, sigma, out=np.zeros_like(sigma), where=sigma != 0.0)
        offset = np.full_like(lo, s_min)
    return offset + factor * (raw - reference)


def input_factors(settings: Settings, scaling: Optional[ScalingData], element: str,
                  n_sf: int) -> np.ndarray:
    """d(scaled input)/d(raw symmetry function) per input (the scaling's factors)."""
    return scale_inputs(settings, scaling, element, np.ones((1, n_sf))).ravel() - \
        scale_inputs(settings, scaling, element, np.zeros((1, n_sf))).ravel()


def flatten_weights(layers: List[Layer]) -> np.ndarray:
    """One network's layers -> its parameters in weights-file order."""
    return np.concatenate([np.concatenate([np.asarray(w).ravel(), np.asarray(b).ravel()])
                           for w, b in layers])


def unflatten_weights(params: np.ndarray, sizes) -> List[Layer]:
    """Parameters in weights-file order -> layers (W (n_in, n_out), b)."""
    layers, at = [], 0
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        w = params[at:at + n_in * n_out].reshape(n_in, n_out).copy()
        b = params[at + n_in * n_out:at + n_in * n_out + n_out].copy()
        layers.append((w, b))
        at += n_in * n_out + n_out
    return layers


class EnergyModel:
    """Structure energies and their weight gradients for one set of structures.

    ``networks[element]`` is the element's :class:`bpfast._core.NetworkGradients`,
    ``blocks[element]`` the slice of w that holds its parameters.
    """

    def __init__(self, settings: Settings, scaling: Optional[ScalingData],
                 descriptors: Descriptors, data: TrainingSet, threads: int = 0):
        self.elements = tuple(descriptors.elements)
        self.threads = int(threads)
        self.n_structures = len(data)
        self.n_atoms = np.array([len(s) for s in data], dtype=np.float64)
        self.reference = np.array([s.energy for s in data], dtype=np.float64)
        norm = settings.normalization
        self.conv_energy = norm.conv_energy if norm is not None else 1.0
        self.conv_length = norm.conv_length if norm is not None else 1.0
        self.linear_output = settings.activations[-1] == "l"
        mean_energy = norm.mean_energy if norm is not None else 0.0
        offsets = {_core.atomic_number(e): v for e, v in settings.atom_energy.items()}
        self.constant = np.array([mean_energy * len(s) + sum(offsets.get(int(z), 0.0)
                                                             for z in s.numbers)
                                  for s in data])
        self.networks: Dict[str, _core.NetworkGradients] = {}
        self.inputs: Dict[str, np.ndarray] = {}
        self.factors: Dict[str, np.ndarray] = {}
        self.structure: Dict[str, np.ndarray] = {}
        self.atom: Dict[str, np.ndarray] = {}
        self.row_start: Dict[str, np.ndarray] = {}
        self.blocks: Dict[str, slice] = {}
        self.sizes: Dict[str, Tuple[int, ...]] = {}
        at = 0
        for e in self.elements:
            raw = descriptors.values[e]
            sizes = (raw.shape[1],) + tuple(settings.architecture(e)[1:])
            self.sizes[e] = sizes
            self.networks[e] = _core.NetworkGradients(list(sizes), "".join(settings.activations),
                                                      settings.normalize_nodes)
            self.inputs[e] = np.ascontiguousarray(scale_inputs(settings, scaling, e, raw))
            self.factors[e] = input_factors(settings, scaling, e, raw.shape[1])
            self.structure[e] = descriptors.structure[e]
            self.atom[e] = descriptors.atom[e]
            self.row_start[e] = np.searchsorted(descriptors.structure[e],
                                                np.arange(self.n_structures + 1))
            n = self.networks[e].parameter_count
            self.blocks[e] = slice(at, at + n)
            at += n
        self.parameter_count = at

    # ------------------------------------------------------------------ weights

    def flatten(self, weights: Dict[str, List[Layer]]) -> np.ndarray:
        return np.concatenate([flatten_weights(weights[e]) for e in self.elements])

    def layers(self, w: np.ndarray) -> Dict[str, List[Layer]]:
        return {e: unflatten_weights(w[self.blocks[e]], self.sizes[e]) for e in self.elements}

    def set_output_bias(self, w: np.ndarray) -> bool:
        """Shifts the output biases of all networks (in place in w) so that the mean
        atomic energy over the set equals that of the reference energies, in the
        networks' units (after ``atom_energy`` and ``mean_energy``). Only for linear
        output neurons; returns whether the biases were changed."""
        if not self.linear_output or self.n_structures == 0:
            return False
        target = np.sum((self.reference - self.constant) * self.conv_energy) / self.n_atoms.sum()
        outputs = self.atomic_outputs(w)
        current = sum(float(v.sum()) for v in outputs.values()) / self.n_atoms.sum()
        for e in self.elements:
            w[self.blocks[e].stop - 1] += target - current  # b of the output neuron
        return True

    # ------------------------------------------------------------------ energies

    def atomic_outputs(self, w: np.ndarray) -> Dict[str, np.ndarray]:
        """Network outputs NN_Z(x_a) of every row, per element."""
        out = {}
        for e in self.elements:
            if len(self.inputs[e]) == 0:
                out[e] = np.zeros(0)
                continue
            r = self.networks[e].compute(w[self.blocks[e]], self.inputs[e],
                                         energy_gradient=False, threads=self.threads)
            out[e] = r["energies"]
        return out

    def energies(self, w: np.ndarray) -> np.ndarray:
        """Predicted E_s of every structure."""
        total = np.zeros(self.n_structures)
        for e, nn in self.atomic_outputs(w).items():
            total += np.bincount(self.structure[e], weights=nn, minlength=self.n_structures)
        return total / self.conv_energy + self.constant

    def _rows(self, e: str, chosen: np.ndarray):
        """Rows of element e of the (sorted) structures ``chosen`` and their group index."""
        start = self.row_start[e][chosen]
        counts = self.row_start[e][chosen + 1] - start
        groups = np.repeat(np.arange(len(chosen)), counts)
        first = np.repeat(start - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
        return first + np.arange(len(groups)), groups

    def energy_jacobian(self, w: np.ndarray, chosen: np.ndarray):
        """(E_s, dE_s/dw) of the structures ``chosen`` (sorted indices): (k,), (k, P)."""
        chosen = np.asarray(chosen, dtype=np.int64)
        k = len(chosen)
        energies = self.constant[chosen].copy()
        jac = np.zeros((k, self.parameter_count))
        for e in self.elements:
            rows, groups = self._rows(e, chosen)
            if len(rows) == 0:
                continue
            r = self.networks[e].compute(w[self.blocks[e]], self.inputs[e][rows],
                                         groups=groups, n_groups=k, threads=self.threads)
            energies += np.bincount(groups, weights=r["energies"], minlength=k) / self.conv_energy
            jac[:, self.blocks[e]] = r["energy_gradient"] / self.conv_energy
        return energies, jac
