"""Physics checks on synthetic potentials written by the tests themselves.

Nothing here needs ../shared: the potentials come from tests/synthetic.py (random
weights, every symmetry-function type, cutoff type, activation and scaling mode), the
energies are checked against an independent NumPy evaluation of n2p2's formulas
(tests/numpy_reference.py), and the derivatives against finite differences.
"""

from __future__ import annotations

import numpy as np
import pytest

import bpfast
from bpfast.testing import numerical_forces, numerical_stress
from numpy_reference import NumpyHDNNP
from synthetic import ACTIVATION_LETTERS, SCALING_MODES, SF_TYPES, random_structure, write_potential

# Random test structures may leave the synthetic training range; that is not under test here.
pytestmark = pytest.mark.filterwarnings("ignore::bpfast.ExtrapolationWarning")


def make(tmp_path_factory, name="pot", **kwargs):
    directory = tmp_path_factory.mktemp(name)
    write_potential(directory, **kwargs)
    return directory


def structure(seed, n_atoms=10, cell="triclinic", elements=("H", "O"), rc=4.0, **kw):
    rng = np.random.default_rng(seed)
    # Compact angular SFs skip exactly collinear triplets, which an atom and its own
    # images always form: keep cells taller than the cutoff for them.
    return random_structure(rng, elements, n_atoms, cell=cell, min_height=rc + 0.5, **kw)


def compute(pot, s, **kw):
    positions, numbers, cell, pbc = s
    return pot.compute(positions, numbers, cell, pbc, **kw)


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    """Every SF type, default settings."""
    return bpfast.load(make(tmp_path_factory, "full", seed=1))


def assert_forces_match_fd(pot, s, rtol=1e-6, step=1e-5):
    positions, numbers, cell, pbc = s
    res = pot.compute(positions, numbers, cell, pbc)
    fd = numerical_forces(pot, positions, numbers, cell, pbc, step=step)
    scale = np.max(np.abs(fd))
    # Round-off of a central difference: about eps * |E| / step.
    noise = 1e-15 * max(abs(res.energy), 1.0) / step
    assert scale > 1e4 * noise, "forces vanish next to round-off: the test would prove nothing"
    np.testing.assert_allclose(res.forces, fd, rtol=0, atol=max(rtol * scale, 10 * noise))


# ---------------------------------------------------------------------------------
# Energies against the independent NumPy implementation


VARIANTS = (
    [dict(cutoff_type=t) for t in range(9)]
    + [dict(cutoff_type=t, cutoff_alpha=0.3) for t in (1, 4, 5, 6, 7, 8)]
    + [dict(scaling=m) for m in SCALING_MODES]
    + [dict(activations=(a, "t", "l")) for a in ACTIVATION_LETTERS]
    + [dict(nodes=(5,), activations=("t", "l")), dict(nodes=(4,), activations=("p", "l")),
       dict(nodes=(7, 3, 4), activations=("t", "s", "p", "l"))]
    + [dict(normalize_nodes=True), dict(normalisation=False),
       dict(atom_energy={"H": -0.5, "O": -75.0}), dict(scale_range=None),
       dict(elements=("O", "C", "H")), dict(elements=("Cu",))]
)


def variant_id(v):
    return "-".join(f"{k}={v_}" for k, v_ in v.items()).replace(" ", "")


@pytest.mark.parametrize("variant", VARIANTS, ids=[variant_id(v) for v in VARIANTS])
def test_energy_matches_numpy_reference(tmp_path_factory, variant):
    directory = make(tmp_path_factory, seed=7, **variant)
    pot = bpfast.load(directory)
    ref = NumpyHDNNP(directory)
    elements = variant.get("elements", ("H", "O"))
    for s in (structure(3, elements=elements), structure(4, cell=None, elements=elements)):
        positions, numbers, cell, pbc = s
        res = pot.compute(positions, numbers, cell, pbc, energies=True)
        e_ref, per_atom = ref.energy(positions, numbers, cell, pbc)
        assert res.energy == pytest.approx(e_ref, rel=1e-10, abs=1e-10)
        np.testing.assert_allclose(res.energies, per_atom, rtol=1e-10, atol=1e-10)


