"""The Python face of a loaded potential: argument checks, results and warnings."""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Tuple, Union

import numpy as np

from . import _core
from ._caller import user_stacklevel
from ._finite import check_finite_results
from ._extrapolation import UNITS_HINT_FRACTION, extrapolation_warning, function_listing
from ._overlap import check_closest_pair
from ._validation import check_threads, prepare, prepare_compute
from .errors import ExtrapolationWarning

__all__ = ["NeighborCache", "Potential", "Result", "load"]

NeighborCache = _core.NeighborCache

ArrayLike = Any


@dataclass(frozen=True, eq=False)  # arrays: compare fields with numpy, not ==
class Result:
    """Result of :meth:`Potential.compute`, in the potential's own units.

    Attributes
    ----------
    energy : float
        Total energy.
    forces : ndarray (n, 3) or None
        Forces -dE/dr (energy/length), if requested.
    stress : ndarray (3, 3) or None
        Stress (1/V) dE/d(strain) (energy/length^3, ASE sign convention: positive
        = tensile, pressure = -trace/3), if requested.
    energies : ndarray (n,) or None
        Per-atom energies (summing to ``energy``), if requested.
    extrapolations : int
        Number of (atom, symmetry function) values outside the range in
        ``scaling.data``, counted as n2p2 counts extrapolation warnings.
    timings : dict
        Seconds of the phases: neighbors, symmetry_functions, network, forces. With
        forces or stress the last three run interleaved per atom; they are then the
        per-thread sums divided by the number of threads.
    neighbor_pairs : int
        Number of (atom, neighbour) pairs in the neighbour list (within the cutoff,
        or within cutoff + skin when a NeighborCache is used).
    """

    energy: float
    forces: Optional[np.ndarray] = None
    stress: Optional[np.ndarray] = None
    energies: Optional[np.ndarray] = None
    extrapolations: int = 0
    timings: Dict[str, float] = field(default_factory=dict, compare=False)
    neighbor_pairs: int = 0


def load(path: Union[str, os.PathLike]) -> "Potential":
    """Load an n2p2/RuNNer potential directory.

    The directory holds ``input.nn``, ``scaling.data`` and one
    ``weights.ZZZ.data`` per element (ZZZ = atomic number, zero-padded to 3).
    A path to the ``input.nn`` file itself is accepted too.

    Raises FileNotFoundError for a missing directory or file,
    :class:`bpfast.FormatError` (a ValueError with ``file`` and ``line``) for
    malformed content and :class:`bpfast.UnsupportedPotentialError` for
    potentials bpfast cannot evaluate (4G-HDNNPs).
    """
    p = Path(path)
    if p.is_file() and p.name == "input.nn":
        p = p.parent
    if p.is_file():
        raise FileNotFoundError(2, "Not a potential directory but a file (expected the "
                                   "directory holding input.nn, or input.nn itself)", str(p))
    if not p.is_dir():
        raise FileNotFoundError(2, "No such potential directory", str(p))
    pot = Potential(_core.load(str(p)))
    # What was read, to check when pickling (which sends the files' contents).
    pot._digests = {name: _digest((p / name).read_bytes()) for name in pot._file_names()}
    return pot


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _unpickle_potential(directory: str, files: Dict[str, bytes]) -> "Potential":
    """A Potential from the contents of its files (the other end of Potential.__reduce__)."""
    with tempfile.TemporaryDirectory(prefix="bpfast-") as tmp:
        for name, data in files.items():
            (Path(tmp) / name).write_bytes(data)
        pot = Potential(_core.load(tmp))
    pot.directory = directory
    pot._files = dict(files)
    return pot


