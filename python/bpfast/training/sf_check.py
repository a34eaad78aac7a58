"""Checks of a symmetry-function set on the training data, before training.

A function is reported when, over the training atoms of its central element, it is

* ``zero``: exactly 0 everywhere (e.g. a neighbour element that never occurs within
  the cutoff);
* ``near-zero``: max |G| below ``zero_tolerance`` (it carries almost no signal and
  its scaled values are mostly round-off);
* ``constant``: its standard deviation is below ``constant_tolerance`` times max |G|;
* ``duplicate``: its Pearson correlation with an earlier function of the same
  element is at least ``correlation`` in absolute value (the network gains nothing
  from it, and such inputs slow down training).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np

from .descriptors import Descriptors
from .symmetry_functions import SymmetryFunction

__all__ = ["SymmetryFunctionIssue", "SymmetryFunctionReport", "check_symmetry_functions"]


@dataclass(frozen=True)
class SymmetryFunctionIssue:
    """One finding: ``kind`` is "zero", "near-zero", "constant" or "duplicate".

    ``index`` is the 0-based position in the element's network-input order;
    ``other``/``other_index`` the function it duplicates (for "duplicate").
    """

    element: str
    index: int
    function: SymmetryFunction
    kind: str
    detail: str
    other: Optional[SymmetryFunction] = None
    other_index: Optional[int] = None

    def __str__(self) -> str:
        where = f" (input.nn line {self.function.line})" if self.function.line else ""
        return f"{self.element} function {self.index + 1} '{self.function}'{where}: {self.detail}"


@dataclass(frozen=True)
class SymmetryFunctionReport:
    """The findings of :func:`check_symmetry_functions` (empty when the set is fine)."""

    issues: Tuple[SymmetryFunctionIssue, ...]
    n_atoms: Tuple[Tuple[str, int], ...]

    @property
    def ok(self) -> bool:
        return not self.issues

    def of_kind(self, kind: str) -> List[SymmetryFunctionIssue]:
        return [i for i in self.issues if i.kind == kind]

    def __str__(self) -> str:
        atoms = ", ".join(f"{e}: {n} atoms" for e, n in self.n_atoms)
        if self.ok:
            return f"symmetry functions: no problems found ({atoms})"
        lines = [f"symmetry functions: {len(self.issues)} problem(s) ({atoms})"]
        return "\n".join(lines + [f"  {issue}" for issue in self.issues])


def _single_issues(element, functions, g, zero_tolerance, constant_tolerance):
    issues = []
    largest = np.abs(g).max(axis=0)
    spread = g.std(axis=0)
    flagged = np.zeros(g.shape[1], dtype=bool)
    for s, sf in enumerate(functions):
        if largest[s] == 0.0:
            kind, detail = "zero", "zero for every atom"
        elif largest[s] < zero_tolerance:
            kind, detail = "near-zero", f"max |G| = {largest[s]:.3g} < {zero_tolerance:g}"
        elif spread[s] <= constant_tolerance * largest[s]:
            kind, detail = "constant", (f"constant: standard deviation {spread[s]:.3g} "
                                        f"for values up to {largest[s]:.3g}")
        else:
            continue
        flagged[s] = True
        issues.append(SymmetryFunctionIssue(element, s, sf, kind, detail))
    return issues, flagged


def _duplicates(element, functions, g, flagged, correlation):
    keep = np.flatnonzero(~flagged)
    if len(keep) < 2 or len(g) < 2:
        return []
    with np.errstate(invalid="ignore", divide="ignore"):  # a column constant in a sample
        r = np.nan_to_num(np.corrcoef(g[:, keep], rowvar=False), nan=0.0)
    issues = []
    reported = set()
    for a in range(len(keep)):
        for b in range(a):
            if keep[a] in reported:
                break
            if abs(r[a, b]) >= correlation:
                s, t = int(keep[a]), int(keep[b])
                reported.add(s)
                issues.append(SymmetryFunctionIssue(
                    element, s, functions[s], "duplicate",
                    f"correlation {r[a, b]:+.6f} with {element} function {t + 1} "
                    f"'{functions[t]}'", functions[t], t))
    return issues


def check_symmetry_functions(
    descriptors: Descriptors,
    *,
    zero_tolerance: float = 1e-6,
    constant_tolerance: float = 1e-8,
    correlation: float = 0.9999,
    max_atoms: int = 200_000,
    seed: int = 0,
) -> SymmetryFunctionReport:
    """Report symmetry functions that are zero, nearly zero, constant or near
    duplicates of another (see the module docstring) over ``descriptors``.

    Correlations use at most ``max_atoms`` atoms per element (a random subset,
    ``seed``), which keeps the check fast on large sets.
    """
    if not 0.0 < correlation <= 1.0:
        raise ValueError(f"correlation must be in (0, 1], got {correlation!r}")
    rng = np.random.default_rng(seed)
    issues: List[SymmetryFunctionIssue] = []
    for element in descriptors.elements:
        g = descriptors.values[element]
        functions = descriptors.functions[element]
        if len(g) == 0:
            continue
        found, flagged = _single_issues(element, functions, g, zero_tolerance,
                                        constant_tolerance)
        issues += found
        sample = g if len(g) <= max_atoms else g[rng.choice(len(g), max_atoms, replace=False)]
        issues += _duplicates(element, functions, sample, flagged, correlation)
    counts = tuple((e, len(descriptors.values[e])) for e in descriptors.elements)
    return SymmetryFunctionReport(tuple(issues), counts)
