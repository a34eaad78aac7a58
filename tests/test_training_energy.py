"""Training on energies: a student with a synthetic teacher's settings recovers the teacher's
energies (Kalman filter and Adam); the written potential reproduces the training-time
errors; outputs, reproducibility, resume, time limit and bad input."""

from __future__ import annotations

import csv
from dataclasses import replace

import numpy as np
import pytest

import bpfast
from bpfast.n2p2_io import N2p2Structure, write_input_data
from bpfast.training import (DataError, TrainingSet, TrainingStructure, read_settings,
                             read_weights, train)
from synthetic import random_structure, write_potential

pytestmark = pytest.mark.filterwarnings("ignore::bpfast.ExtrapolationWarning")


def _label(teacher, rng, n, elements=("H", "O")):
    out = []
    for k in range(n):
        pos, num, cell, pbc = random_structure(rng, elements, 6 + k % 5, cell="triclinic",
                                               density=0.05)
        r = teacher.compute(pos, num, cell, pbc)
        out.append(TrainingStructure(pos, num, cell, pbc, r.energy, r.forces, "teacher", k))
    return TrainingSet(out)


@pytest.fixture(scope="module")
def teacher(tmp_path_factory):
    """(input.nn, training set, test set) labelled by a small synthetic potential."""
    d = write_potential(tmp_path_factory.mktemp("teacher"), sf_types=(2, 3), nodes=(5, 5),
                        normalisation=False, seed=4)
    pot = bpfast.load(d)
    rng = np.random.default_rng(1)
    return d / "input.nn", _label(pot, rng, 200), _label(pot, rng, 30)


def _per_atom_spread(data):
    return float(np.std([s.energy / len(s) for s in data]))


def _rmse_of(potential, data):
    e = [(potential.compute(s.positions, s.numbers, s.cell, s.pbc).energy - s.energy) / len(s)
         for s in data]
    f = np.concatenate([(potential.compute(s.positions, s.numbers, s.cell, s.pbc).forces
                         - s.forces).ravel() for s in data])
    return float(np.sqrt(np.mean(np.square(e)))), float(np.sqrt(np.mean(f ** 2)))


@pytest.fixture(scope="module")
def kalman_run(teacher, tmp_path_factory):
    settings, train_set, test_set = teacher
    out = tmp_path_factory.mktemp("kalman")
    pot, history = train(settings, train_set, out, test=test_set, epochs=12, seed=3,
                         threads=1, progress=False)
    return out, pot, history


def test_kalman_recovers_the_teacher_energies(teacher, kalman_run):
    _, _, test_set = teacher
    _, _, history = kalman_run
    first, best = history.rows[0], history.rows[history.best_epoch]
    spread = _per_atom_spread(test_set)
    assert best["energy_rmse_test"] < 0.3 * spread, (best, spread)
    assert best["energy_rmse_test"] < 0.1 * first["energy_rmse_test"]
    assert best["force_rmse_test"] < 0.5 * first["force_rmse_test"]


def test_written_potential_reproduces_the_training_errors(teacher, kalman_run):
    _, train_set, test_set = teacher
    out, pot, history = kalman_run
    best = history.rows[history.best_epoch]
    for split, data in (("train", train_set), ("test", test_set)):
        energy, force = _rmse_of(pot, data)
        assert energy == pytest.approx(best[f"energy_rmse_{split}"], rel=1e-12, abs=0)
        assert force == pytest.approx(best[f"force_rmse_{split}"], rel=1e-12, abs=0)
    assert bpfast.load(out).compute(test_set[0].positions, test_set[0].numbers,
                                    test_set[0].cell).energy == \
        pot.compute(test_set[0].positions, test_set[0].numbers, test_set[0].cell).energy


