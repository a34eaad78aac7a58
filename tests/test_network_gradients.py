"""Training derivatives of a network (_core.NetworkGradients) against finite differences
of an independent NumPy network, and against Potential.compute's energies and forces.

Notation: E_a = NN(G_a) per atom (row), w = weights and biases in n2p2 order, u_a a
tangent per row; Edot_a = u_a . dE_a/dG_a. The outputs checked:
energies E_a, input_gradient dE_a/dG_a, tangent_energies Edot_a, energy_gradient
sum_a dE_a/dw and tangent_gradient sum_a dEdot_a/dw (per group of rows).
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

import bpfast
from bpfast import _core
from conftest import POTENTIALS, reference_cases, require_shared, second_generation_potentials
from numpy_reference import NumpyHDNNP, activation
from synthetic import ACTIVATION_LETTERS, random_structure, write_potential

pytestmark = pytest.mark.filterwarnings("ignore::bpfast.ExtrapolationWarning")

# Finite differences below are accurate to ~1e-9 relative; a wrong term is O(1).
RTOL = 1e-6


def reference_energies(sizes, letters, normalize, params, x):
    """Per-row network outputs, written from n2p2's definition (independent of bpfast)."""
    a = np.asarray(x, dtype=float)
    at = 0
    for n_in, n_out, letter in zip(sizes[:-1], sizes[1:], letters):
        w = params[at:at + n_in * n_out].reshape(n_in, n_out)
        at += n_in * n_out
        b = params[at:at + n_out]
        at += n_out
        z = a @ w + b
        if normalize:
            z = z / n_in
        a = activation(z, letter)
    return a[:, 0]


def assert_close(actual, expected, rtol=RTOL, what=""):
    actual, expected = np.asarray(actual), np.asarray(expected)
    scale = max(np.abs(expected).max(), 1e-300)
    err = np.abs(actual - expected).max() / scale
    assert err <= rtol, f"{what}: relative error {err:.3g} > {rtol:g} (scale {scale:.3g})"


def derivative(f, h):
    """f'(0) by the fourth-order central stencil (error O(h^4), roundoff ~eps |f| / h)."""
    return (8 * (f(h) - f(-h)) - (f(2 * h) - f(-2 * h))) / (12 * h)


def central(f, v, h):
    """Derivatives of f (array-valued) along every unit vector of v's shape."""
    out = []
    for k in range(v.size):
        e = np.zeros(v.size)
        e[k] = 1.0
        e = e.reshape(v.shape)
        out.append(derivative(lambda t, e=e: f(v + t * e), h))
    return np.array(out)


def case(letters, depth, normalize, seed=0, rows=7, n_in=5):
    rng = np.random.default_rng(seed)
    sizes = [n_in] + [4 - k % 2 for k in range(depth)] + [1]
    net = _core.NetworkGradients(sizes, letters, normalize)
    params = rng.uniform(-0.5, 0.5, net.parameter_count)
    if normalize:  # pre-activations of the same size as without normalize_nodes
        at = 0
        for a, b in zip(sizes[:-1], sizes[1:]):
            params[at:at + a * b + b] *= a
            at += a * b + b
    x = rng.normal(size=(rows, n_in))
    u = rng.normal(size=(rows, n_in))
    return net, sizes, params, x, u


ACTIVATION_CASES = [(letter * (depth + 1), depth, normalize)
                    for letter in ACTIVATION_LETTERS for depth in (1, 2, 3)
                    for normalize in (False, True)]
ACTIVATION_CASES += [("tspl", 3, False), ("gcSl", 3, True), ("rehl", 3, False), ("ptt", 2, True)]


@pytest.mark.parametrize("letters,depth,normalize", ACTIVATION_CASES)
def test_every_output_against_finite_differences(letters, depth, normalize):
    net, sizes, params, x, u = case(letters, depth, normalize, seed=depth + 10 * normalize)
    out = net.compute(params, x, u, input_gradient=True)

    def energies(p=params, g=x):
        return reference_energies(sizes, letters, normalize, p, g)

    assert_close(out["energies"], energies(), 1e-12, "energies")
    h = 1e-3
    assert_close(out["energy_gradient"], central(lambda p: energies(p).sum(), params, h),
                 what="energy_gradient")
    dx = central(lambda g: energies(g=g), x, h)
    assert_close(out["input_gradient"], _rowwise(dx, x.shape), what="input_gradient")
    edot = derivative(lambda t: energies(g=x + t * u), h)
    assert_close(out["tangent_energies"], edot, what="tangent_energies")
    assert_close(out["tangent_energies"], (out["input_gradient"] * u).sum(axis=1), 1e-12,
                 "tangent_energies = u . input_gradient")
    # d/dw of sum_a u_a . dE_a/dG_a by differences in w of differences along u (larger
    # steps: the roundoff of nested differences grows as 1/h^2; small ones with relu,
    # whose f' jumps at 0).
    k = 1e-4 if "r" in letters else 4e-3

    def total_edot(p):
        return derivative(lambda t: energies(p, x + t * u).sum(), k)

    assert_close(out["tangent_gradient"], central(total_edot, params, k), what="tangent_gradient")


