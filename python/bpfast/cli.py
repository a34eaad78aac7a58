"""The ``bpfast`` command: predict, md, select, bench, info.

    bpfast info POTENTIAL
    bpfast predict POTENTIAL [POTENTIAL ...] STRUCTURES [-o OUT]
    bpfast md POTENTIAL [POTENTIAL ...] STRUCTURE --steps N [--dt FS] [--temperature K]
              [--ensemble nve|nvt|npt] [--spread-warn EV/Å] [--spread-stop EV/Å]
    bpfast select --committee DIR DIR [DIR ...] TRAJ -n N [--min-gap K] -o OUT.data
    bpfast bench POTENTIAL [--atoms N] [--calibrate]

Several potential directories make a committee (:func:`bpfast.load_committee`):
predict and md then use the members' mean and report their spread.

Potentials carry no units: pass ``--length-unit``/``--energy-unit`` (e.g. ``bohr``
``hartree`` for the n2p2 water potentials; default Å and eV, with a warning when the
comments of input.nn state other units). Structures are read
with ``ase.io`` (any format it knows; positions in Å) or, for n2p2 ``input.data``
files, with :mod:`bpfast.n2p2_io` (positions in the potential's units);
``--structure-units`` overrides that choice. Errors print one line and exit
with status 1 (2 for bad arguments, 130 after Ctrl-C).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import warnings
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ._extxyz import write_extxyz
from ._md_defaults import BAROSTATS, ENSEMBLES, THERMOSTATS, VELOCITIES
from ._md_defaults import DEFAULTS as MD_DEFAULTS
from ._supercell import supercell_repeats
from .errors import ExtrapolationWarning

__all__ = ["main"]

PROG = "bpfast"


class CommandError(Exception):
    """A user error the command reports in one line."""


class _Parser(argparse.ArgumentParser):
    """Argument errors as one line, pointing to --help."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


# ---------------------------------------------------------------------- arguments


