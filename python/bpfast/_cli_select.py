"""``bpfast select``: the frames of a trajectory where a committee disagrees most."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np

from ._cli_common import (
    PROG,
    CommandError,
    _calculator,
    _load_with_units,
    _parse_index,
    _read_structures,
    _WarningPrinter,
)


def cmd_select(args, printer: _WarningPrinter) -> int:
    from . import n2p2_io
    from .selection import select_frames
    from .units import UnitSystem

    committee, path = _committee_and_trajectory(args)
    index = _parse_index(args.index)
    pot = _load_with_units(args, committee)
    calc = _calculator(pot, args, skin=0.0)
    frames: list = []
    images, raw = _read_structures(path, args.format, index, args.structure_units,
                                   args.length_unit, args.energy_unit, frames)
    if args.n > len(images):
        raise CommandError(f"-n {args.n}: {path} has only {len(images)} frame(s) to choose "
                           f"from")
    printer.context = f"{path}, {len(images)} frames"
    picked = select_frames(images, calc, args.n, min_gap=args.min_gap, frames=frames)
    printer.context = ""
    if len(picked.indices) < args.n:
        warnings.warn(f"only {len(picked.indices)} of the {args.n} frames asked for are at "
                      f"least --min-gap {args.min_gap} frames apart; writing those",
                      UserWarning, stacklevel=2)
    u = UnitSystem(args.length_unit, args.energy_unit)
    if raw is not None:  # spreads in the units of the file: the potential's
        units = (f"{u.energy_name}/{u.length_name}", u.energy_name)
        spread, energy_std = picked.max_force_spread / u.force, picked.energy_std / u.energy
    else:
        units = ("eV/Å", "eV")
        spread, energy_std = picked.max_force_spread, picked.energy_std
    structures = []
    for i in picked.indices:
        note = (f"bpfast select: frame {frames[i]} of {path}, max force spread "
                f"{spread[i]:.6g} {units[0]}, energy spread {energy_std[i]:.6g} {units[1]}")
        try:
            structures.append(_unlabelled_structure(images[i] if raw is None else raw[i],
                                                    raw is None, args, note))
        except ValueError as exc:
            raise CommandError(f"frame {frames[i]} of {path}: {exc}") from None
    n2p2_io.write_input_data(args.output, structures)
    _print_selection(sys.stdout, images, frames, picked, spread, energy_std, *units)
    print(f"{PROG} select: {len(picked.indices)} of {len(images)} frames of {path} by the "
          f"largest force spread of a committee of {len(committee)} -> {args.output} "
          f"({args.length_unit}, {args.energy_unit})", file=sys.stderr)
    return 0


def _committee_and_trajectory(args) -> tuple:
    """(member directories, TRAJ) of ``bpfast select``: --committee takes every path that
    follows it, so without a separate TRAJ its last path is TRAJ."""
    committee, path = list(args.committee), args.trajectory
    if path is None:
        if len(committee) < 2:
            raise CommandError("select needs --committee DIR DIR [DIR ...] and TRAJ")
        path = committee.pop()
        if Path(path).is_dir():
            raise CommandError(f"no trajectory given: {path}, the last path after "
                               f"--committee, is a directory (give TRAJ after the "
                               f"potential directories)")
    if len(committee) < 2:
        raise CommandError(f"select needs a committee of at least two potential directories, "
                           f"got {len(committee)}: {' '.join(committee)}")
    return committee, path


def _unlabelled_structure(atoms, convert: bool, args, comment: str):
    """An n2p2 record of ``atoms`` (in Å if ``convert``, else already in the potential's
    units) in the potential's units, without energy, forces or atomic energies: a
    structure for a new reference calculation."""
    from .n2p2_io import N2p2Structure

    atoms = atoms.copy()
    atoms.calc = None
    units = (args.length_unit, args.energy_unit) if convert else ("angstrom", "ev")
    s = N2p2Structure.from_atoms(atoms, *units)
    s.comment = comment if s.comment is None else f"{comment}; {s.comment}"
    s.atom_energies = np.zeros(len(s))
    s.forces = np.zeros((len(s), 3))
    s.energy = None
    return s


def _print_selection(out, images, frames, picked, spread, energy_std, force_unit: str,
                     energy_unit: str) -> None:
    """The table of picked frames: rank, frame, MD step (if recorded), atoms, spreads,
    extrapolations."""
    indices = picked.indices
    steps = [images[i].info.get("step") for i in indices]
    show_step = any(isinstance(s, (int, np.integer)) for s in steps)
    head = f"{'rank':>4s} {'frame':>7s}" + (f" {'step':>10s}" if show_step else "")
    print(f"{head} {'atoms':>7s} {'max_force_spread[' + force_unit + ']':>26s} "
          f"{'energy_std[' + energy_unit + ']':>22s} {'extrapolations':>14s}", file=out)
    for rank, (i, step) in enumerate(zip(indices, steps), start=1):
        row = f"{rank:4d} {frames[i]:7d}"
        if show_step:
            row += f" {step:10d}" if isinstance(step, (int, np.integer)) else f" {'-':>10s}"
        print(f"{row} {len(images[i]):7d} {spread[i]:26.6g} {energy_std[i]:22.6g} "
              f"{picked.extrapolations[i]:14d}", file=out)