def _rowwise(dx, shape):
    """dE_a/dx_ak from central differences over every entry of x (rows x cols x rows)."""
    rows, cols = shape
    d = dx.reshape(rows, cols, rows)
    return np.array([[d[a, k, a] for k in range(cols)] for a in range(rows)])


def grouped_case(seed=3, sizes=(0, 1, 130, 0, 50, 119, 3)):
    rng = np.random.default_rng(seed)
    net = _core.NetworkGradients([6, 7, 5, 1], "tsl", True)
    params = rng.uniform(-0.5, 0.5, net.parameter_count)
    groups = np.repeat(np.arange(len(sizes)), sizes)
    x = rng.normal(size=(len(groups), 6))
    u = rng.normal(size=(len(groups), 6))
    return net, params, x, u, groups, np.array(sizes)


def test_group_sums_equal_separate_calls():
    # Groups across the 128-row blocks, empty groups (first, middle, last after n_groups).
    net, params, x, u, groups, sizes = grouped_case()
    n_groups = len(sizes) + 2
    out = net.compute(params, x, u, groups, n_groups)
    assert out["energy_gradient"].shape == (n_groups, net.parameter_count)
    assert out["tangent_gradient"].shape == (n_groups, net.parameter_count)
    for g in range(n_groups):
        rows = groups == g
        alone = net.compute(params, x[rows], u[rows])
        assert_close(out["energy_gradient"][g], alone["energy_gradient"], 1e-12, f"group {g}")
        assert_close(out["tangent_gradient"][g], alone["tangent_gradient"], 1e-12, f"group {g}")
        if not rows.any():
            assert not out["energy_gradient"][g].any() and not out["tangent_gradient"][g].any()
    whole = net.compute(params, x, u)
    assert_close(out["energy_gradient"].sum(axis=0), whole["energy_gradient"], 1e-12)
    assert_close(out["tangent_gradient"].sum(axis=0), whole["tangent_gradient"], 1e-12)
    assert_close(out["energies"], whole["energies"], 0.0)
    # n_groups defaults to the largest index + 1
    assert net.compute(params, x, u, groups)["energy_gradient"].shape[0] == len(sizes)


@pytest.mark.skipif(not _core.have_openmp(), reason="built without OpenMP: one thread only")
@pytest.mark.parametrize("grouped", [False, True])
def test_one_and_two_threads_agree(grouped):
    net, params, x, u, groups, _ = grouped_case(seed=5)
    g = groups if grouped else None
    one = net.compute(params, x, u, g, input_gradient=True, threads=1)
    two = net.compute(params, x, u, g, input_gradient=True, threads=2)
    for key in one:
        assert_close(two[key], one[key], 1e-12, key)


def test_outputs_on_request():
    net, _, params, x, u = case("ttl", 2, False)
    out = net.compute(params, x, energy_gradient=False)
    assert out["energy_gradient"] is None and out["input_gradient"] is None
    assert out["tangent_energies"] is None and out["tangent_gradient"] is None
    full = net.compute(params, x, u, input_gradient=True)
    assert_close(out["energies"], full["energies"], 0.0)
    only_tangents = net.compute(params, x, u, energy_gradient=False)
    assert_close(only_tangents["tangent_gradient"], full["tangent_gradient"], 1e-14)
    empty = net.compute(params, x[:0], u[:0], input_gradient=True)
    assert empty["energies"].shape == (0,) and empty["input_gradient"].shape == (0, 5)
    assert not empty["energy_gradient"].any() and not empty["tangent_gradient"].any()


