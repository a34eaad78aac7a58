"""Read and write n2p2's structure files (``input.data``).

The format (``docs/n2p2-format.md`` §9) holds any number of structures::

    begin
    comment <free text>
    lattice  ax ay az          (0 or 3 lines: rows are the cell vectors)
    atom  x y z  El  q  e  fx fy fz
    ...
    energy  E
    charge  Q
    end

All numbers are in the units of the potential the data belong to (n2p2 applies
no unit conversion). Three ``lattice`` lines make a structure periodic in all
three directions; none make it isolated. Column 6 of an atom line (atomic energy)
is ignored by n2p2 on reading but is kept here.

Plain functions work on :class:`N2p2Structure` records and need only NumPy;
:func:`read_atoms` / :func:`write_atoms` and the ``to_atoms`` / ``from_atoms``
methods convert to and from :class:`ase.Atoms` (converting units if asked).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterable, Iterator, List, Optional, Union

import numpy as np

from . import _core
from .errors import FormatError
from .units import UnitLike, UnitSystem

__all__ = [
    "N2p2Structure",
    "iread_input_data",
    "is_input_data",
    "read_atoms",
    "read_input_data",
    "write_atoms",
    "write_input_data",
]

PathOrFile = Union[str, "os.PathLike[str]", IO[str]]


@dataclass
class N2p2Structure:
    """One structure of an ``input.data`` file (units of the potential).

    Attributes
    ----------
    positions : ndarray (n, 3)
    symbols : list of n element symbols
    cell : ndarray (3, 3) or None
        Rows are the lattice vectors; None for an isolated structure.
    charges : ndarray (n,)
        Reference atomic charges (column 5).
    atom_energies : ndarray (n,)
        Column 6 (atomic energy; n2p2 ignores it on reading).
    forces : ndarray (n, 3)
        Reference forces (columns 7-9).
    energy : float or None
        Reference total energy (``energy`` line), None if absent.
    charge : float or None
        Reference total charge (``charge`` line), None if absent.
    comment : str or None
        Text of the ``comment`` line, None if absent.
    tags : str
        Anything after ``begin`` (e.g. ``set=train``).
    """

    positions: np.ndarray
    symbols: List[str]
    cell: Optional[np.ndarray] = None
    charges: Optional[np.ndarray] = None
    atom_energies: Optional[np.ndarray] = None
    forces: Optional[np.ndarray] = None
    energy: Optional[float] = None
    charge: Optional[float] = None
    comment: Optional[str] = None
    tags: str = field(default="")

    def __post_init__(self) -> None:
        self.positions = np.array(self.positions, dtype=np.float64).reshape(-1, 3)
        n = len(self.positions)
        self.symbols = [str(s) for s in self.symbols]
        if len(self.symbols) != n:
            raise ValueError(f"symbols has {len(self.symbols)} entries but positions has "
                             f"{n} atoms")
        for s in self.symbols:
            if not 1 <= _core.atomic_number(s) <= 118:
                raise ValueError(f"{s!r} is not an element symbol")
        if self.cell is not None:
            self.cell = np.array(self.cell, dtype=np.float64)
            if self.cell.shape != (3, 3):
                raise ValueError(f"cell must be 3x3 (rows = lattice vectors), got shape "
                                 f"{self.cell.shape}")
            if not np.linalg.det(self.cell) != 0.0:  # also NaN
                raise ValueError("the cell is singular (a periodic n2p2 structure needs 3 "
                                 "independent lattice vectors)")
        self.tags = str(self.tags)
        if "\n" in self.tags or "\r" in self.tags:
            raise ValueError(f"tags must be one line (they follow 'begin'), got {self.tags!r}")
        self.charges = _column(self.charges, (n,), "charges")
        self.atom_energies = _column(self.atom_energies, (n,), "atom_energies")
        self.forces = _column(self.forces, (n, 3), "forces")

    def __len__(self) -> int:
        return len(self.positions)

    @property
    def pbc(self) -> bool:
        """True when the structure has a lattice (n2p2: periodic in all directions)."""
        return self.cell is not None

    @property
    def numbers(self) -> np.ndarray:
        """Atomic numbers (n,)."""
        numbers = np.array([_core.atomic_number(s) for s in self.symbols], dtype=np.int64)
        bad = (numbers < 1) | (numbers > 118)
        if bad.any():
            raise KeyError(f"unknown element {self.symbols[int(np.argmax(bad))]!r}")
        return numbers

    def to_atoms(self, length_unit: UnitLike = "angstrom", energy_unit: UnitLike = "ev",
                 *, results: bool = True):
        """An :class:`ase.Atoms` in Å/eV (the file being in ``length_unit``/``energy_unit``).

        Charges go to ``initial_charges``, the comment and tags to ``atoms.info``
        (``comment``, ``n2p2_tags``), the total charge to ``info["charge"]``. With
        ``results`` the reference energy and forces are attached as a
        ``SinglePointCalculator`` (when the file has an energy line).
        """
        from ase import Atoms
        from ase.calculators.singlepoint import SinglePointCalculator

        u = UnitSystem(length_unit, energy_unit)
        atoms = Atoms(
            symbols=self.symbols,
            positions=self.positions * u.length,
            cell=None if self.cell is None else self.cell * u.length,
            pbc=self.cell is not None,
        )
        if np.any(self.charges):
            atoms.set_initial_charges(self.charges)
        if np.any(self.atom_energies):
            atoms.arrays["n2p2_atom_energies"] = self.atom_energies * u.energy
        if self.comment is not None:
            atoms.info["comment"] = self.comment
        if self.tags:
            atoms.info["n2p2_tags"] = self.tags
        if self.charge is not None:
            atoms.info["charge"] = self.charge
        if results and self.energy is not None:
            atoms.calc = SinglePointCalculator(
                atoms, energy=self.energy * u.energy, forces=self.forces * u.force)
        return atoms

    @classmethod
    def from_atoms(cls, atoms, length_unit: UnitLike = "angstrom",
                   energy_unit: UnitLike = "ev") -> "N2p2Structure":
        """The structure of an :class:`ase.Atoms` (Å/eV) in ``length_unit``/``energy_unit``.

        Energy and forces are taken from the attached calculator's stored results
        if there are any (nothing is computed); charges from ``initial_charges``.
        Raises ValueError for mixed periodicity, which n2p2 cannot represent.
        """
        u = UnitSystem(length_unit, energy_unit)
        pbc = np.asarray(atoms.pbc, dtype=bool)
        if pbc.any() and not pbc.all():
            raise ValueError(f"n2p2 structures are periodic in all three directions or in "
                             f"none; these atoms have pbc={pbc.tolist()}")
        cell = np.asarray(atoms.cell[:], dtype=np.float64) / u.length if pbc.all() else None
        energy = forces = None
        calc = getattr(atoms, "calc", None)
        stored = getattr(calc, "results", {}) if calc is not None else {}
        if "energy" in stored:
            energy = float(stored["energy"]) / u.energy
        if "forces" in stored:
            forces = np.asarray(stored["forces"]) / u.force
        atom_energies = atoms.arrays.get("n2p2_atom_energies")
        if atom_energies is None and "energies" in stored:
            atom_energies = stored["energies"]
        if atom_energies is not None:
            atom_energies = np.asarray(atom_energies) / u.energy
        comment = atoms.info.get("comment")
        return cls(
            positions=atoms.positions / u.length,
            symbols=atoms.get_chemical_symbols(),
            cell=cell,
            charges=atoms.get_initial_charges(),
            atom_energies=atom_energies,
            forces=forces,
            energy=energy,
            charge=atoms.info.get("charge"),
            comment=None if comment is None else str(comment),
            tags=str(atoms.info.get("n2p2_tags", "")),
        )


def _column(value, shape, name) -> np.ndarray:
    if value is None:
        return np.zeros(shape)
    arr = np.array(value, dtype=np.float64)
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
    return arr


# ---------------------------------------------------------------------- reading


class _Source:
    """An open stream plus its name, closed afterwards if we opened it. Files are read as
    bytes and decoded line by line (UTF-8, a leading byte-order mark dropped), so that a
    decoding error names its line."""

    def __init__(self, target: PathOrFile, mode: str):
        if isinstance(target, (str, os.PathLike)):
            self.name = os.fspath(target)
            if mode == "r":
                self.stream: IO = open(self.name, "rb")  # noqa: SIM115
            else:
                self.stream = open(self.name, mode, encoding="utf-8")  # noqa: SIM115
            self.owned = True
        else:
            self.name = getattr(target, "name", "<stream>")
            self.stream = target
            self.owned = False

    def __enter__(self) -> "_Source":
        return self

    def __exit__(self, *exc) -> None:
        if self.owned:
            self.stream.close()

    def lines(self) -> Iterator[str]:
        for lineno, line in enumerate(self.stream, start=1):
            if isinstance(line, bytes):
                try:
                    line = line.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise _error(self.name, lineno, f"not UTF-8 text ({exc.reason} at byte "
                                                    f"{exc.start} of the line)") from None
            if lineno == 1:
                line = line.lstrip("\ufeff")
            yield line


# A number as n2p2 reads it (C's atof on the whole field): digits, an optional point and
# an optional exponent; nothing that Python's float() accepts beyond that (1_0, nan, inf,
# non-ASCII digits).
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")


def _number(tok: str, source: str, lineno: int, what: str) -> float:
    value = float(tok) if _NUMBER.match(tok) else None
    if value is None or not np.isfinite(value):
        detail = f"{what} must be a finite number, got {tok!r}"
        raise FormatError(f"{source}:{lineno}: {detail}", file=source, line=lineno,
                          detail=detail)
    return value


def _error(source: str, lineno: int, detail: str) -> FormatError:
    return FormatError(f"{source}:{lineno}: {detail}", file=source, line=lineno, detail=detail)


def iread_input_data(source: PathOrFile) -> Iterator[N2p2Structure]:
    """Yield the structures of an ``input.data`` file one by one.

    Raises :class:`bpfast.FormatError` (with ``file`` and ``line``) for anything
    n2p2 would not read: unknown line types, lines outside ``begin``/``end``,
    1 or 2 (or more than 3) ``lattice`` lines, short atom lines, non-numbers,
    unknown elements, a missing ``end``. Blank lines are skipped.
    """
    with _Source(source, "r") as src:
        name = src.name
        block: Optional[dict] = None
        start = 0
        lineno = 0
        for lineno, line in enumerate(src.lines(), start=1):
            tokens = line.split()
            if not tokens:
                continue
            key = tokens[0]
            if key == "begin":
                if block is not None:
                    raise _error(name, lineno, f"'begin' inside the structure started at "
                                               f"line {start} (missing 'end')")
                block = {"tags": " ".join(tokens[1:]), "lattice": [], "atoms": [],
                         "comment": None, "energy": None, "charge": None}
                start = lineno
                continue
            if block is None:
                raise _error(name, lineno, f"expected 'begin', got {key!r}")
            if key == "end":
                yield _finish(block, name, start, lineno)
                block = None
            elif key == "comment":
                text = line.strip()[len("comment"):]
                block["comment"] = text.strip()
            elif key == "lattice":
                if len(tokens) < 4:
                    raise _error(name, lineno, f"'lattice' needs 3 numbers, got "
                                               f"{len(tokens) - 1}")
                if len(block["lattice"]) == 3:
                    raise _error(name, lineno, "more than 3 'lattice' lines")
                block["lattice"].append(
                    [_number(t, name, lineno, "lattice component") for t in tokens[1:4]])
            elif key == "atom":
                if len(tokens) < 10:
                    raise _error(name, lineno, "'atom' needs x y z element charge energy "
                                               f"fx fy fz (9 fields), got {len(tokens) - 1}")
                symbol = tokens[4]
                if not 1 <= _core.atomic_number(symbol) <= 118:
                    raise _error(name, lineno, f"unknown element {symbol!r}")
                values = [_number(t, name, lineno, "atom column")
                          for t in tokens[1:4] + tokens[5:10]]
                block["atoms"].append((symbol, values))
            elif key in ("energy", "charge"):
                if len(tokens) < 2:
                    raise _error(name, lineno, f"{key!r} needs a value")
                block[key] = _number(tokens[1], name, lineno, key)
            else:
                raise _error(name, lineno, f"unknown line type {key!r} (expected begin, "
                                           f"comment, lattice, atom, energy, charge or end)")
        if block is not None:
            raise _error(name, lineno, f"structure started at line {start} has no 'end'")


def _finish(block: dict, name: str, start: int, lineno: int) -> N2p2Structure:
    lattice = block["lattice"]
    if len(lattice) not in (0, 3):
        raise _error(name, lineno, f"structure started at line {start} has {len(lattice)} "
                                   f"'lattice' lines (need 0 or 3)")
    atoms = block["atoms"]
    values = np.array([v for _, v in atoms], dtype=np.float64).reshape(-1, 8)
    try:
        return N2p2Structure(
            positions=values[:, 0:3],
            symbols=[s for s, _ in atoms],
            cell=np.array(lattice) if lattice else None,
            charges=values[:, 3],
            atom_energies=values[:, 4],
            forces=values[:, 5:8],
            energy=block["energy"],
            charge=block["charge"],
            comment=block["comment"],
            tags=block["tags"],
        )
    except ValueError as exc:  # e.g. a singular lattice
        raise _error(name, start, f"structure started here: {exc}") from None


def read_input_data(source: PathOrFile, index: Union[int, slice, None] = None):
    """Structures of an ``input.data`` file: a list, or one if ``index`` is an int."""
    frames = list(iread_input_data(source))
    if index is None:
        return frames
    if isinstance(index, (int, np.integer)) and not isinstance(index, bool):
        if not -len(frames) <= index < len(frames):
            raise IndexError(f"structure {index} requested, the file has {len(frames)}")
        return frames[index]
    return frames[index]


# ---------------------------------------------------------------------- writing


def _fmt(x: float) -> str:
    return f"{x:24.16E}"


def _write_structure(out: IO[str], s: N2p2Structure) -> None:
    out.write("begin" + (f" {s.tags}" if s.tags else "") + "\n")
    if s.comment is not None:
        text = " ".join(str(s.comment).splitlines())
        out.write(f"comment {text}\n" if text else "comment\n")
    if s.cell is not None:
        for row in s.cell:
            out.write("lattice " + " ".join(_fmt(v) for v in row) + "\n")
    for i, symbol in enumerate(s.symbols):
        x, y, z = s.positions[i]
        fx, fy, fz = s.forces[i]
        out.write("atom " + " ".join(_fmt(v) for v in (x, y, z)) + f" {symbol:>2s} "
                  + " ".join(_fmt(v) for v in (s.charges[i], s.atom_energies[i], fx, fy, fz))
                  + "\n")
    if s.energy is not None:
        out.write(f"energy {_fmt(s.energy)}\n")
    if s.charge is not None:
        out.write(f"charge {_fmt(s.charge)}\n")
    out.write("end\n")


def write_input_data(target: PathOrFile, structures: Union[N2p2Structure,
                                                            Iterable[N2p2Structure]],
                     *, append: bool = False) -> None:
    """Write structures in n2p2's ``input.data`` format (17 significant digits).

    ``energy`` and ``charge`` lines are written only for values that are not None.
    """
    if isinstance(structures, N2p2Structure):
        structures = [structures]
    for s in structures:
        if not isinstance(s, N2p2Structure):
            raise TypeError(f"expected N2p2Structure records, got {type(s).__name__}")
    with _Source(target, "a" if append else "w") as dst:
        for s in structures:
            _write_structure(dst.stream, s)
        dst.stream.flush()


# ---------------------------------------------------------------------- ASE


def read_atoms(source: PathOrFile, length_unit: UnitLike = "angstrom",
               energy_unit: UnitLike = "ev", *, results: bool = True) -> list:
    """All structures of an ``input.data`` file as ASE Atoms in Å/eV.

    ``length_unit``/``energy_unit`` are the units of the file (those of the
    potential it belongs to, e.g. "bohr"/"hartree" for the n2p2 water data).
    """
    return [s.to_atoms(length_unit, energy_unit, results=results)
            for s in iread_input_data(source)]


def write_atoms(target: PathOrFile, images, length_unit: UnitLike = "angstrom",
                energy_unit: UnitLike = "ev", *, append: bool = False) -> None:
    """Write ASE Atoms (one or a sequence) as ``input.data`` in the given units."""
    if hasattr(images, "get_positions"):
        images = [images]
    write_input_data(target, [N2p2Structure.from_atoms(a, length_unit, energy_unit)
                              for a in images], append=append)


def is_input_data(path: Union[str, "os.PathLike[str]"]) -> bool:
    """True if ``path`` looks like an n2p2 structure file.

    The name ``input.data`` (or ``*.data`` whose first non-blank line starts with
    ``begin``) decides; other files are left to ``ase.io``.
    """
    p = Path(path)
    if p.name == "input.data" or p.name.startswith("input.data."):
        return True
    if p.suffix != ".data" or not p.is_file():
        return False
    try:
        with open(p, encoding="utf-8-sig", errors="replace") as f:
            for line in f:
                tokens = line.split()
                if tokens:
                    return tokens[0] == "begin"
    except OSError:
        return False
    return False
