"""Finite-difference checks of forces and stress, for tests and for users.

A central difference with step h has an error of order h^2 times the third
derivative; round-off grows like eps * E / h. Steps of 1e-4 to 1e-3 of the length
unit suit typical potentials. Beware: a large step can hide a wrong gradient, so
compare against a tolerance that is small next to the forces themselves.
"""

from __future__ import annotations

import warnings
from typing import Optional

import numpy as np

from .errors import ExtrapolationWarning

__all__ = ["numerical_forces", "numerical_stress"]


def _energy(potential, positions, species, cell, pbc) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)
        return potential.compute(positions, species, cell, pbc, forces=False).energy


def numerical_forces(potential, positions, species, cell=None, pbc=None, *,
                     step: float = 1e-4, atoms: Optional[np.ndarray] = None) -> np.ndarray:
    """-dE/dr by central differences, shape (n, 3) (rows not in ``atoms`` are 0)."""
    pos = np.array(positions, dtype=np.float64)
    out = np.zeros_like(pos)
    indices = range(len(pos)) if atoms is None else atoms
    for i in indices:
        for a in range(3):
            pos[i, a] += step
            e_plus = _energy(potential, pos, species, cell, pbc)
            pos[i, a] -= 2 * step
            e_minus = _energy(potential, pos, species, cell, pbc)
            pos[i, a] += step
            out[i, a] = -(e_plus - e_minus) / (2 * step)
    return out


def numerical_stress(potential, positions, species, cell, pbc=None, *,
                     step: float = 1e-5) -> np.ndarray:
    """(1/V) dE/d(strain) by central differences of homogeneous deformations, 3x3.

    Positions and cell are deformed as r -> (1 + eps) r; component (a, b) of the
    result is the derivative with respect to eps_ab.
    """
    pos = np.asarray(positions, dtype=np.float64)
    c = np.asarray(cell, dtype=np.float64)
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