def _number_type(convert, accept, expected: str):
    """An argparse type: `convert` the text, then require `accept(value)`."""

    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not accept(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    return parse


_positive_int = _number_type(int, lambda v: v >= 1, "a positive integer")
_nonnegative_int = _number_type(int, lambda v: v >= 0, "an integer >= 0")
_positive_float = _number_type(float, lambda v: np.isfinite(v) and v > 0, "a positive number")
_nonnegative_float = _number_type(float, lambda v: np.isfinite(v) and v >= 0, "a number >= 0")
_finite_float = _number_type(float, np.isfinite, "a finite number")


def _add_units(p: argparse.ArgumentParser, structures: bool = True) -> None:
    g = p.add_argument_group("units (the potential files do not store them)")
    g.add_argument("--length-unit", default=None, metavar="UNIT",
                   help="length unit of the potential: angstrom (default; a warning says "
                        "when input.nn states another), bohr, nm, pm, or Å per unit as a "
                        "number")
    g.add_argument("--energy-unit", default=None, metavar="UNIT",
                   help="energy unit of the potential: ev (default; a warning says when "
                        "input.nn states another), hartree, rydberg, kcal/mol, kj/mol, mev, "
                        "or eV per unit as a number")
    if structures:
        g.add_argument("--structure-units", choices=("auto", "ase", "potential"),
                       default="auto",
                       help="units of the structure file: 'ase' (Å; eV), 'potential' (those "
                            "of the potential), 'auto' (default): potential for n2p2 "
                            "input.data files, ase for everything else")


def _add_runtime(p: argparse.ArgumentParser, skin: bool = True) -> None:
    p.add_argument("--threads", type=_positive_int, default=None, metavar="N",
                   help="OpenMP threads (default: OMP_NUM_THREADS or all cores)")
    if skin:
        p.add_argument("--skin", type=_nonnegative_float, default=1.0, metavar="Å",
                       help="Verlet skin of the neighbour list in Å (default 1; 0 rebuilds "
                            "every step)")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    md = MD_DEFAULTS

    parser = _Parser(prog=PROG, description=(
        "Evaluate and train Behler-Parrinello neural-network potentials (n2p2/RuNNer "
        "format): predictions, molecular dynamics, training, committee selection of "
        "frames, benchmarks."))
    parser.add_argument("--version", action="version", version=f"bpfast {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("info", help="describe a potential",
                       description="Elements, cutoff, symmetry functions, networks and "
                                   "(if stated in input.nn comments) units of a potential.")
    p.add_argument("potential", metavar="POTENTIAL", help="potential directory (input.nn, "
                   "scaling.data, weights.ZZZ.data)")
    p.add_argument("--functions", action="store_true", help="list every symmetry function "
                   "by the name extrapolation warnings use ('O function 25')")

    p = sub.add_parser("predict", help="energies, forces and stress of structures",
                       description="Evaluate every structure of a file and write energy, "
                                   "forces, per-atom energies and (periodic cells) stress as "
                                   "extended XYZ, in the units of the structures read: Å and "
                                   "eV for files read by ase.io, the potential's units "
                                   "(--length-unit, --energy-unit) for n2p2 input.data "
                                   "(see --structure-units). Every frame records them as "
                                   "length_unit and energy_unit. A structure without atoms "
                                   "is written with energy 0.")
    p.add_argument("potential", metavar="POTENTIAL", nargs="+",
                   help="potential directory; several make a committee: the output then "
                        "holds the members' mean and, per frame, energy_std and "
                        "max_force_spread (largest per-atom force spread), per atom "
                        "forces_std, force_spread and energies_std, in the same units")
    p.add_argument("structures", metavar="STRUCTURES",
                   help="structure file: any format ase.io reads, or n2p2 input.data")
    p.add_argument("-o", "--output", default="-", metavar="OUT",
                   help="output extended XYZ file (default: standard output)")
    p.add_argument("--format", default=None, metavar="FMT",
                   help="format of STRUCTURES: 'n2p2' or an ase.io format name "
                        "(default: from the file name / content)")
    p.add_argument("--index", default=":", metavar="INDEX",
                   help="frames to use, ase.io style: ':' (all, default), '0', '-1', '::10'")
    _add_units(p)
    _add_runtime(p, skin=False)

    p = sub.add_parser("md", help="molecular dynamics",
                       description="Run MD (velocity Verlet; Langevin or Nose-Hoover chain "
                                   "NVT; Berendsen or MTK NPT) with a trajectory, an energy "
                                   "log and a progress bar. Ctrl-C stops after the current "
                                   "step and keeps everything written so far.")
    p.add_argument("potential", metavar="POTENTIAL", nargs="+",
                   help="potential directory; several make a committee: the dynamics "
                        "follow the members' mean forces and the log gets a column with "
                        "the largest per-atom force spread (eV/Å)")
    p.add_argument("structure", metavar="STRUCTURE",
                   help="initial structure (any ase.io format or n2p2 input.data; the "
                        "first frame unless --index)")
    p.add_argument("--steps", type=_nonnegative_int, required=True, metavar="N",
                   help="number of MD steps")
    p.add_argument("--dt", type=_positive_float, default=md.timestep, metavar="FS",
                   help=f"time step in fs (default {md.timestep:g})")
    p.add_argument("--temperature", type=_positive_float, default=None, metavar="K",
                   help="temperature in K: thermostat target (nvt, npt) and initial "
                        "velocities when the structure has none")
    p.add_argument("--ensemble", choices=ENSEMBLES, default=md.ensemble,
                   help=f"default {md.ensemble}")
    p.add_argument("--thermostat", choices=THERMOSTATS, default=md.thermostat,
                   help=f"NVT thermostat (default {md.thermostat}; npt: the barostat "
                        f"brings its own)")
    p.add_argument("--barostat", choices=BAROSTATS, default=md.barostat,
                   help=f"NPT barostat (default {md.barostat}; mtk = isotropic "
                        f"Martyna-Tobias-Klein with Nose-Hoover chains)")
    p.add_argument("--pressure", type=_finite_float, default=md.pressure, metavar="BAR",
                   help=f"NPT target pressure in bar (default {md.pressure:g})")
    p.add_argument("--friction", type=_positive_float, default=md.friction, metavar="1/FS",
                   help=f"Langevin friction in 1/fs (default {md.friction:g})")
    p.add_argument("--tdamp", type=_positive_float, default=md.tdamp, metavar="FS",
                   help=f"thermostat time constant in fs (default {md.tdamp:g})")
    p.add_argument("--pdamp", type=_positive_float, default=md.pdamp, metavar="FS",
                   help=f"barostat time constant in fs (default {md.pdamp:g})")
    p.add_argument("--compressibility", type=_positive_float, default=md.compressibility,
                   metavar="1/BAR", help=f"Berendsen barostat compressibility in 1/bar "
                                         f"(default {md.compressibility:g}, water)")
    p.add_argument("--velocities", choices=VELOCITIES, default=md.velocities,
                   help="auto (default): keep the velocities of the structure if it has any, "
                        "else draw them at --temperature; init: always draw them; keep: "
                        "never draw them (a structure without velocities starts at rest, "
                        "even with --temperature)")
    p.add_argument("--seed", type=_nonnegative_int, default=None,
                   help="random seed of the initial velocities and the Langevin noise "
                        "(independent streams; the same seed repeats a run)")
    p.add_argument("--index", default="0", metavar="INDEX",
                   help="frame of STRUCTURE to start from (default 0)")
    p.add_argument("--repeat", type=_positive_int, nargs=3, default=None,
                   metavar=("NX", "NY", "NZ"), help="run on an NX x NY x NZ supercell")
    p.add_argument("--traj", default=None, metavar="FILE",
                   help="trajectory, in the format its suffix names: .traj (ASE), .xyz or "
                        ".extxyz (extended XYZ), .pdb; other suffixes are refused")
    p.add_argument("--traj-interval", type=_positive_int, default=md.trajectory_interval,
                   metavar="K", help=f"write a frame every K steps "
                                     f"(default {md.trajectory_interval})")
    p.add_argument("--log", default=None, metavar="FILE",
                   help="energy log: step, time[ps], Epot, Ekin, Etot [eV], T[K], P[bar] "
                        "and, for a committee, the largest per-atom force spread [eV/Å]")
    p.add_argument("--log-interval", type=_positive_int, default=md.log_interval, metavar="K",
                   help=f"log every K steps (default {md.log_interval})")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--spread-warn", type=_positive_float, default=None, metavar="EV/Å",
                   help="committee only: warn once when the largest per-atom force spread "
                        "exceeds this (eV/Å)")
    p.add_argument("--spread-stop", type=_positive_float, default=None, metavar="EV/Å",
                   help="committee only: stop after the first step whose largest per-atom "
                        "force spread exceeds this (eV/Å); that step is written to the "
                        "trajectory and the log, and the exit status is 3")
    _add_units(p)
    _add_runtime(p)

    _add_select(sub)

    p = sub.add_parser("bench", help="speed and memory on a supercell",
                       description="Build a supercell of at least --atoms atoms from a "
                                   "structure (default: input.data of the potential "
                                   "directory; repeats chosen to balance the supercell's "
                                   "perpendicular heights), run a few NVE steps and print "
                                   "atoms·steps/s, the time per phase and the peak memory.")
    p.add_argument("potential", metavar="POTENTIAL", help="potential directory")
    p.add_argument("--atoms", type=_positive_int, default=10000, metavar="N",
                   help="least number of atoms of the supercell (default 10000)")
    p.add_argument("--structure", default=None, metavar="FILE",
                   help="periodic structure to repeat (default: POTENTIAL/input.data)")
    p.add_argument("--steps", type=_positive_int, default=5, metavar="S",
                   help="MD steps to time (default 5)")
    p.add_argument("--dt", type=_positive_float, default=md.timestep, metavar="FS",
                   help=f"time step in fs (default {md.timestep:g})")
    p.add_argument("--calibrate", action="store_true",
                   help="also time the 4-lane and 8-lane kernels on the supercell (interleaved, "
                        "best of 5 each) and say which is faster on this CPU; "
                        "BPFAST_SIMD_WIDTH=4|8 forces a width")
    _add_units(p)
    _add_runtime(p)

    _add_train(sub)
    return parser


