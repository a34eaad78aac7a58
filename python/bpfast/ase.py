"""ASE calculator for Behler-Parrinello potentials evaluated by bpfast.

>>> from bpfast.ase import BPCalculator
>>> atoms.calc = BPCalculator("H2O_RPBE-D3", length_unit="bohr", energy_unit="hartree")
>>> atoms.get_potential_energy()       # eV
>>> atoms.get_forces()                 # eV/Å
>>> atoms.get_stress()                 # eV/Å³, Voigt (xx, yy, zz, yz, xz, xy)

ASE works in Å and eV; the potential in its own units (those of its training
data). The calculator converts positions and cell into the potential's units and
energies, forces and stress back, through the factors of :mod:`bpfast.units`.

Every evaluation computes everything at once (energy, forces, per-atom energies
and, for cells periodic in all three directions, the stress), so that asking
for further properties of the same atoms costs nothing.

A committee (several potential directories, or a :class:`bpfast.Committee`)
works the same way: the usual keys hold the committee mean, and ``results``
also carry the spreads over the members (``numpy.std``, ddof=0) in ASE units::

>>> calc = BPCalculator(["c1", "c2", "c3", "c4"], "bohr", "hartree")
>>> atoms.calc = calc
>>> atoms.get_forces()                         # mean over the members, eV/Å
>>> calc.results["forces_std"]                 # (n, 3), eV/Å
>>> calc.get_property("max_force_spread")      # eV/Å, largest |forces_std| row
"""

from __future__ import annotations

import os
import warnings
from typing import Any, ClassVar, Dict, List, Optional, Sequence, Union

import numpy as np

try:
    from ase.calculators.calculator import (
        Calculator,
        PropertyNotImplementedError,
        all_changes,
    )
except ImportError as exc:  # pragma: no cover - exercised only without ASE
    raise ImportError(
        "bpfast.ase needs ASE: pip install 'bpfast[ase]' (or pip install ase)") from exc

from . import potential as _potential
from ._validation import check_threads
from .units import UnitLike, UnitSystem, unapplied_units

__all__ = ["BPCalculator", "COMMITTEE_PROPERTIES", "voigt_6"]

#: Properties a committee adds to ``results`` (ASE units): energy_std (eV),
#: forces_std (n, 3; eV/Å), energies_std (n; eV), stress_std (Voigt 6; eV/Å³, 3-D
#: periodic cells only), force_spread (n; eV/Å: the norm of each row of
#: forces_std) and max_force_spread (eV/Å: its largest value, 0 without atoms).
COMMITTEE_PROPERTIES = ("energy_std", "forces_std", "stress_std", "energies_std",
                        "force_spread", "max_force_spread")

PotentialLike = Union[str, "os.PathLike[str]", _potential.Potential, Any]


def voigt_6(stress: np.ndarray) -> np.ndarray:
    """3x3 stress tensor -> ASE's Voigt 6-vector (xx, yy, zz, yz, xz, xy)."""
    s = np.asarray(stress, dtype=np.float64)
    return np.array([s[0, 0], s[1, 1], s[2, 2],
                     0.5 * (s[1, 2] + s[2, 1]), 0.5 * (s[0, 2] + s[2, 0]),
                     0.5 * (s[0, 1] + s[1, 0])])


def _evaluator(potential) -> Any:
    """The Potential or Committee that ``potential`` (see BPCalculator) stands for."""
    if isinstance(potential, _potential.Potential):
        return potential
    if isinstance(potential, (str, os.PathLike)):
        return _potential.load(potential)
    from . import committee as _committee

    if isinstance(potential, _committee.Committee):
        return potential
    if isinstance(potential, (list, tuple)) and all(
            isinstance(p, (str, os.PathLike)) for p in potential):
        return _committee.load_committee(potential)
    raise TypeError("potential must be a bpfast.Potential or a path to a potential "
                    "directory, or a committee: a bpfast.Committee or a list of such paths, "
                    f"got {type(potential).__name__}")


def _directories(evaluator) -> List[str]:
    """The potential directories behind a Potential or a Committee."""
    paths = getattr(evaluator, "paths", None)
    return [str(p) for p in paths] if paths is not None else [str(evaluator.directory)]


def _new_cache(skin: float):
    """A bpfast.NeighborCache with ``skin`` (potential units), or None for skin 0."""
    return _potential.NeighborCache(skin=skin) if skin > 0.0 else None


