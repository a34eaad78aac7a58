"""Committees: means and spreads equal the members evaluated one by one, the spread
grows away from the training data, finite differences of the mean force, bad input."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest

import bpfast
from bpfast.testing import numerical_forces, perturbed_copy
from conftest import POTENTIALS, REFERENCE, copy_stating_units, require_shared
from synthetic import SF_TYPES, random_structure, write_potential



@pytest.fixture(scope="module")
def potdir(tmp_path_factory):
    return write_potential(tmp_path_factory.mktemp("pot"), sf_types=(2, 3, 9, 12, 20, 22),
                           seed=4)


@pytest.fixture(scope="module")
def member_dirs(potdir, tmp_path_factory):
    """Three members sharing symmetry functions and scaling, one with its own (and a
    larger cutoff)."""
    root = tmp_path_factory.mktemp("members")
    shared = [perturbed_copy(potdir, root / f"m{k}", seed=k) for k in (1, 2)]
    other = write_potential(root / "other", sf_types=(2, 9, 21, 13), rc=5.0, seed=7)
    return [potdir, *shared, other]


@pytest.fixture(scope="module")
def committee(member_dirs):
    return bpfast.load_committee(member_dirs)


def structure(seed=0, n_atoms=24, cell="triclinic"):
    return random_structure(np.random.default_rng(seed), n_atoms=n_atoms, cell=cell,
                            density=0.06)


def quietly(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bpfast.ExtrapolationWarning)
        return fn(*args, **kwargs)


def member_results(committee, s, **kwargs):
    return [quietly(m.compute, *s, **kwargs) for m in committee.members]


def close(actual, expected, rtol=1e-12):
    scale = max(float(np.max(np.abs(expected))), 1.0) if np.size(expected) else 1.0
    np.testing.assert_allclose(actual, expected, rtol=0, atol=rtol * scale)


@pytest.mark.parametrize("cell", ["triclinic", "cubic", None])
@pytest.mark.parametrize("threads", [1, 2])
def test_committee_equals_members_one_by_one(committee, cell, threads):
    s = structure(cell=cell)
    stress = cell is not None
    r = quietly(committee.compute, *s, stress=stress, energies=True, members=True,
                threads=threads)
    each = member_results(committee, s, stress=stress, energies=True, threads=threads)
    energy = np.array([m.energy for m in each])
    close(r.member_energy, energy)
    close(r.energy, energy.mean())
    close(r.energy_std, energy.std())
    for key in ("forces", "energies") + (("stress",) if stress else ()):
        values = np.stack([getattr(m, key) for m in each])
        close(getattr(r, f"member_{key}"), values)
        close(getattr(r, key), values.mean(axis=0))
        close(getattr(r, f"{key}_std"), values.std(axis=0))
    if not stress:
        assert r.stress is None and r.stress_std is None and r.member_stress is None
    assert r.extrapolations == max(m.extrapolations for m in each)
    assert r.neighbor_pairs == each[3].neighbor_pairs  # the largest cutoff's list
    assert len(r.member_energy) == len(committee) == 4


@pytest.mark.parametrize("threads", [1, 2])
def test_energies_alone_equal_the_members(committee, threads):
    s = structure(15, n_atoms=40)
    r = quietly(committee.compute, *s, forces=False, energies=True, members=True,
                threads=threads)
    each = member_results(committee, s, forces=False, energies=True, threads=threads)
    close(r.member_energy, np.array([m.energy for m in each]))
    close(r.member_energies, np.stack([m.energies for m in each]))
    close(r.energies_std, np.stack([m.energies for m in each]).std(axis=0))


def test_members_with_the_same_inputs_share_them(committee):
    assert committee.cutoff == 5.0
    assert committee._core.groups == [[0, 1, 2], [3]]


@pytest.mark.parametrize("members", [[0, 1, 2], [0, 3], [3, 1]])
@pytest.mark.parametrize("simd_width, tape", [(4, None), (8, None), (4, 0)])
def test_kernel_paths_and_subsets_equal_the_members(member_dirs, members, simd_width, tape):
    """Every kernel width, with and without recorded pair data, for shared groups and
    for members evaluated separately."""
    c = bpfast.load_committee([member_dirs[k] for k in members])
    options = {"simd_width": simd_width} if tape is None else {"simd_width": simd_width,
                                                               "pair_tape_limit": tape}
    kernels = bpfast._core.KernelOptions(**options)
    s = structure(8, n_atoms=30)
    r = quietly(c.compute, *s, stress=True, members=True, _kernels=kernels)
    each = [quietly(m.compute, *s, stress=True, _kernels=kernels) for m in c.members]
    close(r.member_energy, np.array([m.energy for m in each]))
    close(r.member_forces, np.stack([m.forces for m in each]))
    close(r.member_stress, np.stack([m.stress for m in each]))


@pytest.mark.parametrize("simd_width, tape", [(4, None), (8, None), (4, 0)])
def test_every_symmetry_function_type_shared(tmp_path, simd_width, tape):
    """Members sharing every SF type bpfast implements (radial, Gaussian and compact
    angular, weighted ones) equal their one-by-one evaluation."""
    base = write_potential(tmp_path / "base", sf_types=SF_TYPES, seed=5)
    c = bpfast.load_committee([base] + [perturbed_copy(base, tmp_path / f"m{k}", seed=k)
                                        for k in (1, 2)])
    assert c._core.groups == [[0, 1, 2]]
    options = {"simd_width": simd_width} if tape is None else {"simd_width": simd_width,
                                                               "pair_tape_limit": tape}
    kernels = bpfast._core.KernelOptions(**options)
    s = structure(14, n_atoms=30)
    r = quietly(c.compute, *s, stress=True, members=True, _kernels=kernels)
    each = [quietly(m.compute, *s, stress=True, _kernels=kernels) for m in c.members]
    close(r.member_forces, np.stack([m.forces for m in each]))
    close(r.member_stress, np.stack([m.stress for m in each]))
    assert np.abs(r.forces_std).max() > 0


def test_one_and_two_threads_agree(committee):
    s = structure(9, n_atoms=80)
    one = quietly(committee.compute, *s, stress=True, members=True, threads=1)
    two = quietly(committee.compute, *s, stress=True, members=True, threads=2)
    close(two.member_energy, one.member_energy)
    close(two.member_forces, one.member_forces)
    close(two.member_stress, one.member_stress)


def test_neighbor_cache_gives_the_same_results(committee):
    pos, numbers, cell, pbc = structure(10)
    cache = bpfast.NeighborCache(skin=0.5)
    for step in range(3):
        moved = pos + 0.01 * step
        a = quietly(committee.compute, moved, numbers, cell, pbc, members=True, cache=cache)
        b = quietly(committee.compute, moved, numbers, cell, pbc, members=True)
        close(a.member_forces, b.member_forces)
        close(a.member_energy, b.member_energy)
    assert cache.rebuilds == 1


def test_host_neighbor_lists_equal_the_members(committee):
    """The entry point of the LAMMPS pair style: a host's full lists (here of a cluster,
    with neighbours up to the largest cutoff) give each member's own results."""
    pos, numbers, _, _ = structure(11, n_atoms=20, cell=None)
    n = len(pos)
    offsets, neighbors = [0], []
    for i in range(n):
        d = np.linalg.norm(pos - pos[i], axis=1)
        neighbors.extend(np.flatnonzero((d < committee.cutoff + 0.2) & (np.arange(n) != i)))
        offsets.append(len(neighbors))
    args = (np.ascontiguousarray(pos), numbers.astype(np.int32), np.arange(n, dtype=np.int32),
            np.array(offsets, dtype=np.int64), np.array(neighbors, dtype=np.int32))
    out = committee._core.compute_host(*args)
    for m, member in enumerate(committee.members):
        ref = member._core.compute_host(*args)
        close(out["energy"][m], ref["energy"])
        close(out["forces"][m], ref["forces"])
        close(out["virial"][m], ref["virial"])
        close(out["energies"][m], ref["energies"])