def _add_select(sub) -> None:
    p = sub.add_parser("select", help="frames where a committee disagrees most",
                       description="Evaluate every frame of TRAJ with a committee, pick the "
                                   "N frames of largest max force spread (the largest "
                                   "per-atom norm of the members' force standard "
                                   "deviations), optionally at least K frames apart, write "
                                   "them as n2p2 input.data (in the potential's units, "
                                   "--length-unit/--energy-unit, without energies or forces: "
                                   "they are for new reference calculations) and print a "
                                   "table of the picked frames. Spreads are in the units of "
                                   "TRAJ: eV/Å and eV for files read by ase.io, the "
                                   "potential's units for n2p2 input.data.")
    p.add_argument("--committee", nargs="+", required=True, metavar="DIR",
                   help="two or more potential directories (when TRAJ follows them, the "
                        "last path is TRAJ; TRAJ may also come before --committee)")
    p.add_argument("trajectory", metavar="TRAJ", nargs="?", default=None,
                   help="frames to choose from: any format ase.io reads, or n2p2 input.data")
    p.add_argument("-n", type=_positive_int, required=True, metavar="N",
                   help="number of frames to pick")
    p.add_argument("--min-gap", type=_nonnegative_int, default=0, metavar="K",
                   help="picked frames are at least K frames apart in TRAJ (default 0: no "
                        "constraint); if fewer than N frames are that far apart, all of "
                        "those are written, with a warning")
    p.add_argument("-o", "--output", required=True, metavar="OUT.data",
                   help="n2p2 input.data file for the picked frames")
    p.add_argument("--format", default=None, metavar="FMT",
                   help="format of TRAJ: 'n2p2' or an ase.io format name (default: from the "
                        "file name / content)")
    p.add_argument("--index", default=":", metavar="INDEX",
                   help="frames of TRAJ to choose from, ase.io style (default ':', all); "
                        "frame numbers and --min-gap refer to positions in TRAJ")
    _add_units(p)
    _add_runtime(p, skin=False)


