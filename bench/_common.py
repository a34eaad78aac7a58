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


# n2p2 (O(N) part: symmetry functions + network + forces, one thread), microseconds per
# atom, per CPU model (vendor, family, model): water and Cu2S from
# shared/docs/n2p2-timings.md (the lower end of the measured range, so that the ratio is
# not flattered), anisole from the same machine and day (2026-12-06). A ratio is printed
# only where n2p2 was timed on the CPU model this bench runs on.
N2P2_US_PER_ATOM = {
    ("AuthenticAMD", "25", "17"): {("H2O_RPBE-D3", 1): 290.0, ("Cu2S_PBE", 1): 363.0,
                                   ("Anisole_SCAN", 1): 5745.0},
}


def n2p2_reference(cpu: str) -> dict:
    """n2p2's figures for the CPU described by cpu_model(), or {} if it was not timed there."""
    for (vendor, family, model), figures in N2P2_US_PER_ATOM.items():
        if f"({vendor}, family {family}, model {model})" in cpu:
            return figures
    return {}