def test_members_false_and_energy_only(committee):
    s = structure(1)
    r = quietly(committee.compute, *s, forces=False)
    assert r.forces is None and r.forces_std is None and r.member_forces is None
    assert r.force_spread is None and r.max_force_spread is None
    assert r.energies is None and r.stress is None
    r = quietly(committee.compute, *s)
    assert r.member_forces is None and r.forces.shape == (24, 3)


def test_identical_members_have_zero_spread(potdir):
    c = bpfast.load_committee([potdir, potdir, potdir])
    s = structure(2, cell="cubic")
    r = quietly(c.compute, *s, stress=True, energies=True)
    one = quietly(c.members[0].compute, *s, stress=True, energies=True)
    tiny = 1e-14
    assert r.energy_std <= tiny * abs(one.energy)
    assert np.all(r.forces_std <= tiny * np.abs(one.forces).max())
    assert np.all(r.stress_std <= tiny * np.abs(one.stress).max())
    assert np.all(r.energies_std <= tiny * np.abs(one.energies).max())
    assert r.max_force_spread <= 2 * tiny * np.abs(one.forces).max()
    close(r.forces, one.forces)
    assert set(r.timings) == set(one.timings) == {"neighbors", "symmetry_functions", "network",
                                                   "forces"}
    assert all(t >= 0.0 for t in r.timings.values())


