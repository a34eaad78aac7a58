"""What the ``bpfast`` commands share: one-line errors, loading potentials with units,
reading structures, printing warnings."""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path
from typing import Optional

from .errors import ExtrapolationWarning

PROG = "bpfast"


class CommandError(Exception):
    """A user error the command reports in one line."""


def _load_potential(path: str):
    from .potential import load

    return load(path)


def _load_with_units(args, paths=None):
    """The potential of ``args`` (a Committee for several directories, ``paths`` if
    given), and unset units set to Å and eV, with a warning when the comments of an
    input.nn state others (they are never applied by themselves)."""
    from .units import unapplied_units

    if paths is None:
        paths = args.potential
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    if len(paths) == 1:
        pot = _load_potential(paths[0])
        directories = [pot.directory]
    else:
        from .committee import load_committee

        pot = load_committee(paths)
        directories = [str(d) for d in pot.paths]
    stated = None
    for directory in directories:
        stated = unapplied_units(directory, args.length_unit, args.energy_unit)
        if stated is not None:
            break
    args.length_unit = "angstrom" if args.length_unit is None else args.length_unit
    args.energy_unit = "ev" if args.energy_unit is None else args.energy_unit
    if stated is not None:
        where = f"{directory}: " if len(directories) > 1 else ""
        warnings.warn(f"{where}input.nn states the units {stated[0]} and {stated[1]}, but "
                      f"{args.length_unit} and {args.energy_unit} are in use: pass "
                      f"--length-unit {stated[0].lower()} --energy-unit {stated[1].lower()} "
                      f"if input.nn is right", UserWarning, stacklevel=2)
    return pot


def _calculator(potential, args, skin: Optional[float] = None):
    from .ase import BPCalculator

    return BPCalculator(potential, args.length_unit, args.energy_unit,
                        skin=args.skin if skin is None else skin, threads=args.threads)


def _parse_index(text: str):
    text = text.strip()
    if ":" not in text:
        try:
            return int(text)
        except ValueError:
            raise CommandError(f"--index must be an integer or a slice like '::10', "
                               f"got {text!r}") from None
    parts = text.split(":")
    if len(parts) > 3:
        raise CommandError(f"--index must be an integer or a slice like '::10', got {text!r}")
    try:
        return slice(*[int(x) if x.strip() else None for x in parts])
    except ValueError:
        raise CommandError(f"--index must be an integer or a slice like '::10', "
                           f"got {text!r}") from None


def _read_structures(path: str, fmt: Optional[str], index, structure_units: str,
                     length_unit, energy_unit, file_positions: Optional[list] = None) -> tuple:
    """(list of Atoms in Å, list of the Atoms as read if they were in the potential's
    units, else None). ``file_positions``, if given, is extended by the position in
    the file of each structure returned."""
    from . import n2p2_io

    if not Path(path).is_file():
        raise CommandError(f"structure file not found: {path}")
    n2p2 = fmt == "n2p2" or (fmt is None and n2p2_io.is_input_data(path))
    in_potential_units = structure_units == "potential" or (
        structure_units == "auto" and n2p2)
    if n2p2:
        frames = n2p2_io.read_input_data(path)
        images = [f.to_atoms(results=False) for f in frames]
    else:
        import ase.io
        import ase.io.formats

        if fmt is not None and fmt not in ase.io.formats.ioformats:
            raise CommandError(f"unknown --format {fmt!r}: use 'n2p2' or an ase.io format "
                               "name (extxyz, vasp, cif, lammps-data, ...)")
        try:
            images = ase.io.read(path, index=":", format=fmt)
        except Exception as exc:  # ase.io raises many types for unreadable files
            raise CommandError(f"cannot read {path}: {exc}") from exc
    if not images:
        raise CommandError(f"{path} holds no structures")
    positions = range(len(images))
    if isinstance(index, int):
        if not -len(images) <= index < len(images):
            raise CommandError(f"--index {index}: {path} has {len(images)} structures")
        images = [images[index]]
        positions = positions[index:index + 1 or None]
    else:
        images = images[index]
        positions = positions[index]
        if not images:
            raise CommandError(f"--index selects no structure of the {path} file")
    if file_positions is not None:
        file_positions.extend(positions)
    raw = None
    if in_potential_units:
        from .units import UnitSystem

        u = UnitSystem(length_unit, energy_unit)
        raw = [a.copy() for a in images]
        for a in images:
            a.set_cell(a.cell[:] * u.length, scale_atoms=False)
            a.positions *= u.length
    return images, raw


class _WarningPrinter:
    """Warnings as one 'bpfast: warning: ...' line each on stderr."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.context = ""

    def __call__(self, message, category, filename, lineno, file=None, line=None):
        where = f" ({self.context})" if self.context else ""
        kind = "extrapolation" if issubclass(category, ExtrapolationWarning) else "warning"
        print(f"{self.prefix}: {kind}{where}: {message}", file=sys.stderr)