def test_descriptors_match_numpy_reference(tmp_path_factory):
    directory = make(tmp_path_factory, seed=3, elements=("O", "C", "H"))
    pot = bpfast.load(directory)
    ref = NumpyHDNNP(directory)
    for s in (structure(5, elements=("O", "C", "H")), structure(6, cell=None, elements=("O", "C", "H"))):
        positions, numbers, cell, pbc = s
        mine = pot.descriptors(positions, numbers, cell, pbc)
        theirs = ref.symmetry_functions(positions, numbers, cell, pbc)
        assert len(mine) == len(theirs)
        for a, b in zip(mine, theirs):
            np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-12)


def assert_matches_numpy_and_fd(directory, seeds):
    """SFs (1e-11) and energy (1e-10) against NumPy, forces against finite differences, on
    a periodic and an open structure."""
    pot = bpfast.load(directory)
    ref = NumpyHDNNP(directory)
    for s in (structure(seeds[0], n_atoms=14), structure(seeds[1], n_atoms=12, cell=None)):
        positions, numbers, cell, pbc = s
        mine = pot.descriptors(positions, numbers, cell, pbc)
        theirs = ref.symmetry_functions(positions, numbers, cell, pbc)
        for a, b in zip(mine, theirs):
            np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-12)
        e_ref, _ = ref.energy(positions, numbers, cell, pbc)
        assert compute(pot, s).energy == pytest.approx(e_ref, rel=1e-10, abs=1e-10)
        assert_forces_match_fd(pot, s)


# Gaussian angular groups whose keys share work: eta an integer multiple of another key's
# (same r_s) gives that key's Gaussian as a power; other r_s, non-integer ratios and
# ratios above 64 must not share. Angular powers: zeta 1..8 (unrolled), 9 and 12
# (loop), 2.5 (pow), lambda +-1. Weighted type 13 and the r_jk-free type 9 as well.
# Radial types 2 and 12 share keys the same way, per neighbour element and cutoff
# (two cutoffs, ratios 3, 64 and 65, another r_s, and one SF given twice).
RADIAL_KEYS = ((0.05, 0.0), (0.15, 0.0), (0.05 * 64, 0.0), (0.05 * 65, 0.0), (0.1, 0.7), (0.5, 0.7))
SHARED_KEY_LINES = [
    f"{ec} 2 {e1} {eta} {rs} {rc}"
    for ec in ("H", "O")
    for e1 in ("H", "O")
    for rc in (4.0, 3.0)
    for eta, rs in RADIAL_KEYS + ((0.15, 0.0),)
] + [f"{ec} 12 {eta} {rs} 4.0" for ec in ("H", "O") for eta, rs in RADIAL_KEYS] + [
    f"{ec} {t} {pair} {eta} {lam} {zeta} 4.0 {rs}"
    for ec in ("H", "O")
    for t, pair in ((3, "H O"), (3, "O O"), (9, "H O"))
    for eta, lam, zeta, rs in (
        (0.02, 1, 1, 0.0), (0.06, -1, 4, 0.0), (0.14, 1, 9, 0.0), (0.4, -1, 2.5, 0.0),
        (0.045, 1, 12, 0.0), (0.04, -1, 3, 0.5), (0.02 * 70, 1, 1, 0.0), (0.12, 1, 5, 0.5),
    )
] + [
    f"{ec} 13 {eta} {rs} {lam} {zeta} 4.0"
    for ec in ("H", "O")
    for eta, rs, lam, zeta in ((0.03, 0.0, 1, 2), (0.09, 0.0, -1, 7), (0.21, 0.0, 1, 1), (0.06, 0.3, -1, 6))
]


