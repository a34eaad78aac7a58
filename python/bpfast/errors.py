"""Exceptions and warnings raised by bpfast."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

__all__ = ["Excursion", "ExtrapolationWarning", "FormatError", "OverlapWarning",
           "UnsupportedPotentialError"]


class FormatError(ValueError):
    """A potential file is malformed.

    Attributes
    ----------
    file : str
        Path of the offending file.
    line : int
        1-based line number, or 0 when the problem concerns the whole file.
    detail : str
        What was expected and what was found.
    """

    def __init__(self, message: str, file: str = "", line: int = 0, detail: str = ""):
        super().__init__(message)
        self.file = file
        self.line = line
        self.detail = detail or message


class UnsupportedPotentialError(ValueError):
    """The potential uses a feature bpfast does not implement (e.g. a 4G-HDNNP)."""


@dataclass(frozen=True)
class Excursion:
    """How far a symmetry-function value lies outside its training range.

    Attributes
    ----------
    element : str
        Element of the atom.
    function : int
        1-based index of the function among the element's symmetry functions (n2p2's
        order: the row in ``scaling.data``, the network input; ``bpfast info`` lists them).
    ranges : float
        Distance beyond the range, in units of the range ``G_max - G_min``
        (infinite if the range is a single value).
    above : bool
        True above ``G_max``, False below ``G_min``.
    """

    element: str
    function: int
    ranges: float
    above: bool

    def __str__(self) -> str:
        side = "above max" if self.above else "below min"
        if math.isinf(self.ranges):
            return f"{self.element} function {self.function}: {side} (a one-value range)"
        return f"{self.element} function {self.function}: {self.ranges:.2g} ranges {side}"


class ExtrapolationWarning(UserWarning):
    """Symmetry-function values left the range seen in training (``scaling.data``).

    The result is still computed exactly as n2p2 would, but the potential is being
    used outside its training domain. ``Result.extrapolations`` holds the count.
    The message changes only with the kind of extrapolation, so Python's warning
    filters show a repeated one once per line; the numbers of the evaluation are
    attributes.

    Attributes
    ----------
    count : int
        (atom, symmetry function) values outside the range.
    atoms : int
        Atoms with at least one such value, of ``n_atoms`` evaluated.
    by_element : dict
        Element symbol -> number of atoms of that element with such values.
    worst : Excursion or None
        The value farthest outside its range.
    """

    def __init__(self, message: str = "", *, count: int = 0, atoms: int = 0, n_atoms: int = 0,
                 by_element: Optional[Dict[str, int]] = None,
                 worst: Optional[Excursion] = None):
        super().__init__(message)
        self.count = count
        self.atoms = atoms
        self.n_atoms = n_atoms
        self.by_element = dict(by_element or {})
        self.worst = worst


class OverlapWarning(UserWarning):
    """Two atoms (or an atom and a periodic image) are much closer than any bond.

    Issued when the closest pair is nearer than a small fraction of the potential's
    cutoff (:data:`bpfast._overlap.OVERLAP_FRACTION`); such a structure is usually
    wrong (an atom placed twice, a typo in a coordinate), and the forces between the
    two atoms are meaningless. Atoms at exactly the same position are a ValueError.

    Attributes
    ----------
    i, j : int
        The two atoms (i <= j; i == j: an atom and its own periodic image).
    distance : float
        Their distance, in the potential's length unit.
    shift : tuple of 3 ints
        Lattice translation of atom j's image: r_j + shift . cell - r_i (zeros if the
        pair is not across the boundary).
    """

    def __init__(self, message: str = "", *, i: int = -1, j: int = -1, distance: float = 0.0,
                 shift: Tuple[int, int, int] = (0, 0, 0)):
        super().__init__(message)
        self.i = i
        self.j = j
        self.distance = distance
        self.shift = tuple(shift)
