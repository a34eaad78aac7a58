"""A committee of potentials: the mean of several HDNNPs and their spread, an estimate of
the error of the prediction (committee NNPs, query-by-committee active learning).

Spreads are ``numpy.std`` over the members (ddof=0, the population standard deviation).
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _core
from ._caller import user_stacklevel
from ._finite import check_finite_results
from ._overlap import check_closest_pair
from ._validation import check_threads, prepare_compute
from .potential import Potential, load

__all__ = ["Committee", "CommitteeResult", "load_committee"]

ArrayLike = Any
PathLike = Union[str, os.PathLike]


@dataclass(frozen=True, eq=False)  # arrays: compare fields with numpy, not ==
class CommitteeResult:
    """Result of :meth:`Committee.compute`, in the potentials' own units.

    Means over the members and their spreads, ``numpy.std`` over the members with
    ddof=0 (population standard deviation; 0 for a committee of one).

    Attributes
    ----------
    energy, energy_std : float
        Mean total energy and its spread.
    forces, forces_std : ndarray (n, 3) or None
        Mean forces and the spread of every component, if forces were requested.
    stress, stress_std : ndarray (3, 3) or None
        Mean stress and its spread, if requested (sign convention of Result.stress).
    energies, energies_std : ndarray (n,) or None
        Mean per-atom energies and their spread, if requested.
    member_energy : ndarray (M,)
        Every member's total energy.
    member_forces, member_stress, member_energies : ndarray (M, ...) or None
        Every member's forces / stress / per-atom energies, with ``members=True``.
    extrapolations : int
        The largest of the members' extrapolation counts (as Result.extrapolations).
    timings : dict
        Seconds of the phases (as Result.timings), summed over the groups of members
        that share their symmetry functions.
    neighbor_pairs : int
        Pairs in the committee's neighbour list (that of the largest member cutoff).
    """

    energy: float
    energy_std: float
    forces: Optional[np.ndarray] = None
    forces_std: Optional[np.ndarray] = None
    stress: Optional[np.ndarray] = None
    stress_std: Optional[np.ndarray] = None
    energies: Optional[np.ndarray] = None
    energies_std: Optional[np.ndarray] = None
    member_energy: np.ndarray = field(default_factory=lambda: np.zeros(0))
    member_forces: Optional[np.ndarray] = None
    member_stress: Optional[np.ndarray] = None
    member_energies: Optional[np.ndarray] = None
    extrapolations: int = 0
    timings: Dict[str, float] = field(default_factory=dict, compare=False)
    neighbor_pairs: int = 0

    @property
    def force_spread(self) -> Optional[np.ndarray]:
        """Per-atom force spread sqrt(sum_c forces_std[i, c]^2), shape (n,) (DeePMD's
        model deviation of atom i), or None without forces."""
        if self.forces_std is None:
            return None
        return np.sqrt(np.sum(self.forces_std ** 2, axis=1))

    @property
    def max_force_spread(self) -> Optional[float]:
        """The largest per-atom force spread (0.0 for no atoms), or None without forces."""
        spread = self.force_spread
        if spread is None:
            return None
        return float(spread.max()) if spread.size else 0.0


def load_committee(paths: Sequence[PathLike]) -> "Committee":
    """Load a committee of potential directories (as :func:`bpfast.load` each).

    The members must describe the same elements (ValueError otherwise); their cutoffs
    may differ. Units stated in the members' input.nn headers must agree. An empty
    list is a ValueError, a missing directory a FileNotFoundError naming it.
    """
    if isinstance(paths, (str, os.PathLike)):
        raise TypeError("paths must be a sequence of potential directories, got a single "
                        f"path {os.fspath(paths)!r}: pass [path]")
    paths = [os.fspath(p) for p in paths]
    if not paths:
        raise ValueError("a committee needs at least one potential directory, got none")
    return Committee([load(p) for p in paths])


def _check_members(members: Sequence[Potential]) -> None:
    """Raises ValueError unless all members describe the same elements in stated units
    that agree."""
    from .units import guess_units

    first = members[0]
    for m in members[1:]:
        if list(m.elements) != list(first.elements):
            raise ValueError(
                f"committee members describe different elements: {first.directory} has "
                f"{list(first.elements)}, {m.directory} has {list(m.elements)}")
    stated = [(m.directory, guess_units(m.directory)) for m in members]
    stated = [(d, u) for d, u in stated if u is not None]
    for d, u in stated[1:]:
        if _unit_factors(u) != _unit_factors(stated[0][1]):
            raise ValueError(
                f"committee members state different units in input.nn: {stated[0][0]} has "
                f"{stated[0][1][0]}/{stated[0][1][1]}, {d} has {u[0]}/{u[1]} (length/energy)")


def _unit_factors(units: Tuple[str, str]) -> Tuple[float, float]:
    from .units import energy_factor, length_factor

    return (length_factor(units[0]), energy_factor(units[1]))


class Committee:
    """Several potentials of the same elements evaluated together. Create it with
    :func:`bpfast.load_committee`.

    Members whose symmetry functions and scaling agree (members trained with different
    seeds or data on the same inputs) share the neighbour list, the symmetry functions
    and one force pass; others are evaluated separately. Results equal those of the
    members evaluated one by one up to rounding.

    ``compute`` returns the members' means and spreads (:class:`CommitteeResult`).
    Immutable and picklable like :class:`bpfast.Potential`.
    """

    def __init__(self, members: Sequence[Potential]):
        members = tuple(members)
        if not members:
            raise ValueError("a committee needs at least one member, got none")
        for m in members:
            if not isinstance(m, Potential):
                raise TypeError(f"committee members must be bpfast.Potential, got "
                                f"{type(m).__name__}")
        _check_members(members)
        self.members: Tuple[Potential, ...] = members
        self.paths: Tuple[str, ...] = tuple(m.directory for m in members)
        self.elements: List[str] = list(members[0].elements)
        self.cutoff: float = max(m.cutoff for m in members)
        self._core = _core.Committee([m._core for m in members])

    def __len__(self) -> int:
        return len(self.members)

    def __copy__(self) -> "Committee":
        return self

    def __deepcopy__(self, memo) -> "Committee":
        return self

    def __reduce__(self):
        return Committee, (self.members,)

    def __repr__(self) -> str:
        return (f"Committee({list(self.paths)!r}, elements={self.elements}, "
                f"cutoff={self.cutoff:g})")

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
        members: bool = False,
        threads: Optional[int] = None,
        cache: Optional["_core.NeighborCache"] = None,
        forces_std: bool = True,
        _kernels: Optional["_core.KernelOptions"] = None,
    ) -> CommitteeResult:
        """Mean and spread of the members' energy (and forces, stress, per-atom energies).

        Arguments as for :meth:`bpfast.Potential.compute`; ``members=True`` adds every
        member's forces / stress / per-atom energies to the result. Warnings as for one
        potential: one ExtrapolationWarning per call (that of the member with the most
        extrapolations), OverlapWarning for atoms closer than 5 % of the largest cutoff.

        ``forces_std=False`` computes the mean forces and stress only, as the gradient of
        the mean energy in one force pass (about the cost of one potential):
        ``forces_std``, ``stress_std``, ``member_forces`` and ``member_stress`` are then
        None; the energies' spreads are there as always.
        """
        pos, numbers, c, periodic, volume = prepare_compute(positions, species, cell, pbc,
                                                            stress, cache)
        out = self._core.compute(pos, numbers, c, periodic, bool(forces), bool(stress),
                                 bool(energies), check_threads(threads), cache,
                                 _kernels or _core.KernelOptions(), bool(forces_std))
        check_closest_pair(out["closest_pair"], self.cutoff, c)
        counts = [int(sum(int(k.sum()) for k in per_element))
                  for per_element in out["extrapolations"]]
        if max(counts):
            worst = int(np.argmax(counts))
            member_out = {key: out[key][worst]
                          for key in ("extrapolations", "extrapolating_atoms", "excursions")}
            warnings.warn(self.members[worst]._extrapolation_warning(member_out, pos.shape[0]),
                          stacklevel=user_stacklevel())
        member_energies = np.asarray(out["energy"])
        overflowed = [p for p, e in zip(self.paths, member_energies) if not np.isfinite(e)]
        check_finite_results(
            f"the committee member(s) {', '.join(overflowed or self.paths)}", member_energies,
            out["forces"] if forces_std else out["mean_forces"],
            out["virial"] if forces_std else out["mean_virial"], out["energies"])
        stress_values = None
        if stress and forces_std:
            stress_values = np.asarray(out["virial"]) / volume
        result = _result(member_energies, out["forces"], stress_values, out["energies"],
                         members, max(counts), dict(out["timings"]), int(out["neighbor_pairs"]))
        if forces_std:
            return result
        mean_stress = np.asarray(out["mean_virial"]) / volume if stress else None
        return dataclasses.replace(result, forces=out["mean_forces"], stress=mean_stress)


def _result(energy: np.ndarray, forces: Optional[np.ndarray], stress: Optional[np.ndarray],
            energies: Optional[np.ndarray], members: bool, extrapolations: int,
            timings: Dict[str, float], neighbor_pairs: int) -> CommitteeResult:
    """Means and spreads over the members (axis 0) of the per-member arrays."""

    def mean(a):
        return None if a is None else a.mean(axis=0)

    def std(a):
        return None if a is None else a.std(axis=0)

    def each(a):
        return a if members else None

    return CommitteeResult(
        energy=float(energy.mean()), energy_std=float(energy.std()), member_energy=energy,
        forces=mean(forces), forces_std=std(forces),
        stress=mean(stress), stress_std=std(stress),
        energies=mean(energies), energies_std=std(energies),
        member_forces=each(forces), member_stress=each(stress), member_energies=each(energies),
        extrapolations=extrapolations, timings=timings, neighbor_pairs=neighbor_pairs)