def test_spread_is_the_population_std(member_dirs):
    """ddof=0: two members are (a - b) / 2 apart from their mean."""
    c = bpfast.load_committee(member_dirs[:2])
    s = structure(3)
    r = quietly(c.compute, *s, members=True)
    a, b = member_results(c, s)
    close(r.energy_std, abs(a.energy - b.energy) / 2)
    close(r.forces_std, np.abs(a.forces - b.forces) / 2)
    close(r.force_spread, np.linalg.norm(a.forces - b.forces, axis=1) / 2)
    assert r.max_force_spread == pytest.approx(float(r.force_spread.max()), rel=0, abs=0)
    assert r.energy_std > 0


def test_mean_force_matches_finite_differences(committee):
    s = structure(4, n_atoms=10)
    r = quietly(committee.compute, *s)
    fd = numerical_forces(committee, *s, step=1e-5)
    np.testing.assert_allclose(r.forces, fd, rtol=0, atol=1e-6 * max(1.0, np.abs(r.forces).max()))


def test_no_atoms(committee):
    r = committee.compute(np.zeros((0, 3)), [], np.eye(3) * 10.0, stress=True, members=True)
    assert r.forces.shape == (0, 3) and r.member_forces.shape == (4, 0, 3)
    assert r.force_spread.shape == (0,) and r.max_force_spread == 0.0
    assert r.energy == 0.0 and r.energy_std == 0.0
    np.testing.assert_array_equal(r.stress_std, np.zeros((3, 3)))


def test_one_member_is_the_potential(potdir):
    c = bpfast.load_committee([potdir])
    s = structure(5)
    r = quietly(c.compute, *s, energies=True)
    one = quietly(c.members[0].compute, *s, energies=True)
    assert r.energy == one.energy and r.energy_std == 0.0
    np.testing.assert_array_equal(r.forces, one.forces)
    np.testing.assert_array_equal(r.forces_std, np.zeros_like(one.forces))


def test_spread_grows_away_from_the_training_data():
    """Two water potentials of different functionals agree on liquid water and disagree
    on compressed, strongly rattled water, where both extrapolate."""
    require_shared()
    ase_io = pytest.importorskip("ase.io")
    c = bpfast.load_committee([POTENTIALS / "H2O_RPBE-D3", POTENTIALS / "H2O_BLYP-D3"])
    atoms = ase_io.read(REFERENCE / "H2O_RPBE-D3" / "rattled_liquid_192.extxyz")
    liquid = c.compute(atoms.positions, atoms.numbers, atoms.cell[:])
    rng = np.random.default_rng(0)
    squeezed = 0.8 * atoms.positions + rng.normal(scale=0.3, size=atoms.positions.shape)
    with pytest.warns(bpfast.ExtrapolationWarning):
        far = c.compute(squeezed, atoms.numbers, 0.8 * atoms.cell[:])
    assert liquid.extrapolations == 0 and far.extrapolations > 0
    assert far.energy_std / len(atoms) > 3 * liquid.energy_std / len(atoms)
    assert np.mean(far.force_spread) > 3 * np.mean(liquid.force_spread)
    assert far.max_force_spread > 3 * liquid.max_force_spread


def test_extrapolation_warning_once_per_call(potdir, tmp_path):
    c = bpfast.load_committee([potdir, perturbed_copy(potdir, tmp_path / "m", seed=3)])
    pos, numbers, cell, pbc = structure(6)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = c.compute(pos * 0.5, numbers, cell * 0.5, pbc)
    extrapolation = [w for w in caught if issubclass(w.category, bpfast.ExtrapolationWarning)]
    assert r.extrapolations > 0 and len(extrapolation) == 1
    assert extrapolation[0].filename == __file__


