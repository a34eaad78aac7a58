"""Symmetry-function definitions of ``input.nn`` and a standard set for new potentials.

A :class:`SymmetryFunction` is one ``symfunction_short`` line: the central element,
the n2p2 type number and the parameters of that type (lengths in the potential's
length unit, angles of the compact types in degrees). :func:`standard_symmetry_functions`
builds a usual starting set of radial (type 2) and angular (type 3 or 9) functions.

The functions (``docs/n2p2-format.md`` §4), with f_c the cutoff function of
``cutoff_type`` and r_ij the distance from the central atom i to neighbour j:

* type 2:  G_i = Σ_j exp(−η (r_ij − r_s)²) f_c(r_ij), neighbours j of element e1
* type 3:  G_i = 2^(1−ζ) Σ_{j<k} (1 + λ cos θ_ijk)^ζ
  exp(−η [(r_ij − r_s)² + (r_ik − r_s)² + (r_jk − r_s)²]) f_c(r_ij) f_c(r_ik) f_c(r_jk),
  neighbour pairs of elements (e1, e2)
* type 9:  as type 3 without the r_jk terms
* types 12, 13 (element-weighted) and 20–25 (polynomial, compact support) are read
  and written with their own columns; see the format notes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, List, Optional, Sequence, Tuple

from .. import _core

__all__ = ["SymmetryFunction", "standard_symmetry_functions"]

#: Parameter columns after ``<element> <type>``, per type (n2p2's input.nn layout).
COLUMNS = {
    2: ("e1", "eta", "rs", "rc"),
    3: ("e1", "e2", "eta", "lambda_", "zeta", "rc", "rs"),
    9: ("e1", "e2", "eta", "lambda_", "zeta", "rc", "rs"),
    12: ("eta", "rs", "rc"),
    13: ("eta", "rs", "lambda_", "zeta", "rc"),
    20: ("e1", "rl", "rc", "subtype"),
    21: ("e1", "e2", "rl", "rc", "angle_left", "angle_right", "subtype"),
    22: ("e1", "e2", "rl", "rc", "angle_left", "angle_right", "subtype"),
    23: ("rl", "rc", "subtype"),
    24: ("rl", "rc", "angle_left", "angle_right", "subtype"),
    25: ("rl", "rc", "angle_left", "angle_right", "subtype"),
}
#: Types whose last column (rs) may be left out (it is then 0).
OPTIONAL_LAST = (3, 9)
ANGULAR_TYPES = (3, 9, 13, 21, 22, 24, 25)


def _is_element(symbol: str) -> bool:
    return 1 <= _core.atomic_number(str(symbol)) <= 118


def _number_text(value: float) -> str:
    """Shortest text that reads back as the same double (C atof reads it too)."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") and "e" not in text else text


