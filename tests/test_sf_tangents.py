"""Potential.symmetry_function_tangents: u_ak = sum_i v_i . dG_ak/dr_i against central
finite differences of the descriptors along v, against the forces through the network's
input gradient, and its argument checks."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import POTENTIALS, reference_cases, require_shared
from numpy_reference import NumpyHDNNP
from synthetic import SF_TYPES, random_structure, write_potential

import bpfast

# Finite-difference step (length units; the synthetic potentials have rc = 4). With the
# fourth-order difference the truncation error is negligible at this step, and round-off
# of SFs that are small sums of larger terms of both signs stays below the tolerance.
H = 1e-4


def per_atom(result, key, n, direction=0):
    """Per-atom rows of one entry of a tangents result (list of n arrays)."""
    rows: list = [None] * n
    for values, atoms in zip(result[key], result["descriptor_atoms"]):
        block = values[direction] if key == "tangents" else values
        for r, i in enumerate(atoms):
            rows[int(i)] = block[r]
    return rows


def finite_difference(pot, pos, numbers, cell, pbc, v, h=H):
    """Fourth-order central difference of the descriptors along v (small truncation
    error also near the cutoffs, where the SFs fall off like high powers)."""
    def at(t):
        return pot.descriptors(pos + t * v, numbers, cell, pbc)

    p1, m1, p2, m2 = at(h), at(-h), at(2 * h), at(-2 * h)
    return [(8 * (a - b) - (c - d)) / (12 * h) for a, b, c, d in zip(p1, m1, p2, m2)]


def assert_matches_fd(pot, pos, numbers, cell, pbc, v, rtol=1e-6, steps=(H,)):
    """u against finite differences, per SF relative to the scale of its values and
    derivatives over all atoms of the element; with several steps, each entry against
    its closest difference quotient (a large step loses to windows' edges and high
    powers near cutoffs, a small one to round-off). Returns the tangents result."""
    n = len(numbers)
    res = pot.symmetry_function_tangents(pos, numbers, v[np.newaxis], cell, pbc)
    u = per_atom(res, "tangents", n)
    g = per_atom(res, "descriptors", n)
    quotients = [finite_difference(pot, pos, numbers, cell, pbc, v, h) for h in steps]
    # the values are those of descriptors()
    for a, b in zip(g, pot.descriptors(pos, numbers, cell, pbc)):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-13 * np.abs(b).max())
    for z in np.unique(numbers):
        idx = np.flatnonzero(numbers == z)
        U = np.array([u[i] for i in idx])
        candidates = np.array([[fd[i] for i in idx] for fd in quotients])
        best = np.argmin(np.abs(candidates - np.array([u[i] for i in idx])), axis=0)
        F = np.take_along_axis(candidates, best[np.newaxis], axis=0)[0]
        G = np.array([g[i] for i in idx])
        scale = np.abs(F).max(axis=0) + np.abs(G).max(axis=0)
        # SFs many orders below the element's others (e.g. 1e-14) are sums of cancelling
        # terms whose difference quotients are round-off: a floor 1e-8 of the largest
        scale = scale + 1e-8 * scale.max() + 1e-300
        err = np.abs(U - F) / scale
        worst = np.unravel_index(np.argmax(err), err.shape)
        assert err.max() < rtol, (
            f"Z={z} atom {idx[worst[0]]} SF {worst[1]}: u={U[worst]}, fd={F[worst]}")
    return res


@pytest.fixture(scope="module")
def every_type(tmp_path_factory):
    """Potentials with every SF type, for several cutoff types and inner cutoffs."""
    made = {}

    def get(cutoff_type, alpha):
        key = (cutoff_type, alpha)
        if key not in made:
            d = tmp_path_factory.mktemp(f"sf_tangent_{cutoff_type}_{alpha}")
            write_potential(d, sf_types=SF_TYPES, cutoff_type=cutoff_type, cutoff_alpha=alpha,
                            seed=7 + cutoff_type)
            made[key] = d
        return made[key]

    return get


CUTOFFS = [(1, 0.0), (1, 0.3), (2, 0.0), (3, 0.0), (4, 0.2), (5, 0.0), (6, 0.4), (7, 0.1),
           (8, 0.0), (0, 0.0)]


@pytest.mark.parametrize("cutoff_type,alpha", CUTOFFS)
@pytest.mark.parametrize("cell", [None, "triclinic"])
def test_every_type_matches_finite_differences(every_type, cutoff_type, alpha, cell):
    pot = bpfast.load(every_type(cutoff_type, alpha))
    rng = np.random.default_rng(cutoff_type * 10 + (cell is None))
    pos, numbers, lattice, pbc = random_structure(rng, n_atoms=14, cell=cell, density=0.06)
    v = rng.normal(size=pos.shape)
    assert_matches_fd(pot, pos, numbers, lattice, pbc, v)


@pytest.mark.parametrize("sf_type", SF_TYPES)
def test_each_type_alone(tmp_path, sf_type):
    """One SF type per potential: a wrong term of one type cannot hide behind another's
    scale."""
    write_potential(tmp_path, sf_types=(sf_type,), cutoff_type=6, cutoff_alpha=0.1,
                    seed=sf_type)
    pot = bpfast.load(tmp_path)
    rng = np.random.default_rng(sf_type)
    pos, numbers, lattice, pbc = random_structure(rng, n_atoms=12, cell="triclinic",
                                                  density=0.07)
    v = rng.normal(size=pos.shape)
    assert_matches_fd(pot, pos, numbers, lattice, pbc, v)


def test_thin_cell_images_move_with_their_atom(every_type):
    """A cell thinner than the cutoff: each atom sees its own images, which keep their
    offset under a displacement; a single displaced atom changes only through its pairs
    with other atoms."""
    pot = bpfast.load(every_type(6, 0.0))
    rng = np.random.default_rng(3)
    cell = np.array([[2.7, 0.0, 0.0], [0.4, 7.0, 0.0], [0.3, -0.5, 7.5]])
    assert 2.7 < pot.cutoff
    pos, numbers, lattice, pbc = random_structure(rng, n_atoms=7, cell=cell)
    v = rng.normal(size=pos.shape)
    assert_matches_fd(pot, pos, numbers, lattice, pbc, v)
    # a uniform translation changes nothing
    res = pot.symmetry_function_tangents(pos, numbers, np.ones((1,) + pos.shape), lattice, pbc)
    for t, g in zip(res["tangents"], res["descriptors"]):
        assert np.abs(t).max() <= 1e-12 * max(1.0, np.abs(g).max())


def test_open_cluster_single_atom_direction(every_type):
    pot = bpfast.load(every_type(1, 0.3))
    rng = np.random.default_rng(11)
    pos, numbers, lattice, pbc = random_structure(rng, n_atoms=10, cell=None, density=0.08)
    for atom in (0, 5):
        v = np.zeros_like(pos)
        v[atom] = rng.normal(size=3)
        assert_matches_fd(pot, pos, numbers, lattice, pbc, v)


def test_consistent_with_forces(tmp_path):
    """sum_a sum_k dE_a/dG_ak u_ak = -sum_i F_i . v_i, with the derivative along u taken
    through the network in G space (a finite difference of smooth functions of G)."""
    write_potential(tmp_path, sf_types=SF_TYPES, cutoff_type=2, seed=5)
    pot = bpfast.load(tmp_path)
    ref = NumpyHDNNP(tmp_path)
    rng = np.random.default_rng(5)
    pos, numbers, lattice, pbc = random_structure(rng, n_atoms=16, cell="triclinic",
                                                  density=0.06)
    v = rng.normal(size=pos.shape)
    res = pot.symmetry_function_tangents(pos, numbers, v[np.newaxis], lattice, pbc)
    directional = 0.0
    for symbol, G, U in zip(pot.elements, res["descriptors"], res["tangents"]):
        if len(G) == 0:
            continue
        t = 1e-5 * np.abs(G).max() / np.abs(U[0]).max()
        plus = ref.network(symbol, ref.scale(symbol, G + t * U[0]))
        minus = ref.network(symbol, ref.scale(symbol, G - t * U[0]))
        directional += np.sum(plus - minus) / (2 * t) / ref.conv_energy
    forces = pot.compute(pos, numbers, lattice, pbc).forces
    expected = -np.sum(forces * v)
    assert abs(directional - expected) < 1e-7 * np.sum(np.abs(forces * v))


def test_several_directions_equal_separate_calls(every_type):
    pot = bpfast.load(every_type(6, 0.4))
    rng = np.random.default_rng(2)
    pos, numbers, lattice, pbc = random_structure(rng, n_atoms=12, cell="cubic", density=0.06)
    v = rng.normal(size=(3,) + pos.shape)
    together = pot.symmetry_function_tangents(pos, numbers, v, lattice, pbc)
    for d in range(3):
        alone = pot.symmetry_function_tangents(pos, numbers, v[d], lattice, pbc)
        for a, b in zip(together["tangents"], alone["tangents"]):
            assert a.shape[0] == 3 and b.shape[0] == 1
            np.testing.assert_allclose(a[d], b[0], rtol=0, atol=1e-14 * (np.abs(b).max() + 1))


@pytest.mark.skipif(not bpfast._core.have_openmp(), reason="built without OpenMP")
def test_threads_agree(every_type):
    pot = bpfast.load(every_type(1, 0.0))
    rng = np.random.default_rng(4)
    pos, numbers, lattice, pbc = random_structure(rng, n_atoms=80, cell="triclinic",
                                                  density=0.06)
    v = rng.normal(size=(2,) + pos.shape)
    one = pot.symmetry_function_tangents(pos, numbers, v, lattice, pbc, threads=1)
    two = pot.symmetry_function_tangents(pos, numbers, v, lattice, pbc, threads=2)
    for key in ("descriptors", "tangents", "descriptor_atoms"):
        for a, b in zip(one[key], two[key]):
            np.testing.assert_array_equal(a, b)


def test_layout(every_type):
    pot = bpfast.load(every_type(1, 0.0))
    rng = np.random.default_rng(8)
    pos, numbers, lattice, pbc = random_structure(rng, n_atoms=9, cell="cubic")
    res = pot.symmetry_function_tangents(pos, numbers, np.zeros((2,) + pos.shape), lattice, pbc)
    n_sf = [pot.n_symmetry_functions[el] for el in pot.elements]
    seen = []
    for k, (G, U, atoms) in enumerate(zip(res["descriptors"], res["tangents"],
                                          res["descriptor_atoms"])):
        assert G.shape == (len(atoms), n_sf[k])
        assert U.shape == (2, len(atoms), n_sf[k])
        assert np.all(U == 0.0)
        assert np.all(numbers[atoms] == pot.atomic_numbers[k])
        seen.extend(atoms.tolist())
    assert sorted(seen) == list(range(len(numbers)))


@pytest.mark.parametrize("bad,message", [
    (lambda v: v[:, :-1], "tangents"),
    (lambda v: v[..., :2], "tangents"),
    (lambda v: v[:0], "tangents"),
    (lambda v: np.where(np.arange(v.size).reshape(v.shape) == 5, np.nan, v), "tangents"),
    (lambda v: np.where(np.arange(v.size).reshape(v.shape) == 1, np.inf, v), "tangents"),
    (lambda v: v.reshape(-1), "tangents"),
    (lambda v: "abc", "tangents"),
])
def test_bad_tangents_are_value_errors(every_type, bad, message):
    pot = bpfast.load(every_type(1, 0.0))
    rng = np.random.default_rng(1)
    pos, numbers, lattice, pbc = random_structure(rng, n_atoms=6, cell="cubic")
    v = rng.normal(size=(2,) + pos.shape)
    with pytest.raises(ValueError, match=message):
        pot.symmetry_function_tangents(pos, numbers, bad(v), lattice, pbc)


def test_core_checks_shape(every_type):
    pot = bpfast.load(every_type(1, 0.0))
    pos = np.zeros((2, 3))
    pos[1, 0] = 1.0
    numbers = np.array([1, 8], dtype=np.int32)
    with pytest.raises(ValueError, match="tangents"):
        pot._core.symmetry_function_tangents(pos, numbers, None, (False,) * 3, np.zeros((1, 3, 3)))
    with pytest.raises(ValueError, match="tangents"):
        pot._core.symmetry_function_tangents(pos, numbers, None, (False,) * 3,
                                             np.full((1, 2, 3), np.nan))


SHARED_POTENTIALS = {"H2O_RPBE-D3": "H2O_RPBE-D3", "Cu2S_PBE": "Cu2S_PBE",
                     "Anisole_SCAN": "Anisole_SCAN"}


@pytest.mark.parametrize("name,path", [c for c in reference_cases()
                                       if c[0] in SHARED_POTENTIALS])
def test_published_potentials_match_finite_differences(name, path):
    require_shared()
    from ase import io as ase_io

    pot = bpfast.load(POTENTIALS / name)
    atoms = ase_io.read(path, index=0)
    rng = np.random.default_rng(0)
    keep = min(len(atoms), 96)
    pos = atoms.get_positions()
    numbers = atoms.get_atomic_numbers()
    cell = atoms.cell.array if atoms.pbc.any() else None
    pbc = tuple(bool(p) for p in atoms.pbc) if atoms.pbc.any() else None
    v = np.zeros_like(pos)
    v[:keep] = rng.normal(size=(keep, 3))
    # cutoffs of 12 Bohr and more: steps up to ten times that of the synthetic potentials
    assert_matches_fd(pot, pos, numbers, cell, pbc, v, rtol=2e-6, steps=(1e-3, 1e-4))
