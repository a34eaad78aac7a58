"""The Kalman updates of training as nnp-train forms them: errors and Jacobians of total
energies and of force components in the networks' units (normalisation applied), the
output-bias start at the mean atomic energy, the threshold choice of force components,
and a normalised potential that reproduces its training-time predictions once written."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import bpfast
from bpfast.training import (TrainingSet, TrainingStructure, normalization,
                             read_settings, train)
from bpfast.training.trainer import _Run
from synthetic import random_structure, write_potential

pytestmark = pytest.mark.filterwarnings("ignore::bpfast.ExtrapolationWarning")


def _label(teacher, rng, n):
    out = []
    for k in range(n):
        pos, num, cell, pbc = random_structure(rng, ("H", "O"), 5 + k % 4, cell="triclinic",
                                               density=0.05)
        r = teacher.compute(pos, num, cell, pbc)
        out.append(TrainingStructure(pos, num, cell, pbc, r.energy - 3.0 * len(pos),
                                     r.forces, "teacher", k))
    return TrainingSet(out)


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    d = write_potential(tmp_path_factory.mktemp("teacher"), sf_types=(2, 3), nodes=(4, 3),
                        normalisation=False, seed=5)
    rng = np.random.default_rng(7)
    teacher = bpfast.load(d)
    return read_settings(d / "input.nn"), _label(teacher, rng, 24), _label(teacher, rng, 6)


def _normalised(settings, data):
    norm = normalization(data, settings)
    assert norm.conv_length != 1.0 and norm.conv_energy != 1.0
    return replace(settings, normalization=norm)


def _run(settings, data, test, tmp_path, **options):
    return _Run(settings, None, data, test, tmp_path, "kalman", 3, 1, 32, lambda _: None,
                **options)


def test_errors_are_n2p2s_in_the_networks_units(labelled, tmp_path):
    settings, data, test = labelled
    settings = _normalised(settings, data)
    run = _run(settings, data, test, tmp_path)
    norm = settings.normalization
    pot = bpfast.load(run.write(tmp_path / "now", run.w))
    chosen = np.array([1, 4, 5])
    errors, jac = run.energy_errors(chosen)
    assert jac.shape == (run.model.parameter_count, 3)
    for e, k in zip(errors, chosen):
        s = data[int(k)]
        energy = pot.compute(s.positions, s.numbers, s.cell, s.pbc).energy
        assert e == pytest.approx((s.energy - energy) * norm.conv_energy, rel=1e-9)
    s = data[2]
    comps = np.arange(3 * len(s))
    errors, jac = run.force_errors(2, comps)
    forces = pot.compute(s.positions, s.numbers, s.cell, s.pbc).forces
    expected = (s.forces - forces).ravel() * norm.conv_energy / norm.conv_length
    assert np.allclose(errors, expected, rtol=1e-9, atol=1e-12 * np.abs(expected).max())
    assert jac.shape == (run.model.parameter_count, len(comps))


def test_selected_force_components_are_those_of_the_full_jacobian(labelled, tmp_path):
    # The selection sees the errors of all candidates (from the networks' dE/dx) and
    # the Jacobian is formed for the kept components only: the same numbers as the
    # full pass restricted to them.
    settings, data, test = labelled
    run = _run(settings, data, test, tmp_path, force_batch=4)
    run.w += np.random.default_rng(2).normal(scale=0.1, size=run.w.shape)
    s = data[3]
    comps = np.arange(3 * len(s))
    errors, jac = run.force_errors(3, comps)
    seen = []

    def select(candidate_errors):
        seen.append(candidate_errors)
        return run.select_force_candidates(candidate_errors)

    kept_errors, kept_jac = run.force_errors(3, comps, select=select)
    keep = run.select_force_candidates(errors)
    assert len(keep) == 4
    assert np.allclose(seen[0], errors, rtol=1e-10, atol=1e-12 * np.abs(errors).max())
    assert np.allclose(kept_errors, errors[keep], rtol=1e-10,
                       atol=1e-12 * np.abs(errors).max())
    assert kept_jac.shape == (run.model.parameter_count, 4)
    assert np.allclose(kept_jac, jac[:, keep], rtol=1e-10, atol=1e-12 * np.abs(jac).max())


def test_output_bias_starts_at_the_mean_atomic_energy(labelled, tmp_path):
    settings, data, test = labelled
    plain = _run(settings, data, test, tmp_path / "a", energy_offset=False)
    shifted = _run(settings, data, test, tmp_path / "b")
    changed = np.flatnonzero(plain.w != shifted.w)
    assert set(changed) == {plain.model.blocks[e].stop - 1 for e in plain.model.elements}
    total = shifted.model.energies(shifted.w).sum()
    assert total == pytest.approx(shifted.model.reference.sum(), rel=1e-12)
    assert abs(plain.model.energies(plain.w).sum() - total) > 1.0  # far before the shift


def test_output_bias_is_kept_for_a_nonlinear_output(labelled, tmp_path):
    settings, data, test = labelled
    settings = replace(settings, activations=settings.activations[:-1] + ("t",))
    plain = _run(settings, data, test, tmp_path / "a", energy_offset=False)
    shifted = _run(settings, data, test, tmp_path / "b")
    assert np.array_equal(plain.w, shifted.w)


def test_force_candidates_above_the_threshold_first(labelled, tmp_path):
    settings, data, test = labelled
    run = _run(settings, data, test, tmp_path, force_batch=3)
    errors = np.array([0.1, -2.0, 0.4, 3.0, -0.2, 0.5, 0.05])
    assert run.force_threshold() == 0.0  # nothing measured yet: every candidate
    assert list(run.select_force_candidates(errors)) == [0, 1, 2]
    rmse = 1.0 / (settings.training.short_force_error_threshold)
    run.history.rows = [{"force_rmse_train": rmse}]
    assert run.force_threshold() == pytest.approx(1.0)
    assert list(run.select_force_candidates(errors)) == [1, 3, 5]  # 2 above, then |0.5|
    run.history.rows = [{"force_rmse_train": 0.1 * rmse}]
    assert list(run.select_force_candidates(errors)) == [1, 2, 3]


def test_normalised_potential_reproduces_its_training_predictions(labelled, tmp_path):
    settings, data, test = labelled
    settings = _normalised(settings, data)
    pot, history = train(settings, data, tmp_path, test=test, epochs=6, seed=1, threads=1,
                         progress=False, force_batch=4)
    best = history.rows[history.best_epoch]
    assert history.best_epoch > 0
    assert best["energy_rmse_test"] < 0.2 * history.rows[0]["energy_rmse_test"]
    e = [(pot.compute(s.positions, s.numbers, s.cell, s.pbc).energy - s.energy) / len(s)
         for s in test]
    f = np.concatenate([(pot.compute(s.positions, s.numbers, s.cell, s.pbc).forces
                         - s.forces).ravel() for s in test])
    assert float(np.sqrt(np.mean(np.square(e)))) == pytest.approx(best["energy_rmse_test"],
                                                                 rel=1e-12, abs=0)
    assert float(np.sqrt(np.mean(f ** 2))) == pytest.approx(best["force_rmse_test"],
                                                            rel=1e-12, abs=0)
    text = (tmp_path / "input.nn").read_text()
    assert "mean_energy" in text and "conv_length" in text


def test_energy_batches_train(labelled, tmp_path):
    settings, data, test = labelled
    _, history = train(settings, data, tmp_path, test=test, epochs=3, seed=1, threads=1,
                       progress=False, energy_batch=4, force_batch=4)
    first, last = history.rows[0], history.rows[-1]
    assert last["energy_rmse_test"] < 0.2 * first["energy_rmse_test"]
    assert last["force_rmse_test"] < 0.5 * first["force_rmse_test"]


def test_energy_batch_must_be_positive(labelled, tmp_path):
    settings, data, test = labelled
    with pytest.raises(ValueError, match="energy_batch"):
        train(settings, data, tmp_path, test=test, epochs=1, energy_batch=0, progress=False)