def _add_train(sub) -> None:
    p = sub.add_parser("train", help="train a potential on labelled structures",
                       description="Train the networks of an n2p2 input.nn on structures with "
                                   "reference energies (and forces) in the potential's units; "
                                   "writes the potential of the best epoch (input.nn, "
                                   "scaling.data, weights.ZZZ.data), learning_curve.csv/.png, "
                                   "train.log and checkpoint.npz to OUTDIR. Ctrl-C keeps the "
                                   "best weights so far.")
    p.add_argument("settings", metavar="INPUT_NN", help="n2p2 input.nn (symmetry functions, "
                   "network, training keywords)")
    p.add_argument("data", metavar="DATA", nargs="+", help="training structures (n2p2 "
                   "input.data or files ASE reads)")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR",
                   help="directory for the trained potential and the learning curve")
    p.add_argument("--test", nargs="+", default=None, metavar="DATA",
                   help="test structures (default: test_fraction of DATA, drawn with the seed)")
    p.add_argument("--epochs", type=_nonnegative_int, default=None, metavar="N",
                   help="epochs (default: 'epochs' of input.nn)")
    p.add_argument("--time-limit", type=_nonnegative_float, default=None, metavar="SECONDS",
                   help="stop at the first update after this many seconds")
    p.add_argument("--optimizer", choices=("kalman", "adam"), default="kalman",
                   help="extended Kalman filter per structure (default) or Adam on "
                        "mini-batches")
    p.add_argument("--batch-size", type=_positive_int, default=32, metavar="N",
                   help="structures per Adam step (default 32)")
    p.add_argument("--force-batch", type=_positive_int, default=32, metavar="M",
                   help="force components of one structure per Kalman update (default 32)")
    p.add_argument("--energy-batch", type=_positive_int, default=1, metavar="B",
                   help="structures per Kalman energy update (default 1)")
    p.add_argument("--force-fraction", type=_positive_float, default=None, metavar="F",
                   help="fraction of all force components used for force updates per epoch "
                        "(default: 'short_force_fraction' of input.nn)")
    p.add_argument("--committee", type=_positive_int, default=None, metavar="M",
                   help="train a committee of M >= 2 members (seeds S, S+1, ...) into "
                        "OUTDIR/member_0 ... member_M-1, sharing the split, the symmetry "
                        "functions and the scaling; --time-limit applies to each member")
    p.add_argument("--no-energy-offset", action="store_true",
                   help="keep the output biases as initialised (default: they start at the "
                        "training set's mean energy per atom)")
    p.add_argument("--decoupled", action="store_true",
                   help="Kalman filter with one covariance matrix per element")
    p.add_argument("--seed", type=_nonnegative_int, default=None, metavar="S",
                   help="random seed (default: 'random_seed' of input.nn)")
    p.add_argument("--force-weight", type=_nonnegative_float, default=None, metavar="W",
                   help="weight of the force errors (default: 'force_weight' of input.nn)")
    p.add_argument("--patience", type=_positive_int, default=None, metavar="N",
                   help="stop after N epochs without a better test error")
    p.add_argument("--resume", action="store_true",
                   help="continue from OUTDIR/checkpoint.npz")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_units(p, structures=False)
    _add_runtime(p, skin=False)


