"""Settings of a potential to train, as Python objects.

:class:`Settings` holds what defines the potential (elements, cutoff function,
symmetry functions, scaling, network, normalisation, ``atom_energy``) and, in
:class:`TrainingOptions`, the keywords of n2p2's ``nnp-train`` that bpfast reads.
:mod:`bpfast.training.input_nn` reads and writes them as n2p2's ``input.nn``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Dict, List, Optional, Tuple

from .. import _core
from .symmetry_functions import SymmetryFunction

__all__ = [
    "IgnoredKeyword",
    "Normalization",
    "SCALING_MODES",
    "Settings",
    "TrainingOptions",
]

#: Scaling of the network inputs (docs/n2p2-format.md §6), as bpfast names them.
SCALING_MODES = ("none", "scale", "center", "scalecenter", "sigma")
ACTIVATIONS = "ltsprgcSeh"



@dataclass(frozen=True)
class Normalization:
    """n2p2's data-set normalisation (``mean_energy``, ``conv_energy``, ``conv_length``).

    The network is trained in internal units r' = r c_L, E' = (E − N ē) c_E; see
    :func:`bpfast.training.normalization` for how the values are obtained.
    """

    mean_energy: float
    conv_energy: float
    conv_length: float

    def __post_init__(self) -> None:
        for name in ("mean_energy", "conv_energy", "conv_length"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"{name} must be finite, got {getattr(self, name)!r}")
        if self.conv_energy == 0.0 or self.conv_length == 0.0:
            raise ValueError("conv_energy and conv_length must be non-zero")


@dataclass(frozen=True)
class TrainingOptions:
    """The ``nnp-train`` keywords bpfast reads (n2p2's names and meanings).

    Flags (``use_short_forces``, ``nguyen_widrow_weights_short``,
    ``use_old_weights_short``) are True when the keyword is present. n2p2's alternative
    names ``energy_fraction``, ``force_fraction``, ``rmse_threshold_energy`` and
    ``rmse_threshold_force`` are read into the ``short_*`` fields.
    """

    epochs: int = 10
    random_seed: int = 1
    test_fraction: float = 0.1
    use_short_forces: bool = True
    force_weight: float = 10.0
    short_energy_fraction: float = 1.0
    short_force_fraction: float = 0.02
    short_energy_error_threshold: float = 0.0
    short_force_error_threshold: float = 1.0
    rmse_threshold_trials: int = 3
    updater_type: int = 1  # 0 gradient descent, 1 Kalman filter
    gradient_type: int = 1  # 0 fixed step, 1 Adam
    gradient_eta: float = 1.0e-5
    gradient_adam_eta: float = 1.0e-3
    gradient_adam_beta1: float = 0.9
    gradient_adam_beta2: float = 0.999
    gradient_adam_epsilon: float = 1.0e-8
    kalman_type: int = 0  # 0 standard, 1 fading memory
    kalman_epsilon: float = 1.0e-2
    kalman_q0: float = 0.01
    kalman_qtau: float = 2.302
    kalman_qmin: float = 1.0e-6
    kalman_eta: float = 0.01
    kalman_etatau: float = 2.302
    kalman_etamax: float = 1.0
    kalman_lambda_short: float = 0.96
    kalman_nue_short: float = 0.9995
    weights_min: float = -1.0
    weights_max: float = 1.0
    nguyen_widrow_weights_short: bool = False
    use_old_weights_short: bool = False
    main_error_metric: str = "RMSEpa"

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.type == "bool" and not isinstance(value, bool):
                raise TypeError(f"{f.name} must be True or False, got {value!r}")
            if f.type == "int" and (isinstance(value, bool) or not isinstance(value, int)):
                raise TypeError(f"{f.name} must be an integer, got {value!r}")
            if f.type == "float" and not math.isfinite(float(value)):
                raise ValueError(f"{f.name} must be finite, got {value!r}")
        if not 0.0 <= self.test_fraction < 1.0:
            raise ValueError(f"test_fraction must be in [0, 1), got {self.test_fraction!r}")
        if not self.weights_min < self.weights_max:
            raise ValueError(f"weights_min ({self.weights_min!r}) must be smaller than "
                             f"weights_max ({self.weights_max!r})")
        if self.epochs < 0:
            raise ValueError(f"epochs must be >= 0, got {self.epochs!r}")
        if self.updater_type not in (0, 1):
            raise ValueError(f"updater_type must be 0 (gradient descent) or 1 (Kalman "
                             f"filter), got {self.updater_type!r}")
        for name in ("short_energy_fraction", "short_force_fraction"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)!r}")


@dataclass(frozen=True)
class IgnoredKeyword:
    """A keyword of ``input.nn`` that bpfast does not use, why, and its arguments
    (written back by :func:`write_settings`, so that n2p2 still finds them)."""

    keyword: str
    line: int
    reason: str
    arguments: Tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"line {self.line}: {self.keyword} ({self.reason})"


@dataclass(frozen=True)
class Settings:
    """Everything that defines a 2G HDNNP to train, plus the training options.

    Attributes
    ----------
    elements : tuple of str
        Element symbols, kept in atomic-number order (n2p2's element order).
    symmetry_functions : tuple of SymmetryFunction
        In the order given (n2p2 sorts them per element for the network input; the
        order of ``scaling.data`` and the weights is that sorted order).
    cutoff_type, cutoff_alpha : int, float
        ``cutoff_type`` (0 … 8, docs §5) and the inner-cutoff fraction.
    scaling : str
        One of :data:`SCALING_MODES`: which of ``scale_symmetry_functions``,
        ``center_symmetry_functions``, ``scale_symmetry_functions_sigma`` are set.
    scale_min, scale_max : float
        ``scale_min_short`` / ``scale_max_short``.
    hidden_nodes : tuple of int
        Neurons per hidden layer (``global_nodes_short``).
    activations : tuple of str
        One letter per hidden layer and one for the output (``global_activation_short``).
    normalize_nodes : bool
    atom_energy : dict
        Per-element energy offsets (``atom_energy``), potential's energy unit.
    normalization : Normalization or None
    training : TrainingOptions
    ignored : tuple of IgnoredKeyword
        Keywords of the file read that bpfast does not use (not part of equality).
    source : str
        The file read ('' if built in Python; not part of equality).
    """

    elements: Tuple[str, ...]
    symmetry_functions: Tuple[SymmetryFunction, ...]
    cutoff_type: int = 6
    cutoff_alpha: float = 0.0
    scaling: str = "scalecenter"
    scale_min: float = 0.0
    scale_max: float = 1.0
    hidden_nodes: Tuple[int, ...] = (25, 25)
    activations: Tuple[str, ...] = ("t", "t", "l")
    normalize_nodes: bool = False
    atom_energy: Dict[str, float] = field(default_factory=dict)
    normalization: Optional[Normalization] = None
    training: TrainingOptions = field(default_factory=TrainingOptions)
    ignored: Tuple[IgnoredKeyword, ...] = field(default=(), compare=False)
    source: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalise the fields once, here
        elements = [str(e) for e in self.elements]
        for e in elements:
            if not 1 <= _core.atomic_number(e) <= 118:
                raise ValueError(f"elements: {e!r} is not an element symbol")
        if not elements or len(set(elements)) != len(elements):
            raise ValueError(f"elements must list each element once, got {elements}")
        set_(self, "elements", tuple(sorted(elements, key=_core.atomic_number)))
        set_(self, "symmetry_functions", tuple(self.symmetry_functions))
        set_(self, "hidden_nodes", tuple(int(n) for n in self.hidden_nodes))
        set_(self, "activations", tuple(str(a) for a in self.activations))
        set_(self, "atom_energy", {str(k): float(v) for k, v in dict(self.atom_energy).items()})
        self._check()

    def _check(self) -> None:
        for sf in self.symmetry_functions:
            if not isinstance(sf, SymmetryFunction):
                raise TypeError(f"symmetry_functions must hold SymmetryFunction objects, "
                                f"got {type(sf).__name__}")
            for e in (sf.element, sf.e1, sf.e2):
                if e is not None and e not in self.elements:
                    raise ValueError(f"symmetry function '{sf}' uses {e}, which is not in "
                                     f"elements {list(self.elements)}")
        for e in self.elements:
            if not any(sf.element == e for sf in self.symmetry_functions):
                raise ValueError(f"element {e} has no symmetry functions")
        if not (isinstance(self.cutoff_type, int) and 0 <= self.cutoff_type <= 8):
            raise ValueError(f"cutoff_type must be an integer 0 ... 8, got {self.cutoff_type!r}")
        if not 0.0 <= self.cutoff_alpha < 1.0:
            raise ValueError(f"cutoff_alpha must satisfy 0 <= alpha < 1, got "
                             f"{self.cutoff_alpha!r}")
        if self.scaling not in SCALING_MODES:
            raise ValueError(f"scaling must be one of {SCALING_MODES}, got {self.scaling!r}")
        if not (math.isfinite(self.scale_min) and math.isfinite(self.scale_max)):
            raise ValueError("scale_min and scale_max must be finite")
        if any(n < 1 for n in self.hidden_nodes):
            raise ValueError(f"hidden_nodes must be positive, got {self.hidden_nodes}")
        if len(self.activations) != len(self.hidden_nodes) + 1:
            raise ValueError(f"activations needs {len(self.hidden_nodes) + 1} letters (one "
                             f"per hidden layer and one for the output), got "
                             f"{len(self.activations)}")
        for a in self.activations:
            if len(a) != 1 or a not in ACTIVATIONS:
                raise ValueError(f"unknown activation {a!r} (expected one of "
                                 f"{', '.join(ACTIVATIONS)})")
        for e, value in self.atom_energy.items():
            if e not in self.elements:
                raise ValueError(f"atom_energy given for {e}, which is not in elements")
            if not math.isfinite(value):
                raise ValueError(f"atom_energy of {e} must be finite, got {value!r}")

    @property
    def cutoff(self) -> float:
        """The largest symmetry-function cutoff radius."""
        return max(sf.rc for sf in self.symmetry_functions)

    def symmetry_functions_of(self, element: str) -> List[SymmetryFunction]:
        """The functions centred on ``element``, in the order given."""
        return [sf for sf in self.symmetry_functions if sf.element == element]

    def architecture(self, element: str) -> Tuple[int, ...]:
        """Layer sizes of ``element``'s network: inputs, hidden layers, 1 output."""
        return (len(self.symmetry_functions_of(element)),) + self.hidden_nodes + (1,)

    def report(self) -> str:
        """Text listing the keywords of the file that bpfast ignored (or saying none)."""
        if not self.ignored:
            return f"{self.source or 'settings'}: every keyword is used"
        lines = [f"{self.source or 'settings'}: {len(self.ignored)} keyword(s) not used by "
                 f"bpfast:"]
        lines += [f"  {item}" for item in self.ignored]
        return "\n".join(lines)
