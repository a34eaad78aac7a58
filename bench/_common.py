"""Structures for the benchmarks: supercells of the shipped n2p2 example frames."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("BPFAST_SHARED", REPO.parent / "shared"))

#: potential -> reference frame used as the unit cell of the benchmark supercells
BASE_FRAMES = {
    "H2O_RPBE-D3": "rattled_liquid_192.extxyz",
    "Cu2S_PBE": "example_144.extxyz",
    "Anisole_SCAN": "example_256.extxyz",
}


def base_frame(potential: str):
    import ase.io

    return ase.io.read(SHARED / "reference" / potential / BASE_FRAMES[potential])


def supercell(potential: str, atoms_wanted: int):
    """The smallest near-cubic repetition of the base frame with >= atoms_wanted atoms."""
    base = base_frame(potential)
    n0 = len(base)
    heights = base.cell.volume / np.linalg.norm(np.cross(base.cell[[1, 2, 0]], base.cell[[2, 0, 1]]),
                                                axis=1)
    reps = np.ones(3, dtype=int)
    while n0 * reps.prod() < atoms_wanted:
        reps[np.argmin(reps * heights)] += 1
    return base.repeat(tuple(int(r) for r in reps))


def cpu_model() -> str:
    """The CPU's model name, vendor, family and model from /proc/cpuinfo."""
    fields = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key in ("model name", "vendor_id", "cpu family", "model") and key not in fields:
                    fields[key] = value.strip()
                if not line.strip() and fields:
                    break
    except OSError:
        return "unknown"
    return (f"{fields.get('model name', '?')} ({fields.get('vendor_id', '?')}, family "
            f"{fields.get('cpu family', '?')}, model {fields.get('model', '?')})")