def test_gaussian_angular_shared_keys(tmp_path_factory):
    directory = make(tmp_path_factory, seed=9, sf_lines=SHARED_KEY_LINES)
    assert_matches_numpy_and_fd(directory, seeds=(21, 22))


# Compact angular groups: one group per (type, element pair) whose radial windows share
# the triplets and the angle functions. Windows with r_l < 0 and r_l > 0, nested and
# disjoint ones, asymmetric and exponential cores, angle windows used by several radial
# windows and angle windows of one only.
COMPACT_WINDOW_LINES = [
    f"{ec} {t} {pair}{rl} {rc} {left} {right} {sub}"
    for ec in ("H", "O")
    for t, pair in ((22, "H O "), (21, "O O "), (25, ""), (24, ""))
    for rl, rc, left, right, sub in (
        (-4.0, 4.0, 0, 180, "p2"), (-4.0, 4.0, 60, 180, "p2"), (-2.5, 2.5, 0, 180, "p2"),
        (-2.5, 2.5, 60, 180, "p2"), (1.0, 4.0, 0, 180, "p2a"), (0.5, 2.0, -90, 90, "p4"),
        (2.0, 3.8, 30, 150, "e"), (-3.0, 3.0, 45.5, 165.5, "p3a"),
    )
] + [  # one radial window with more angle windows than the kernel's unrolled sums take
    f"{ec} 22 O H -3.5 3.5 {10 * k} {180 - 10 * k} p2" for ec in ("H", "O") for k in range(9)
]


def test_compact_angular_shared_windows(tmp_path_factory):
    directory = make(tmp_path_factory, seed=10, sf_lines=COMPACT_WINDOW_LINES, rc=4.0)
    assert_matches_numpy_and_fd(directory, seeds=(23, 24))


# ---------------------------------------------------------------------------------
# Derivatives


@pytest.mark.parametrize("sf_type", SF_TYPES)
@pytest.mark.parametrize("cell", ["triclinic", None])
def test_forces_finite_difference_per_sf_type(tmp_path_factory, sf_type, cell):
    pot = bpfast.load(make(tmp_path_factory, sf_types=(sf_type,), seed=sf_type))
    assert_forces_match_fd(pot, structure(sf_type, cell=cell))


@pytest.mark.parametrize("cutoff_type,alpha", [(t, 0.0) for t in range(1, 9)] +
                         [(t, 0.3) for t in (1, 4, 5, 6, 7, 8)])
def test_forces_finite_difference_per_cutoff(tmp_path_factory, cutoff_type, alpha):
    pot = bpfast.load(make(tmp_path_factory, sf_types=(2, 3, 9, 12, 13), cutoff_type=cutoff_type,
                           cutoff_alpha=alpha, seed=cutoff_type))
    assert_forces_match_fd(pot, structure(11))


ACTIVATION_CASES = [(a, "t", "l") for a in ACTIVATION_LETTERS] + [
    ("t", "t", a) for a in ACTIVATION_LETTERS if a not in "lr"]  # relu output may be flat 0


@pytest.mark.parametrize("activations", ACTIVATION_CASES, ids="".join)
def test_forces_finite_difference_per_activation(tmp_path_factory, activations):
    pot = bpfast.load(make(tmp_path_factory, sf_types=(2, 3), activations=activations, seed=5))
    assert_forces_match_fd(pot, structure(12, cell=None))


def test_forces_in_thin_cell_include_self_images(tmp_path_factory):
    """A cell much thinner than the cutoff: atoms see many of their own images."""
    pot = bpfast.load(make(tmp_path_factory, sf_types=(2, 3, 9, 12, 13), seed=2))
    rng = np.random.default_rng(0)
    cell = np.array([[1.9, 0.0, 0.0], [0.4, 2.1, 0.0], [0.3, -0.2, 2.4]])
    positions = rng.uniform(0, 1, (3, 3)) @ cell
    s = (positions, np.array([1, 8, 1]), cell, True)
    res = compute(pot, s, stress=True)
    assert res.neighbor_pairs > 3 * 20
    assert_forces_match_fd(pot, s)
    fd = numerical_stress(pot, *s)
    np.testing.assert_allclose(res.stress, fd, rtol=0, atol=1e-6 * np.max(np.abs(fd)))