# ---------------------------------------------------------------------- helpers


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


# ---------------------------------------------------------------------- commands


def cmd_info(args) -> int:
    from .units import guess_units

    pot = _load_potential(args.potential)
    out = sys.stdout
    print(f"potential: {pot.directory}", file=out)
    print(f"elements: {' '.join(pot.elements)} (atomic numbers "
          f"{' '.join(map(str, pot.atomic_numbers))})", file=out)
    print(f"cutoff: {pot.cutoff:g} (largest symmetry-function cutoff, in the potential's "
          f"length unit)", file=out)
    hint = guess_units(pot.directory)
    if hint:
        print(f"units: {hint[0]} / {hint[1]} according to the comments of input.nn "
              f"(a hint only: pass --length-unit {hint[0].lower()} --energy-unit "
              f"{hint[1].lower()})", file=out)
    else:
        print("units: unknown (not stated in input.nn; pass --length-unit/--energy-unit)",
              file=out)
    print("symmetry functions:", file=out)
    sfs = pot.symmetry_functions
    for el in pot.elements:
        types: dict = {}
        for f in sfs[el]:
            types[f["type"]] = types.get(f["type"], 0) + 1
        by_type = ", ".join(f"type {t}: {k}" for t, k in sorted(types.items()))
        print(f"  {el}: {pot.n_symmetry_functions[el]} ({by_type})", file=out)
    print("networks:", file=out)
    for el in pot.elements:
        arch = "-".join(map(str, pot.architecture[el]))
        print(f"  {el}: {arch}, activations {' '.join(pot.activations[el])}", file=out)
    norm = pot.normalization
    if norm:
        print("normalisation: " + ", ".join(f"{k} {v:.10g}" for k, v in norm.items()),
              file=out)
    else:
        print("normalisation: none", file=out)
    offsets = {el: e for el, e in pot.atom_energy.items() if e}
    if offsets:
        print("atom_energy: " + ", ".join(f"{el} {e:.10g}" for el, e in offsets.items()),
              file=out)
    if args.functions:
        print("symmetry functions by name:\n  " + "\n  ".join(pot.function_listing()), file=out)
    return 0


#: the factor (ASE unit per potential unit) of each result of BPCalculator
_RESULT_UNIT = {
    "energy": lambda u: u.energy, "free_energy": lambda u: u.energy,
    "energies": lambda u: u.energy, "forces": lambda u: u.force, "stress": lambda u: u.stress,
    "energy_std": lambda u: u.energy, "energies_std": lambda u: u.energy,
    "forces_std": lambda u: u.force, "force_spread": lambda u: u.force,
    "max_force_spread": lambda u: u.force, "stress_std": lambda u: u.stress,
}
#: keys of the input frames that predict replaces
_PREDICTED = tuple(_RESULT_UNIT)


def _move_spreads(results: dict, atoms) -> None:
    """Committee spreads from ``results`` to ``atoms``: energy_std, max_force_spread and
    stress_std (9 numbers, row by row) to ``info``, the per-atom ones to ``arrays``."""
    for key in ("energy_std", "max_force_spread"):
        if key in results:
            atoms.info[key] = float(results.pop(key))
    if "stress_std" in results:
        xx, yy, zz, yz, xz, xy = results.pop("stress_std")
        atoms.info["stress_std"] = np.array([xx, xy, xz, xy, yy, yz, xz, yz, zz])
    for key in ("forces_std", "force_spread", "energies_std"):
        if key in results:
            atoms.arrays[key] = np.asarray(results.pop(key), dtype=np.float64)


