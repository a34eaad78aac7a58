"""The ``bpfast`` commands that evaluate a potential: info, predict, md, bench."""

from __future__ import annotations

import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

from ._cli_common import (
    PROG,
    CommandError,
    _calculator,
    _load_potential,
    _load_with_units,
    _parse_index,
    _read_structures,
    _WarningPrinter,
)
from ._extxyz import write_extxyz
from ._kernels import kernel_summary
from ._supercell import supercell_repeats


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
    print(f"CPU: {choice['cpu'] or 'unknown'}; {kernel_summary(choice)} ({choice['reason']})",
          file=out)
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
          f"here: {faster} lanes; automatic choice: {kernel_summary(choice)}", file=out)
