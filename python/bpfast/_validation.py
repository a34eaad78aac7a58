"""Argument checks shared by the Python entry points (Potential, neighbor_list, the ASE
calculator): conversion to the arrays the core takes, and clear errors naming the
argument, what was expected and what was given."""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import numpy as np

from . import _core

__all__ = ["as_cell", "as_pbc", "check_threads", "prepare", "species_to_numbers"]

ArrayLike = Any


def species_to_numbers(species: ArrayLike, n: int) -> np.ndarray:
    arr = np.asarray(species)
    if arr.ndim != 1:
        raise ValueError(f"species must be a 1-D sequence of {n} symbols or atomic numbers, "
                         f"got shape {arr.shape}")
    if arr.shape[0] != n:
        raise ValueError(f"species has {arr.shape[0]} entries but positions has {n} atoms")
    if n == 0:
        return np.zeros(0, dtype=np.int32)
    if arr.dtype.kind in "iu":
        numbers = arr.astype(np.int64)
        bad = (numbers < 1) | (numbers > 118)
        if bad.any():
            i = int(np.argmax(bad))
            raise KeyError(f"atom {i}: atomic number {numbers[i]} is not an element")
        return numbers.astype(np.int32)
    if arr.dtype.kind in "US" or arr.dtype == object:
        out = np.empty(n, dtype=np.int32)
        cache: Dict[str, int] = {}
        for i, s in enumerate(arr.tolist()):
            if isinstance(s, bytes):
                s = s.decode()
            if isinstance(s, (int, np.integer)) and not isinstance(s, bool):
                z = int(s)
            elif isinstance(s, str) and s.isdigit():  # a mixed list ["O", 1, 1] became strings
                z = int(s)
            else:
                z = cache.get(s)
                if z is None:
                    z = _core.atomic_number(str(s))
                    cache[s] = z
            if not 1 <= z <= 118:
                raise KeyError(f"atom {i}: unknown element {s!r}")
            out[i] = z
        return out
    raise ValueError(f"species must hold element symbols or atomic numbers, got dtype {arr.dtype}")


def as_cell(cell: ArrayLike) -> np.ndarray:
    c = np.asarray(cell, dtype=np.float64)
    if c.shape == (3,):
        c = np.diag(c)
    if c.shape != (3, 3):
        raise ValueError(f"cell must be a 3x3 matrix (rows = lattice vectors) or 3 lengths, "
                         f"got shape {c.shape}")
    if not np.isfinite(c).all():
        raise ValueError("cell contains NaN or infinite values")
    return np.ascontiguousarray(c)


def as_pbc(pbc: Any, have_cell: bool) -> Tuple[bool, bool, bool]:
    if pbc is None:
        return (have_cell,) * 3
    arr = np.asarray(pbc)
    if arr.dtype.kind in "USO" and any(isinstance(x, (str, bytes)) for x in arr.ravel().tolist()):
        # bool("False") is True: text would silently make a direction periodic.
        raise TypeError(f"pbc must be a bool or 3 bools, got text {pbc!r}")
    if arr.shape == ():
        return (bool(arr),) * 3
    if arr.shape != (3,):
        raise ValueError(f"pbc must be a bool or 3 bools, got shape {arr.shape}")
    return tuple(bool(x) for x in arr)  # type: ignore[return-value]


def check_threads(threads: Optional[int]) -> int:
    if threads is None:
        return 0
    top = _core.max_threads
    try:
        ok = not isinstance(threads, bool) and int(threads) == threads and 1 <= threads <= top
    except (TypeError, ValueError, OverflowError):  # e.g. "2", inf, nan
        ok = False
    if not ok:
        raise ValueError(f"threads must be an integer from 1 to {top}, got {threads!r}")
    return int(threads)


#: Fractional coordinates beyond this many cell lengths cannot be wrapped into the cell
#: without losing the position (about 20 of a double's 53 bits would remain).
MAX_CELL_LENGTHS = 2.0**32


def check_within_reach(pos: np.ndarray, cell: np.ndarray, periodic) -> None:
    """ValueError for an atom so far from the cell along a periodic direction that its
    wrapped position would be mostly rounding error."""
    if len(pos) == 0 or not any(periodic):
        return
    # |fractional coordinate k| <= |r| / h_k (h_k: the cell's height across vector k), so
    # the usual structure passes without a matrix product (which would start BLAS and
    # its buffers on every call).
    normals = np.cross(cell[[1, 2, 0]], cell[[2, 0, 1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        heights = abs(float((cell[0] * normals[0]).sum())) / np.sqrt((normals * normals).sum(axis=1))
        if np.sqrt(3.0) * np.abs(pos).max() <= MAX_CELL_LENGTHS * heights[list(periodic)].min():
            return
    with np.errstate(over="ignore", invalid="ignore"):
        frac = pos @ np.linalg.pinv(cell)  # rows of cell are the lattice vectors
    far = ~(np.abs(frac[:, list(periodic)]) <= MAX_CELL_LENGTHS)  # NaN from overflow too
    if far.any():
        i, k = np.argwhere(far)[0]
        k = int(np.flatnonzero(periodic)[k])
        raise ValueError(
            f"atom {i} is {abs(frac[i, k]):.3g} lengths of lattice vector {k + 1} from the "
            f"cell (more than {MAX_CELL_LENGTHS:.3g}): its position inside the periodic cell "
            f"would be lost to rounding; check the units or the trajectory")


def prepare(positions, species, cell, pbc):
    """Checked, converted arguments: positions (n, 3) float64, numbers (n,) int32,
    cell (3, 3) float64 or None, pbc (3 bools)."""
    if np.iscomplexobj(positions):
        raise TypeError(f"positions must be real numbers, got dtype "
                        f"{np.asarray(positions).dtype}")
    pos = np.ascontiguousarray(positions, dtype=np.float64)
    if pos.ndim != 2 or pos.shape[1] != 3:
        if pos.size == 0 and pos.ndim <= 2:
            pos = pos.reshape(0, 3)
        else:
            raise ValueError(f"positions must have shape (n, 3), got {pos.shape}")
    n = pos.shape[0]
    if not np.isfinite(pos).all():
        i = int(np.argmax(~np.isfinite(pos).all(axis=1)))
        raise ValueError(f"positions contain NaN or infinite values (atom {i})")
    numbers = species_to_numbers(species, n)
    c = None if cell is None else as_cell(cell)
    periodic = as_pbc(pbc, c is not None)
    if any(periodic) and c is None:
        raise ValueError("pbc is set but no cell was given")
    if c is not None:
        check_within_reach(pos, c, periodic)
    return pos, numbers, c, periodic


def prepare_compute(positions, species, cell, pbc, stress: bool, cache):
    """:func:`prepare` plus the checks of a compute call: a cell of non-zero volume for
    the stress, the type of the neighbour cache. Returns (pos, numbers, cell, pbc,
    volume); the volume is 0 without stress."""
    pos, numbers, c, periodic = prepare(positions, species, cell, pbc)
    volume = 0.0
    if stress:
        if c is None:
            raise ValueError("stress needs a cell")
        volume = abs(float(np.linalg.det(c)))
        if not volume > 0.0:
            raise ValueError("stress needs a cell with non-zero volume")
    if cache is not None and not isinstance(cache, _core.NeighborCache):
        raise TypeError(f"cache must be a bpfast.NeighborCache, got {type(cache).__name__}")
    return pos, numbers, c, periodic, volume
