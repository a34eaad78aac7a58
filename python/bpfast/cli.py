"""The ``bpfast`` command: its arguments and its entry point. The commands live in
``_cli_evaluate`` (info, predict, md, bench), ``_cli_select`` (select) and the training
package (train).

    bpfast info POTENTIAL
    bpfast predict POTENTIAL [POTENTIAL ...] STRUCTURES [-o OUT]
    bpfast md POTENTIAL [POTENTIAL ...] STRUCTURE --steps N [--dt FS] [--temperature K]
              [--ensemble nve|nvt|npt] [--spread-warn EV/Å] [--spread-stop EV/Å]
    bpfast select --committee DIR DIR [DIR ...] TRAJ -n N [--min-gap K] -o OUT.data
    bpfast bench POTENTIAL [--atoms N] [--calibrate]
    bpfast train INPUT_NN DATA -o OUTDIR [--epochs N] [--committee M]

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
import sys
import warnings
from typing import Optional, Sequence

import numpy as np

from ._cli_common import PROG, CommandError, _WarningPrinter
from ._cli_evaluate import cmd_bench, cmd_info, cmd_md, cmd_predict
from ._cli_select import cmd_select
from ._md_defaults import BAROSTATS, ENSEMBLES, THERMOSTATS, VELOCITIES
from ._md_defaults import DEFAULTS as MD_DEFAULTS
from .errors import ExtrapolationWarning

__all__ = ["main"]

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


# ---------------------------------------------------------------------- train


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