@pytest.mark.parametrize("cell", ["triclinic", "cubic"])
def test_stress_finite_difference(full, cell):
    s = structure(21, n_atoms=12, cell=cell)
    res = compute(full, s, stress=True)
    fd = numerical_stress(full, *s)
    assert np.max(np.abs(fd)) > 1e-6
    np.testing.assert_allclose(res.stress, fd, rtol=0, atol=1e-6 * np.max(np.abs(fd)))
    np.testing.assert_allclose(res.stress, res.stress.T, rtol=0, atol=1e-12 * np.max(np.abs(fd)))


NETWORK_SHAPES = [((1,), ("p", "l")), ((3, 4), ("t", "s", "l")), ((5, 9), ("S", "g", "e")),
                  ((13,), ("c", "h")), ((4, 8, 2), ("r", "t", "p", "s"))]


@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize("nodes,activations", NETWORK_SHAPES, ids=lambda v: "-".join(map(str, v)))
def test_network_paths_agree(tmp_path_factory, nodes, activations, normalize):
    """With forces the networks run per atom on padded weight copies (Network::
    evaluate_atom); energies alone run as batched matrix products: same atomic energies.
    Layer widths below, at and above the SIMD width, several activations per network."""
    pot = bpfast.load(make(tmp_path_factory, sf_types=(2, 3), nodes=nodes,
                           activations=activations, normalize_nodes=normalize, seed=len(nodes)))
    s = structure(7, n_atoms=14)
    with_forces = compute(pot, s, energies=True)
    alone = compute(pot, s, energies=True, forces=False)
    assert np.ptp(alone.energies) > 1e-6  # the atoms differ: a real comparison
    np.testing.assert_allclose(with_forces.energies, alone.energies, rtol=1e-13,
                               atol=1e-13 * np.max(np.abs(alone.energies)))


def test_per_atom_energies_sum_to_total(full):
    res = compute(full, structure(30), energies=True)
    assert res.energies.sum() == pytest.approx(res.energy, rel=1e-13, abs=1e-13)


# ---------------------------------------------------------------------------------
# Invariances and extensivity


def random_rotation(rng, proper=True):
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q *= np.sign(np.diag(r))
    if proper and np.linalg.det(q) < 0:
        q[:, 0] *= -1
    return q


@pytest.mark.parametrize("cell", ["triclinic", None])
def test_rotation_translation_invariance(full, cell):
    rng = np.random.default_rng(1)
    positions, numbers, c, pbc = structure(40, cell=cell)
    ref = full.compute(positions, numbers, c, pbc, stress=c is not None)
    for proper in (True, False):  # a reflection too: the energy is achiral here
        rot = random_rotation(rng, proper)
        shift = rng.normal(size=3) * 3
        new_c = None if c is None else c @ rot.T
        res = full.compute(positions @ rot.T + shift, numbers, new_c, pbc, stress=c is not None)
        assert res.energy == pytest.approx(ref.energy, rel=1e-12)
        np.testing.assert_allclose(res.forces, ref.forces @ rot.T, rtol=0,
                                   atol=1e-10 * np.max(np.abs(ref.forces)))
        if c is not None:
            np.testing.assert_allclose(res.stress, rot @ ref.stress @ rot.T, rtol=0,
                                       atol=1e-10 * np.max(np.abs(ref.stress)))


def test_permutation_invariance(full):
    rng = np.random.default_rng(2)
    positions, numbers, cell, pbc = structure(41)
    ref = full.compute(positions, numbers, cell, pbc, energies=True)
    perm = rng.permutation(len(numbers))
    res = full.compute(positions[perm], numbers[perm], cell, pbc, energies=True)
    assert res.energy == pytest.approx(ref.energy, rel=1e-12)
    np.testing.assert_allclose(res.forces, ref.forces[perm], rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.energies, ref.energies[perm], rtol=0, atol=1e-12)


