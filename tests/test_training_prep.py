"""Preparation of training: raw symmetry functions from settings, scaling.data, normalisation,
the symmetry-function checker, weights files and initialisation, written potentials."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import bpfast
from bpfast.training import (
    DataError,
    DescriptorCalculator,
    Settings,
    SymmetryFunction,
    TrainingOptions,
    TrainingSet,
    TrainingStructure,
    check_symmetry_functions,
    compute_scaling,
    initialize_weights,
    normalization,
    read_settings,
    read_training_data,
    read_weights,
    write_potential,
    write_scaling,
    write_weights,
)
from bpfast.training.weights import weights_file_name
from conftest import POTENTIALS, SHARED
from numpy_reference import NumpyHDNNP, activation
from synthetic import random_structure, write_potential as write_synthetic

ELEMENTS = ("H", "O")


def _structures(n=6, seed=3, elements=ELEMENTS, n_atoms=10):
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        pos, numbers, cell, pbc = random_structure(rng, elements, n_atoms + k % 4,
                                                   cell=None if k % 3 == 2 else "triclinic",
                                                   density=0.06)
        forces = rng.normal(size=(len(pos), 3)) if k % 2 == 0 else None
        out.append(TrainingStructure(pos, numbers, cell, pbc, float(rng.normal()) * len(pos),
                                     forces, "synthetic", k))
    return TrainingSet(out)


@pytest.fixture(scope="module")
def synthetic_settings(tmp_path_factory):
    """Settings of a synthetic potential with every symmetry-function type."""
    d = write_synthetic(tmp_path_factory.mktemp("synthetic"), seed=11)
    return d, read_settings(d)


def test_descriptors_equal_the_numpy_reference(synthetic_settings):
    directory, settings = synthetic_settings
    data = _structures()
    g = DescriptorCalculator(settings).compute(data, threads=2)
    ref = NumpyHDNNP(directory, symmetry_functions_only=True)
    for k, s in enumerate(data):
        expected = ref.symmetry_functions(s.positions, s.numbers, s.cell, s.pbc)
        for element in ELEMENTS:
            rows = np.flatnonzero(g.structure[element] == k)
            for row in rows:
                atom = g.atom[element][row]
                assert bpfast._core.element_symbol(int(s.numbers[atom])) == element
                np.testing.assert_allclose(g.values[element][row], expected[atom],
                                           rtol=1e-10, atol=1e-13)
    for element in ELEMENTS:
        assert len(g.values[element]) == data.atom_counts[element]
        lines = [sf.line for sf in g.functions[element]]
        assert lines == [f.line for f in ref.symfuncs[element]]  # n2p2's sorted order


def test_threads_do_not_change_descriptors(synthetic_settings):
    _, settings = synthetic_settings
    data = _structures(5)
    calc = DescriptorCalculator(settings)
    one, two = calc.compute(data, threads=1), calc.compute(data, threads=2)
    few = calc.compute(data[:1], threads=2)  # fewer structures than threads
    for e in ELEMENTS:
        np.testing.assert_allclose(one.values[e], two.values[e], rtol=1e-12, atol=1e-15)
        np.testing.assert_array_equal(one.structure[e], two.structure[e])
        np.testing.assert_allclose(few.values[e], one.values[e][one.structure[e] == 0],
                                   rtol=1e-12, atol=1e-15)


def test_descriptors_refuse_other_elements(synthetic_settings):
    _, settings = synthetic_settings
    data = _structures(2, elements=("H", "Cu"))
    with pytest.raises(DataError, match="synthetic, structure 0: element.* Cu not in"):
        DescriptorCalculator(settings).compute(data)


def _read_scaling(path):
    text = Path(path).read_text().splitlines()
    rows = [line.split() for line in text if line.strip() and not line.startswith("#")]
    return [(int(r[0]), int(r[1]), *map(float, r[2:])) for r in rows]


def test_scaling_statistics_and_format(synthetic_settings, tmp_path):
    _, settings = synthetic_settings
    g = DescriptorCalculator(settings).compute(_structures())
    scaling = compute_scaling(g)
    path = write_scaling(tmp_path, scaling)
    rows = _read_scaling(path)
    k = 0
    for e_index, element in enumerate(ELEMENTS, start=1):
        values = g.values[element]
        n = len(values)
        for s in range(values.shape[1]):
            x = values[:, s]
            sigma = np.sqrt(((x - x.sum() / n) ** 2).sum() / (n - 1))
            assert rows[k][:2] == (e_index, s + 1)
            np.testing.assert_allclose(rows[k][2:], [x.min(), x.max(), x.sum() / n, sigma],
                                       rtol=1e-12, atol=1e-15)
            k += 1
    assert k == len(rows)
    text = path.read_text().splitlines()
    data_line = next(line for line in text if not line.startswith("#"))
    assert len(data_line) == 121 and data_line[:21] == f"{1:10d} {1:10d}"


def test_written_potential_loads_and_gives_its_network_energies(synthetic_settings, tmp_path):
    _, settings = synthetic_settings
    settings = replace(settings, atom_energy={"H": -0.25, "O": -1.5},
                       training=TrainingOptions(weights_min=-0.3, weights_max=0.3))
    data = _structures(4)
    calc = DescriptorCalculator(settings)
    g = calc.compute(data)
    scaling = compute_scaling(g)
    weights = initialize_weights(settings, seed=5, scheme="uniform")
    out = write_potential(tmp_path / "pot", settings, scaling, weights, units=("bohr", "ev"))
    pot = bpfast.load(out)
    ref = NumpyHDNNP(out)
    norm = settings.normalization
    for k, s in enumerate(data):
        # the network the weights define, evaluated here on the scaled raw SFs
        expected = 0.0
        for element in ELEMENTS:
            x = ref.scale(element, g.values[element][g.structure[element] == k])
            for (w, b), act in zip(weights[element], settings.activations):
                x = activation(x @ w + b, act)
            n = len(x)
            expected += (x.sum() / norm.conv_energy + n * norm.mean_energy
                         + n * settings.atom_energy[element])
        got = pot.compute(s.positions, s.numbers, s.cell, s.pbc, forces=False).energy
        assert got == pytest.approx(expected, rel=1e-10, abs=1e-10)
        assert ref.energy(s.positions, s.numbers, s.cell, s.pbc)[0] == pytest.approx(
            expected, rel=1e-10, abs=1e-10)


def test_weights_file_layout(tmp_path):
    rng = np.random.default_rng(0)
    layers = [(rng.normal(size=(3, 2)), rng.normal(size=2)), (rng.normal(size=(2, 1)),
                                                                rng.normal(size=1))]
    path = write_weights(tmp_path / "weights.001.data", layers)
    rows = [line.split() for line in path.read_text().splitlines() if not line.startswith("#")]
    assert len(rows) == 3 * 2 + 2 + 2 * 1 + 1
    w0, b0 = layers[0]
    # first layer: source neuron outer, target inner, then the biases (docs §7)
    assert [float(r[0]) for r in rows[:6]] == w0.reshape(-1).tolist()
    assert rows[1][1:] == ["a", "2", "0", "1", "1", "2"]
    assert rows[6][1:] == ["b", "7", "1", "1"]
    assert [float(r[0]) for r in rows[6:8]] == b0.tolist()
    back = read_weights(path, (3, 2, 1))
    for (w, b), (w2, b2) in zip(layers, back):
        np.testing.assert_array_equal(w, w2)
        np.testing.assert_array_equal(b, b2)
    with pytest.raises(bpfast.FormatError, match=r"expected 16 weights and biases for the "
                                                 r"layer sizes 3-3-1, found 11"):
        read_weights(path, (3, 3, 1))
    with pytest.raises(ValueError, match="layer 2: W has 3 rows"):
        write_weights(tmp_path / "x", [layers[0], (np.zeros((3, 1)), np.zeros(1))])
    with pytest.raises(ValueError, match="NaN"):
        write_weights(tmp_path / "x", [(np.full((2, 1), np.nan), np.zeros(1))])


def _settings(**training):
    sfs = [SymmetryFunction("H", 2, "H", eta=0.5, rc=4.0),
           SymmetryFunction("H", 2, "O", eta=0.5, rs=1.0, rc=4.0),
           SymmetryFunction("O", 2, "H", eta=0.2, rc=4.0),
           SymmetryFunction("O", 3, "H", "H", eta=0.1, lambda_=1.0, zeta=2.0, rc=4.0)]
    return Settings(ELEMENTS, sfs, hidden_nodes=(7, 5), activations=("t", "p", "l"),
                    training=TrainingOptions(**training))


def test_initial_weights_uniform_reproducible():
    s = _settings(weights_min=-0.2, weights_max=0.7, random_seed=3)
    a = initialize_weights(s, scheme="uniform")
    b = initialize_weights(s, seed=3, scheme="uniform")
    c = initialize_weights(s, seed=4, scheme="uniform")
    for e in ELEMENTS:
        assert [w.shape for w, _ in a[e]] == [(2, 7), (7, 5), (5, 1)]
        values = np.concatenate([np.concatenate([w.ravel(), bias]) for w, bias in a[e]])
        assert values.min() >= -0.2 and values.max() < 0.7
        assert values.std() > 0.1  # really drawn, not constant
        for (wa, ba), (wb, bb) in zip(a[e], b[e]):
            np.testing.assert_array_equal(wa, wb)
            np.testing.assert_array_equal(ba, bb)
        assert not np.array_equal(a[e][0][0], c[e][0][0])


def test_initial_weights_nguyen_widrow_and_default():
    nw = initialize_weights(_settings(nguyen_widrow_weights_short=True), seed=1)
    uniform = initialize_weights(_settings(), seed=1, scheme="uniform")
    default = initialize_weights(_settings(), seed=1)
    for e in ELEMENTS:
        for layer, factor in ((0, 2.0), (1, 1.0)):  # tanh layer: doubled
            w, b = nw[e][layer]
            n_in, n_out = w.shape
            beta = 0.7 * n_out ** (1.0 / n_in)
            np.testing.assert_allclose(np.linalg.norm(w, axis=0), factor * beta)
            np.testing.assert_allclose(b, factor * beta * uniform[e][layer][1])
        np.testing.assert_allclose(nw[e][2][0], 0.5 * uniform[e][2][0])
        np.testing.assert_array_equal(nw[e][2][1], uniform[e][2][1])
        w0, _ = uniform[e][0]
        np.testing.assert_allclose(default[e][0][0], w0 * np.sqrt(6.0 / sum(w0.shape)))
        np.testing.assert_array_equal(default[e][1][0], uniform[e][1][0])  # softplus layer
        assert all(not b.any() for _, b in default[e])
    with pytest.raises(ValueError, match="scheme"):
        initialize_weights(_settings(), scheme="glorot")


def test_normalization_definitions():
    data = _structures(8)
    n = normalization(data)
    per_atom = np.array([s.energy / len(s) for s in data])
    forces = np.concatenate([s.forces.ravel() for s in data if s.forces is not None])
    sigma_e = np.sqrt(((per_atom - per_atom.mean()) ** 2).sum() / (len(per_atom) - 1))
    sigma_f = np.sqrt(((forces - forces.mean()) ** 2).sum() / (len(forces) - 1))
    assert n.mean_energy == pytest.approx(per_atom.mean(), rel=1e-12)
    assert n.conv_energy == pytest.approx(1.0 / sigma_e, rel=1e-12)
    assert n.conv_length == pytest.approx(sigma_f / sigma_e, rel=1e-12)
    # in the internal units, energies per atom and force components have unit spread
    e_int = (per_atom - n.mean_energy) * n.conv_energy
    assert np.std(e_int, ddof=1) == pytest.approx(1.0, rel=1e-12)
    assert np.std(forces * n.conv_energy / n.conv_length, ddof=1) == pytest.approx(1.0, rel=1e-12)
    shifted = normalization(data, replace(_settings(), atom_energy={"H": -1.0, "O": -2.0}))
    offsets = np.array([(-1.0 * (s.numbers == 1).sum() - 2.0 * (s.numbers == 8).sum()) / len(s)
                        for s in data])
    assert shifted.mean_energy == pytest.approx((per_atom - offsets).mean(), rel=1e-12)
    no_forces = TrainingSet(s.without_forces() for s in data)
    assert normalization(no_forces).conv_length == 1.0
    with pytest.raises(DataError, match="at least 2 structures"):
        normalization(data[:1])


def _checker_data():
    """Settings with a constant, a near-zero and a duplicated function, and structures."""
    rng = np.random.default_rng(2)
    structures = []
    for k in range(12):
        # an O atom with one H neighbour at a varying distance, and a far H atom
        d = rng.uniform(0.9, 1.6)
        pos = np.array([[0.0, 0.0, 0.0], [d, 0.0, 0.0], [0.0, 0.0, 30.0]])
        structures.append(TrainingStructure(pos, [8, 1, 1], None, False, float(k)))
    sfs = [SymmetryFunction("O", 2, "H", eta=1.0, rs=0.0, rc=5.0),
           SymmetryFunction("O", 2, "H", eta=1.0 + 1e-7, rs=0.0, rc=5.0),  # duplicate
           SymmetryFunction("O", 2, "H", eta=40.0, rs=4.5, rc=5.0),  # near zero
           SymmetryFunction("O", 2, "O", eta=1.0, rs=0.0, rc=5.0),  # no O neighbour: zero
           # hard cutoff, eta 0: counts the other H atom, always 1: constant
           SymmetryFunction("H", 2, "H", eta=0.0, rs=0.0, rc=40.0),
           SymmetryFunction("H", 2, "O", eta=0.5, rs=0.0, rc=5.0)]
    return Settings(ELEMENTS, sfs, cutoff_type=0), TrainingSet(structures)


def test_checker_flags_constant_near_zero_and_duplicate():
    settings, data = _checker_data()
    g = DescriptorCalculator(settings).compute(data)
    report = check_symmetry_functions(g)
    sampled = check_symmetry_functions(g, max_atoms=6)  # correlations on a subset
    assert [i.kind for i in sampled.issues] == [i.kind for i in report.issues]
    found = {(i.element, str(i.function)): i.kind for i in report.issues}
    assert found[("O", "O 2 H 1.0000001 0 5")] == "duplicate"
    assert found[("O", "O 2 H 40 4.5 5")] == "near-zero"
    assert found[("O", "O 2 O 1 0 5")] == "zero"
    assert found[("H", "H 2 H 0 0 40")] == "constant"
    assert len(found) == 4, str(report)
    dup = report.of_kind("duplicate")[0]
    assert str(dup.other) == "O 2 H 1 0 5"
    assert not report.ok and "4 problem(s)" in str(report)
    clean = Settings(ELEMENTS, [settings.symmetry_functions[k] for k in (0, 5)])
    assert check_symmetry_functions(DescriptorCalculator(clean).compute(data)).ok


def test_checker_names_input_nn_lines(tmp_path):
    settings, data = _checker_data()
    from bpfast.training import write_settings

    write_settings(settings, tmp_path)
    report = check_symmetry_functions(
        DescriptorCalculator(read_settings(tmp_path)).compute(data))
    lines = (tmp_path / "input.nn").read_text().splitlines()
    for issue in report.issues:
        assert f"input.nn line {issue.function.line}" in str(issue)
        assert lines[issue.function.line - 1] == f"symfunction_short {issue.function}"


def test_scaling_needs_every_element():
    settings, data = _checker_data()
    only_o = TrainingSet([TrainingStructure(np.zeros((1, 3)), [8], None, False, 0.0)])
    with pytest.raises(DataError, match="no H atoms"):
        compute_scaling(DescriptorCalculator(settings).compute(only_o))


# ---------------------------------------------------------------------- shared data


def _require(path):
    if not path.exists():
        pytest.skip(f"{path} not found")
    return path


@pytest.mark.parametrize("name", ["H2O_RPBE-D3", "Cu2S_PBE", "LJ"])
def test_scaling_data_equals_nnp_scaling(name, tmp_path):
    """scaling.data for n2p2's example settings and data equals what nnp-scaling wrote."""
    example = _require(SHARED / "train" / "n2p2-examples" / name)
    settings = read_settings(example)
    data = read_training_data(example / "input.data", elements=settings.elements)
    g = DescriptorCalculator(settings).compute(data, threads=2)
    path = write_scaling(tmp_path, compute_scaling(g))
    ours, theirs = path.read_text().splitlines(), (example / "scaling.data").read_text()
    theirs = theirs.splitlines()
    header = [line for line in theirs if line.startswith("#")]
    assert [line for line in ours if line.startswith("#")] == header
    a, b = _read_scaling(path), _read_scaling(example / "scaling.data")
    assert len(a) == len(b)
    for ra, rb in zip(a, b):
        assert ra[:2] == rb[:2]
        np.testing.assert_allclose(ra[2:], rb[2:], rtol=1e-9, atol=1e-14)