def cmd_predict(args, printer: _WarningPrinter) -> int:
    from ase.calculators.singlepoint import SinglePointCalculator

    from .units import UnitSystem

    index = _parse_index(args.index)
    pot = _load_with_units(args)
    calc = _calculator(pot, args, skin=0.0)
    images, raw = _read_structures(args.structures, args.format, index,
                                            args.structure_units, args.length_unit,
                                            args.energy_unit)
    u = UnitSystem(args.length_unit, args.energy_unit)
    in_pot_units = raw is not None
    out_images = []
    for k, atoms in enumerate(images):
        printer.context = f"structure {k}"
        atoms.calc = None
        calc.reset()
        calc.calculate(atoms, ["energy", "forces"], ["positions"])
        r = dict(calc.results)
        result = raw[k].copy() if in_pot_units else atoms.copy()
        result.calc = None
        for key in _PREDICTED:
            result.info.pop(key, None)
            if key in result.arrays and key not in ("numbers", "positions"):
                del result.arrays[key]
        if in_pot_units:  # write everything back in the units the file came in
            for key in list(r):
                r[key] = r[key] / _RESULT_UNIT[key](u)
        _move_spreads(r, result)
        result.calc = SinglePointCalculator(result, **r)
        result.info["length_unit"] = u.length_name if in_pot_units else "angstrom"
        result.info["energy_unit"] = u.energy_name if in_pot_units else "ev"
        if calc.is_committee:
            result.info["committee_members"] = len(calc.directories)
        out_images.append(result)
    printer.context = ""
    if args.output == "-":
        write_extxyz(sys.stdout, out_images)
        sys.stdout.flush()
    else:
        with open(args.output, "w", encoding="utf-8") as f:
            write_extxyz(f, out_images)
    units = (f"{u.length_name}, {u.energy_name}: the potential's units" if in_pot_units
             else "angstrom, ev")
    what = f"committee of {len(calc.directories)}, " if calc.is_committee else ""
    print(f"{PROG} predict: {len(out_images)} structure(s), {sum(len(a) for a in out_images)} "
          f"atoms evaluated ({what}{units})"
          f"{'' if args.output == '-' else ' -> ' + args.output}"
          + (f"; {calc.extrapolating_evaluations} extrapolated"
             if calc.extrapolating_evaluations else ""), file=sys.stderr)
    return 0


def cmd_md(args, printer: _WarningPrinter) -> int:
    from .md import run

    index = _parse_index(args.index)
    if not isinstance(index, int):
        raise CommandError("--index of md must be a single frame, e.g. 0 or -1")
    if args.ensemble != "nve" and args.temperature is None:
        raise CommandError(f"--ensemble {args.ensemble} needs --temperature")
    pot = _load_with_units(args)
    calc = _calculator(pot, args)
    if not calc.is_committee and (args.spread_warn or args.spread_stop):
        raise CommandError("--spread-warn and --spread-stop need a committee: give several "
                           "potential directories")
    images, _ = _read_structures(args.structure, None, index, args.structure_units,
                                 args.length_unit, args.energy_unit)
    atoms = images[0]
    atoms.calc = None
    if args.repeat:
        if not np.asarray(atoms.pbc).all():
            raise CommandError("--repeat needs a structure periodic in all directions")
        atoms = atoms.repeat(tuple(args.repeat))
    if args.ensemble == "npt" and not np.asarray(atoms.pbc).all():
        raise CommandError("--ensemble npt needs a structure periodic in all directions")
    what = f"committee of {len(calc.directories)}, " if calc.is_committee else ""
    print(f"{PROG} md: {what}{len(atoms)} atoms, {args.ensemble}, {args.steps} steps of "
          f"{args.dt:g} fs" + (f" at {args.temperature:g} K" if args.temperature else ""),
          file=sys.stderr)
    summary = run(
        atoms, calc, steps=args.steps, timestep=args.dt, ensemble=args.ensemble,
        temperature=args.temperature, thermostat=args.thermostat, barostat=args.barostat,
        friction=args.friction, tdamp=args.tdamp, pressure=args.pressure, pdamp=args.pdamp,
        compressibility=args.compressibility, velocities=args.velocities, seed=args.seed,
        trajectory=args.traj, trajectory_interval=args.traj_interval, log=args.log,
        log_interval=args.log_interval, progress=not args.no_progress,
        force_spread_warn=args.spread_warn, force_spread_stop=args.spread_stop)
    last = summary.last
    print(f"{PROG} md: {summary.steps} steps in {summary.wall_time:.3g} s "
          f"({summary.atom_steps_per_second:.3g} atom·steps/s), {summary.rebuilds} "
          f"neighbour-list builds; final T {last.get('temperature', float('nan')):.1f} K, "
          f"Etot {last.get('etot', float('nan')):.8g} eV (start "
          f"{summary.first.get('etot', float('nan')):.8g} eV)"
          + (f"; {summary.extrapolating_evaluations} evaluations extrapolated"
             if summary.extrapolating_evaluations else "")
          + (f"; largest force spread {summary.max_force_spread:.4g} eV/Å"
             if summary.max_force_spread is not None else ""), file=sys.stderr)
    if summary.spread_stop_step is not None:
        print(f"{PROG} md: stopped after step {summary.spread_stop_step}: the largest force "
              f"spread of the committee exceeded --spread-stop {args.spread_stop:g} eV/Å; "
              f"the trajectory and the log end with that step", file=sys.stderr)
        return 3
    if summary.interrupted:
        print(f"{PROG} md: interrupted after step {summary.steps}; the trajectory and the log "
              f"are complete up to there", file=sys.stderr)
        return 130
    return 0


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


