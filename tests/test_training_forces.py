"""The force path of training: force components from symmetry-function tangents and the
gradient of the full loss (energy + force terms) in the weights, against finite
differences; a student trained on forces fits them better than one trained on energies.

The tangents here are central differences of the core's raw symmetry functions (accurate
to ~1e-9 relative), standing in for the core's Jacobian-vector product: every check is of
the network side, which is exact given the tangents.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import bpfast
from bpfast.potential import Potential
from bpfast.training import DescriptorCalculator, TrainingSet, TrainingStructure, read_settings
from bpfast.training import trainer as trainer_module
from bpfast.training.forces import ForceModel, unit_directions
from bpfast.training.model import EnergyModel
from bpfast.training.scaling import compute_scaling
from bpfast.training.weights import initialize_weights
from synthetic import random_structure, write_potential

pytestmark = pytest.mark.filterwarnings("ignore::bpfast.ExtrapolationWarning")


def difference_tangents(potential: Potential, model: EnergyModel, h: float = 1e-4):
    """Raw SF tangents by the fourth-order central stencil of Potential.descriptors."""

    def values(s, positions):
        rows = potential.descriptors(positions, s.numbers, s.cell, s.pbc, threads=1)
        return [np.asarray(rows[i], dtype=float) for i in range(len(s))]

    def tangents(index, s, directions):
        out = {e: [] for e in model.elements}
        for d in directions:
            g = {t: values(s, s.positions + t * h * d) for t in (-2, -1, 1, 2)}
            for e in model.elements:
                atoms = model.atom[e][model.row_start[e][index]:model.row_start[e][index + 1]]
                rows = [(8 * (g[1][a] - g[-1][a]) - (g[2][a] - g[-2][a])) / (12 * h)
                        for a in atoms]
                out[e].append(np.array(rows).reshape(len(atoms), -1))
        return {e: np.array(v) for e, v in out.items()}

    return tangents


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    d = write_potential(tmp_path_factory.mktemp("teacher"), sf_types=(2, 3), nodes=(4, 3),
                        normalisation=False, seed=9)
    teacher = bpfast.load(d)
    rng = np.random.default_rng(2)
    data = []
    for k in range(4):
        pos, num, cell, pbc = random_structure(rng, ("H", "O"), 5 + k, cell="triclinic",
                                               density=0.05)
        r = teacher.compute(pos, num, cell, pbc)
        noise = rng.normal(scale=0.05, size=r.forces.shape)
        data.append(TrainingStructure(pos, num, cell, pbc, r.energy + 0.1, r.forces + noise,
                                      "tiny", k))
    data = TrainingSet(data)
    settings = read_settings(d / "input.nn")
    calc = DescriptorCalculator(settings)
    g = calc.compute(data, threads=1)
    scaling = compute_scaling(g)
    model = EnergyModel(settings, scaling, g, data, threads=1)
    n_inputs = {e: v.shape[1] for e, v in g.values.items()}
    w = model.flatten(initialize_weights(settings, 4, n_inputs=n_inputs))
    forces = ForceModel(model, data, difference_tangents(Potential(calc._core), model))
    return settings, scaling, model, forces, w, data


def test_force_components_equal_the_written_potential_forces(setup, tmp_path):
    settings, scaling, model, forces, w, data = setup
    from bpfast.training import write_potential as write_trained

    pot = bpfast.load(write_trained(tmp_path, settings, scaling, model.layers(w)))
    rng = np.random.default_rng(0)
    for index, s in enumerate(data):
        f = pot.compute(s.positions, s.numbers, s.cell, s.pbc).forces
        directions = rng.normal(size=(3, len(s), 3))
        pred, _ = forces.components(w, index, directions)
        expected = np.einsum("mnc,nc->m", directions, f)
        assert np.allclose(pred, expected, rtol=1e-7, atol=1e-7 * np.abs(f).max())


def test_core_tangents_give_the_written_potential_forces(setup, tmp_path):
    from bpfast.training import write_potential as write_trained
    from bpfast.training.forces import core_tangents

    settings, scaling, model, _, w, data = setup
    calc = DescriptorCalculator(settings)
    tangents = core_tangents(Potential(calc._core), model, 1)
    assert tangents is not None
    exact = ForceModel(model, data, tangents)
    pot = bpfast.load(write_trained(tmp_path, settings, scaling, model.layers(w)))
    for index, s in enumerate(data):
        f = pot.compute(s.positions, s.numbers, s.cell, s.pbc).forces
        pred, _ = exact.components(w, index, unit_directions(len(s), np.arange(3 * len(s))))
        assert np.allclose(pred, f.ravel(), rtol=1e-10, atol=1e-12 * np.abs(f).max())


def test_loss_gradient_against_finite_differences(setup):
    _, _, model, forces, w, data = setup
    force_weight = 3.0
    comps = {k: np.arange(0, 3 * len(s), 2) for k, s in enumerate(data)}
    chosen = np.arange(len(data))

    def loss_and_gradient(params):
        e, jac = model.energy_jacobian(params, chosen)
        res = (e - model.reference) / model.n_atoms
        loss = float(res @ res)
        grad = 2.0 * (res / model.n_atoms) @ jac
        for k, c in comps.items():
            d = unit_directions(len(data[k]), c)
            pred, fjac = forces.components(params, k, d)
            fres = pred - forces.reference(k, d)
            loss += force_weight * float(fres @ fres)
            grad += 2.0 * force_weight * fres @ fjac
        return loss, grad

    _, grad = loss_and_gradient(w)
    rng = np.random.default_rng(1)
    for _ in range(3):
        v = rng.normal(size=w.size)
        h = 1e-3
        f = [loss_and_gradient(w + t * h * v)[0] for t in (-2, -1, 1, 2)]
        numeric = (8 * (f[2] - f[1]) - (f[3] - f[0])) / (12 * h)
        assert grad @ v == pytest.approx(numeric, rel=1e-6)


def test_training_on_forces_fits_forces_better(tmp_path, monkeypatch):
    d = write_potential(tmp_path / "teacher", sf_types=(2, 3), nodes=(4, 4),
                        normalisation=False, seed=5)
    teacher = bpfast.load(d)
    rng = np.random.default_rng(3)
    data = []
    for k in range(30):
        pos, num, cell, pbc = random_structure(rng, ("H", "O"), 6, cell="triclinic",
                                               density=0.05)
        r = teacher.compute(pos, num, cell, pbc)
        data.append(TrainingStructure(pos, num, cell, pbc, r.energy, r.forces, "t", k))
    train_set, test_set = TrainingSet(data[:24]), TrainingSet(data[24:])
    settings = read_settings(d / "input.nn")
    settings = replace(settings, training=replace(settings.training, short_force_fraction=0.1,
                                                  force_weight=1.0))
    monkeypatch.setattr(trainer_module, "_make_tangents",
                        lambda pot, model, threads: difference_tangents(pot, model))
    kw = dict(test=test_set, epochs=5, seed=1, threads=1, progress=False, force_batch=1)
    _, with_forces = trainer_module.train(settings, train_set, tmp_path / "f", **kw)
    _, energies_only = trainer_module.train(settings, train_set, tmp_path / "e",
                                            force_weight=0.0, **kw)
    assert "forces are not trained" not in (tmp_path / "f" / "train.log").read_text()
    assert with_forces.rows[-1]["force_rmse_train"] < \
        0.3 * energies_only.rows[-1]["force_rmse_train"]