class BPCalculator(Calculator):
    """ASE calculator evaluating an n2p2/RuNNer potential with bpfast.

    Parameters
    ----------
    potential : str, os.PathLike, bpfast.Potential, list of paths or bpfast.Committee
        A loaded potential or the directory holding ``input.nn``, ``scaling.data``
        and ``weights.ZZZ.data``; or a committee: a list (or tuple) of such
        directories, loaded with :func:`bpfast.load_committee`, or a loaded
        :class:`bpfast.Committee`. With a committee the usual results are the
        means over the members, and ``results`` also hold the spreads
        (:data:`COMMITTEE_PROPERTIES`, standard deviations over the members,
        ddof=0, in ASE units): ``energy_std`` (eV), ``forces_std`` (n x 3,
        eV/Å), ``energies_std`` (n, eV), ``stress_std`` (Voigt 6-vector, eV/Å³,
        3-D periodic cells only), ``force_spread`` (n, eV/Å: the norm of each row
        of forces_std) and ``max_force_spread`` (eV/Å, its largest value).
        They can be asked for with ``calc.get_property(name, atoms)``.
    length_unit, energy_unit : str or float
        Units of the potential: names from :data:`bpfast.units.LENGTH_UNITS` /
        :data:`bpfast.units.ENERGY_UNITS` ("angstrom", "bohr", "nm", "ev",
        "hartree", "kcal/mol", "kj/mol", "rydberg", ...) or factors (Å resp. eV
        per unit). Default (None) Å and eV (no conversion); a UserWarning says so
        when the comments of ``input.nn`` state other units (see
        :func:`bpfast.units.guess_units`). The n2p2 water potentials need
        ``length_unit="bohr", energy_unit="hartree"``.
    skin : float
        Verlet skin in Å. The neighbour list is built with cutoff + skin and reused
        until an atom has moved more than skin/2 or the cell, the number of atoms
        or the periodicity changed (the list does not depend on the species); the
        results are those of a fresh list. 0 builds a new list at every evaluation.
    threads : int, optional
        OpenMP threads per evaluation (default: OMP_NUM_THREADS or all cores).
    **kwargs
        Passed to :class:`ase.calculators.calculator.Calculator` (e.g. ``label``).

    Attributes
    ----------
    potential : bpfast.Potential or bpfast.Committee
        What is evaluated.
    is_committee : bool
    directories : list of str
        The potential directories (one, or the committee members in order).
    units : bpfast.units.UnitSystem
    rebuilds : int
        Neighbour-list builds so far.
    evaluations : int
        Evaluations of the potential so far.
    extrapolations : int
        (atom, symmetry function) values outside the training range, summed over
        all evaluations; each evaluation that extrapolates also issues a
        :class:`bpfast.ExtrapolationWarning`.
    extrapolating_evaluations : int
        Number of evaluations that extrapolated.
    timings : dict
        Seconds spent per phase (neighbors, symmetry_functions, network, forces),
        summed over all evaluations.
    last_result : bpfast.Result, bpfast.CommitteeResult or None
        The raw result (potential units) of the last evaluation.
    """

    implemented_properties: ClassVar[List[str]] = [
        "energy", "free_energy", "forces", "stress", "energies"]

    def __init__(
        self,
        potential: PotentialLike,
        length_unit: Optional[UnitLike] = None,
        energy_unit: Optional[UnitLike] = None,
        *,
        skin: float = 1.0,
        threads: Optional[int] = None,
        **kwargs: Any,
    ):
        self.potential = _evaluator(potential)
        self.is_committee = not isinstance(self.potential, _potential.Potential)
        self.directories = _directories(self.potential)
        if self.is_committee:  # per instance: ASE's and the class's lists stay as they are
            self.implemented_properties = [*type(self).implemented_properties,
                                           *COMMITTEE_PROPERTIES]
        self.units = UnitSystem("angstrom" if length_unit is None else length_unit,
                                "ev" if energy_unit is None else energy_unit)
        for directory in self.directories:
            stated = unapplied_units(directory, length_unit, energy_unit)
            if stated is not None:
                warnings.warn(
                    f"{directory}: input.nn states the units {stated[0]} and "
                    f"{stated[1]}, but BPCalculator uses {self.units.length_name} and "
                    f"{self.units.energy_name}: pass length_unit={stated[0].lower()!r}, "
                    f"energy_unit={stated[1].lower()!r} if input.nn is right (bpfast never "
                    f"applies units by itself)", UserWarning, stacklevel=2)
                break
        skin = float(skin)
        if not np.isfinite(skin) or skin < 0.0:
            raise ValueError(f"skin must be a finite length >= 0 (Å), got {skin!r}")
        if threads is not None:
            check_threads(threads)  # validate now rather than at the first call
        self.skin = skin
        self.threads = threads
        self._cache = _new_cache(skin / self.units.length)
        self._builds_without_cache = 0
        self.evaluations = 0
        self.extrapolations = 0
        self.extrapolating_evaluations = 0
        self.timings: Dict[str, float] = {}
        self.last_result: Optional[Any] = None
        super().__init__(**kwargs)

    # ------------------------------------------------------------------ info
    @property
    def rebuilds(self) -> int:
        """Neighbour-list builds so far (one per evaluation without a cache)."""
        if self._cache is not None:
            return int(self._cache.rebuilds)
        return self._builds_without_cache

    @property
    def neighbor_cache(self):
        """The bpfast.NeighborCache in use, or None (skin 0)."""
        return self._cache

    def reset(self) -> None:
        """Forget the results (ASE semantics) and the cached neighbour list."""
        super().reset()
        if getattr(self, "_cache", None) is not None:
            self._cache.reset()

    # The neighbour cache is not copied or pickled: a copy starts its own.
    def __getstate__(self) -> Dict[str, Any]:
        state = self.__dict__.copy()
        state["_cache"] = None
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._cache = _new_cache(self.skin / self.units.length)

    def __repr__(self) -> str:
        what = self.directories if self.is_committee else self.directories[0]
        return (f"BPCalculator({what!r}, length_unit="
                f"{self.units.length_name!r}, energy_unit={self.units.energy_name!r}, "
                f"skin={self.skin:g})")

    # ------------------------------------------------------------------ work
    def calculate(
        self,
        atoms=None,
        properties: Sequence[str] = ("energy",),
        system_changes: Sequence[str] = all_changes,
    ) -> None:
        Calculator.calculate(self, atoms, properties, system_changes)
        atoms = self.atoms
        pbc = np.asarray(atoms.pbc, dtype=bool)
        periodic3d = bool(pbc.all())
        if ("stress" in properties or "stress_std" in properties) and not periodic3d:
            raise PropertyNotImplementedError(
                "stress needs a cell that is periodic in all three directions")
        u = self.units
        positions = atoms.positions / u.length if u.length != 1.0 else atoms.positions
        cell = None
        if pbc.any():
            cell = np.asarray(atoms.cell[:], dtype=np.float64) / u.length
        want_stress = periodic3d and abs(atoms.cell.volume) > 0.0
        kwargs: Dict[str, Any] = {}
        if self._cache is not None:
            kwargs["cache"] = self._cache
        # an extrapolation issues a bpfast.ExtrapolationWarning from Potential.compute
        res = self.potential.compute(
            positions, atoms.numbers, cell, tuple(pbc) if cell is not None else False,
            forces=True, stress=want_stress, energies=True, threads=self.threads, **kwargs)
        if self._cache is None:
            self._builds_without_cache += 1
        self.evaluations += 1
        if res.extrapolations:
            self.extrapolations += res.extrapolations
            self.extrapolating_evaluations += 1
        for phase, seconds in res.timings.items():
            self.timings[phase] = self.timings.get(phase, 0.0) + float(seconds)
        self.last_result = res

        energy = res.energy * u.energy
        self.results = {
            "energy": energy,
            "free_energy": energy,
            "forces": np.asarray(res.forces) * u.force,
            "energies": np.asarray(res.energies) * u.energy,
        }
        if want_stress:
            self.results["stress"] = voigt_6(res.stress) * u.stress
        if self.is_committee:
            self.results.update(_spreads(res, u, want_stress))


def _spreads(res, u: UnitSystem, stress: bool) -> Dict[str, Any]:
    """The committee spreads of ``res`` (potential units) in ASE units."""
    forces_std = np.asarray(res.forces_std) * u.force
    force_spread = np.sqrt(np.sum(forces_std**2, axis=1))
    out = {
        "energy_std": float(res.energy_std) * u.energy,
        "forces_std": forces_std,
        "energies_std": np.asarray(res.energies_std) * u.energy,
        "force_spread": force_spread,
        "max_force_spread": float(force_spread.max()) if force_spread.size else 0.0,
    }
    if stress:
        out["stress_std"] = voigt_6(res.stress_std) * u.stress
    return out