def test_bad_arguments_are_named():
    net, _, params, x, u = case("ttl", 2, False)
    with pytest.raises(ValueError, match=r"inputs must have shape \(n, 5\), got \(7, 4\)"):
        net.compute(params, x[:, :4])
    with pytest.raises(ValueError, match="parameters must have shape"):
        net.compute(params[:-1], x)
    with pytest.raises(ValueError, match="tangents must have the shape of inputs"):
        net.compute(params, x, u[:3])
    bad = x.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="inputs must be finite: row 3, column 2"):
        net.compute(params, bad)
    with pytest.raises(ValueError, match="tangents must be finite: row 3, column 2"):
        net.compute(params, x, bad)
    p = params.copy()
    p[4] = np.inf
    with pytest.raises(ValueError, match="parameters must be finite: row 0, column 4"):
        net.compute(p, x)
    with pytest.raises(ValueError, match=r"groups must be non-decreasing.*groups\[2\] = 0"):
        net.compute(params, x, groups=np.array([0, 1, 0, 1, 1, 1, 1]))
    with pytest.raises(ValueError, match=r"groups\[6\] = 2 is outside \[0, n_groups = 2\)"):
        net.compute(params, x, groups=np.array([0, 0, 0, 1, 1, 1, 2]), n_groups=2)
    with pytest.raises(ValueError, match=r"groups\[0\] = -1"):
        net.compute(params, x, groups=np.full(7, -1))
    with pytest.raises(ValueError, match="groups must be integers"):
        net.compute(params, x, groups=np.zeros(7))
    with pytest.raises(ValueError, match="n_groups must not be negative"):
        net.compute(params, x, groups=np.zeros(7, dtype=int), n_groups=-1)
    with pytest.raises(ValueError, match="n_groups needs groups"):
        net.compute(params, x, n_groups=3)
    with pytest.raises(ValueError, match="unknown activation 'x'"):
        _core.NetworkGradients([5, 3, 1], "tx")
    with pytest.raises(ValueError, match="one activation per non-input layer"):
        _core.NetworkGradients([5, 3, 1], "t")
    with pytest.raises(ValueError, match="output layer must have one neuron"):
        _core.NetworkGradients([5, 3, 2], "tl")


# ---------------------------------------------------------------------------------------
# Against a loaded potential: energies, forces and the force-loss gradient
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def potential_dir(tmp_path_factory):
    return write_potential(tmp_path_factory.mktemp("pot"), sf_types=(2, 3, 9, 22),
                           activations=("t", "p", "l"), nodes=(6, 5), normalize_nodes=True,
                           atom_energy={"H": -0.3, "O": -1.7})


def scaled_inputs(ref, pot, positions, numbers, cell, pbc):
    """Per element: atom indices and scaled G (bpfast's raw G, NumPy reference scaling)."""
    raw = pot.descriptors(positions, numbers, cell, pbc)
    out = {}
    for el, z in zip(pot.elements, pot.atomic_numbers):
        atoms = np.flatnonzero(numbers == z)
        out[el] = (atoms, ref.scale(el, np.array([raw[i] for i in atoms])))
    return out


def scaled_input_derivatives(ref, pot, positions, numbers, cell, pbc, h=1e-5):
    """Per element: dG_a/dr_i of the scaled inputs by central differences, an array of
    shape (3n, rows, n_sf) whose first index runs over (atom i, coordinate c) as i*3+c."""
    dg = {el: [] for el in pot.elements}
    for i in range(len(numbers)):
        for c in range(3):
            plus, minus = positions.copy(), positions.copy()
            plus[i, c] += h
            minus[i, c] -= h
            gp = scaled_inputs(ref, pot, plus, numbers, cell, pbc)
            gm = scaled_inputs(ref, pot, minus, numbers, cell, pbc)
            for el in pot.elements:
                dg[el].append((gp[el][1] - gm[el][1]) / (2 * h))
    return {el: np.array(d) for el, d in dg.items()}


def test_energies_and_forces_of_a_potential(potential_dir):
    pot = bpfast.load(potential_dir)
    ref = NumpyHDNNP(potential_dir)
    positions, numbers, cell, pbc = random_structure(np.random.default_rng(4), n_atoms=9,
                                                     min_height=4.5)
    res = pot.compute(positions, numbers, cell, pbc, energies=True)
    inputs = scaled_inputs(ref, pot, positions, numbers, cell, pbc)
    dg = scaled_input_derivatives(ref, pot, positions, numbers, cell, pbc)
    residuals = np.random.default_rng(7).normal(size=(len(numbers), 3))
    energies = np.zeros(len(numbers))
    forces = np.zeros(len(numbers) * 3)
    res_dot_f = 0.0
    for el in pot.elements:
        atoms, x = inputs[el]
        net = _core.NetworkGradients.from_potential(pot._core, el)
        params = _core.network_parameters(pot._core, el)
        d = dg[el]
        u = np.einsum("q,qak->ak", residuals.reshape(-1), d)  # sum_i res_i . dG_a/dr_i
        out = net.compute(params, x, u, input_gradient=True)
        energies[atoms] = out["energies"] / ref.conv_energy + ref.mean_energy + ref.atom_energy[el]
        forces -= np.einsum("ak,qak->q", out["input_gradient"], d) / ref.conv_energy
        res_dot_f -= out["tangent_energies"].sum() / ref.conv_energy
    assert_close(energies, res.energies, 1e-12, "energies")
    assert_close(forces.reshape(-1, 3), res.forces, what="forces")
    assert_close(res_dot_f, (residuals * res.forces).sum(), what="res . F")


