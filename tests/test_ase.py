"""The ASE calculator: unit conversion, stress, caching, skin, extrapolation, optimisers."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("ase")
import ase.calculators.calculator  # noqa: E402
from ase import Atoms  # noqa: E402
from ase.calculators.calculator import PropertyNotImplementedError  # noqa: E402

import bpfast  # noqa: E402
from bpfast import units  # noqa: E402
from bpfast.ase import BPCalculator, voigt_6  # noqa: E402
from conftest import POTENTIALS, REFERENCE, copy_stating_units, require_shared  # noqa: E402
from synthetic import random_structure, write_potential  # noqa: E402

BOHR = 0.529177210903
HARTREE = 27.211386245988


@pytest.fixture(scope="module")
def potdir(tmp_path_factory):
    return write_potential(tmp_path_factory.mktemp("pot"), elements=("H", "O"),
                           sf_types=(2, 3, 9), nodes=(6, 5), seed=21, widen=2.0)


@pytest.fixture(scope="module")
def pot(potdir):
    return bpfast.load(potdir)


def structure(seed, n=12, cell="triclinic", density=0.05):
    """(positions, numbers, cell, pbc) in the potential's units."""
    return random_structure(np.random.default_rng(seed), ("H", "O"), n, cell=cell,
                            density=density)


def to_atoms(s, length=1.0):
    pos, numbers, cell, pbc = s
    return Atoms(numbers=numbers, positions=pos * length,
                 cell=None if cell is None else cell * length, pbc=pbc)


# ---------------------------------------------------------------------- units


