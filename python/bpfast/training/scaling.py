"""Preparation of training: ``scaling.data`` and n2p2's data-set normalisation.

``scaling.data`` (``docs/n2p2-format.md`` §6) holds, per element (atomic-number
order) and symmetry function (network-input order), the minimum, maximum, mean and
standard deviation of the raw values over the training atoms. bpfast computes them
as n2p2's ``nnp-scaling`` defines them (the standard deviation with the n − 1
denominator) and writes the same layout: n2p2's header, then rows
``%10d %10d %24.16E %24.16E %24.16E %24.16E``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Tuple, Union

import numpy as np

from .. import _core
from .data import DataError, TrainingSet
from .descriptors import Descriptors
from .settings import Normalization, Settings

__all__ = ["ScalingData", "compute_scaling", "normalization", "write_scaling"]

PathLike = Union[str, "os.PathLike[str]"]

_HEADER = """\
################################################################################
# Symmetry function scaling data.
################################################################################
# Col  Name     Description
################################################################################
# 1    e_index  Element index.
# 2    sf_index Symmetry function index.
# 3    sf_min   Symmetry function minimum.
# 4    sf_max   Symmetry function maximum.
# 5    sf_mean  Symmetry function mean.
# 6    sf_sigma Symmetry function sigma.
""" + "\n".join([
    "#" * 121,
    f"#{1:>9} {2:>10} {3:>24} {4:>24} {5:>24} {6:>24}",
    f"#{'e_index':>9} {'sf_index':>10} {'sf_min':>24} {'sf_max':>24} {'sf_mean':>24} "
    f"{'sf_sigma':>24}",
    "#" * 121,
    "",
])


@dataclass(frozen=True, eq=False)
class ScalingData:
    """Per element, arrays (n_functions,) of min, max, mean and sigma of the raw
    symmetry functions (network-input order); ``count`` is the number of atoms."""

    elements: Tuple[str, ...]
    min: Dict[str, np.ndarray]
    max: Dict[str, np.ndarray]
    mean: Dict[str, np.ndarray]
    sigma: Dict[str, np.ndarray]
    count: Dict[str, int]


def compute_scaling(descriptors: Descriptors) -> ScalingData:
    """Statistics of ``descriptors`` as ``nnp-scaling`` defines them.

    sigma = sqrt(Σ (G − mean)² / (n − 1)) over the n atoms of the element (0 for a
    single atom). An element without atoms is a DataError: its row of
    ``scaling.data`` would be undefined.
    """
    stats: Dict[str, Dict[str, np.ndarray]] = {k: {} for k in ("min", "max", "mean", "sigma")}
    count = {}
    for element in descriptors.elements:
        g = descriptors.values[element]
        if len(g) == 0:
            raise DataError("", None, f"no {element} atoms in the data: scaling.data needs "
                                      f"at least one atom of every element of the settings")
        stats["min"][element] = g.min(axis=0)
        stats["max"][element] = g.max(axis=0)
        stats["mean"][element] = g.mean(axis=0)
        stats["sigma"][element] = g.std(axis=0, ddof=1) if len(g) > 1 else np.zeros(g.shape[1])
        count[element] = len(g)
    return ScalingData(descriptors.elements, stats["min"], stats["max"], stats["mean"],
                       stats["sigma"], count)


def write_scaling(path: PathLike, scaling: ScalingData) -> Path:
    """Write ``scaling.data`` in n2p2's layout (a file path or a potential directory)."""
    p = Path(path)
    if p.is_dir():
        p = p / "scaling.data"
    rows = []
    order = sorted(scaling.elements, key=_core.atomic_number)
    for e_index, element in enumerate(order, start=1):
        columns = (scaling.min[element], scaling.max[element], scaling.mean[element],
                   scaling.sigma[element])
        for s, (lo, hi, mean, sigma) in enumerate(zip(*columns), start=1):
            rows.append(f"{e_index:10d} {s:10d} {lo:24.16E} {hi:24.16E} {mean:24.16E} "
                        f"{sigma:24.16E}")
    p.write_text(_HEADER + "\n".join(rows) + "\n")
    return p


def _reference_energies(data: TrainingSet, settings: Optional[Settings]) -> np.ndarray:
    """Per structure: (E − Σ atom_energy) / N."""
    offsets = {}
    if settings is not None:
        offsets = {_core.atomic_number(e): v for e, v in settings.atom_energy.items()}
    out = np.empty(len(data))
    for k, s in enumerate(data):
        offset = sum(offsets.get(int(z), 0.0) for z in s.numbers) if offsets else 0.0
        out[k] = (s.energy - offset) / len(s)
    return out


def normalization(data: TrainingSet, settings: Optional[Settings] = None) -> Normalization:
    """n2p2's normalisation of a training set, as ``nnp-norm`` computes it.

    * ``mean_energy`` ē: the mean over structures of the energy per atom
      (E − Σ atom_energy) / N (``nnp-norm`` has no offsets: the same without
      ``atom_energy``);
    * ``conv_energy`` = 1 / σ_E, σ_E the standard deviation (n − 1 denominator) of the
      energy per atom over structures;
    * ``conv_length`` = σ_F / σ_E, σ_F the standard deviation (n − 1) of all reference
      force components about their mean, over the structures that have forces
      (1 when none has).

    In these internal units (r' = r c_L, E' = (E − N ē) c_E, F' = F c_E / c_L) the
    energies per atom and the force components have unit standard deviation.
    """
    if len(data) < 2:
        raise DataError("", None, f"normalisation needs at least 2 structures, got "
                                  f"{len(data)}")
    per_atom = _reference_energies(data, settings)
    sigma_e = float(np.std(per_atom, ddof=1))
    if not sigma_e > 0.0:
        raise DataError("", None, "every structure has the same energy per atom: the energy "
                                  "normalisation (1 / standard deviation) is undefined")
    forces = [s.forces.reshape(-1) for s in data if s.forces is not None]
    if forces:
        components = np.concatenate(forces)
        sigma_f = float(np.std(components, ddof=1)) if len(components) > 1 else 0.0
        if not sigma_f > 0.0:
            raise DataError("", None, "the reference forces have zero spread: the length "
                                      "normalisation is undefined")
    else:
        sigma_f = sigma_e
    if not math.isfinite(sigma_f / sigma_e):
        raise DataError("", None, "normalisation factors overflow")
    return Normalization(float(np.mean(per_atom)), 1.0 / sigma_e, sigma_f / sigma_e)