def _maxrss_bytes() -> int:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss) if sys.platform == "darwin" else int(rss) * 1024


def cmd_bench(args, printer: _WarningPrinter) -> int:
    from .md import run

    pot = _load_with_units(args)
    source = args.structure or os.path.join(pot.directory, "input.data")
    if args.structure is None and not Path(source).is_file():
        raise CommandError(f"no structure to repeat: {source} does not exist; pass "
                           f"--structure FILE")
    images, _ = _read_structures(source, None, 0, args.structure_units, args.length_unit,
                                 args.energy_unit)
    base = images[0]
    base.calc = None
    if not np.asarray(base.pbc).all():
        raise CommandError(f"bench needs a structure periodic in all directions; {source} "
                           f"is not")
    reps = supercell_repeats(base.cell[:], len(base), args.atoms)
    atoms = base.repeat(reps)
    n = len(atoms)
    calc = _calculator(pot, args)
    printer.context = f"bench, {n} atoms"
    rss_before = _maxrss_bytes()
    t0 = time.perf_counter()
    atoms.calc = calc
    atoms.get_forces()
    first = time.perf_counter() - t0
    summary = run(atoms, calc, steps=args.steps, timestep=args.dt, ensemble="nve",
                  temperature=300.0, seed=0, progress=False)
    rss_after = _maxrss_bytes()
    steps = summary.steps
    wall = summary.wall_time
    out = sys.stdout
    print(f"potential: {pot.directory}", file=out)
    print(f"structure: {source} ({len(base)} atoms) x {reps[0]}x{reps[1]}x{reps[2]} = {n} "
          f"atoms", file=out)
    from . import _core

    threads = args.threads or _core.default_threads()
    print(f"threads: {threads}; skin {args.skin:g} Å; dt {args.dt:g} fs; first evaluation "
          f"{first:.3g} s", file=out)
    choice = _core.kernel_choice()
    print(f"CPU: {choice['cpu'] or 'unknown'}; kernels: angular {choice['width']} lanes, "
          f"neighbour scan {choice['scan_width']} lanes ({choice['reason']})", file=out)
    print(f"speed: {n * steps / wall:.4g} atom·steps/s ({steps} NVE steps in {wall:.3g} s, "
          f"{wall / steps:.4g} s/step, {wall / (n * steps) * 1e6:.4g} µs per atom-step)",
          file=out)
    phases = ("neighbors", "symmetry_functions", "network", "forces")
    core_total = 0.0
    print("time per step by phase:", file=out)
    for ph in phases:
        sec = summary.timings.get(ph, 0.0) / steps
        core_total += sec
        print(f"  {ph:<20s} {sec:10.4g} s  {100 * sec * steps / wall:5.1f} %", file=out)
    rest = wall / steps - core_total
    print(f"  {'python + integrator':<20s} {rest:10.4g} s  {100 * rest * steps / wall:5.1f} %",
          file=out)
    print(f"neighbour-list builds: {calc.rebuilds} in {calc.evaluations} evaluations "
          f"(including the first)", file=out)
    grown = max(rss_after - rss_before, 0)
    print(f"peak memory: {rss_after / 2**20:.1f} MiB RSS = {rss_after / n / 1024:.2f} kiB/atom "
          f"({grown / n / 1024:.2f} kiB/atom above the {rss_before / 2**20:.1f} MiB before the "
          f"first evaluation)", file=out)
    if args.calibrate:
        _calibrate(pot, atoms, calc.units.length, threads, out)
    return 0