def test_unit_table():
    assert units.UnitSystem(np.float32(2.0), np.int64(3)).length == 2.0  # numpy scalars
    assert units.length_factor("Bohr") == 0.529177210903
    assert units.length_factor("angstrom") == units.length_factor("Å") == 1.0
    assert units.length_factor("nm") == 10.0 and units.length_factor("pm") == 0.01
    assert units.energy_factor("Hartree") == units.energy_factor("Ha") == 27.211386245988
    assert units.energy_factor("Rydberg") == pytest.approx(27.211386245988 / 2, rel=1e-13)
    assert units.energy_factor("kcal/mol") == pytest.approx(0.0433641043, rel=1e-8)
    assert units.energy_factor("kJ/mol") * 4.184 == pytest.approx(
        units.energy_factor("kcal/mol"), rel=1e-15)
    assert units.energy_factor("kj_mol") == units.energy_factor("kJ/mol")
    assert units.energy_factor(2.5) == 2.5 and units.length_factor("0.5") == 0.5
    u = units.UnitSystem("bohr", "hartree")
    assert u.force == pytest.approx(HARTREE / BOHR, rel=1e-15)
    assert u.stress == pytest.approx(HARTREE / BOHR**3, rel=1e-15)
    for bad in ("furlong", -1.0, 0, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            units.length_factor(bad)
    with pytest.raises(TypeError):
        units.energy_factor(None)
    with pytest.raises(TypeError):
        units.energy_factor(True)


def test_guess_units(tmp_path, potdir):
    assert units.guess_units(potdir) is None
    text = (potdir / "input.nn").read_text()
    (tmp_path / "input.nn").write_text(
        "# Length unit     : Bohr\n# Energy unit     : Ha\n" + text)
    assert units.guess_units(tmp_path) == ("Bohr", "Ha")
    assert units.guess_units(tmp_path / "missing") is None


def test_default_units_warn_when_input_nn_states_others(potdir, tmp_path):
    bohr = copy_stating_units(potdir, tmp_path / "bohr", "Bohr", "Ha")
    with pytest.warns(UserWarning, match=r"input\.nn states the units Bohr and Ha, but "
                                         r"BPCalculator uses angstrom and ev: pass "
                                         r"length_unit='bohr', energy_unit='ha'") as caught:
        calc = BPCalculator(bohr, threads=1)
    assert len(caught) == 1
    assert calc.units.is_identity  # a hint only: nothing applied
    with pytest.warns(UserWarning, match="BPCalculator uses bohr and ev"):
        BPCalculator(bohr, length_unit="bohr")  # the energy unit still differs
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        BPCalculator(bohr, "bohr", "hartree")
        BPCalculator(bohr, "angstrom", "ev")  # given: the caller's decision
        BPCalculator(potdir)  # input.nn states no units
        BPCalculator(copy_stating_units(potdir, tmp_path / "ang", "Angstrom", "eV"))


def test_guess_units_of_shipped_potentials():
    require_shared()
    assert units.guess_units(POTENTIALS / "H2O_RPBE-D3") == ("Bohr", "Ha")
    assert units.guess_units(POTENTIALS / "Cu2S_PBE") == ("Angstrom", "eV")


# ---------------------------------------------------------------------- results


@pytest.mark.parametrize("length_unit, energy_unit", [
    ("angstrom", "ev"), ("bohr", "hartree"), ("nm", "kcal/mol"), (0.7, 3.0)])
def test_results_equal_compute_after_conversion(pot, length_unit, energy_unit):
    L, E = units.length_factor(length_unit), units.energy_factor(energy_unit)
    s = structure(1)
    ref = pot.compute(*s, stress=True, energies=True)
    atoms = to_atoms(s, L)
    atoms.calc = BPCalculator(pot, length_unit, energy_unit, threads=1)
    assert atoms.get_potential_energy() == pytest.approx(ref.energy * E, rel=1e-13)
    assert atoms.get_potential_energy(force_consistent=True) == pytest.approx(
        ref.energy * E, rel=1e-13)
    np.testing.assert_allclose(atoms.get_forces(), ref.forces * E / L, rtol=1e-12,
                               atol=1e-12 * np.abs(ref.forces).max() * E / L)
    stress = atoms.get_stress()
    assert stress.shape == (6,)
    np.testing.assert_allclose(stress, voigt_6(ref.stress) * E / L**3, rtol=1e-12,
                               atol=1e-12 * np.abs(ref.stress).max() * E / L**3)
    np.testing.assert_allclose(atoms.get_stress(voigt=False), ref.stress * E / L**3,
                               rtol=1e-10, atol=1e-12 * np.abs(ref.stress).max() * E / L**3)
    np.testing.assert_allclose(atoms.get_potential_energies(), ref.energies * E, rtol=1e-12,
                               atol=1e-12 * np.abs(ref.energies).max() * E)
    assert atoms.get_potential_energies().sum() == pytest.approx(
        atoms.get_potential_energy(), rel=1e-12)
    assert atoms.calc.evaluations == 1  # one pass computed everything


def test_cluster_has_no_stress(pot):
    s = structure(2, cell=None)
    ref = pot.compute(*s)
    atoms = to_atoms(s)
    atoms.calc = BPCalculator(pot, threads=1)
    np.testing.assert_allclose(atoms.get_forces(), ref.forces, rtol=1e-12, atol=1e-14)
    with pytest.raises(PropertyNotImplementedError):
        atoms.get_stress()


def test_mixed_boundaries(pot):
    pos, numbers, cell, _ = structure(3, cell="cubic")
    ref = pot.compute(pos, numbers, cell, (True, True, False))
    atoms = Atoms(numbers=numbers, positions=pos, cell=cell, pbc=(True, True, False))
    atoms.calc = BPCalculator(pot, threads=1)
    assert atoms.get_potential_energy() == pytest.approx(ref.energy, rel=1e-13)
    with pytest.raises(PropertyNotImplementedError):
        atoms.get_stress()


def numerical_stress(atoms, step=1e-5):
    """(1/V) dE/d(strain) in the calculator's units, 3x3, by central differences."""
    volume = atoms.get_volume()
    out = np.zeros((3, 3))
    for a in range(3):
        for b in range(3):
            e = []
            for sign in (1.0, -1.0):
                strained = atoms.copy()
                strained.calc = atoms.calc
                eps = np.zeros((3, 3))
                eps[a, b] = sign * step
                strained.set_cell(atoms.cell[:] @ (np.eye(3) + eps).T, scale_atoms=True)
                e.append(strained.get_potential_energy())
            out[a, b] = (e[0] - e[1]) / (2 * step) / volume
    return out


def test_stress_is_the_strain_derivative_in_ev_per_cubic_angstrom(pot):
    atoms = to_atoms(structure(4, n=10), BOHR)
    atoms.calc = BPCalculator(pot, "bohr", "hartree", skin=0.0, threads=1)
    stress = atoms.get_stress(voigt=False)
    fd = numerical_stress(atoms)
    scale = np.abs(fd).max()
    assert scale > 1e-4  # eV/Å³: a real test, not zeros
    np.testing.assert_allclose(stress, 0.5 * (fd + fd.T), rtol=0, atol=1e-6 * scale)
    np.testing.assert_allclose(atoms.get_stress(), voigt_6(fd), rtol=0, atol=1e-6 * scale)


def test_forces_are_the_position_derivative_in_ev_per_angstrom(pot):
    atoms = to_atoms(structure(5, n=8), BOHR)
    atoms.calc = BPCalculator(pot, "bohr", "hartree", skin=0.0, threads=1)
    forces = atoms.get_forces()
    h = 1e-5
    for i in (0, 3, 7):
        for a in range(3):
            e = []
            for sign in (1, -1):
                moved = atoms.copy()
                moved.calc = atoms.calc
                moved.positions[i, a] += sign * h
                e.append(moved.get_potential_energy())
            assert -(e[0] - e[1]) / (2 * h) == pytest.approx(
                forces[i, a], abs=1e-6 * np.abs(forces).max())


# ---------------------------------------------------------------------- conventions


def test_constructor_and_caching(pot, potdir):
    calc = BPCalculator(str(potdir), threads=1)
    assert isinstance(calc.potential, bpfast.Potential)
    assert "energies" in calc.implemented_properties
    assert BPCalculator.implemented_properties is not ase.calculators.calculator.Calculator \
        .implemented_properties
    assert "skin=1" in repr(calc)
    atoms = to_atoms(structure(6))
    atoms.calc = calc
    atoms.get_potential_energy()
    atoms.get_forces()
    atoms.get_stress()
    atoms.get_potential_energies()
    assert calc.evaluations == 1
    atoms.positions[0, 0] += 0.01
    atoms.get_forces()
    assert calc.evaluations == 2
    atoms.set_momenta(np.ones((len(atoms), 3)))  # momenta do not change the energy
    atoms.get_forces()
    assert calc.evaluations == 2
    assert set(calc.timings) == {"neighbors", "symmetry_functions", "network", "forces"}
    assert calc.last_result.energy == pytest.approx(atoms.get_potential_energy())
    with pytest.raises(TypeError, match=r"bpfast\.Potential or a path"):
        BPCalculator(42)
    with pytest.raises(FileNotFoundError):
        BPCalculator(potdir / "nope")
    with pytest.raises(ValueError, match="skin"):
        BPCalculator(pot, skin=-1.0)
    with pytest.raises(ValueError, match="unknown length unit"):
        BPCalculator(pot, length_unit="furlong")
    with pytest.raises(ValueError, match="threads"):
        BPCalculator(pot, threads=0)


def test_element_the_potential_lacks(pot):
    atoms = Atoms("HCu", positions=[[0, 0, 0], [0, 0, 2]])
    atoms.calc = BPCalculator(pot, threads=1)
    with pytest.raises(KeyError):
        atoms.get_potential_energy()


def test_extrapolation_warns_and_is_counted(pot):
    atoms = to_atoms(structure(7, n=6, cell=None))
    atoms.positions *= 0.2  # squeezed: symmetry functions leave the training range
    atoms.calc = calc = BPCalculator(pot, threads=1)
    with pytest.warns(bpfast.ExtrapolationWarning, match="extrapolating"):
        atoms.get_potential_energy()
    assert calc.extrapolations == calc.last_result.extrapolations > 0
    assert calc.extrapolating_evaluations == 1
    ok = to_atoms(structure(1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        calc.get_potential_energy(ok)
    assert calc.extrapolating_evaluations == 1 and calc.evaluations == 2


# ---------------------------------------------------------------------- skin


def test_skin_reuses_the_list_and_gives_identical_results(pot):
    rng = np.random.default_rng(8)
    atoms = to_atoms(structure(8, n=16))
    reuse = BPCalculator(pot, skin=0.8, threads=1)
    fresh = BPCalculator(pot, skin=0.0, threads=1)
    for _ in range(12):
        atoms.positions += rng.normal(scale=0.04, size=atoms.positions.shape)
        a = reuse.get_forces(atoms)
        b = fresh.get_forces(atoms)
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12 * np.abs(b).max())
        np.testing.assert_allclose(reuse.get_stress(atoms), fresh.get_stress(atoms),
                                   rtol=0, atol=1e-12 * np.abs(fresh.get_stress(atoms)).max())
        assert reuse.get_potential_energy(atoms) == pytest.approx(
            fresh.get_potential_energy(atoms), rel=1e-13)
    assert fresh.rebuilds == fresh.evaluations == 12
    assert 1 <= reuse.rebuilds < 12  # displacements of ~0.07 per step: some reuse
    atoms.set_cell(atoms.cell[:] * 1.01, scale_atoms=True)  # a new cell: a new list
    before = reuse.rebuilds
    reuse.get_forces(atoms)
    assert reuse.rebuilds == before + 1
    reuse.reset()
    assert reuse.neighbor_cache is not None


def test_skin_zero_builds_every_time(pot):
    calc = BPCalculator(pot, skin=0.0, threads=1)
    assert calc.neighbor_cache is None
    atoms = to_atoms(structure(9))
    for _ in range(3):
        atoms.positions[0, 0] += 0.001
        calc.get_forces(atoms)
    assert calc.rebuilds == 3


# ---------------------------------------------------------------------- ASE workflows


@pytest.mark.filterwarnings("ignore::bpfast.OverlapWarning")  # random weights may pull atoms together
def test_cell_relaxation_with_frechet_filter(pot):
    from ase.filters import FrechetCellFilter
    from ase.optimize import BFGS

    atoms = to_atoms(structure(10, n=12, cell="cubic"))
    atoms.calc = BPCalculator(pot, threads=1)
    e0 = atoms.get_potential_energy()
    opt = BFGS(FrechetCellFilter(atoms), logfile=None)
    opt.run(fmax=1e-3, steps=15)
    assert atoms.get_potential_energy() < e0
    assert atoms.calc.evaluations >= 2


def test_bfgs_relaxes_a_water_cluster():
    require_shared()
    import ase.io
    from ase.optimize import BFGS

    cluster = ase.io.read(REFERENCE / "H2O_RPBE-D3" / "cluster_20mol.extxyz")
    atoms = cluster[:9]  # three whole molecules (O H H ...), Bohr
    atoms.calc = None
    assert atoms.get_chemical_symbols() == ["O", "H", "H"] * 3
    atoms.positions *= BOHR
    atoms.calc = calc = BPCalculator(POTENTIALS / "H2O_RPBE-D3", "bohr", "hartree",
                                     threads=1)
    # a gas-phase cluster is outside the training set of this liquid-water model
    opt = BFGS(atoms, logfile=None)
    with pytest.warns(bpfast.ExtrapolationWarning):
        e0 = atoms.get_potential_energy()
    with pytest.warns(bpfast.ExtrapolationWarning):
        converged = opt.run(fmax=0.05, steps=300)
    assert converged
    assert np.abs(atoms.get_forces()).max() < 0.05
    assert atoms.get_potential_energy() < e0 - 0.1
    assert calc.extrapolating_evaluations > 0
    # still three molecules: every O keeps two H at 0.9-1.1 Å
    d = atoms.get_all_distances()
    for o in range(0, 9, 3):
        assert np.all((d[o, o + 1:o + 3] > 0.9) & (d[o, o + 1:o + 3] < 1.1))


def test_calculator_copies_and_pickles(pot):
    """deepcopy and pickle give an independent calculator (own neighbour cache) on the
    same potential, with the same results; e.g. one per NEB image or worker process."""
    import copy
    import pickle

    atoms = to_atoms(structure(5))
    calc = BPCalculator(pot, skin=0.5, threads=1)
    atoms.calc = calc
    energy, forces = atoms.get_potential_energy(), atoms.get_forces()
    for other in (copy.deepcopy(calc), pickle.loads(pickle.dumps(calc))):
        assert other.neighbor_cache is not calc.neighbor_cache
        assert other.neighbor_cache is not None and other.skin == calc.skin
        moved = atoms.copy()
        moved.calc = other
        assert moved.get_potential_energy() == energy
        np.testing.assert_array_equal(moved.get_forces(), forces)
        moved.positions[0, 0] += 0.3
        assert moved.get_potential_energy() != energy
    assert atoms.get_potential_energy() == energy  # the original is untouched
