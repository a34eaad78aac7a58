"""Training data: structures with reference energies (and forces), read and split.

:func:`read_training_data` reads n2p2 ``input.data`` files and any file ASE reads
with energies and forces (extended XYZ, ASE trajectories, ...). Units follow the
rest of bpfast (:mod:`bpfast.units`): a potential works in its own length and energy
units; n2p2 structure files are in those units already (n2p2 applies no conversion),
ASE files are in Å and eV and are converted with ``length_unit``/``energy_unit``
(how many Å / eV one unit of the potential is, or a unit name).

Every problem is a :class:`DataError` (a ValueError) naming the file and the
structure (0-based index in its file).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from .. import _core
from ..n2p2_io import is_input_data, iread_input_data
from ..units import UnitLike, UnitSystem

__all__ = ["DataError", "TrainingSet", "TrainingStructure", "read_training_data"]

PathLike = Union[str, "os.PathLike[str]"]


class DataError(ValueError):
    """A training structure cannot be used.

    Attributes
    ----------
    file : str
        The file the structure was read from ('' if built in Python).
    structure : int or None
        0-based index of the structure in that file (None for the whole file/set).
    detail : str
        What was wrong.
    """

    def __init__(self, file: str, structure: Optional[int], detail: str):
        where = file or "<structures>"
        if structure is not None:
            where += f", structure {structure}"
        super().__init__(f"{where}: {detail}")
        self.file = file
        self.structure = structure
        self.detail = detail


def _symbol(z: int) -> str:
    return _core.element_symbol(int(z))


@dataclass(frozen=True, eq=False)
class TrainingStructure:
    """One labelled structure, in the potential's units.

    Attributes
    ----------
    positions : ndarray (n, 3) float64
    numbers : ndarray (n,) int32
        Atomic numbers.
    cell : ndarray (3, 3) or None
        Rows are the lattice vectors.
    pbc : tuple of 3 bool
    energy : float
        Reference total energy.
    forces : ndarray (n, 3) or None
        Reference forces; None when the structure has none (it then trains the
        energy only).
    file : str
        Source file ('' if built in Python).
    index : int
        0-based index of the structure in its file.
    comment : str
    """

    positions: np.ndarray
    numbers: np.ndarray
    cell: Optional[np.ndarray]
    pbc: Tuple[bool, bool, bool]
    energy: float
    forces: Optional[np.ndarray] = None
    file: str = ""
    index: int = 0
    comment: str = ""

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        fail = self._fail
        pos = np.ascontiguousarray(self.positions, dtype=np.float64)
        if pos.ndim != 2 or pos.shape[1] != 3:
            raise fail(f"positions must have shape (n, 3), got {pos.shape}")
        if len(pos) == 0:
            raise fail("the structure has no atoms")
        if not np.isfinite(pos).all():
            raise fail("positions contain NaN or infinite values")
        numbers = np.ascontiguousarray(self.numbers, dtype=np.int32)
        if numbers.shape != (len(pos),):
            raise fail(f"numbers must have shape ({len(pos)},), got {numbers.shape}")
        if ((numbers < 1) | (numbers > 118)).any():
            raise fail("numbers must be atomic numbers 1 ... 118")
        set_(self, "positions", pos)
        set_(self, "numbers", numbers)
        pbc = tuple(bool(p) for p in np.broadcast_to(np.asarray(self.pbc, dtype=bool), (3,)))
        set_(self, "pbc", pbc)
        if self.cell is not None:
            cell = np.ascontiguousarray(self.cell, dtype=np.float64)
            if cell.shape != (3, 3) or not np.isfinite(cell).all():
                raise fail("cell must be a finite 3x3 matrix")
            set_(self, "cell", cell)
        if any(pbc) and (self.cell is None or abs(np.linalg.det(self.cell)) == 0.0):
            raise fail("periodic structure without a (non-singular) cell")
        energy = float(self.energy)
        if not math.isfinite(energy):
            raise fail(f"the reference energy is {energy} (NaN or infinite)")
        set_(self, "energy", energy)
        if self.forces is not None:
            forces = np.ascontiguousarray(self.forces, dtype=np.float64)
            if forces.shape != pos.shape:
                raise fail(f"forces must have shape {pos.shape}, got {forces.shape}")
            if not np.isfinite(forces).all():
                atom = int(np.argmax(~np.isfinite(forces).all(axis=1)))
                raise fail(f"the reference forces contain NaN or infinite values (atom {atom})")
            set_(self, "forces", forces)

    def _fail(self, detail: str) -> DataError:
        return DataError(self.file, self.index, detail)

    def __len__(self) -> int:
        return len(self.positions)

    @property
    def symbols(self) -> List[str]:
        return [_symbol(z) for z in self.numbers]

    def without_forces(self) -> "TrainingStructure":
        return TrainingStructure(self.positions, self.numbers, self.cell, self.pbc,
                                 self.energy, None, self.file, self.index, self.comment)


class TrainingSet(Sequence):
    """An ordered collection of :class:`TrainingStructure` (may be empty, e.g. the
    test part of a split with ``test_fraction=0``).

    Indexing with an int gives a structure; with a slice or an index array, a
    TrainingSet.
    """

    def __init__(self, structures: Iterable[TrainingStructure]):
        self.structures: Tuple[TrainingStructure, ...] = tuple(structures)
        for s in self.structures:
            if not isinstance(s, TrainingStructure):
                raise TypeError(f"expected TrainingStructure objects, got {type(s).__name__}")

    def __len__(self) -> int:
        return len(self.structures)

    def __iter__(self) -> Iterator[TrainingStructure]:
        return iter(self.structures)

    def __getitem__(self, key):
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            return self.structures[key]
        if isinstance(key, slice):
            return TrainingSet(self.structures[key])
        return TrainingSet(self.structures[int(i)] for i in np.asarray(key).reshape(-1))

    def __repr__(self) -> str:
        counts = ", ".join(f"{e}: {n}" for e, n in self.atom_counts.items())
        return (f"TrainingSet({len(self)} structures, {self.n_atoms} atoms ({counts}), "
                f"{self.n_with_forces} with forces)")

    @property
    def n_atoms(self) -> int:
        return sum(len(s) for s in self.structures)

    @property
    def n_with_forces(self) -> int:
        """Number of structures that have reference forces."""
        return sum(s.forces is not None for s in self.structures)

    @property
    def elements(self) -> Tuple[str, ...]:
        """Element symbols present, in atomic-number order."""
        present = set()
        for s in self.structures:
            present.update(np.unique(s.numbers).tolist())
        return tuple(_symbol(z) for z in sorted(present))

    @property
    def atom_counts(self) -> Dict[str, int]:
        """Number of atoms of each element (atomic-number order)."""
        counts: Dict[int, int] = {}
        for s in self.structures:
            zs, n = np.unique(s.numbers, return_counts=True)
            for z, k in zip(zs.tolist(), n.tolist()):
                counts[z] = counts.get(z, 0) + k
        return {_symbol(z): counts[z] for z in sorted(counts)}

    @property
    def structure_counts(self) -> Dict[str, int]:
        """Number of structures that contain each element."""
        counts: Dict[int, int] = {}
        for s in self.structures:
            for z in np.unique(s.numbers).tolist():
                counts[z] = counts.get(z, 0) + 1
        return {_symbol(z): counts[z] for z in sorted(counts)}

    def check_elements(self, elements: Iterable[str], where: str = "the settings") -> None:
        """Raise DataError at the first structure with an element not in ``elements``."""
        allowed = {_core.atomic_number(str(e)) for e in elements}
        for s in self.structures:
            missing = sorted(set(np.unique(s.numbers).tolist()) - allowed)
            if missing:
                names = ", ".join(_symbol(z) for z in missing)
                raise DataError(s.file, s.index, f"element(s) {names} not in {where} "
                                                 f"({', '.join(map(str, elements))})")

    def check_test_set(self, test: "TrainingSet") -> None:
        """Raise DataError if ``test`` holds an element that this (training) set lacks."""
        test.check_elements(self.elements, "the training set")

    def require_forces(self) -> None:
        """Raise DataError at the first structure without reference forces."""
        for s in self.structures:
            if s.forces is None:
                raise DataError(s.file, s.index, "forces are requested but the structure has "
                                                 "no reference forces")

    def split(self, test_fraction: float, seed: int) -> Tuple["TrainingSet", "TrainingSet"]:
        """(train, test): ``round(test_fraction * len)`` structures drawn for the test set.

        The draw is ``numpy.random.default_rng(seed).permutation``: the same seed and
        set give the same split. At least one structure goes to the test set when
        ``test_fraction > 0`` and the set has two or more; both parts keep the
        original order. (n2p2 instead draws each structure with probability
        ``test_fraction``, so its test set size varies.)
        """
        if not (isinstance(test_fraction, (int, float)) and 0.0 <= test_fraction < 1.0):
            raise ValueError(f"test_fraction must be in [0, 1), got {test_fraction!r}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
        n = len(self)
        if n == 0:
            raise DataError("", None, "cannot split an empty training set")
        n_test = int(round(test_fraction * n))
        if test_fraction > 0.0 and n >= 2:
            n_test = min(max(n_test, 1), n - 1)
        chosen = np.zeros(n, dtype=bool)
        chosen[np.random.default_rng(int(seed)).permutation(n)[:n_test]] = True
        return self[np.flatnonzero(~chosen)], self[np.flatnonzero(chosen)]

    def summary(self) -> str:
        """One line per element: atoms and structures."""
        lines = [f"{len(self)} structures, {self.n_atoms} atoms, {self.n_with_forces} with "
                 f"forces"]
        per_structure = self.structure_counts
        lines += [f"  {e}: {n} atoms in {per_structure[e]} structures"
                  for e, n in self.atom_counts.items()]
        return "\n".join(lines)


# ---------------------------------------------------------------------- reading


def _from_n2p2(path: str) -> Iterator[TrainingStructure]:
    for k, s in enumerate(iread_input_data(path)):
        if s.energy is None:
            raise DataError(path, k, "no 'energy' line (a reference energy is needed)")
        yield TrainingStructure(s.positions, s.numbers, s.cell, s.cell is not None,
                                s.energy, s.forces, path, k, s.comment or "")


def _stored(atoms, key: str):
    calc = getattr(atoms, "calc", None)
    results = getattr(calc, "results", None) or {}
    if key in results:
        return results[key]
    if key == "energy":
        return atoms.info.get("energy")
    return atoms.arrays.get("forces")


def _from_ase(path: str, units: UnitSystem) -> Iterator[TrainingStructure]:
    try:
        import ase.io
    except ImportError:  # pragma: no cover - depends on the installation
        raise ImportError("reading this file needs ASE: pip install 'bpfast[ase]'") from None
    from ase.io.formats import UnknownFileTypeError

    try:
        images = list(ase.io.iread(path, index=":"))
    except UnknownFileTypeError as exc:
        raise DataError(path, None, f"neither n2p2 input.data nor a format ASE reads ({exc})"
                        ) from None
    for k, atoms in enumerate(images):
        energy = _stored(atoms, "energy")
        if energy is None:
            raise DataError(path, k, "no reference energy (expected an energy stored with "
                                     "the structure, e.g. energy= in extended XYZ)")
        forces = _stored(atoms, "forces")
        pbc = tuple(bool(p) for p in atoms.pbc)
        cell = np.asarray(atoms.cell[:], dtype=np.float64) / units.length if any(pbc) else None
        yield TrainingStructure(
            atoms.positions / units.length, atoms.numbers, cell, pbc,
            float(energy) / units.energy,
            None if forces is None else np.asarray(forces, dtype=np.float64) / units.force,
            path, k, str(atoms.info.get("comment", "")))


def read_training_data(
    sources: Union[PathLike, Sequence[PathLike]],
    *,
    length_unit: UnitLike = "angstrom",
    energy_unit: UnitLike = "ev",
    forces: Union[bool, str] = "auto",
    elements: Optional[Iterable[str]] = None,
) -> TrainingSet:
    """Read labelled structures from one or more files.

    Parameters
    ----------
    sources : path or list of paths
        n2p2 ``input.data`` files (recognised by :func:`bpfast.n2p2_io.is_input_data`),
        read as they are (the potential's units), or any file ``ase.io`` reads with
        stored energies (and forces), converted from Å/eV.
    length_unit, energy_unit : str or float
        The potential's units (names of :mod:`bpfast.units` or Å / eV per unit).
    forces : "auto", True or False
        "auto": keep the forces the files have (structures without forces train the
        energy only); True: every structure must have forces (DataError naming the
        first that has none); False: drop all forces.
    elements : iterable of str, optional
        The potential's elements: a structure with any other element is a DataError.
    """
    paths = [sources] if isinstance(sources, (str, os.PathLike)) else list(sources)
    if not paths:
        raise ValueError("no training data files given")
    if forces not in ("auto", True, False):
        raise ValueError(f"forces must be 'auto', True or False, got {forces!r}")
    units = UnitSystem(length_unit, energy_unit)
    structures: List[TrainingStructure] = []
    for p in paths:
        path = os.fspath(p)
        if not Path(path).is_file():
            raise FileNotFoundError(2, "No such training data file", path)
        if os.path.getsize(path) == 0:
            raise DataError(path, None, "the file holds no structures (it is empty)")
        before = len(structures)
        reader = _from_n2p2(path) if is_input_data(path) else _from_ase(path, units)
        structures.extend(s if forces is not False else s.without_forces() for s in reader)
        if len(structures) == before:
            raise DataError(path, None, "the file holds no structures")
    data = TrainingSet(structures)
    if forces is True:
        data.require_forces()
    if elements is not None:
        data.check_elements(list(elements))
    return data
