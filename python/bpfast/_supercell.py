"""Repeats of a periodic cell for a supercell of at least a given number of atoms."""

from __future__ import annotations

from typing import Tuple

import numpy as np

__all__ = ["perpendicular_heights", "supercell_repeats"]


def perpendicular_heights(cell) -> np.ndarray:
    """Distances between opposite faces of a cell (rows = lattice vectors): V / |a_j x a_k|."""
    cell = np.asarray(cell, dtype=np.float64)
    areas = np.linalg.norm(np.cross(cell[[1, 2, 0]], cell[[2, 0, 1]]), axis=1)
    return abs(np.linalg.det(cell)) / areas


def supercell_repeats(cell, n_atoms: int, at_least: int) -> Tuple[int, int, int]:
    """Repeats (n1, n2, n3) of a cell holding ``n_atoms`` that give at least ``at_least``
    atoms, with balanced perpendicular heights: each repeat is added along the direction
    whose supercell height is the smallest (a skewed cell, thin across some direction,
    gets more repeats across it than the lengths of its vectors would suggest)."""
    if n_atoms < 1:
        raise ValueError(f"a supercell needs a cell with atoms, got {n_atoms}")
    heights = perpendicular_heights(cell)
    reps = np.ones(3, dtype=np.int64)
    while n_atoms * reps.prod() < at_least:
        reps[np.argmin(reps * heights)] += 1
    return (int(reps[0]), int(reps[1]), int(reps[2]))
