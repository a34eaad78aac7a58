"""The LAMMPS pair style `bpfast` under pair_style hybrid and hybrid/overlay.

`pair_coeff * * bpfast O H NULL` gives bpfast the water atoms (types 1, 2) and leaves the
argon atoms (type 3) to lj/cut. The argon atoms are then neither centres nor neighbours of
bpfast's: its energy is that of the water alone (Potential.compute on the water atoms at
the positions LAMMPS read), and the total is that plus the energy of lj/cut alone, with
the same split of the forces. Needs LAMMPS and ../shared as tests/test_lammps.py does.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import bpfast
from bpfast.testing import perturbed_copy
from conftest import POTENTIALS
from test_lammps import Case, relative_error, run_lammps

Atoms = pytest.importorskip("ase").Atoms

WATER = POTENTIALS / "H2O_RPBE-D3"
LJ = ["pair_coeff * 3 lj/cut 0.0104 2.0"]  # argon with every type; water-water: bpfast only


class WaterWithArgon(Case):
    """The 192-molecule water frame with 8 argon atoms in its gaps: random places at least
    2.2 Å from every other atom (periodic images included)."""

    def atoms(self):
        atoms, reference = super().atoms()
        rng = np.random.default_rng(11)
        for point in rng.uniform(0.0, 1.0, (20000, 3)) @ atoms.cell.array:
            trial = atoms + Atoms(["Ar"], positions=[point])
            if trial.get_distances(len(atoms), range(len(atoms)), mic=True).min() >= 2.2:
                atoms = trial
            if np.count_nonzero(atoms.numbers == 18) == 8:
                return atoms, reference
        raise AssertionError("no room for 8 argon atoms")


CASE = WaterWithArgon("water_argon", "H2O_RPBE-D3", "rattled_liquid_192.extxyz",
                      potential_units=("bohr", "hartree"))
PAIR_STYLE = f"bpfast {WATER} length_unit bohr energy_unit hartree"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """run 0 with hybrid/overlay, with hybrid, with a committee under hybrid/overlay and
    with lj/cut alone (1 rank), and with hybrid/overlay on 2 ranks."""
    work = tmp_path_factory.mktemp("lammps_hybrid")
    perturbed = perturbed_copy(WATER, work / "perturbed", seed=3)
    committee = PAIR_STYLE.replace(f"bpfast {WATER}", f"bpfast {WATER} {perturbed}")
    data = work / "water_argon.data"
    species = CASE.write_data(data)
    assert species == ["O", "H", "Ar"]
    base = CASE.setup_commands(data)[:5]  # up to and including plugin load
    jobs = [
        {"name": "overlay", "kind": "run0", "commands": base + [
            f"pair_style hybrid/overlay {PAIR_STYLE} lj/cut 6.0",
            "pair_coeff * * bpfast O H NULL"] + LJ},
        {"name": "hybrid", "kind": "run0", "commands": base + [
            f"pair_style hybrid {PAIR_STYLE} lj/cut 6.0",
            "pair_coeff * * bpfast O H NULL"] + LJ},
        {"name": "committee", "kind": "run0", "force_spread": True, "commands": base + [
            f"pair_style hybrid/overlay {committee} lj/cut 6.0",
            "pair_coeff * * bpfast O H NULL"] + LJ},
        {"name": "lj", "kind": "run0", "bpfast": False, "commands": base + [
            "pair_style lj/cut 6.0", "pair_coeff * * 0.0 1.0",
            LJ[0].replace(" lj/cut", "")]},
    ]
    one = run_lammps(jobs, work, ranks=1)
    two = run_lammps(jobs[:1], work, ranks=2)
    return {"one": one, "two": two, "perturbed": perturbed}


def water_alone(out, directory=WATER):
    """Energy and forces (LAMMPS units) of Potential.compute on the water atoms of `out`,
    with the potential in `directory`."""
    positions, cell = np.array(out["positions"]), np.array(out["box"])
    atoms, _ = CASE.atoms()
    water = atoms.numbers != 18
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bpfast.ExtrapolationWarning)
        res = bpfast.load(directory).compute(positions[water] * CASE.length_unit,
                                         atoms.numbers[water], cell * CASE.length_unit, True)
    e = 1.0 / CASE.energy_unit
    return res.energy * e, res.forces * e * CASE.length_unit, water


@pytest.mark.parametrize("style", ["overlay", "hybrid"])
def test_bpfast_takes_the_water_and_leaves_the_argon_to_lj(runs, style):
    out, lj = runs["one"][style], runs["one"]["lj"]
    energy, forces, water = water_alone(out)
    assert out["bpfast_energy"] == pytest.approx(energy, rel=1e-10)
    assert out["energy"] == pytest.approx(energy + lj["energy"], rel=1e-10)
    assert np.array(out["positions"]) == pytest.approx(np.array(lj["positions"]), abs=0)
    bpfast_forces = np.array(out["forces"]) - np.array(lj["forces"])
    assert relative_error(bpfast_forces[water], forces) < 1e-10
    assert np.abs(bpfast_forces[~water]).max() < 1e-10 * np.abs(forces).max()
    assert lj["energy"] != pytest.approx(0.0, abs=1e-3)  # the argon does interact


def test_committee_under_hybrid_overlay_drives_with_the_water_members_mean(runs):
    out, lj = runs["one"]["committee"], runs["one"]["lj"]
    members = [water_alone(out, d) for d in (WATER, runs["perturbed"])]
    water = members[0][2]
    assert out["bpfast_energy"] == pytest.approx(np.mean([m[0] for m in members]), rel=1e-10)
    mean_forces = np.mean([m[1] for m in members], axis=0)
    bpfast_forces = np.array(out["forces"]) - np.array(lj["forces"])
    assert relative_error(bpfast_forces[water], mean_forces) < 1e-10
    assert np.abs(bpfast_forces[~water]).max() < 1e-10 * np.abs(mean_forces).max()
    spread = np.array(out["force_spread"])
    expected = np.linalg.norm(np.std([m[1] for m in members], axis=0), axis=1)
    assert relative_error(spread[water], expected) < 1e-8
    assert np.all(spread[~water] == 0.0)
    assert out["pair_vector"][1] == pytest.approx(expected.max(), rel=1e-8)


def test_hybrid_on_two_ranks_equals_one_rank(runs):
    one, two = runs["one"]["overlay"], runs["two"]["overlay"]
    assert two["energy"] == pytest.approx(one["energy"], rel=1e-12)
    assert relative_error(two["forces"], one["forces"]) < 1e-11


def test_null_type_without_hybrid_is_an_error(tmp_path):
    data = tmp_path / "water_argon.data"
    CASE.write_data(data)
    base = CASE.setup_commands(data)[:5]
    jobs = {
        "plain": [f"pair_style {PAIR_STYLE}", "pair_coeff * * O H NULL", "run 0"],
        "count": [f"pair_style {PAIR_STYLE}", "pair_coeff * * O NULL"],
    }
    results = run_lammps([{"name": k, "kind": "error", "commands": base + v}
                          for k, v in jobs.items()], tmp_path)
    assert "NULL (atom type 3) needs pair_style hybrid or hybrid/overlay" in (
        results["plain"]["error"] or "")
    assert "one element symbol (or NULL) for each of the 3 atom types" in (
        results["count"]["error"] or "")

