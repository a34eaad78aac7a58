"""Units: one table of conversion factors to ASE's units (Å, eV).

n2p2 potentials carry no unit information: they work in the units of their
training data (Bohr and Hartree for the shipped water potentials, Å and eV for
Cu2S). ASE works in Å and eV. Everything that converts between the two
(:class:`bpfast.ase.BPCalculator`, :mod:`bpfast.md`, the ``bpfast`` command)
takes a length unit and an energy unit, either by name (see :data:`LENGTH_UNITS`,
:data:`ENERGY_UNITS`) or as a plain factor: how many Å (eV) one unit of the
potential is. A potential quantity ``x`` in ``energy^a length^b`` becomes
``x * energy_factor**a * length_factor**b`` in ASE units.

Values: CODATA 2018 (Bohr radius 0.529177210903 Å, Hartree 27.211386245988 eV,
Rydberg = Hartree / 2, Avogadro 6.02214076e23 / mol, elementary charge
1.602176634e-19 C, thermochemical calorie 4.184 J).
"""

from __future__ import annotations

import numbers
import re
from pathlib import Path
from typing import Dict, Optional, Tuple, Union

__all__ = [
    "ENERGY_UNITS",
    "LENGTH_UNITS",
    "UnitSystem",
    "energy_factor",
    "guess_units",
    "length_factor",
    "unapplied_units",
]

_KJ_PER_MOL = 1.0e3 / (6.02214076e23 * 1.602176634e-19)  # eV, = 0.010364269656...

#: Å per length unit (lookups ignore case, spaces, '_', '-' and '/').
LENGTH_UNITS: Dict[str, float] = {
    "angstrom": 1.0,
    "ang": 1.0,
    "a": 1.0,
    "bohr": 0.529177210903,
    "au": 0.529177210903,
    "a0": 0.529177210903,
    "nm": 10.0,
    "nanometer": 10.0,
    "pm": 0.01,
    "picometer": 0.01,
}

#: eV per energy unit (lookups ignore case, spaces, '_', '-' and '/').
ENERGY_UNITS: Dict[str, float] = {
    "ev": 1.0,
    "mev": 1.0e-3,
    "hartree": 27.211386245988,
    "ha": 27.211386245988,
    "au": 27.211386245988,
    "rydberg": 13.605693122994,
    "ry": 13.605693122994,
    "kcal/mol": 4.184 * _KJ_PER_MOL,  # = 0.0433641042418...
    "kj/mol": _KJ_PER_MOL,
}

UnitLike = Union[str, float, int]


def _normalise(name: str) -> str:
    key = re.sub(r"[\s_\-/]", "", name.strip().lower())
    return key.replace("ångström", "angstrom").replace("å", "angstrom")


def _factor(unit: UnitLike, table: Dict[str, float], kind: str) -> float:
    if isinstance(unit, bool):
        raise TypeError(f"{kind} unit must be a name or a positive number, got {unit!r}")
    if isinstance(unit, numbers.Real):  # numpy scalars too (numpy.bool_ is not Real)
        value = float(unit)
        if not value > 0.0 or value == float("inf"):
            raise ValueError(f"{kind} unit factor must be a positive finite number, got {unit!r}")
        return value
    if isinstance(unit, str):
        key = _normalise(unit)
        for name, value in table.items():
            if _normalise(name) == key:
                return value
        try:  # a number given as text, e.g. from the command line
            return _factor(float(unit), table, kind)
        except ValueError:
            pass
        names = ", ".join(sorted(table))
        raise ValueError(f"unknown {kind} unit {unit!r}; use one of {names} or a positive "
                         f"number (how many {'Å' if kind == 'length' else 'eV'} one unit is)")
    raise TypeError(f"{kind} unit must be a name or a positive number, got "
                    f"{type(unit).__name__}")


def length_factor(unit: UnitLike) -> float:
    """Å per ``unit``: a name from :data:`LENGTH_UNITS` or a positive factor."""
    return _factor(unit, LENGTH_UNITS, "length")


def energy_factor(unit: UnitLike) -> float:
    """eV per ``unit``: a name from :data:`ENERGY_UNITS` or a positive factor."""
    return _factor(unit, ENERGY_UNITS, "energy")


class UnitSystem:
    """Conversions between a potential's units and ASE's (Å, eV).

    ``UnitSystem("bohr", "hartree")``; ``length`` (Å per unit), ``energy``
    (eV per unit), ``force`` (eV/Å per unit), ``stress`` (eV/Å³ per unit) are
    the factors that take a potential quantity to ASE units.
    """

    __slots__ = ("energy", "energy_name", "force", "length", "length_name", "stress")

    def __init__(self, length_unit: UnitLike = "angstrom", energy_unit: UnitLike = "ev"):
        self.length = length_factor(length_unit)
        self.energy = energy_factor(energy_unit)
        self.force = self.energy / self.length
        self.stress = self.energy / self.length**3
        self.length_name = str(length_unit)
        self.energy_name = str(energy_unit)

    @property
    def is_identity(self) -> bool:
        return self.length == 1.0 and self.energy == 1.0

    def __repr__(self) -> str:
        return f"UnitSystem({self.length_name!r}, {self.energy_name!r})"


_HEADER_RE = re.compile(r"^\s*#+\s*(length|energy)\s+unit\s*:?\s*(\S+)", re.IGNORECASE)


def guess_units(directory: Union[str, Path]) -> Optional[Tuple[str, str]]:
    """(length, energy) unit names stated in ``input.nn`` comments, or None.

    n2p2's example potentials write ``# Length unit : Bohr`` and
    ``# Energy unit : Ha`` in their header. This is a hint only: nothing in the
    file format guarantees it, and bpfast never applies it by itself.
    """
    path = Path(directory)
    if path.is_dir():
        path = path / "input.nn"
    try:
        text = path.read_text(errors="replace").splitlines()[:200]
    except OSError:
        return None
    found: Dict[str, str] = {}
    for line in text:
        m = _HEADER_RE.match(line)
        if m and m.group(1).lower() not in found:
            found[m.group(1).lower()] = m.group(2)
    if "length" not in found or "energy" not in found:
        return None
    length, energy = found["length"], found["energy"]
    try:
        length_factor(length)
        energy_factor(energy)
    except ValueError:
        return None
    return length, energy


def unapplied_units(directory: Union[str, Path], length_unit: Optional[UnitLike] = None,
                    energy_unit: Optional[UnitLike] = None) -> Optional[Tuple[str, str]]:
    """The units ``input.nn`` states (:func:`guess_units`) when a unit left unset
    (None: Å resp. eV) is not the one stated, else None.

    For the hint "this potential says it is in Bohr and Hartree, but Å and eV are
    in use": a unit that was given, even Å or eV, is the caller's decision.
    """
    stated = guess_units(directory)
    if stated is None:
        return None
    length_differs = length_unit is None and length_factor(stated[0]) != 1.0
    energy_differs = energy_unit is None and energy_factor(stated[1]) != 1.0
    return stated if length_differs or energy_differs else None