def test_pickled_committee_computes_the_same(committee, member_dirs):
    copy = pickle.loads(pickle.dumps(committee))
    assert copy.paths == committee.paths == tuple(str(p) for p in member_dirs)
    assert len(copy) == len(committee)
    s = structure(7)
    a = quietly(committee.compute, *s)
    b = quietly(copy.compute, *s)
    assert a.energy == b.energy and a.energy_std == b.energy_std
    np.testing.assert_array_equal(a.forces_std, b.forces_std)


def test_attributes_and_repr(committee, member_dirs):
    assert committee.elements == ["H", "O"]
    assert committee.cutoff == max(m.cutoff for m in committee.members)
    assert all(isinstance(m, bpfast.Potential) for m in committee.members)
    text = repr(committee)
    assert all(str(p) in text for p in member_dirs)


def test_empty_list_is_an_error():
    with pytest.raises(ValueError, match="at least one"):
        bpfast.load_committee([])


def test_single_path_is_not_a_list(potdir):
    with pytest.raises(TypeError, match="sequence"):
        bpfast.load_committee(str(potdir))


def test_missing_directory_is_named(potdir, tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError) as info:
        bpfast.load_committee([potdir, missing])
    assert str(missing) in str(info.value)


def test_different_elements_are_an_error(potdir, tmp_path):
    other = write_potential(tmp_path / "hoc", elements=("H", "O", "C"), sf_types=(2,), seed=1)
    with pytest.raises(ValueError) as info:
        bpfast.load_committee([potdir, other])
    text = str(info.value)
    assert str(potdir) in text and str(other) in text and "'C'" in text


def test_different_stated_units_are_an_error(potdir, tmp_path):
    bohr = copy_stating_units(potdir, tmp_path / "bohr", "Bohr", "Ha")
    angstrom = copy_stating_units(potdir, tmp_path / "angstrom", "Angstrom", "eV")
    with pytest.raises(ValueError, match="units"):
        bpfast.load_committee([bohr, angstrom])
    assert len(bpfast.load_committee([bohr, copy_stating_units(potdir, tmp_path / "b2",
                                                                 "bohr", "Hartree")])) == 2


@pytest.mark.parametrize("members", [[0, 1, 2], [0, 1, 2, 3], [0, 3]])
@pytest.mark.parametrize("threads", [1, 2])
def test_mean_forces_alone_equal_the_mean_of_the_members(member_dirs, members, threads):
    """forces_std=False: one force pass with the members' mean dE/dG."""
    c = bpfast.load_committee([member_dirs[k] for k in members])
    s = structure(12, n_atoms=30)
    full = quietly(c.compute, *s, stress=True, energies=True, members=True, threads=threads)
    mean = quietly(c.compute, *s, stress=True, energies=True, members=True, threads=threads,
                   forces_std=False)
    close(mean.forces, full.forces)
    close(mean.stress, full.stress)
    close(mean.member_energy, full.member_energy)
    close(mean.energies_std, full.energies_std)
    assert mean.energy_std == pytest.approx(full.energy_std, rel=1e-10, abs=1e-14)
    assert mean.forces_std is None and mean.stress_std is None
    assert mean.member_forces is None and mean.member_stress is None
    assert mean.force_spread is None and mean.max_force_spread is None


def test_mean_forces_alone_on_host_lists(committee):
    pos, numbers, _, _ = structure(13, n_atoms=16, cell=None)
    n = len(pos)
    offsets, neighbors = [0], []
    for i in range(n):
        d = np.linalg.norm(pos - pos[i], axis=1)
        neighbors.extend(np.flatnonzero((d < committee.cutoff) & (np.arange(n) != i)))
        offsets.append(len(neighbors))
    args = (np.ascontiguousarray(pos), numbers.astype(np.int32), np.arange(n, dtype=np.int32),
            np.array(offsets, dtype=np.int64), np.array(neighbors, dtype=np.int32))
    full = committee._core.compute_host(*args)
    mean = committee._core.compute_host(*args, member_gradients=False)
    assert mean["forces"] is None and mean["virial"] is None
    close(mean["mean_forces"], full["forces"].mean(axis=0))
    close(mean["mean_virial"], full["virial"].mean(axis=0))