def _calibrate(pot, atoms, length: float, threads: int, out, rounds: int = 5) -> None:
    """Prints the best time per atom of compute() with 4 and with 8 lanes, interleaved
    (`length`: Å per length unit of the potential)."""
    from . import _core

    choice = _core.kernel_choice()
    if choice["widest"] < 8:
        print(f"calibration: only 4 lanes run here ({choice['reason']})", file=out)
        return
    pos, numbers, cell = atoms.positions / length, atoms.numbers, atoms.cell[:] / length
    best = {4: float("inf"), 8: float("inf")}
    for _ in range(rounds):
        for lanes in best:
            t0 = time.perf_counter()
            pot.compute(pos, numbers, cell, True, threads=threads,
                        _kernels=_core.KernelOptions(simd_width=lanes))
            best[lanes] = min(best[lanes], time.perf_counter() - t0)
    n = len(atoms)
    faster = min(best, key=best.get)
    print(f"calibration (forces, best of {rounds} interleaved calls): 4 lanes "
          f"{best[4] / n * 1e6:.4g} µs/atom, 8 lanes {best[8] / n * 1e6:.4g} µs/atom; faster "
          f"here: {faster} lanes; automatic choice: angular {choice['width']} lanes, neighbour "
          f"scan {choice['scan_width']} lanes", file=out)


def cmd_train(args) -> int:
    from .training import train

    data = args.data if len(args.data) > 1 else args.data[0]
    test = None if args.test is None else (args.test if len(args.test) > 1 else args.test[0])
    try:
        _, history = train(args.settings, data, args.output, test=test, epochs=args.epochs,
                           time_limit=args.time_limit, optimizer=args.optimizer,
                           seed=args.seed, threads=args.threads,
                           force_weight=args.force_weight, batch_size=args.batch_size,
                           patience=args.patience, resume=args.resume,
                           decoupled=args.decoupled, force_batch=args.force_batch,
                           energy_batch=args.energy_batch, force_fraction=args.force_fraction,
                           energy_offset=not args.no_energy_offset, committee=args.committee,
                           length_unit=args.length_unit or "angstrom",
                           energy_unit=args.energy_unit or "ev",
                           progress=not args.no_progress)
    except KeyboardInterrupt:
        print(f"{PROG} train: interrupted; the best weights so far are in {args.output}",
              file=sys.stderr)
        return 130
    histories = history if isinstance(history, list) else [history]
    for m, h in enumerate(histories):
        best = h.rows[h.best_epoch] if h.rows else {}
        text = ", ".join(f"{k} {v:.4g}" for k, v in best.items() if "rmse" in k)
        name = f"member {m}: " if len(histories) > 1 else ""
        print(f"{name}best epoch {h.best_epoch}: {text}" + (f" ({h.stopped})"
                                                            if h.stopped else ""))
    where = "committee members written to" if len(histories) > 1 else "potential written to"
    print(f"{where} {args.output}")
    return 0


# ---------------------------------------------------------------------- main


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``bpfast`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    prog = f"{PROG} {args.command}"
    printer = _WarningPrinter(prog)
    debug = os.environ.get("BPFAST_DEBUG") == "1"
    with warnings.catch_warnings():
        warnings.simplefilter("default", UserWarning)  # printed, also under -W error
        warnings.simplefilter("default", ExtrapolationWarning)
        warnings.showwarning = printer  # restored by catch_warnings
        try:
            if args.command == "info":
                return cmd_info(args)
            if args.command == "predict":
                return cmd_predict(args, printer)
            if args.command == "md":
                return cmd_md(args, printer)
            if args.command == "select":
                return cmd_select(args, printer)
            if args.command == "bench":
                return cmd_bench(args, printer)
            if args.command == "train":
                return cmd_train(args)
        except KeyboardInterrupt:
            print(f"{prog}: interrupted", file=sys.stderr)
            return 130
        except BrokenPipeError:
            return 1
        except Exception as exc:  # one clear line instead of a traceback
            if debug:
                raise
            print(f"{prog}: error: {_describe(exc)}", file=sys.stderr)
            return 1
    return 2  # pragma: no cover - argparse rejects unknown commands


def _describe(exc: BaseException) -> str:
    if isinstance(exc, KeyError) and exc.args:
        text = str(exc.args[0])
    elif isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        text = f"{exc.strerror}: {exc.filename}"
    else:
        text = str(exc) or type(exc).__name__
    if not isinstance(exc, (CommandError, ValueError, KeyError, OSError, ImportError)):
        text = f"{type(exc).__name__}: {text}"
    return " ".join(text.split())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