@dataclass(frozen=True)
class SymmetryFunction:
    """One ``symfunction_short`` line of ``input.nn``.

    Attributes
    ----------
    element : str
        Central element.
    type : int
        n2p2 type number (2, 3, 9, 12, 13, 20, 21, 22, 23, 24, 25).
    e1, e2 : str or None
        Neighbour element(s): e1 for types 2 and 20; e1 and e2 for the angular
        types 3, 9, 21, 22 (order irrelevant); None for the weighted types.
    eta, rs, rc, lambda_, zeta : float
        Gaussian-type parameters (η in 1/length², r_s and r_c in length units).
    rl, angle_left, angle_right : float
        Compact-type parameters (r_l in length units, angles in degrees).
    subtype : str
        Compact-type core function (p1 … p4, p1a … p4a, e).
    line : int
        Line number in the ``input.nn`` it was read from (0 if built in Python);
        not part of equality.
    """

    element: str
    type: int
    e1: Optional[str] = None
    e2: Optional[str] = None
    eta: float = 0.0
    rs: float = 0.0
    rc: float = 0.0
    lambda_: float = 0.0
    zeta: float = 0.0
    rl: float = 0.0
    angle_left: float = 0.0
    angle_right: float = 0.0
    subtype: str = ""
    line: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        if self.type not in COLUMNS:
            raise ValueError(f"unknown symmetry function type {self.type!r} "
                             f"(expected one of {', '.join(map(str, COLUMNS))})")
        for name in ("element", "e1", "e2"):
            value = getattr(self, name)
            needed = name == "element" or name in COLUMNS[self.type]
            if needed and (value is None or not _is_element(value)):
                raise ValueError(f"type {self.type} symmetry function: {name} must be an "
                                 f"element symbol, got {value!r}")
            if not needed and value is not None:
                raise ValueError(f"type {self.type} symmetry functions have no {name}, "
                                 f"got {value!r}")
        for name in ("eta", "rs", "rc", "lambda_", "zeta", "rl", "angle_left", "angle_right"):
            if not math.isfinite(float(getattr(self, name))):
                raise ValueError(f"symmetry function parameter {name} must be finite, got "
                                 f"{getattr(self, name)!r}")
        if not self.rc > 0.0:
            raise ValueError(f"symmetry function cutoff rc must be positive, got {self.rc!r}")
        if self.type >= 20 and not self.rl < self.rc:
            raise ValueError(f"compact symmetry function: rl ({self.rl!r}) must be smaller "
                             f"than rc ({self.rc!r})")

    @property
    def angular(self) -> bool:
        """True for the three-body types."""
        return self.type in ANGULAR_TYPES

    @classmethod
    def from_tokens(cls, tokens: Sequence[str], line: int = 0) -> "SymmetryFunction":
        """Parse the words after ``symfunction_short``: ``<element> <type> <parameters>``.

        Raises ValueError saying which column is wrong (the caller adds file and line).
        """
        if len(tokens) < 2:
            raise ValueError("expected '<element> <type> <parameters...>'")
        try:
            sf_type = int(tokens[1])
        except ValueError:
            raise ValueError(f"symmetry function type must be an integer, got "
                             f"{tokens[1]!r}") from None
        if sf_type not in COLUMNS:
            raise ValueError(f"unknown symmetry function type {tokens[1]} (expected one of "
                             f"{', '.join(map(str, COLUMNS))})")
        columns = COLUMNS[sf_type]
        values = tokens[2:]
        lowest = len(columns) - (1 if sf_type in OPTIONAL_LAST else 0)
        if not lowest <= len(values) <= len(columns):
            raise ValueError(f"type {sf_type} expects the parameters '{' '.join(columns)}'"
                             f", found {len(values)} value(s)")
        kwargs = {"element": tokens[0], "type": sf_type, "line": line}
        for name, text in zip(columns, values):
            if name in ("e1", "e2", "subtype"):
                kwargs[name] = text
            else:
                kwargs[name] = parse_number(text, name)
        return cls(**kwargs)

    def to_text(self) -> str:
        """The words after ``symfunction_short`` (n2p2's column order)."""
        words = [self.element, str(self.type)]
        for name in COLUMNS[self.type]:
            value = getattr(self, name)
            words.append(value if isinstance(value, str) else _number_text(value))
        return " ".join(words)

    def __str__(self) -> str:
        return self.to_text()


def parse_number(text: str, what: str) -> float:
    """A number as n2p2 writes them (C or Fortran notation: 1.5, 1.0E-3, 1.0d0)."""
    try:
        value = float(text.replace("d", "e").replace("D", "e"))
    except ValueError:
        raise ValueError(f"expected a number for {what}, found {text!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, found {text!r}")
    return value


def _radial_grid(r_min: float, cutoff: float, n: int) -> List[float]:
    if n == 1:
        return [r_min]
    step = (cutoff - r_min) / (n - 1)
    return [r_min + k * step for k in range(n)]


