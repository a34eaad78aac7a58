"""Finite-difference checks of forces and stress, for tests and for users; committee
members made by perturbing a potential's weights.

A central difference with step h has an error of order h^2 times the third
derivative; round-off grows like eps * E / h. Steps of 1e-4 to 1e-3 of the length
unit suit typical potentials. Beware: a large step can hide a wrong gradient, so
compare against a tolerance that is small next to the forces themselves.
"""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path
from typing import Optional, Union

import numpy as np

from .errors import ExtrapolationWarning

__all__ = ["numerical_forces", "numerical_stress", "perturbed_copy"]


def _energy(potential, positions, species, cell, pbc) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)
        return potential.compute(positions, species, cell, pbc, forces=False).energy


def _check_step(step: float) -> float:
    step = float(step)
    if not (np.isfinite(step) and step > 0.0):
        raise ValueError(f"step must be a positive finite number, got {step!r}")
    return step


def _atom_indices(atoms, n: int) -> np.ndarray:
    if atoms is None:
        return np.arange(n)
    idx = np.asarray(atoms)
    if idx.dtype == bool:
        if idx.shape != (n,):
            raise ValueError(f"a boolean atoms mask needs shape ({n},), got {idx.shape}")
        return np.flatnonzero(idx)
    if idx.dtype.kind not in "iu" or idx.ndim != 1:
        raise ValueError("atoms must be a 1-D sequence of atom indices or a boolean mask")
    if idx.size and not (-n <= idx.min() and idx.max() < n):
        raise ValueError(f"atom indices must lie in [-{n}, {n}), got {idx.min()}..{idx.max()}")
    return idx % max(n, 1)


def numerical_forces(potential, positions, species, cell=None, pbc=None, *,
                     step: float = 1e-4, atoms: Optional[np.ndarray] = None) -> np.ndarray:
    """-dE/dr by central differences, shape (n, 3) (rows not in ``atoms``, indices or a
    boolean mask, are 0). The difference is divided by the displacement actually made
    (x + h and x - h rounded), which matters far from the origin."""
    step = _check_step(step)
    pos = np.array(positions, dtype=np.float64)
    out = np.zeros_like(pos)
    for i in _atom_indices(atoms, len(pos)):
        for a in range(3):
            x = pos[i, a]
            pos[i, a] = x + step
            e_plus, x_plus = _energy(potential, pos, species, cell, pbc), pos[i, a]
            pos[i, a] = x - step
            e_minus, x_minus = _energy(potential, pos, species, cell, pbc), pos[i, a]
            pos[i, a] = x
            out[i, a] = -(e_plus - e_minus) / (x_plus - x_minus)
    return out


def numerical_stress(potential, positions, species, cell, pbc=None, *,
                     step: float = 1e-5) -> np.ndarray:
    """(1/V) dE/d(strain) by central differences of homogeneous deformations, 3x3.

    Positions and cell are deformed as r -> (1 + eps) r; component (a, b) of the
    result is the derivative with respect to eps_ab.
    """
    step = _check_step(step)
    if cell is None:
        raise ValueError("numerical_stress needs a cell")
    pos = np.asarray(positions, dtype=np.float64)
    c = np.asarray(cell, dtype=np.float64)
    if c.shape == (3,):
        c = np.diag(c)
    volume = abs(np.linalg.det(c))
    out = np.zeros((3, 3))
    for a in range(3):
        for b in range(3):
            energies = []
            for sign in (1.0, -1.0):
                eps = np.zeros((3, 3))
                eps[a, b] = sign * step
                deform = np.eye(3) + eps
                energies.append(_energy(potential, pos @ deform.T, species, c @ deform.T, pbc))
            out[a, b] = (energies[0] - energies[1]) / (2 * step) / volume
    return out


def perturbed_copy(source: Union[str, os.PathLike], target: Union[str, os.PathLike],
                   seed: int, scale: float = 0.03) -> Path:
    """Copies the potential directory ``source`` to ``target`` (which must not exist) with
    every weight and bias w of its ``weights.ZZZ.data`` files replaced by
    w (1 + scale x), x standard normal from ``numpy.random.default_rng(seed)``: a
    committee member with the same symmetry functions and scaling, for tests and
    benchmarks. Returns ``target``."""
    target = Path(target)
    shutil.copytree(source, target)
    rng = np.random.default_rng(seed)
    for path in sorted(target.glob("weights.*.data")):
        lines = []
        for line in path.read_text().splitlines():
            fields = line.split()
            if fields and not line.lstrip().startswith("#"):
                value = float(fields[0]) * (1.0 + scale * rng.standard_normal())
                line = " ".join([repr(value)] + fields[1:])
            lines.append(line)
        path.write_text("\n".join(lines) + "\n")
    return target
