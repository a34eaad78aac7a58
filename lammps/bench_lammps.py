"""Speed of the LAMMPS pair style against bpfast's own Python-driven evaluation.

    python lammps/bench_lammps.py                    # 24,000-atom water box
    python lammps/bench_lammps.py --repeat 3 3 3 --steps 20 --out bench.json

Builds a water box by repeating the 192-atom liquid frame of ../shared/reference
(H2O_RPBE-D3/configset_6frames.extxyz, frame 4; 5x5x5 -> 24,000 atoms), then in one run
measures

* ``Potential.compute`` (positions in, energy/forces/stress out, its own neighbour search
  every call) with 1 and 2 OpenMP threads, in this Python;
* LAMMPS (``units metal``, NVE at 300 K, default neighbour settings: skin 2 Å, lists
  rebuilt when needed) with the bpfast pair style on 1 rank x 1 thread, 1 rank x 2 threads
  and 2 ranks x 1 thread, through lammps/lammps_driver.py in the LAMMPS Python.

Prints timesteps/s and microseconds per atom and step, and writes them as JSON (--out).
LAMMPS is found as in tests/test_lammps.py: BPFAST_LAMMPS_PYTHON and BPFAST_LAMMPS_PLUGIN,
by default build/lammps-venv/bin/python and build/lammps-plugin/lammps/libbpfast_lammps.so
(made by .ci/install_lammps.sh).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def _bench_common():
    """bench/_common.py (loaded by path: bench/ is no package), which resolves ../shared
    and describes the CPU for every benchmark."""
    spec = importlib.util.spec_from_file_location("bench_common", REPO / "bench" / "_common.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_COMMON = _bench_common()
SHARED = _COMMON.shared_dir()
cpu_model = _COMMON.cpu_model
LAMMPS_PYTHON = Path(os.environ.get("BPFAST_LAMMPS_PYTHON",
                                    REPO / "build" / "lammps-venv" / "bin" / "python"))
PLUGIN = Path(os.environ.get("BPFAST_LAMMPS_PLUGIN",
                             REPO / "build" / "lammps-plugin" / "lammps" / "libbpfast_lammps.so"))
BOHR_PER_ANGSTROM = 1.0 / 0.529177210903  # CODATA 2018, as bpfast.units
POTENTIAL = "H2O_RPBE-D3"


def water_box(repeat):
    """The repeated liquid frame in Å (orthorhombic cell)."""
    import ase.io

    atoms = ase.io.read(SHARED / "reference" / POTENTIAL / "configset_6frames.extxyz", index=4)
    atoms.calc = None
    atoms.positions = atoms.positions / BOHR_PER_ANGSTROM
    atoms.cell = atoms.cell.array / BOHR_PER_ANGSTROM
    atoms = atoms.repeat(tuple(repeat))
    atoms.wrap()
    return atoms


def write_data(atoms, path: Path):
    assert np.allclose(atoms.cell.array, np.diag(np.diag(atoms.cell.array))), "orthorhombic only"
    cell = np.diag(atoms.cell.array).tolist()  # Python floats: repr() gives all digits
    types = np.where(atoms.numbers == 8, 1, 2)
    lines = ["water box for bench_lammps.py", "", f"{len(atoms)} atoms", "2 atom types", "",
             f"0.0 {cell[0]!r} xlo xhi", f"0.0 {cell[1]!r} ylo yhi", f"0.0 {cell[2]!r} zlo zhi",
             "", "Masses", "", "1 15.999", "2 1.008", "", "Atoms # atomic", ""]
    lines += [f"{i + 1} {t} {x!r} {y!r} {z!r}"
              for i, (t, (x, y, z)) in enumerate(zip(types.tolist(), atoms.positions.tolist()))]
    path.write_text("\n".join(lines) + "\n")


def time_potential_compute(atoms, threads, repeats):
    import bpfast

    pot = bpfast.load(SHARED / "potentials" / POTENTIAL)
    positions = atoms.positions * BOHR_PER_ANGSTROM
    cell = atoms.cell.array * BOHR_PER_ANGSTROM
    times = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bpfast.ExtrapolationWarning)
        for _ in range(repeats):
            t0 = time.perf_counter()
            pot.compute(positions, atoms.numbers, cell, stress=True, threads=threads)
            times.append(time.perf_counter() - t0)
    return float(np.median(times))


def time_lammps(data: Path, work: Path, ranks: int, threads: int, warmup: int, steps: int):
    commands = ["units metal", "atom_style atomic", "boundary p p p", f"read_data {data}",
                f"plugin load {PLUGIN}",
                f"pair_style bpfast {SHARED / 'potentials' / POTENTIAL} "
                "length_unit bohr energy_unit hartree",
                "pair_coeff * * O H",
                "velocity all create 300.0 4928459 mom yes rot yes dist gaussian loop geom",
                "timestep 0.0005", "fix integrate all nve"]
    jobs = work / f"jobs_{ranks}x{threads}.json"
    results = work / f"results_{ranks}x{threads}.json"
    jobs.write_text(json.dumps([{"name": "timing", "kind": "timing", "commands": commands,
                                 "warmup": warmup, "steps": steps}]))
    command = [str(LAMMPS_PYTHON), str(HERE / "lammps_driver.py"), str(jobs), str(results)]
    if ranks > 1:
        command = [str(LAMMPS_PYTHON.parent / "mpiexec"), "-n", str(ranks)] + command
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    subprocess.run(command, check=True, env=env, stdin=subprocess.DEVNULL)
    return json.loads(results.read_text())["timing"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, nargs=3, default=[5, 5, 5])
    parser.add_argument("--steps", type=int, default=10, help="timed LAMMPS steps")
    parser.add_argument("--warmup", type=int, default=2, help="LAMMPS steps before timing")
    parser.add_argument("--compute-repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None, help="JSON file for the results")
    args = parser.parse_args(argv)
    if not (SHARED / "potentials" / POTENTIAL).is_dir():
        parser.error(f"needs the n2p2 potentials and reference data in {SHARED} "
                     "(set BPFAST_SHARED to their directory)")

    atoms = water_box(args.repeat)
    n = len(atoms)
    rows = []
    for threads in (1, 2):
        seconds = time_potential_compute(atoms, threads, args.compute_repeats)
        rows.append({"what": "Potential.compute (Python)", "ranks": 1, "threads": threads,
                     "seconds_per_step": seconds})
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = work / "water.data"
        write_data(atoms, data)
        for ranks, threads in ((1, 1), (1, 2), (2, 1)):
            out = time_lammps(data, work, ranks, threads, args.warmup, args.steps)
            assert out["natoms"] == n
            rows.append({"what": "LAMMPS pair_style bpfast", "ranks": ranks, "threads": threads,
                         "seconds_per_step": out["seconds"] / out["steps"]})
    date = datetime.now(timezone.utc).isoformat(timespec="seconds")
    print(f"{POTENTIAL}, {n} atoms ({platform.node()}, {cpu_model()}, {os.cpu_count()} cores, "
          f"{date})")
    print(f"{'':28} {'ranks':>5} {'threads':>7} {'steps/s':>9} {'µs/atom/step':>13} "
          f"{'core-µs/atom/step':>18}")
    for r in rows:
        r["steps_per_second"] = 1.0 / r["seconds_per_step"]
        r["us_per_atom_step"] = 1e6 * r["seconds_per_step"] / n
        cores = r["ranks"] * r["threads"]
        print(f"{r['what']:28} {r['ranks']:5d} {r['threads']:7d} {r['steps_per_second']:9.3f} "
              f"{r['us_per_atom_step']:13.1f} {r['us_per_atom_step'] * cores:18.1f}")
    if args.out:
        args.out.write_text(json.dumps({
            "date": date, "machine": platform.platform(), "cpu": cpu_model(),
            "cores": os.cpu_count(), "atoms": n,
            "potential": POTENTIAL, "command": " ".join(sys.argv), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
