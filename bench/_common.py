"""Where the n2p2 data live, and the benchmark structures: supercells of example frames.

The tests (tests/conftest.py) and lammps/bench_lammps.py read :func:`shared_dir` from here
too, so that ``../shared`` and ``$BPFAST_SHARED`` are resolved in one place.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    """``$BPFAST_SHARED``, else ``shared`` next to the repository (n2p2 potentials,
    reference outputs, example structures: not part of the repository)."""
    return Path(os.environ.get("BPFAST_SHARED", REPO.parent / "shared"))


SHARED = shared_dir()

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
    """The repetition of the base frame with >= atoms_wanted atoms and balanced
    perpendicular heights (the one ``bpfast bench`` builds)."""
    from bpfast._supercell import supercell_repeats

    base = base_frame(potential)
    return base.repeat(supercell_repeats(base.cell[:], len(base), atoms_wanted))


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
