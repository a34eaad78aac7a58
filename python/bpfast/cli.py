"""The ``bpfast`` command: predict, md, bench, info.

    bpfast info POTENTIAL
    bpfast predict POTENTIAL STRUCTURES [-o OUT]
    bpfast md POTENTIAL STRUCTURE --steps N [--dt FS] [--temperature K] [--ensemble nve|nvt|npt]
    bpfast bench POTENTIAL [--atoms N] [--calibrate]

Potentials carry no units: pass ``--length-unit``/``--energy-unit`` (e.g. ``bohr``
``hartree`` for the n2p2 water potentials; default Å and eV). Structures are read
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
from typing import List, Optional, Sequence

import numpy as np

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


def _add_units(p: argparse.ArgumentParser, structures: bool = True) -> None:
    g = p.add_argument_group("units (the potential files do not store them)")
    g.add_argument("--length-unit", default="angstrom", metavar="UNIT",
                   help="length unit of the potential: angstrom (default), bohr, nm, pm, "
                        "or Å per unit as a number")
    g.add_argument("--energy-unit", default="ev", metavar="UNIT",
                   help="energy unit of the potential: ev (default), hartree, rydberg, "
                        "kcal/mol, kj/mol, mev, or eV per unit as a number")
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

    parser = _Parser(prog=PROG, description=(
        "Evaluate Behler-Parrinello neural-network potentials (n2p2/RuNNer format): "
        "predictions, molecular dynamics, benchmarks."))
    parser.add_argument("--version", action="version", version=f"bpfast {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("info", help="describe a potential",
                       description="Elements, cutoff, symmetry functions, networks and "
                                   "(if stated in input.nn comments) units of a potential.")
    p.add_argument("potential", metavar="POTENTIAL", help="potential directory (input.nn, "
                   "scaling.data, weights.ZZZ.data)")

    p = sub.add_parser("predict", help="energies, forces and stress of structures",
                       description="Evaluate every structure of a file and write energy, "
                                   "forces, per-atom energies and (periodic cells) stress as "
                                   "extended XYZ.")
    p.add_argument("potential", metavar="POTENTIAL", help="potential directory")
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
    p.add_argument("potential", metavar="POTENTIAL", help="potential directory")
    p.add_argument("structure", metavar="STRUCTURE",
                   help="initial structure (any ase.io format or n2p2 input.data; the "
                        "first frame unless --index)")
    p.add_argument("--steps", type=_nonnegative_int, required=True, metavar="N",
                   help="number of MD steps")
    p.add_argument("--dt", type=_positive_float, default=0.5, metavar="FS",
                   help="time step in fs (default 0.5)")
    p.add_argument("--temperature", type=_positive_float, default=None, metavar="K",
                   help="temperature in K: thermostat target (nvt, npt) and initial "
                        "velocities when the structure has none")
    p.add_argument("--ensemble", choices=("nve", "nvt", "npt"), default="nve",
                   help="default nve")
    p.add_argument("--thermostat", choices=("langevin", "nose-hoover"), default="langevin",
                   help="NVT/NPT thermostat (default langevin; npt: berendsen/mtk use their "
                        "own)")
    p.add_argument("--barostat", choices=("berendsen", "mtk"), default="berendsen",
                   help="NPT barostat (default berendsen; mtk = isotropic "
                        "Martyna-Tobias-Klein with Nose-Hoover chains)")
    p.add_argument("--pressure", type=float, default=1.01325, metavar="BAR",
                   help="NPT target pressure in bar (default 1.01325)")
    p.add_argument("--friction", type=_positive_float, default=0.01, metavar="1/FS",
                   help="Langevin friction in 1/fs (default 0.01)")
    p.add_argument("--tdamp", type=_positive_float, default=100.0, metavar="FS",
                   help="thermostat time constant in fs (default 100)")
    p.add_argument("--pdamp", type=_positive_float, default=1000.0, metavar="FS",
                   help="barostat time constant in fs (default 1000)")
    p.add_argument("--compressibility", type=_positive_float, default=4.57e-5, metavar="1/BAR",
                   help="Berendsen barostat compressibility in 1/bar (default 4.57e-5, water)")
    p.add_argument("--velocities", choices=("auto", "keep", "init"), default="auto",
                   help="auto (default): keep the velocities of the structure if it has any, "
                        "else draw them at --temperature; init: always draw them")
    p.add_argument("--seed", type=_nonnegative_int, default=None, help="random seed (velocities, Langevin)")
    p.add_argument("--index", default="0", metavar="INDEX",
                   help="frame of STRUCTURE to start from (default 0)")
    p.add_argument("--repeat", type=_positive_int, nargs=3, default=None,
                   metavar=("NX", "NY", "NZ"), help="run on an NX x NY x NZ supercell")
    p.add_argument("--traj", default=None, metavar="FILE",
                   help="trajectory: .traj (ASE) or extended XYZ (any other name)")
    p.add_argument("--traj-interval", type=_positive_int, default=10, metavar="K",
                   help="write a frame every K steps (default 10)")
    p.add_argument("--log", default=None, metavar="FILE",
                   help="energy log: step, time[ps], Epot, Ekin, Etot [eV], T[K], P[bar]")
    p.add_argument("--log-interval", type=_positive_int, default=10, metavar="K",
                   help="log every K steps (default 10)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_units(p)
    _add_runtime(p)

    p = sub.add_parser("bench", help="speed and memory on a supercell",
                       description="Build a supercell of about --atoms atoms from a structure "
                                   "(default: input.data of the potential directory), run a "
                                   "few NVE steps and print atoms·steps/s, the time per phase "
                                   "and the peak memory.")
    p.add_argument("potential", metavar="POTENTIAL", help="potential directory")
    p.add_argument("--atoms", type=_positive_int, default=10000, metavar="N",
                   help="approximate number of atoms (default 10000)")
    p.add_argument("--structure", default=None, metavar="FILE",
                   help="periodic structure to repeat (default: POTENTIAL/input.data)")
    p.add_argument("--steps", type=_positive_int, default=5, metavar="S",
                   help="MD steps to time (default 5)")
    p.add_argument("--dt", type=_positive_float, default=0.5, metavar="FS",
                   help="time step in fs (default 0.5)")
    p.add_argument("--calibrate", action="store_true",
                   help="also time the 4-lane and 8-lane kernels on the supercell (interleaved, "
                        "best of 5 each) and say which is faster on this CPU; "
                        "BPFAST_SIMD_WIDTH=4|8 forces a width")
    _add_units(p)
    _add_runtime(p)
    return parser


# ---------------------------------------------------------------------- helpers


def _load_potential(path: str):
    from .potential import load

    return load(path)


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
                     length_unit, energy_unit) -> tuple:
    """(list of Atoms in Å, list of the Atoms as read if they were in the potential's
    units, else None)."""
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
    if isinstance(index, int):
        if not -len(images) <= index < len(images):
            raise CommandError(f"--index {index}: {path} has {len(images)} structures")
        images = [images[index]]
    else:
        images = images[index]
        if not images:
            raise CommandError(f"--index selects no structure of the {path} file")
    raw = None
    if in_potential_units:
        from .units import UnitSystem

        u = UnitSystem(length_unit, energy_unit)
        raw = [a.copy() for a in images]
        for a in images:
            a.set_cell(a.cell[:] * u.length, scale_atoms=False)
            a.positions *= u.length
    return images, raw


def _info_value(value) -> Optional[str]:
    """An extended-XYZ comment-line value, or None for what cannot be written."""
    if isinstance(value, (bool, np.bool_)):
        return "T" if value else "F"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    arr = np.asarray(value)
    if arr.dtype.kind in "if" and arr.ndim == 1 and arr.size:
        return '"' + " ".join(repr(float(x)) if arr.dtype.kind == "f" else str(int(x))
                              for x in arr) + '"'
    return None


def write_extxyz(stream, images) -> None:
    """Extended XYZ with every digit (shortest exact repr; ASE's writer keeps 8 decimals).

    Per frame: Lattice (periodic directions only), pbc, the calculator's energy,
    free_energy and stress (9 numbers), the scalar ``atoms.info`` entries; columns
    species, pos, then momenta, forces and per-atom energies when present.
    """
    for atoms in images:
        results = dict(getattr(atoms.calc, "results", {}) or {})
        n = len(atoms)
        columns = [("species", "S", 1, np.array(atoms.get_chemical_symbols(), dtype=object)),
                   ("pos", "R", 3, atoms.positions)]
        if atoms.has("momenta") and np.any(atoms.get_momenta()):
            columns.append(("momenta", "R", 3, atoms.get_momenta()))
        if "forces" in results:
            columns.append(("forces", "R", 3, np.asarray(results["forces"])))
        if "energies" in results:
            columns.append(("energies", "R", 1, np.asarray(results["energies"])))
        head: List[str] = []
        if np.asarray(atoms.pbc).any():
            head.append('Lattice="' + " ".join(repr(float(x)) for x in atoms.cell[:].ravel())
                        + '"')
        head.append("Properties=" + ":".join(f"{name}:{kind}:{k}"
                                             for name, kind, k, _ in columns))
        for key in ("energy", "free_energy"):
            if key in results:
                head.append(f"{key}={float(results[key])!r}")
        if "stress" in results:
            s = np.asarray(results["stress"], dtype=np.float64)
            if s.shape == (6,):
                xx, yy, zz, yz, xz, xy = s
                s = np.array([[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]])
            head.append('stress="' + " ".join(repr(float(x)) for x in s.ravel()) + '"')
        reserved = {"energy", "free_energy", "stress", "lattice", "properties", "pbc"}
        for key, value in atoms.info.items():
            text = _info_value(value)
            if text is not None and key.lower() not in reserved and key.isidentifier():
                head.append(f"{key}={text}")
        head.append('pbc="' + " ".join("T" if p else "F" for p in atoms.pbc) + '"')
        lines = [str(n), " ".join(head)]
        numeric = [np.asarray(c[3], dtype=np.float64).reshape(n, -1) for c in columns[1:]]
        table = np.hstack(numeric) if numeric else np.zeros((n, 0))
        symbols = columns[0][3]
        for symbol, row in zip(symbols, table.tolist()):  # repr: shortest exact digits
            lines.append(f"{symbol:<2s} " + " ".join(map(repr, row)))
        stream.write("\n".join(lines) + "\n")


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
    return 0


def cmd_predict(args, printer: _WarningPrinter) -> int:
    from ase.calculators.singlepoint import SinglePointCalculator

    from .units import UnitSystem

    index = _parse_index(args.index)
    pot = _load_potential(args.potential)
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
        for key in ("energy", "free_energy", "forces", "stress", "energies"):
            result.info.pop(key, None)
            if key in result.arrays and key not in ("numbers", "positions"):
                del result.arrays[key]
        if in_pot_units:  # write everything back in the units the file came in
            r["energy"] /= u.energy
            r["free_energy"] /= u.energy
            r["energies"] = r["energies"] / u.energy
            r["forces"] = r["forces"] / u.force
            if "stress" in r:
                r["stress"] = r["stress"] / u.stress
        result.calc = SinglePointCalculator(result, **r)
        out_images.append(result)
    printer.context = ""
    if args.output == "-":
        write_extxyz(sys.stdout, out_images)
        sys.stdout.flush()
    else:
        with open(args.output, "w", encoding="utf-8") as f:
            write_extxyz(f, out_images)
    units = "potential units" if in_pot_units else "eV, Å"
    print(f"{PROG} predict: {len(out_images)} structure(s), {sum(len(a) for a in out_images)} "
          f"atoms evaluated ({units}){'' if args.output == '-' else ' -> ' + args.output}"
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
    pot = _load_potential(args.potential)
    calc = _calculator(pot, args)
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
    print(f"{PROG} md: {len(atoms)} atoms, {args.ensemble}, {args.steps} steps of "
          f"{args.dt:g} fs" + (f" at {args.temperature:g} K" if args.temperature else ""),
          file=sys.stderr)
    summary = run(
        atoms, calc, steps=args.steps, timestep=args.dt, ensemble=args.ensemble,
        temperature=args.temperature, thermostat=args.thermostat, barostat=args.barostat,
        friction=args.friction, tdamp=args.tdamp, pressure=args.pressure, pdamp=args.pdamp,
        compressibility=args.compressibility, velocities=args.velocities, seed=args.seed,
        trajectory=args.traj, trajectory_interval=args.traj_interval, log=args.log,
        log_interval=args.log_interval, progress=not args.no_progress)
    last = summary.last
    print(f"{PROG} md: {summary.steps} steps in {summary.wall_time:.3g} s "
          f"({summary.atom_steps_per_second:.3g} atom·steps/s), {summary.rebuilds} "
          f"neighbour-list builds; final T {last.get('temperature', float('nan')):.1f} K, "
          f"Etot {last.get('etot', float('nan')):.8g} eV (start "
          f"{summary.first.get('etot', float('nan')):.8g} eV)"
          + (f"; {summary.extrapolating_evaluations} evaluations extrapolated"
             if summary.extrapolating_evaluations else ""), file=sys.stderr)
    if summary.interrupted:
        print(f"{PROG} md: interrupted after step {summary.steps}; the trajectory and the log "
              f"are complete up to there", file=sys.stderr)
        return 130
    return 0


def _supercell_repeats(cell: np.ndarray, n0: int, target: int) -> tuple:
    """Repeats (nx, ny, nz) giving >= target atoms with a roughly cubic supercell."""
    reps = [1, 1, 1]
    lengths = np.linalg.norm(cell, axis=1)
    while n0 * reps[0] * reps[1] * reps[2] < target:
        k = int(np.argmin([lengths[i] * reps[i] for i in range(3)]))
        reps[k] += 1
    return tuple(reps)


def _maxrss_bytes() -> int:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss) if sys.platform == "darwin" else int(rss) * 1024


def cmd_bench(args, printer: _WarningPrinter) -> int:
    from .md import run

    pot = _load_potential(args.potential)
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
    reps = _supercell_repeats(base.cell[:], len(base), args.atoms)
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
        warnings.simplefilter("default", ExtrapolationWarning)
        warnings.showwarning = printer  # restored by catch_warnings
        try:
            if args.command == "info":
                return cmd_info(args)
            if args.command == "predict":
                return cmd_predict(args, printer)
            if args.command == "md":
                return cmd_md(args, printer)
            if args.command == "bench":
                return cmd_bench(args, printer)
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
