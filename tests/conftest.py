"""Shared fixtures: where the n2p2 reference data live, and helpers to read them.

The n2p2 potentials and reference outputs are not part of this repository; they sit
in ``../shared`` next to the checkout (or wherever BPFAST_SHARED points). Tests that
need them are skipped when they are absent, unless BPFAST_REQUIRE_SHARED=1 (set by
.ci/run), in which case their absence is an error.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _shared_dir() -> Path:
    """bench/_common.py's resolver of ../shared (loaded by path: bench/ is no package)."""
    spec = importlib.util.spec_from_file_location("bench_common", REPO / "bench" / "_common.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.shared_dir()


SHARED = _shared_dir()
REFERENCE = SHARED / "reference"
POTENTIALS = SHARED / "potentials"


def shared_available() -> bool:
    return REFERENCE.is_dir() and POTENTIALS.is_dir()


def pytest_configure(config):
    if os.environ.get("BPFAST_REQUIRE_SHARED") == "1" and not shared_available():
        raise pytest.UsageError(
            f"BPFAST_REQUIRE_SHARED=1 but the n2p2 reference data are missing: {REFERENCE}")


def require_shared():
    if not shared_available():
        pytest.skip(f"n2p2 reference data not found at {SHARED}")


def reference_cases():
    """(potential name, extxyz path) for every reference file, sorted."""
    if not shared_available():
        return []
    cases = []
    for pot in sorted(p for p in REFERENCE.iterdir() if p.is_dir()):
        for f in sorted(pot.glob("*.extxyz")):
            cases.append((pot.name, f))
    return cases


@pytest.fixture(scope="module")
def potdir(tmp_path_factory):
    """A small synthetic H/O potential (radial, angular and wide angular SFs) on disk.
    Test modules that need another potential define their own ``potdir``/``pot``."""
    from synthetic import write_potential

    return write_potential(tmp_path_factory.mktemp("pot"), sf_types=(2, 3, 9), seed=4)


@pytest.fixture(scope="module")
def pot(potdir):
    """``potdir`` loaded."""
    import bpfast

    return bpfast.load(potdir)


def copy_stating_units(potential_dir, directory, length: str, energy: str) -> Path:
    """A copy of a potential whose input.nn begins with n2p2's unit comments."""
    import shutil

    shutil.copytree(potential_dir, directory)
    path = Path(directory) / "input.nn"
    path.write_text(f"# Length unit     : {length}\n# Energy unit     : {energy}\n"
                    + path.read_text())
    return Path(directory)


def scaling_bounds(directory, pot):
    """{Z: (G_min, G_max)} of every element, read straight from directory/scaling.data
    (rows in n2p2's order, elements by atomic number) -- independently of bpfast."""
    import numpy as np

    with open(Path(directory) / "scaling.data") as f:
        rows = [line.split() for line in f if line.strip() and not line.startswith("#")]
    out = {}
    k = 0
    for el, z in zip(pot.elements, pot.atomic_numbers):
        n = pot.n_symmetry_functions[el]
        block = np.array([[float(x) for x in r[2:4]] for r in rows[k:k + n]])
        out[z] = (block[:, 0], block[:, 1])
        k += n
    return out


def second_generation_potentials():
    """Names of the 2G potentials in shared/potentials (no nnp_type 4)."""
    if not shared_available():
        return []
    names = []
    for d in sorted(p for p in POTENTIALS.iterdir() if p.is_dir()):
        if not list(d.glob("weightse.*.data")):
            names.append(d.name)
    return names
