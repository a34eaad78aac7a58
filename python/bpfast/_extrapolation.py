"""The ExtrapolationWarning of one evaluation, and the listing of the symmetry functions
by the names the warning uses ("O function 25")."""

from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence

import numpy as np

from .errors import Excursion, ExtrapolationWarning

__all__ = ["extrapolation_warning", "function_listing", "worst_excursion"]

# Above this fraction of extrapolating atoms the structure is probably in other units.
UNITS_HINT_FRACTION = 0.5


def worst_excursion(elements: Sequence[str], excursions: Sequence[np.ndarray],
                    functions: Dict[str, list]) -> Optional[Excursion]:
    """The value farthest outside its training range, in units of that range."""
    worst: Optional[Excursion] = None
    for el, beyond in zip(elements, excursions):
        for s in np.flatnonzero(beyond):
            f = functions[el][s]
            width = f["max"] - f["min"]
            ranges = abs(float(beyond[s])) / width if width > 0 else math.inf
            if worst is None or ranges > worst.ranges:
                worst = Excursion(el, int(s) + 1, ranges, bool(beyond[s] > 0))
    return worst


def _severity(ranges: float) -> str:
    """A coarse, stable description of an excursion (the message must not change with
    every evaluation, or warning filters cannot merge repeated warnings)."""
    for limit in (0.01, 0.1, 1.0, 10.0, 100.0):
        if ranges <= limit:
            return f"up to {limit:g} range{'' if limit == 1.0 else 's'}"
    return "more than 100 ranges"


def extrapolation_warning(elements: Sequence[str], counts: Sequence[np.ndarray],
                          atoms_by_element: Sequence[int], excursions: Sequence[np.ndarray],
                          functions: Dict[str, list], n_atoms: int,
                          stated_units: Optional[tuple]) -> ExtrapolationWarning:
    """The warning for one evaluation. ``counts[e][s]``: atoms of element e with SF s out
    of range; ``excursions[e][s]``: the farthest value beyond the range (see
    Result.excursions of the core); ``stated_units``: (length, energy) from input.nn's
    comments, or None."""
    count = int(sum(int(c.sum()) for c in counts))
    atoms = int(sum(atoms_by_element))
    worst = worst_excursion(elements, excursions, functions)
    text = "the potential is extrapolating: symmetry-function values outside the training " \
           "range of scaling.data"
    if worst is not None:
        side = "above max" if worst.above else "below min"
        how = "off a one-value range" if math.isinf(worst.ranges) else _severity(worst.ranges)
        text += f" (worst: {worst.element} function {worst.function}, {how} {side})"
    if n_atoms and atoms > UNITS_HINT_FRACTION * n_atoms:
        stated = (f"input.nn states {stated_units[0]} and {stated_units[1]}" if stated_units
                  else "input.nn's comments may state them")
        text += (f". More than half of the atoms extrapolate, which usually means the "
                 f"structure is in other length units than the potential ({stated}; "
                 f"bpfast.ase.BPCalculator takes length_unit= and energy_unit=)")
    by_element = {el: int(a) for el, a in zip(elements, atoms_by_element) if a}
    return ExtrapolationWarning(text, count=count, atoms=atoms, n_atoms=n_atoms,
                                by_element=by_element, worst=worst)


def _parameters(f: dict) -> str:
    keys = ("e1", "e2", "eta", "rs", "lambda", "zeta", "rl", "rc", "angle_left", "angle_right",
            "subtype")
    used = {2: ("e1", "eta", "rs", "rc"), 3: ("e1", "e2", "eta", "lambda", "zeta", "rc", "rs"),
            9: ("e1", "e2", "eta", "lambda", "zeta", "rc", "rs"), 12: ("eta", "rs", "rc"),
            13: ("eta", "rs", "lambda", "zeta", "rc"), 20: ("e1", "rl", "rc", "subtype"),
            21: ("e1", "e2", "rl", "rc", "angle_left", "angle_right", "subtype"),
            22: ("e1", "e2", "rl", "rc", "angle_left", "angle_right", "subtype"),
            23: ("rl", "rc", "subtype"), 24: ("rl", "rc", "angle_left", "angle_right", "subtype"),
            25: ("rl", "rc", "angle_left", "angle_right", "subtype")}.get(f["type"], keys)
    parts = []
    for k in used:
        v = f[k]
        if k.startswith("angle"):
            v = math.degrees(v)
        parts.append(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}")
    return ", ".join(parts)


def function_listing(elements: Sequence[str], functions: Dict[str, list]) -> List[str]:
    """One line per symmetry function, named as ExtrapolationWarning names them:
    "O function 25: type 3 (e1 H, e2 H, ...), training range [G_min, G_max]"."""
    lines = []
    for el in elements:
        for k, f in enumerate(functions[el], start=1):
            bounds = (f"training range [{f['min']:.6g}, {f['max']:.6g}]"
                      if math.isfinite(f["min"]) else "no training range (no scaling.data)")
            lines.append(f"{el} function {k}: type {f['type']} ({_parameters(f)}), {bounds}, "
                         f"input.nn line {f['line']}")
    return lines