def test_choice_of_periodic_image(full):
    rng = np.random.default_rng(3)
    positions, numbers, cell, pbc = structure(42)
    ref = full.compute(positions, numbers, cell, pbc, stress=True)
    shifts = rng.integers(-3, 4, size=(len(numbers), 3))
    res = full.compute(positions + shifts @ cell, numbers, cell, pbc, stress=True)
    assert res.energy == pytest.approx(ref.energy, rel=1e-12)
    np.testing.assert_allclose(res.forces, ref.forces, rtol=0, atol=1e-11)
    np.testing.assert_allclose(res.stress, ref.stress, rtol=0, atol=1e-11)
    # An equivalent cell: other lattice vectors spanning the same lattice.
    unimodular = np.array([[1, 1, 0], [0, 1, 0], [1, 0, 1]])
    res2 = full.compute(positions, numbers, unimodular @ cell, pbc, stress=True)
    assert res2.energy == pytest.approx(ref.energy, rel=1e-12)
    np.testing.assert_allclose(res2.stress, ref.stress, rtol=0, atol=1e-11)


def test_left_handed_cell(full):
    positions, numbers, cell, pbc = structure(43)
    ref = full.compute(positions, numbers, cell, pbc, stress=True)
    res = full.compute(positions, numbers, cell[[1, 0, 2]], pbc, stress=True)
    assert np.linalg.det(cell[[1, 0, 2]]) < 0
    assert res.energy == pytest.approx(ref.energy, rel=1e-12)
    np.testing.assert_allclose(res.stress, ref.stress, rtol=0, atol=1e-11)


def test_supercell_is_extensive(full):
    positions, numbers, cell, pbc = structure(44)
    ref = full.compute(positions, numbers, cell, pbc, stress=True, energies=True)
    reps = np.array([[i, j, k] for i in range(2) for j in range(2) for k in range(2)])
    big_pos = np.concatenate([positions + r @ cell for r in reps])
    big_num = np.tile(numbers, len(reps))
    res = full.compute(big_pos, big_num, 2 * cell, pbc, stress=True, energies=True)
    assert res.energy == pytest.approx(8 * ref.energy, rel=1e-11)
    np.testing.assert_allclose(res.forces, np.tile(ref.forces, (8, 1)), rtol=0, atol=1e-10)
    np.testing.assert_allclose(res.stress, ref.stress, rtol=0, atol=1e-11)
    np.testing.assert_allclose(res.energies, np.tile(ref.energies, 8), rtol=0, atol=1e-11)


def test_separated_copies_are_additive(full):
    positions, numbers, _, _ = structure(45, cell=None)
    ref = full.compute(positions, numbers)
    far = positions + np.array([100.0, -50.0, 30.0])
    res = full.compute(np.concatenate([positions, far]), np.concatenate([numbers, numbers]))
    assert res.energy == pytest.approx(2 * ref.energy, rel=1e-12)
    np.testing.assert_allclose(res.forces, np.concatenate([ref.forces, ref.forces]), atol=1e-12)


