"""MD warnings: which step an extrapolation warning names, and which line they point at."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("ase")
import ase.io  # noqa: E402
from ase import Atoms  # noqa: E402

import bpfast  # noqa: E402
from bpfast.ase import BPCalculator  # noqa: E402
from bpfast.md import ForceSpreadWarning, run  # noqa: E402
from bpfast.testing import perturbed_copy  # noqa: E402
from synthetic import random_structure, write_potential  # noqa: E402


@pytest.fixture(scope="module")
def directories(tmp_path_factory):
    """A synthetic H/O potential and a perturbed copy (a committee of two)."""
    root = tmp_path_factory.mktemp("md_warnings")
    base = write_potential(root / "m0", elements=("H", "O"), sf_types=(2, 3), nodes=(6, 5),
                           seed=8, widen=3.0)
    return [base, perturbed_copy(base, root / "m1", seed=1)]


def box(seed=0, n=16):
    pos, numbers, lattice, pbc = random_structure(np.random.default_rng(seed), ("H", "O"), n,
                                                  cell="cubic", density=0.05, min_dist=1.0)
    return Atoms(numbers=numbers, positions=pos, cell=lattice, pbc=pbc)


class _ExtrapolatingCalculator(BPCalculator):
    """Reports an extrapolation at its ``at``-th evaluation and keeps the positions it
    evaluated then."""

    def __init__(self, *args, at: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.at = at
        self.extrapolated_positions = None

    def calculate(self, *args, **kwargs):
        super().calculate(*args, **kwargs)
        if self.evaluations == self.at:
            self.extrapolated_positions = self.atoms.positions.copy()
            warnings.warn(bpfast.ExtrapolationWarning("symmetry function out of range"),
                          stacklevel=2)


@pytest.mark.parametrize("at", [1, 2, 4])
def test_extrapolation_warning_names_the_step_of_the_extrapolating_structure(
        directories, tmp_path, at):
    calc = _ExtrapolatingCalculator(bpfast.load(directories[0]), threads=1, at=at)
    traj = tmp_path / "md.traj"
    with pytest.warns(bpfast.ExtrapolationWarning) as caught:
        run(box(1), calc, steps=6, timestep=0.5, temperature=300, seed=2, trajectory=traj,
            trajectory_interval=1, progress=False)
    frames = ase.io.read(traj, index=":")
    steps = [k for k, frame in enumerate(frames)
             if np.array_equal(frame.positions, calc.extrapolated_positions)]
    assert len(steps) == 1
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1
    assert f"(MD step {steps[0]}; further extrapolations" in messages[0]


def test_md_warnings_point_at_the_line_that_called_run(directories):
    calc = _ExtrapolatingCalculator(bpfast.load(directories[0]), threads=1, at=3)
    with pytest.warns(bpfast.ExtrapolationWarning) as caught:
        line = _line() + 1
        run(box(2), calc, steps=4, timestep=0.5, temperature=300, seed=1, progress=False)
    assert [(w.filename, w.lineno) for w in caught] == [(__file__, line)]

    committee = BPCalculator([str(d) for d in directories], threads=1)
    for threshold in ("force_spread_warn", "force_spread_stop"):
        with pytest.warns(ForceSpreadWarning) as caught:
            line = _line() + 1
            run(box(3), committee, steps=4, timestep=0.5, temperature=300, seed=1,
                progress=False, **{threshold: 1e-9})
        assert [(w.filename, w.lineno) for w in caught] == [(__file__, line)]

    with pytest.warns(UserWarning, match="one atom") as caught:
        line = _line() + 1
        run(box(4)[:1], BPCalculator(bpfast.load(directories[0]), threads=1), steps=1,
            temperature=300, progress=False)
    assert [(w.filename, w.lineno) for w in caught] == [(__file__, line)]


def _line() -> int:
    """The line number of the caller."""
    import inspect

    return inspect.currentframe().f_back.f_lineno