def test_published_potential_settings_round_trip(tmp_path):
    """The published water potential rewritten from its settings and weights loads and gives
    the same energies."""
    directory = _require(POTENTIALS / "H2O_RPBE-D3")
    settings = read_settings(directory)
    ref = NumpyHDNNP(directory)
    weights = {e: read_weights(directory / weights_file_name(e), settings.architecture(e))
               for e in settings.elements}
    for e in settings.elements:
        for (w, b), (w_ref, b_ref) in zip(weights[e], ref.weights[e]):
            np.testing.assert_array_equal(w, w_ref)
            np.testing.assert_array_equal(b, b_ref)
    out = write_potential(tmp_path / "copy", settings, _published_scaling(directory, settings),
                          weights)
    original, copy = bpfast.load(directory), bpfast.load(out)
    rng = np.random.default_rng(0)
    pos, numbers, cell, pbc = random_structure(rng, ELEMENTS, 24, cell="cubic", box=14.0,
                                               min_dist=1.6)
    with pytest.warns(bpfast.ExtrapolationWarning):  # a random box is far from water
        e1 = original.compute(pos, numbers, cell, pbc).energy
    with pytest.warns(bpfast.ExtrapolationWarning):
        e2 = copy.compute(pos, numbers, cell, pbc).energy
    assert e1 == e2


