"""The benchmark script still runs (a seconds-long smoke run; no timing is asserted)."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import REPO, require_shared


def test_bench_run_smoke(tmp_path):
    require_shared()
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "run.py"), "--smoke", "--out",
                           str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    (out,) = tmp_path.glob("bench-*.json")
    data = json.loads(out.read_text())
    (row,) = data["results"]
    assert row["potential"] == "H2O_RPBE-D3" and row["atoms"] >= 1000 and row["threads"] == 1
    assert row["us_per_atom"] > 0 and row["bytes_per_atom"] >= 0
    assert set(row["phase_us_per_atom"]) == {"neighbors", "symmetry_functions", "network", "forces"}
    assert "µs/atom" in proc.stdout
    assert row["first_call_seconds"] > 0 and row["calls"] == 1
    kernels = data["meta"]["kernels"]
    assert kernels["width"] in (4, 8) and kernels["reason"] in proc.stdout
    assert data["meta"]["cpu"] and data["meta"]["cpu"] in proc.stdout


def test_thread_speedups_pair_rows_by_potential_and_size():
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_run", REPO / "bench" / "run.py")
    run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run)

    def row(pot, atoms, threads, seconds, phases):
        return {"potential": pot, "atoms": atoms, "threads": threads, "seconds": seconds,
                "phase_us_per_atom": phases}

    rows = [row("A", 100, 1, 4.0, {"sf": 3.0, "nn": 1.0}),
            row("A", 100, 2, 2.5, {"sf": 1.5, "nn": 0.8}),
            row("A", 200, 2, 1.0, {"sf": 1.0, "nn": 1.0}),  # no one-thread row: skipped
            row("B", 100, 2, 1.0, {"sf": 1.0, "nn": 0.0})]  # nor here
    (only,) = run.thread_speedups(rows)
    assert (only["potential"], only["atoms"], only["threads"]) == ("A", 100, 2)
    assert only["speedup"] == {"total": 1.6, "sf": 2.0, "nn": 1.25}


def test_pytest_bench_collects_the_benchmarks():
    """`pytest bench/` (the README's benchmark command) finds the bench_*.py files."""
    require_shared()
    proc = subprocess.run([sys.executable, "-m", "pytest", str(REPO / "bench"), "--collect-only",
                           "-q", "-p", "no:cacheprovider"], capture_output=True, text=True,
                          timeout=300, cwd=REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "bench_potential.py::test_energy_forces_stress" in proc.stdout