def standard_symmetry_functions(
    elements: Iterable[str],
    cutoff: float,
    *,
    r_min: Optional[float] = None,
    n_centred: int = 6,
    n_shifted: int = 6,
    n_angular_eta: int = 2,
    zetas: Sequence[float] = (1.0, 2.0, 4.0, 16.0),
    angular_type: int = 3,
) -> List[SymmetryFunction]:
    """A standard starting set of radial (type 2) and angular (type 3 or 9) functions.

    For every central element and neighbour element (radial) or unordered neighbour
    pair (angular), all with the same cutoff ``cutoff`` (potential's length unit):

    * centred radial: r_s = 0, η_k = 1 / (2 r_k²) for r_k on an even grid of
      ``n_centred`` points from ``r_min`` to ``cutoff`` (Gaussian widths from the
      closest contact to the cutoff);
    * shifted radial: r_s = r_min + k Δ (k = 0 … ``n_shifted`` − 1,
      Δ = (cutoff − r_min) / ``n_shifted``), η = 1 / (2 Δ²): Gaussians of width Δ
      centred on shells that tile [r_min, cutoff);
    * angular: r_s = 0, η from the ``n_angular_eta`` widest centred radial ones
      (r_k = cutoff, cutoff − …), ζ ∈ ``zetas`` (default 1, 2, 4, 16), λ = ±1.

    ``r_min`` (default ``cutoff / 8``) should be about the shortest interatomic
    distance in the data. ``angular_type`` is 3 (narrow, with the r_jk terms) or
    9 (wide). Check the set on the training data with
    :func:`bpfast.training.check_symmetry_functions` before training.
    """
    symbols = sorted({str(e) for e in elements}, key=_core.atomic_number)
    if not symbols:
        raise ValueError("elements must name at least one element")
    for e in symbols:
        if not _is_element(e):
            raise ValueError(f"{e!r} is not an element symbol")
    if not (isinstance(cutoff, (int, float)) and math.isfinite(cutoff) and cutoff > 0):
        raise ValueError(f"cutoff must be a positive number, got {cutoff!r}")
    r_min = cutoff / 8.0 if r_min is None else float(r_min)
    if not 0.0 < r_min < cutoff:
        raise ValueError(f"r_min must be between 0 and the cutoff {cutoff!r}, got {r_min!r}")
    if angular_type not in (3, 9):
        raise ValueError(f"angular_type must be 3 or 9, got {angular_type!r}")
    for name, n in (("n_centred", n_centred), ("n_shifted", n_shifted),
                    ("n_angular_eta", n_angular_eta)):
        if not isinstance(n, int) or n < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {n!r}")
    if n_angular_eta > max(n_centred, 1):
        raise ValueError("n_angular_eta cannot exceed n_centred")

    centred_eta = [1.0 / (2.0 * r * r) for r in _radial_grid(r_min, cutoff, n_centred)]
    delta = (cutoff - r_min) / max(n_shifted, 1)
    shifted = [(1.0 / (2.0 * delta * delta), r_min + k * delta) for k in range(n_shifted)]
    angular_eta = sorted(centred_eta)[:n_angular_eta]
    pairs = neighbour_pairs(symbols)

    out: List[SymmetryFunction] = []
    for centre in symbols:
        for e1 in symbols:
            out += [SymmetryFunction(centre, 2, e1, eta=eta, rs=0.0, rc=cutoff)
                    for eta in centred_eta]
            out += [SymmetryFunction(centre, 2, e1, eta=eta, rs=rs, rc=cutoff)
                    for eta, rs in shifted]
        for e1, e2 in pairs:
            out += [SymmetryFunction(centre, angular_type, e1, e2, eta=eta, lambda_=lam,
                                     zeta=float(zeta), rc=cutoff)
                    for eta in angular_eta for zeta in zetas for lam in (1.0, -1.0)]
    return out


def neighbour_pairs(symbols: Sequence[str]) -> List[Tuple[str, str]]:
    """Unordered element pairs (with repetition), in the given order."""
    return [(a, b) for i, a in enumerate(symbols) for b in symbols[i:]]