def test_mixed_boundaries_match_explicit_images(tmp_path_factory):
    """Periodic along a only == explicit copies along a (far enough apart in b, c).

    An atom and its own images along a are exactly collinear, where the compact angular
    types (21, 22, 24, 25) are discontinuous by definition; they are left out here."""
    full = bpfast.load(make(tmp_path_factory, sf_types=(2, 3, 9, 12, 13, 20, 23), seed=1))
    rng = np.random.default_rng(4)
    n = 6
    a_len = 3.0
    positions = rng.uniform(0, 1, (n, 3)) * np.array([a_len, 4.0, 4.0])
    numbers = np.array([1, 8] * (n // 2))
    cell = np.array([[a_len, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    slab = full.compute(positions, numbers, cell, (True, False, False), energies=True)
    # Explicit images: the energy of the central copy inside a long chain of copies.
    k = 4  # copies on each side, k * a_len > cutoff
    images = np.concatenate([positions + np.array([m * a_len, 0, 0]) for m in range(-k, k + 1)])
    chain = full.compute(images, np.tile(numbers, 2 * k + 1), energies=True)
    centre = chain.energies[k * n:(k + 1) * n]
    np.testing.assert_allclose(slab.energies, centre, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(slab.forces, chain.forces[k * n:(k + 1) * n], rtol=0, atol=1e-11)


# ---------------------------------------------------------------------------------
# Threads


def test_one_and_two_threads_agree(full):
    s = structure(50, n_atoms=40, box=9.0)
    one = compute(full, s, threads=1, stress=True, energies=True)
    two = compute(full, s, threads=2, stress=True, energies=True)
    assert two.energy == pytest.approx(one.energy, rel=1e-12)
    np.testing.assert_allclose(two.forces, one.forces, rtol=0, atol=1e-12 * np.max(np.abs(one.forces)))
    np.testing.assert_allclose(two.stress, one.stress, rtol=0, atol=1e-12 * np.max(np.abs(one.stress)))
    np.testing.assert_allclose(two.energies, one.energies, rtol=1e-12)


@pytest.mark.skipif(not bpfast._core.have_openmp(), reason="built without OpenMP: one thread only")
def test_two_threads_repeat_bitwise(full):
    """Identical calls on two threads give bit-identical results: which thread takes which
    atoms must not change the order in which force and virial contributions are summed.
    500 atoms: 32 chunks of 16, enough for a dynamic schedule to hand them out differently."""
    s = structure(51, n_atoms=500, cell="cubic")
    first = compute(full, s, threads=2, stress=True, energies=True)
    for _ in range(6):
        again = compute(full, s, threads=2, stress=True, energies=True)
        assert again.energy == first.energy
        assert np.array_equal(again.forces, first.forces)
        assert np.array_equal(again.stress, first.stress)
        assert np.array_equal(again.energies, first.energies)
    one = compute(full, s, threads=1, stress=True, energies=True)
    assert first.energy == pytest.approx(one.energy, rel=1e-12)
    np.testing.assert_allclose(first.forces, one.forces, rtol=0, atol=1e-12 * np.max(np.abs(one.forces)))
    np.testing.assert_allclose(first.stress, one.stress, rtol=0, atol=1e-12 * np.max(np.abs(one.stress)))


@pytest.mark.parametrize("limit", [0, 500])
def test_gradient_recomputes_what_was_not_recorded(full, limit):
    """The gradient pass replays per-pair data recorded by the values pass of the same
    atom; past a per-thread cap it recomputes them. Both paths give the same numbers
    (limit 0: nothing recorded; 500 doubles: the first groups recorded, later ones not)."""
    from bpfast import _core

    s = structure(50, n_atoms=40, box=9.0)
    recorded = compute(full, s, threads=1, stress=True, energies=True)
    fresh = compute(full, s, threads=1, stress=True, energies=True,
                    _kernels=_core.KernelOptions(pair_tape_limit=limit))
    assert fresh.energy == recorded.energy
    np.testing.assert_allclose(fresh.forces, recorded.forces, rtol=0,
                               atol=1e-14 * np.max(np.abs(recorded.forces)))
    np.testing.assert_allclose(fresh.stress, recorded.stress, rtol=0,
                               atol=1e-14 * np.max(np.abs(recorded.stress)))


@pytest.mark.parametrize("run", [0, 3000])
def test_angular_sums_in_runs(full, run):
    """The Gaussian angular kernels add an atom's per-pair data into the SF sums in runs
    of bounded size, so that their memory does not grow with the square of the number of
    neighbours (run 0: each j's pairs on their own; 3,000 doubles: a few j at a time).
    Same numbers up to the order of the sums; recorded for the gradient (default) or not
    (tape limit 0), the same runs, so the same SF values and energies, bit for bit."""
    from bpfast import _core

    s = structure(50, n_atoms=40, box=9.0)
    whole = compute(full, s, threads=1, stress=True, energies=True)
    whole_g = full.descriptors(*s[:3], s[3])
    in_runs = _core.KernelOptions(angular_sum_run=run)
    recorded = compute(full, s, threads=1, stress=True, energies=True, _kernels=in_runs)
    energy_only = compute(full, s, threads=2, forces=False, energies=True, _kernels=in_runs)
    g = full.descriptors(*s[:3], s[3], _kernels=in_runs)
    fresh = compute(full, s, threads=2, stress=True, energies=True,
                    _kernels=_core.KernelOptions(angular_sum_run=run, pair_tape_limit=0))
    np.testing.assert_array_equal(fresh.energies, recorded.energies)
    np.testing.assert_allclose(fresh.forces, recorded.forces, rtol=0,
                               atol=1e-14 * np.max(np.abs(recorded.forces)))
    for a, b in zip(g, whole_g):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-300)
    for res in (recorded, energy_only):
        assert res.energy == pytest.approx(whole.energy, rel=1e-13, abs=0)
        np.testing.assert_allclose(res.energies, whole.energies, rtol=0,
                                   atol=1e-13 * np.max(np.abs(whole.energies)))
    for name in ("forces", "stress"):
        a, b = getattr(recorded, name), getattr(whole, name)
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-13 * np.max(np.abs(b)))


@pytest.mark.parametrize("pbc", [False, (True, True, False)])
def test_nearly_flat_structures(full, pbc):
    """A planar molecule or slab whose atoms leave the plane by rounding noise (1e-17 after
    a rotation there and back) has the energy and forces of the exactly flat one."""
    rng = np.random.default_rng(8)
    positions = np.column_stack([rng.uniform(0, 5, 12), rng.uniform(0, 5, 12), np.zeros(12)])
    numbers = np.array([1, 8] * 6)
    cell = np.diag([5.0, 5.0, 1.0]) if pbc else None
    flat = full.compute(positions, numbers, cell, pbc)
    assert flat.neighbor_pairs > 12 and np.max(np.abs(flat.forces)) > 0
    for noise in (1e-9, 1e-13, 1e-17, 1e-300):
        p = positions.copy()
        p[3, 2] = noise
        res = full.compute(p, numbers, cell, pbc)
        assert res.neighbor_pairs == flat.neighbor_pairs
        assert res.energy == pytest.approx(flat.energy, rel=1e-12)
        np.testing.assert_allclose(res.forces, flat.forces, rtol=0,
                                   atol=1e-7 * np.max(np.abs(flat.forces)))


def test_dense_cell_memory_stays_bounded(tmp_path):
    """An atom with thousands of neighbours (tiny cell, every SF type): the per-pair data
    of a group grow with the square of the neighbours (1.9 GB peak here before the
    bounds); the recorded part is capped and the rest is summed in runs. Run in a fresh
    process to read its peak memory."""
    import subprocess
    import sys
    import textwrap

    directory = write_potential(tmp_path, seed=1)
    script = textwrap.dedent(f"""
        import resource, warnings, numpy as np, bpfast
        warnings.simplefilter("ignore")
        pot = bpfast.load({str(directory)!r})
        cell = np.eye(3) * 0.45
        positions, species = [[0.0, 0.0, 0.0], [0.2, 0.15, 0.1]], ["H", "O"]
        full = pot.compute(positions, species, cell, threads=2, stress=True)
        energy = pot.compute(positions, species, cell, forces=False, threads=1)
        assert full.energy == energy.energy and np.isfinite(full.energy)
        assert np.all(np.isfinite(full.forces)) and np.all(np.isfinite(full.stress))
        print(full.neighbor_pairs, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr
    pairs, peak_kb = map(int, out.stdout.split())
    assert pairs > 5000  # thousands of neighbours per atom
    assert peak_kb < 600_000, f"peak RSS {peak_kb} kB"


def eight_lanes():
    """The 8-lane kernels' availability (AVX-512 CPU and a build that has them)."""
    from bpfast import _core

    return _core._best_simd_width() == 8


@pytest.mark.skipif(not eight_lanes(), reason="no 8-lane (AVX-512) kernels on this CPU: "
                    "only the 4-lane width can run")
@pytest.mark.parametrize("limit", [None, 500])
def test_kernel_widths_agree(full, limit):
    """The angular kernels (Gaussian and compact) run 4 lanes wide, or 8 (AVX-512) where
    the CPU is x86-64-v4; both widths give the same numbers up to the order of the sums,
    with the recorded pair data replayed (default) or partly recomputed (limit 500)."""
    from bpfast import _core

    s = structure(52, n_atoms=60, box=9.0)
    tape = {} if limit is None else {"pair_tape_limit": limit}
    results = {}
    for lanes in (4, 8):
        kernels = _core.KernelOptions(simd_width=lanes, **tape)
        assert kernels.lanes == lanes
        results[lanes] = compute(full, s, threads=2, stress=True, energies=True, _kernels=kernels)
    narrow, wide = results[4], results[8]
    assert wide.energy == pytest.approx(narrow.energy, rel=1e-13, abs=0)
    for name in ("forces", "stress", "energies"):
        a, b = getattr(narrow, name), getattr(wide, name)
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-12 * np.max(np.abs(a)), err_msg=name)


def test_repeated_calls_reuse_the_neighbour_list_memory(full):
    """compute() builds each neighbour list into the memory of the previous call's: the
    results do not depend on what was computed before, with any thread count."""
    small = structure(53, n_atoms=30, box=8.0)
    large = structure(54, n_atoms=120, box=11.0)
    first = compute(full, small, threads=2, stress=True)
    for threads in (1, 3, 2):
        compute(full, large, threads=threads, stress=True)
        again = compute(full, small, threads=threads, stress=True)
        assert again.energy == pytest.approx(first.energy, rel=1e-14, abs=0)
        np.testing.assert_allclose(again.forces, first.forces, rtol=0,
                                   atol=1e-13 * np.max(np.abs(first.forces)))
        np.testing.assert_allclose(again.stress, first.stress, rtol=0,
                                   atol=1e-13 * np.max(np.abs(first.stress)))
    assert first.neighbor_pairs == again.neighbor_pairs


def test_kernel_options_apply_to_their_call_only(full):
    """Calls with different kernel options running at the same time (the core releases
    the GIL) each get the numbers of their own options, bit for bit as when run alone."""
    from concurrent.futures import ThreadPoolExecutor

    from bpfast import _core

    s = structure(55, n_atoms=60, box=9.0)
    variants = [_core.KernelOptions(), _core.KernelOptions(simd_width=4),
                _core.KernelOptions(pair_tape_limit=0), _core.KernelOptions(angular_sum_run=0)]

    def run(kernels):
        return compute(full, s, threads=1, stress=True, energies=True, _kernels=kernels)

    alone = [run(k) for k in variants]
    with ThreadPoolExecutor(len(variants)) as pool:
        for _ in range(3):
            together = list(pool.map(run, variants * 2))
            for a, b in zip(alone * 2, together):
                assert a.energy == b.energy
                np.testing.assert_array_equal(a.forces, b.forces)
                np.testing.assert_array_equal(a.stress, b.stress)


def test_kernel_width_must_be_0_4_or_8():
    from bpfast import _core

    for lanes in (1, 6, 16, -4):
        with pytest.raises(ValueError, match="SIMD width must be 0"):
            _core.KernelOptions(simd_width=lanes)
    assert _core._best_simd_width() in (4, 8)
    assert _core.KernelOptions().lanes == _core._best_simd_width()
    assert _core.KernelOptions(simd_width=4).lanes == 4
    assert _core.KernelOptions(simd_width=8).lanes == _core._best_simd_width()
