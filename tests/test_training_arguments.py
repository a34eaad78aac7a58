"""Training arguments refused before the output directory is made."""

from __future__ import annotations

import numpy as np
import pytest

import bpfast
from bpfast.training import TrainingSet, TrainingStructure, train
from synthetic import random_structure, write_potential


@pytest.fixture(scope="module")
def teacher(tmp_path_factory):
    """(input.nn, a few structures labelled by a small synthetic potential)."""
    d = write_potential(tmp_path_factory.mktemp("teacher"), sf_types=(2, 3), nodes=(4, 4),
                        normalisation=False, seed=2)
    pot = bpfast.load(d)
    rng = np.random.default_rng(0)
    structures = []
    for k in range(6):
        pos, num, cell, pbc = random_structure(rng, ("H", "O"), 6, cell="triclinic",
                                               density=0.05)
        r = pot.compute(pos, num, cell, pbc)
        structures.append(TrainingStructure(pos, num, cell, pbc, r.energy, r.forces,
                                            "teacher", k))
    return d / "input.nn", TrainingSet(structures)


@pytest.mark.parametrize("arguments, error", [
    ({"threads": 0}, "threads must be an integer from 1 to"),
    ({"threads": "2"}, "threads must be an integer from 1 to"),
    ({"epochs": -1}, "epochs must be >= 0"),
    ({"optimizer": "sgd"}, "optimizer must be 'kalman' or 'adam'"),
    ({"committee": 1}, "committee must be a number of members >= 2"),
])
def test_refused_arguments_leave_no_output_directory(teacher, tmp_path, arguments, error):
    settings, data = teacher
    out = tmp_path / "out"
    with pytest.raises(ValueError, match=error):
        train(settings, data, out, progress=False, **{"epochs": 1, **arguments})
    assert not out.exists()
