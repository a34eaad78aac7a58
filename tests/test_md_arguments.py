"""MD arguments: a refused argument leaves the atoms as they were (no velocities drawn, no
calculator attached), so that a corrected call starts from the same state."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("ase")
from ase import Atoms  # noqa: E402

import bpfast  # noqa: E402
from bpfast.ase import BPCalculator  # noqa: E402
from bpfast.md import run  # noqa: E402
from synthetic import random_structure, write_potential  # noqa: E402


@pytest.fixture(scope="module")
def pot(tmp_path_factory):
    d = write_potential(tmp_path_factory.mktemp("pot"), elements=("H", "O"), sf_types=(2, 3),
                        nodes=(6, 5), seed=5, widen=3.0)
    return bpfast.load(d)


def box(cell="cubic"):
    pos, numbers, lattice, pbc = random_structure(np.random.default_rng(3), ("H", "O"), 12,
                                                  cell=cell, density=0.05, min_dist=1.0)
    return Atoms(numbers=numbers, positions=pos, cell=lattice, pbc=pbc)


@pytest.mark.parametrize("cell, arguments, error", [
    ("cubic", {"ensemble": "nph"}, "ensemble must be one of"),
    ("cubic", {"timestep": -1.0}, "timestep must be a positive number"),
    ("cubic", {"ensemble": "nvt", "thermostat": "andersen"}, "thermostat must be one of"),
    ("cubic", {"ensemble": "nvt", "friction": 0.0}, "friction must be positive"),
    ("cubic", {"ensemble": "npt", "tdamp": -5.0}, "tdamp must be positive"),
    ("cubic", {"ensemble": "npt", "barostat": "parrinello"}, "barostat must be one of"),
    ("cubic", {"ensemble": "npt", "pressure": float("nan")}, "pressure must be a number"),
    (None, {"ensemble": "npt"}, "periodic in all three directions"),
    ("cubic", {"steps": -1}, "steps must be an integer"),
    ("cubic", {"log_interval": 0}, "log_interval must be a positive integer"),
    ("cubic", {"velocities": "maxwell"}, "velocities must be 'auto', 'keep' or 'init'"),
    ("cubic", {"velocities": "init", "temperature": None}, "velocities='init' needs a"),
])
def test_refused_arguments_draw_no_velocities_and_attach_no_calculator(pot, cell, arguments,
                                                                       error):
    atoms = box(cell)
    kwargs = {"steps": 2, "temperature": 300, "seed": 1, "progress": False, **arguments}
    with pytest.raises(ValueError, match=error):
        run(atoms, BPCalculator(pot, threads=1), **kwargs)
    assert not atoms.get_momenta().any()
    assert atoms.calc is None


def test_a_corrected_call_starts_at_its_own_temperature(pot):
    atoms = box()
    with pytest.raises(ValueError, match="thermostat must be one of"):
        run(atoms, BPCalculator(pot, threads=1), steps=0, ensemble="nvt", temperature=300,
            thermostat="andersen", seed=1, progress=False)
    summary = run(atoms, BPCalculator(pot, threads=1), steps=0, ensemble="nvt",
                  temperature=900, thermostat="langevin", seed=1, progress=False)
    assert summary.first["temperature"] == pytest.approx(900, rel=1e-9)