class Potential:
    """A loaded, immutable 2nd-generation HDNNP. Create it with :func:`bpfast.load`.

    All inputs and outputs are in the potential's own units (those of its training
    data, e.g. Bohr and Hartree for the n2p2 water potentials).
    """

    def __init__(self, core: "_core.Potential"):
        self._core = core
        self._digests: Dict[str, str] = {}  # file name -> SHA-256 at load time
        self._files: Optional[Dict[str, bytes]] = None  # contents, if unpickled
        self.elements: Tuple[str, ...] = tuple(core.elements)
        self.atomic_numbers: Tuple[int, ...] = tuple(core.atomic_numbers)
        self.cutoff: float = float(core.cutoff)
        self.directory: str = core.directory
        arch = core.architectures
        self.n_symmetry_functions: Dict[str, int] = {
            el: int(a[0]) for el, a in zip(self.elements, arch)}
        self.architecture: Dict[str, Tuple[int, ...]] = {
            el: tuple(int(x) for x in a) for el, a in zip(self.elements, arch)}
        self.activations: Dict[str, str] = dict(zip(self.elements, core.activations))

    @property
    def symmetry_functions(self) -> Dict[str, list]:
        """Per element, the symmetry functions in n2p2's (network input) order."""
        return dict(zip(self.elements, self._core.symmetry_functions))

    @property
    def normalization(self) -> Optional[Dict[str, float]]:
        """mean_energy, conv_energy, conv_length if the potential uses them, else None."""
        c = self._core
        if not c.normalized:
            return None
        return {"mean_energy": c.mean_energy, "conv_energy": c.conv_energy,
                "conv_length": c.conv_length}

    @property
    def atom_energy(self) -> Dict[str, float]:
        """Per-element energy offsets (``atom_energy`` in input.nn; 0 if absent)."""
        return dict(zip(self.elements, self._core.atom_energy))

    def _file_names(self) -> list:
        """Names (in the potential's directory) of the files the core read."""
        return [Path(f).name for f in self._core.files]

    # Immutable: copies share the loaded potential. Pickles (multiprocessing, NEB
    # images in other processes) carry the files' contents, checked against what was
    # loaded, and are loaded again on the other side.
    def __copy__(self) -> "Potential":
        return self

    def __deepcopy__(self, memo) -> "Potential":
        return self

    def __reduce__(self):
        if self._files is not None:
            return _unpickle_potential, (self.directory, self._files)
        files = {}
        for name in self._file_names():
            path = Path(self.directory) / name
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise pickle.PicklingError(
                    f"cannot pickle the potential: {path} is no longer readable ({exc})") from exc
            if _digest(data) != self._digests.get(name):
                raise pickle.PicklingError(
                    f"cannot pickle the potential: {path} changed since it was loaded")
            files[name] = data
        return _unpickle_potential, (self.directory, files)

    def __repr__(self) -> str:
        nets = ", ".join(f"{el} {'-'.join(map(str, a))} ({' '.join(self.activations[el])})"
                         for el, a in self.architecture.items())
        return (f"Potential({self.directory!r}, elements={self.elements}, cutoff={self.cutoff:g}, "
                f"networks: {nets})")

    def compute(
        self,
        positions: ArrayLike,
        species: ArrayLike,
        cell: Optional[ArrayLike] = None,
        pbc: Union[None, bool, Sequence[bool]] = None,
        *,
        forces: bool = True,
        stress: bool = False,
        energies: bool = False,
        threads: Optional[int] = None,
        cache: Optional["_core.NeighborCache"] = None,
        _kernels: Optional["_core.KernelOptions"] = None,
    ) -> Result:
        """Energy (and forces, stress, per-atom energies) of one structure.

        Parameters
        ----------
        positions : array (n, 3)
            Cartesian positions (length unit of the potential).
        species : sequence of n element symbols or atomic numbers
        cell : array (3, 3), optional
            Rows are the lattice vectors a, b, c (or 3 lengths of an orthorhombic cell).
        pbc : bool or 3 bools, optional
            Periodic directions; default: periodic in all directions if a cell is given.
        forces, stress, energies : bool
            What to compute besides the energy. Stress needs a cell.
        threads : int, optional
            OpenMP threads for this call (default: OMP_NUM_THREADS or all cores).
        cache : bpfast.NeighborCache, optional
            Keeps the neighbour list between calls (Verlet list with a skin), for MD
            and relaxations; results are the same as without it.

        Atoms at the same position (an atom and another's periodic image included) are
        a ValueError; atoms closer than 5 % of the cutoff issue a
        :class:`bpfast.OverlapWarning`, values outside the training range an
        :class:`bpfast.ExtrapolationWarning`.
        _kernels : bpfast._core.KernelOptions, optional
            Internal: the kernels' code paths for this call (tests run each of them).
        """
        pos, numbers, c, periodic, volume = prepare_compute(positions, species, cell, pbc,
                                                            stress, cache)
        out = self._core.compute(pos, numbers, c, periodic, bool(forces), bool(stress),
                                 bool(energies), check_threads(threads), False, cache,
                                 _kernels or _core.KernelOptions())
        check_closest_pair(out["closest_pair"], self.cutoff, c)
        counts = out["extrapolations"]
        total = int(sum(int(c_.sum()) for c_ in counts))
        if total:
            warnings.warn(self._extrapolation_warning(out, pos.shape[0]),
                          stacklevel=user_stacklevel())
        stress_tensor = None
        if stress:
            stress_tensor = np.asarray(out["virial"]) / volume
        check_finite_results(f"the potential {self.directory}", out["energy"], out["forces"],
                             stress_tensor, out["energies"])
        return Result(
            energy=float(out["energy"]),
            forces=out["forces"],
            stress=stress_tensor,
            energies=out["energies"],
            extrapolations=total,
            timings=dict(out["timings"]),
            neighbor_pairs=int(out["neighbor_pairs"]),
        )

    def descriptors(
        self,
        positions: ArrayLike,
        species: ArrayLike,
        cell: Optional[ArrayLike] = None,
        pbc: Union[None, bool, Sequence[bool]] = None,
        *,
        threads: Optional[int] = None,
        _kernels: Optional["_core.KernelOptions"] = None,
    ) -> list:
        """Raw (unscaled) symmetry-function values of every atom.

        Returns a list of n 1-D arrays; atom i's array has
        ``n_symmetry_functions[element of i]`` entries in n2p2's order (the order
        of ``scaling.data`` and of the network inputs). Arguments as for
        :meth:`compute`. No extrapolation warning is issued.
        """
        pos, numbers, c, periodic = prepare(positions, species, cell, pbc)
        out = self._core.compute(pos, numbers, c, periodic, False, False, False,
                                 check_threads(threads), True, None, _kernels or _core.KernelOptions())
        check_closest_pair(out["closest_pair"], self.cutoff, c)
        result: list = [None] * pos.shape[0]
        for values, atoms in zip(out["descriptors"], out["descriptor_atoms"]):
            for row, i in enumerate(atoms):
                result[int(i)] = values[row]
        return result

    def symmetry_function_tangents(
        self,
        positions: ArrayLike,
        species: ArrayLike,
        tangents: ArrayLike,
        cell: Optional[ArrayLike] = None,
        pbc: Union[None, bool, Sequence[bool]] = None,
        *,
        threads: Optional[int] = None,
        _kernels: Optional["_core.KernelOptions"] = None,
    ) -> Dict[str, list]:
        """Raw symmetry functions and their exact derivatives along displacement directions.

        ``tangents`` holds m directions, shape (m, n, 3) (or (n, 3) for one direction):
        one 3-vector v_i per atom. For every atom a and symmetry function k the result
        holds u_ak = sum_i v_i . dG_ak/dr_i (periodic images move with their atom).
        Returns a dict of lists indexed by element (``self.elements`` order):

        - ``"descriptors"``: (n_e, n_sf) raw values, as :meth:`descriptors`;
        - ``"tangents"``: (m, n_e, n_sf) derivatives u (always with the direction axis);
        - ``"descriptor_atoms"``: (n_e,) atom index of each row.

        Symmetry functions are in n2p2's order (that of the network inputs). Arguments
        otherwise as for :meth:`compute`; no extrapolation warning is issued.
        """
        pos, numbers, c, periodic = prepare(positions, species, cell, pbc)
        n = pos.shape[0]
        try:
            v = np.asarray(tangents, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"tangents must be a float array of shape (m, {n}, 3): {exc}") from None
        if v.shape == (n, 3):
            v = v[np.newaxis]
        if v.ndim != 3 or v.shape[1:] != (n, 3) or v.shape[0] < 1:
            raise ValueError(f"tangents must have shape (m, {n}, 3) or ({n}, 3), got {v.shape}")
        if not np.isfinite(v).all():
            raise ValueError("tangents contain NaN or infinite values")
        out = self._core.symmetry_function_tangents(
            pos, numbers, c, periodic, np.ascontiguousarray(v), check_threads(threads),
            _kernels or _core.KernelOptions())
        return {key: list(out[key]) for key in ("descriptors", "tangents", "descriptor_atoms")}

    def _extrapolation_warning(self, out: dict, n_atoms: int) -> ExtrapolationWarning:
        """The ExtrapolationWarning of one evaluation (``out``: the core's result)."""
        fraction = sum(out["extrapolating_atoms"]) / max(n_atoms, 1)
        stated = self._stated_units() if fraction > UNITS_HINT_FRACTION else None
        return extrapolation_warning(self.elements, out["extrapolations"],
                                     out["extrapolating_atoms"], out["excursions"],
                                     self.symmetry_functions, n_atoms, stated)

    def _stated_units(self) -> Optional[Tuple[str, str]]:
        """(length, energy) units named in input.nn's comments, or None."""
        from .units import guess_units

        return guess_units(self.directory)

    def function_listing(self) -> list:
        """One line per symmetry function, named as :class:`ExtrapolationWarning` names
        them ("O function 25": element and 1-based index in n2p2's order, the row of
        scaling.data): type, parameters, training range and input.nn line."""
        return function_listing(self.elements, self.symmetry_functions)