def test_network_parameters_are_the_weights_file(potential_dir):
    pot = bpfast.load(potential_dir)
    ref = NumpyHDNNP(potential_dir)
    for el in pot.elements:
        flat = np.concatenate([np.concatenate([w.ravel(), b]) for w, b in ref.weights[el]])
        assert np.array_equal(_core.network_parameters(pot._core, el), flat)
        net = _core.NetworkGradients.from_potential(pot._core, el)
        assert net.sizes == list(pot.architecture[el])
        assert net.activations == pot.activations[el]
        assert net.normalize_nodes and net.parameter_count == flat.size
    with pytest.raises(KeyError, match="element 'Cu' is not in the potential"):
        _core.NetworkGradients.from_potential(pot._core, "Cu")


def write_weights(directory, z, params):
    path = directory / f"weights.{z:03d}.data"
    path.write_text("".join(f"{v:.17e}\n" for v in params))


def test_force_loss_gradient_of_a_potential(potential_dir, tmp_path):
    # d/dw of sum_i res_i . F_i, by reloading the potential with shifted weights, equals
    # -tangent_gradient / conv_energy with u_a = sum_i res_i . dG_a/dr_i.
    pot = bpfast.load(potential_dir)
    ref = NumpyHDNNP(potential_dir)
    positions, numbers, cell, pbc = random_structure(np.random.default_rng(8), n_atoms=8,
                                                     min_height=4.5)
    residuals = np.random.default_rng(9).normal(size=(len(numbers), 3))
    inputs = scaled_inputs(ref, pot, positions, numbers, cell, pbc)
    dg = scaled_input_derivatives(ref, pot, positions, numbers, cell, pbc)
    # u_a = sum_i res_i . dG_a/dr_i
    u = {el: np.einsum("q,qak->ak", residuals.reshape(-1), d) for el, d in dg.items()}
    work = tmp_path / "pot"
    shutil.copytree(potential_dir, work)
    for el, z in zip(pot.elements, pot.atomic_numbers):
        net = _core.NetworkGradients.from_potential(pot._core, el)
        params = _core.network_parameters(pot._core, el)
        out = net.compute(params, inputs[el][1], u[el])
        analytic = -out["tangent_gradient"] / ref.conv_energy
        sizes = net.sizes
        # a first-layer weight, a first-layer bias, a second-layer weight, the output bias
        picks = [3, sizes[0] * sizes[1] + 2, sizes[0] * sizes[1] + sizes[1] + 4,
                 net.parameter_count - 1]
        k = 1e-5
        for p in picks:
            values = []
            for sign in (1, -1):
                shifted = params.copy()
                shifted[p] += sign * k
                write_weights(work, z, shifted)
                f = bpfast.load(work).compute(positions, numbers, cell, pbc).forces
                values.append((residuals * f).sum())
            write_weights(work, z, params)
            numeric = (values[0] - values[1]) / (2 * k)
            assert abs(analytic[p] - numeric) <= RTOL * np.abs(analytic).max(), (el, p)


# ---------------------------------------------------------------------------------------
# The shared n2p2 potentials
# ---------------------------------------------------------------------------------------

SHARED_CASES = [(name, path) for name, path in reference_cases() if name in second_generation_potentials()]


@pytest.mark.parametrize("name", sorted({name for name, _ in SHARED_CASES}) or ["none"])
def test_energies_of_the_shared_potentials(name):
    require_shared()
    ase_io = pytest.importorskip("ase.io")
    path = min((p for n, p in SHARED_CASES if n == name), key=lambda p: p.stat().st_size)
    atoms = ase_io.read(path, index=0)
    directory = POTENTIALS / name
    pot = bpfast.load(directory)
    ref = NumpyHDNNP(directory)
    cell = atoms.cell.array if atoms.pbc.any() else None
    res = pot.compute(atoms.positions, atoms.numbers, cell, atoms.pbc, energies=True, forces=False)
    inputs = scaled_inputs(ref, pot, atoms.positions, atoms.numbers, cell, atoms.pbc)
    energies = np.zeros(len(atoms))
    for el in pot.elements:
        atoms_of, x = inputs[el]
        if not len(atoms_of):
            continue
        net = _core.NetworkGradients.from_potential(pot._core, el)
        out = net.compute(_core.network_parameters(pot._core, el), x, energy_gradient=False)
        energies[atoms_of] = (out["energies"] / ref.conv_energy + ref.mean_energy
                              + ref.atom_energy[el])
    assert_close(energies, res.energies, 1e-10, name)