def test_learning_curve_and_log(kalman_run):
    out, _, history = kalman_run
    with open(out / "learning_curve.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == list(range(13))
    assert float(rows[-1]["energy_rmse_test"]) == pytest.approx(
        history.rows[-1]["energy_rmse_test"], rel=1e-9)
    times = [float(r["time"]) for r in rows]
    assert times == sorted(times)
    log = (out / "train.log").read_text()
    assert "best epoch" in log and "epoch 12:" in log
    assert (out / "checkpoint.npz").is_file()


def test_adam_reduces_the_energy_error(teacher, tmp_path):
    settings_path, train_set, test_set = teacher
    settings = read_settings(settings_path)
    settings = replace(settings, training=replace(settings.training, gradient_adam_eta=0.02))
    _, history = train(settings, train_set, tmp_path, test=test_set, epochs=15, seed=3,
                       optimizer="adam", batch_size=4, threads=1, progress=False,
                       force_weight=0.0)
    first, best = history.rows[0], history.rows[history.best_epoch]
    assert best["energy_rmse_test"] < 0.1 * first["energy_rmse_test"], (first, best)


def test_decoupled_kalman_trains(teacher, tmp_path):
    settings, train_set, test_set = teacher
    _, history = train(settings, train_set, tmp_path, test=test_set, epochs=4, seed=3,
                       decoupled=True, threads=1, progress=False)
    assert history.rows[-1]["energy_rmse_test"] < 0.3 * history.rows[0]["energy_rmse_test"]


def _weights(directory):
    return [(directory / f"weights.{z:03d}.data").read_text() for z in (1, 8)]


def test_same_seed_same_weights_and_resume_continues(teacher, tmp_path):
    settings, train_set, test_set = teacher
    small = train_set[:20]
    kw = dict(test=test_set, seed=5, threads=1, progress=False)
    train(settings, small, tmp_path / "a", epochs=3, **kw)
    train(settings, small, tmp_path / "b", epochs=3, **kw)
    assert _weights(tmp_path / "a") == _weights(tmp_path / "b")
    train(settings, small, tmp_path / "c", epochs=1, **kw)
    _, history = train(settings, small, tmp_path / "c", epochs=3, resume=True, **kw)
    assert [r["epoch"] for r in history.rows] == [0, 1, 2, 3]
    assert _weights(tmp_path / "a") == _weights(tmp_path / "c")
    _, other = train(settings, small, tmp_path / "d", epochs=1, **{**kw, "seed": 6})
    assert other.rows[1]["energy_rmse_train"] != history.rows[1]["energy_rmse_train"]


def test_time_limit_past_starts_no_epoch(teacher, tmp_path):
    settings, train_set, test_set = teacher
    _, history = train(settings, train_set, tmp_path, test=test_set, epochs=50, time_limit=0,
                       threads=1, progress=False)
    assert "time limit" in history.stopped
    assert [row["epoch"] for row in history.rows] == [0]
    assert (tmp_path / "input.nn").exists()


def test_early_stopping(teacher, tmp_path):
    settings_path, train_set, test_set = teacher
    settings = read_settings(settings_path)
    # with eta 0 the weights never change: no epoch is better than epoch 0
    settings = replace(settings, training=replace(settings.training, gradient_adam_eta=0.0))
    _, history = train(settings, train_set[:10], tmp_path, test=test_set, epochs=30,
                       optimizer="adam", patience=2, threads=1, progress=False)
    assert "no better" in history.stopped and len(history.rows) == 3


def test_bad_input_names_file_and_structure(teacher, tmp_path):
    settings, train_set, test_set = teacher
    rng = np.random.default_rng(0)
    pos, num, cell, pbc = random_structure(rng, ("H", "C"), 6, cell="triclinic", density=0.05)
    path = tmp_path / "with_carbon.data"
    write_input_data(path, [N2p2Structure(positions=pos, symbols=[["H", "C"][int(z == 6)]
                                                                   for z in num],
                                          cell=cell, energy=-1.0)])
    with pytest.raises(DataError, match=r"with_carbon.data.*structure.*C"):
        train(settings, path, tmp_path / "out", progress=False)
    with pytest.raises(DataError, match="empty"):
        train(settings, TrainingSet([]), tmp_path / "out", progress=False)
    carbon = TrainingSet([TrainingStructure(pos, num, cell, pbc, -1.0, None, "other.data", 4)])
    with pytest.raises(DataError, match=r"other.data.*4"):
        train(settings, train_set, tmp_path / "out", test=carbon, progress=False)
    nan = tmp_path / "nan.data"
    nan.write_text(path.read_text().replace("energy", "energy nan\n#", 1))
    with pytest.raises((DataError, bpfast.FormatError), match="nan.data"):
        train(settings, nan, tmp_path / "out", progress=False)
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    with pytest.raises(OSError, match="a_file"):
        train(settings, train_set, blocker / "out", test=test_set, progress=False)
    with pytest.raises(ValueError, match="optimizer"):
        train(settings, train_set, tmp_path / "out", optimizer="sgd", progress=False)


def test_forces_requested_but_absent(teacher, tmp_path):
    _, train_set, _ = teacher
    settings = teacher[0]
    no_forces = TrainingSet([s.without_forces() for s in train_set[:5]])
    with pytest.raises(DataError, match=r"teacher.*0.*no reference forces"):
        train(settings, no_forces, tmp_path, force_weight=1.0, progress=False)


def test_interrupt_leaves_the_best_weights(teacher, tmp_path, monkeypatch):
    from bpfast.training import trainer as trainer_module

    settings, train_set, test_set = teacher
    original = trainer_module._Run.run_epoch

    def interrupted(self, deadline):
        if self.epoch == 2:
            raise KeyboardInterrupt
        return original(self, deadline)

    monkeypatch.setattr(trainer_module._Run, "run_epoch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train(settings, train_set[:20], tmp_path, test=test_set, epochs=5, threads=1,
              progress=False, force_weight=0.0)
    with open(tmp_path / "learning_curve.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3
    best = min(rows, key=lambda r: float(r["energy_rmse_test"]))
    pot = bpfast.load(tmp_path)
    errors = [(pot.compute(s.positions, s.numbers, s.cell, s.pbc).energy - s.energy) / len(s)
              for s in test_set]
    assert float(np.sqrt(np.mean(np.square(errors)))) == pytest.approx(
        float(best["energy_rmse_test"]), rel=1e-9)
    assert "interrupted" in (tmp_path / "train.log").read_text()


def test_bpfast_train_is_the_training_function():
    assert bpfast.train.__doc__ and "History" in bpfast.train.__doc__
    assert callable(read_weights)
