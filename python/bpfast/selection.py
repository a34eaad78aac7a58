"""Query by committee: the frames of a trajectory where a committee disagrees most.

>>> from bpfast.ase import BPCalculator
>>> from bpfast.selection import select_frames
>>> calc = BPCalculator(["c1", "c2", "c3", "c4"], "bohr", "hartree")
>>> picked = select_frames(ase.io.read("md.extxyz", ":"), calc, 10, min_gap=5)
>>> picked.indices                   # the 10 frames of largest force spread, largest first
>>> picked.max_force_spread          # every frame's largest per-atom force spread, eV/Å

The measure is the committee's largest per-atom force spread of a frame
(``max_force_spread``: the largest norm of a row of the members' force standard
deviations, DeePMD's model deviation). These frames are the ones worth a new
reference calculation (``bpfast select`` writes them as n2p2 ``input.data``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

__all__ = ["Selection", "pick_largest", "select_frames"]


@dataclass(frozen=True)
class Selection:
    """Frames picked by :func:`select_frames`.

    indices : ndarray (k,) of int
        Positions in the sequence of frames given, largest spread first.
    max_force_spread : ndarray (n_frames,)
        Largest per-atom force spread of every frame (eV/Å; 0 for a frame without
        atoms).
    energy_std : ndarray (n_frames,)
        Energy spread (standard deviation over the members) of every frame (eV).
    extrapolations : ndarray (n_frames,) of int
        Symmetry-function values outside the training range in every frame (the
        largest count of a member).
    """

    indices: np.ndarray
    max_force_spread: np.ndarray
    energy_std: np.ndarray
    extrapolations: np.ndarray


def pick_largest(values: Sequence[float], n: int, *, min_gap: int = 0,
                 frames: Optional[Sequence[int]] = None) -> np.ndarray:
    """Indices of the ``n`` largest ``values``, largest first, no two closer than
    ``min_gap`` in frame number.

    ``frames`` gives the frame number of each value (default 0, 1, 2, ...); with
    ``min_gap`` K > 1 two picked entries have frame numbers at least K apart.
    Greedy: the largest value is taken, then the largest of those far enough from
    every value taken, and so on (ties: the earlier frame first). With a gap, fewer
    than ``n`` entries may be far enough apart; then all of those are returned.
    NaN values are a ValueError.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"values must be one number per frame, got shape {values.shape}")
    if isinstance(n, bool) or int(n) != n or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if isinstance(min_gap, bool) or int(min_gap) != min_gap or min_gap < 0:
        raise ValueError(f"min_gap must be an integer >= 0, got {min_gap!r}")
    if len(values) == 0:
        raise ValueError("there are no frames to pick from")
    if n > len(values):
        raise ValueError(f"cannot pick {n} frames out of {len(values)}")
    bad = np.flatnonzero(np.isnan(values))
    if bad.size:
        raise ValueError(f"the value of frame {int(bad[0])} is NaN")
    numbers = np.arange(len(values)) if frames is None else np.asarray(frames, dtype=np.int64)
    if numbers.shape != values.shape:
        raise ValueError(f"frames must have one number per value ({len(values)}), got "
                         f"shape {numbers.shape}")
    order = np.lexsort((numbers, -values))
    if min_gap <= 1:
        return order[:n]
    picked: list = []
    for i in order:
        if all(abs(int(numbers[i]) - int(numbers[j])) >= min_gap for j in picked):
            picked.append(i)
            if len(picked) == n:
                break
    return np.asarray(picked, dtype=np.int64)


def select_frames(images, calculator, n: int, *, min_gap: int = 0,
                  frames: Optional[Sequence[int]] = None) -> Selection:
    """Evaluate ``images`` (ASE Atoms, Å) with a committee and pick the ``n`` of
    largest ``max_force_spread`` (see :func:`pick_largest` for ``min_gap`` and
    ``frames``).

    ``calculator`` is a :class:`bpfast.ase.BPCalculator` of a committee (its
    units apply). The images are not modified. Extrapolating frames issue the
    calculator's :class:`bpfast.ExtrapolationWarning` and are counted in
    ``Selection.extrapolations``.
    """
    if not getattr(calculator, "is_committee", False):
        raise ValueError("select_frames needs a BPCalculator of a committee (several "
                         "potential directories or a bpfast.Committee)")
    images = list(images)
    if not images:
        raise ValueError("there are no frames to pick from")
    if isinstance(n, bool) or int(n) != n or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if n > len(images):
        raise ValueError(f"cannot pick {n} frames out of {len(images)}")
    spread = np.empty(len(images))
    energy_std = np.empty(len(images))
    extrapolations = np.zeros(len(images), dtype=np.int64)
    for k, atoms in enumerate(images):
        atoms = atoms.copy()
        atoms.calc = None
        calculator.reset()
        calculator.calculate(atoms, ["energy", "forces"], ["positions"])
        spread[k] = calculator.results["max_force_spread"]
        energy_std[k] = calculator.results["energy_std"]
        extrapolations[k] = calculator.last_result.extrapolations
    indices = pick_largest(spread, n, min_gap=min_gap, frames=frames)
    return Selection(indices=indices, max_force_spread=spread, energy_std=energy_std,
                     extrapolations=extrapolations)
