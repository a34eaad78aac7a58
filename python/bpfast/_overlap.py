"""Overlapping atoms: the core reports the closest pair of its neighbour list; atoms at
the same position are an error (forces undefined), atoms closer than a small fraction
of the cutoff a warning (no bond is that short at the cutoffs HDNNPs use)."""

from __future__ import annotations

import warnings
from typing import Optional, Tuple

import numpy as np

from ._caller import user_stacklevel
from .errors import OverlapWarning

__all__ = ["OVERLAP_FRACTION", "check_closest_pair"]

#: Atoms closer than this fraction of the potential's cutoff get an OverlapWarning.
OVERLAP_FRACTION = 0.05


def _lattice_shift(shift: Tuple[float, float, float], cell: Optional[np.ndarray]) -> tuple:
    """The Cartesian translation as integer multiples of the lattice vectors."""
    t = np.asarray(shift, dtype=np.float64)
    if cell is None or not t.any():
        return (0, 0, 0)
    n, *_ = np.linalg.lstsq(cell.T, t, rcond=None)
    return tuple(int(k) for k in np.rint(n))


def check_closest_pair(closest: tuple, cutoff: float, cell: Optional[np.ndarray]) -> None:
    """Raises ValueError for coincident atoms; warns (OverlapWarning) for atoms closer than
    OVERLAP_FRACTION * cutoff. ``closest``: (i, j, distance, Cartesian shift) from the core
    (i = -1: no pair)."""
    i, j, distance, shift = closest
    if i < 0 or distance >= OVERLAP_FRACTION * cutoff:
        return
    lattice = _lattice_shift(shift, cell)
    image = f" (the image of atom {j} shifted by {lattice} cells)" if any(lattice) else ""
    if distance == 0.0:
        raise ValueError(f"atoms {i} and {j} are at the same position{image}: the forces are "
                         f"undefined (an atom placed twice?)")
    warnings.warn(OverlapWarning(
        f"atoms {i} and {j} are {distance:.3g} apart{image}, closer than "
        f"{OVERLAP_FRACTION:.0%} of the cutoff ({cutoff:g}, the potential's length unit): "
        f"overlapping atoms? Their energy and forces are meaningless",
        i=int(i), j=int(j), distance=float(distance), shift=lattice),
        stacklevel=user_stacklevel())
