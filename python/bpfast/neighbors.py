"""The neighbour search of the core, exposed on its own (for users and benchmarks)."""

from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple, Union

import numpy as np

from . import _core
from .potential import _prepare, _threads

__all__ = ["neighbor_list"]


def neighbor_list(
    positions,
    cutoff: float,
    cell=None,
    pbc: Union[None, bool, Sequence[bool]] = None,
    *,
    threads: Optional[int] = None,
    _kernels: Optional["_core.KernelOptions"] = None,
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Full neighbour list of a structure: every pair (i, j) and periodic image with
    |D| < cutoff, where D = r_j + S - r_i for a lattice translation S along the periodic
    directions (an atom's own images included; each unordered pair appears twice).

    Returns ``(i, j, D)``: two int64 arrays and an (n_pairs, 3) float64 array, grouped
    by i. O(N) cell lists; any non-singular cell, also thinner than the cutoff.
    """
    pos, _, c, periodic = _prepare(positions, np.ones(len(np.asarray(positions)), dtype=np.int32),
                                   cell, pbc)
    if not 0.0 < float(cutoff) < math.inf:
        raise ValueError(f"cutoff must be a positive finite number, got {cutoff!r}")
    return _core.neighbor_list(pos, c, periodic, float(cutoff), _threads(threads),
                               _kernels or _core.KernelOptions())