def _published_scaling(directory, settings):
    from bpfast.training import ScalingData

    rows = _read_scaling(directory / "scaling.data")
    stats = {k: {} for k in ("min", "max", "mean", "sigma")}
    at = 0
    for element in settings.elements:
        n = len(settings.symmetry_functions_of(element))
        block = np.array([r[2:6] for r in rows[at:at + n]])
        at += n
        for c, key in enumerate(("min", "max", "mean", "sigma")):
            stats[key][element] = block[:, c]
    return ScalingData(settings.elements, stats["min"], stats["max"], stats["mean"],
                       stats["sigma"], {e: 0 for e in settings.elements})


def test_water_data_preparation():
    """Raw SFs, scaling.data and the checker on the 220 water test frames with the published
    symmetry functions (timing printed, not asserted)."""
    root = _require(SHARED / "train" / "H2O_RPBE-D3")
    settings = read_settings(root / "input.nn")
    data = read_training_data(root / "test.data", elements=settings.elements)
    start = time.perf_counter()
    g = DescriptorCalculator(settings).compute(data)
    scaling = compute_scaling(g)
    print(f"symmetry functions + statistics of {data.n_atoms} atoms: "
          f"{time.perf_counter() - start:.2f} s")
    published = _read_scaling(POTENTIALS / "H2O_RPBE-D3" / "scaling.data")
    assert sum(len(scaling.min[e]) for e in settings.elements) == len(published)
    assert scaling.count == data.atom_counts
    assert check_symmetry_functions(g).ok
