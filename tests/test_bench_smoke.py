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
