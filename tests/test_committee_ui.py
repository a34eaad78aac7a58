"""Committees in ASE, MD and the command line: spreads, thresholds, predict, select.

The committees are synthetic: one potential and copies whose weights are perturbed by
a few per cent. Every expected spread is computed here member by member (each member
loaded with bpfast.load, numpy.std over the members), independently of the committee
code.
"""

from __future__ import annotations

import io
import re
import shutil

import numpy as np
import pytest

pytest.importorskip("ase")
import ase.io  # noqa: E402
from ase import Atoms  # noqa: E402
from ase.calculators.calculator import PropertyNotImplementedError  # noqa: E402

import bpfast  # noqa: E402
from bpfast.testing import perturbed_copy  # noqa: E402
from bpfast import n2p2_io  # noqa: E402
from bpfast.ase import COMMITTEE_PROPERTIES, BPCalculator, voigt_6  # noqa: E402
from bpfast.md import ForceSpreadWarning, run  # noqa: E402
from bpfast.selection import pick_largest, select_frames  # noqa: E402
from synthetic import random_structure, write_potential  # noqa: E402
from test_cli import bpfast_cmd, one_line_error  # noqa: E402

BOHR = 0.529177210903
HARTREE = 27.211386245988


@pytest.fixture(scope="module")
def members(tmp_path_factory):
    """Four member directories: a synthetic H/O potential and three perturbed copies."""
    root = tmp_path_factory.mktemp("committee")
    base = write_potential(root / "m0", elements=("H", "O"), sf_types=(2, 3), nodes=(6, 5),
                           seed=21, widen=3.0)
    return [base] + [perturbed_copy(base, root / f"m{k}", seed=k) for k in (1, 2, 3)]


def box(seed=0, n=16, cell="cubic", scale=1.0):
    """Random H/O atoms (Å, as far as the tests are concerned), positions and cell x scale."""
    pos, numbers, lattice, pbc = random_structure(np.random.default_rng(seed), ("H", "O"), n,
                                                  cell=cell, density=0.05, min_dist=1.0)
    return Atoms(numbers=numbers, positions=pos * scale,
                 cell=None if lattice is None else lattice * scale, pbc=pbc)


def reference(dirs, atoms, length=1.0, energy=1.0):
    """Mean and spread of the members evaluated one by one, in Å/eV for a potential in
    units of `length` Å and `energy` eV."""
    periodic = bool(np.all(atoms.pbc))
    cell = atoms.cell[:] / length if periodic else None
    results = [bpfast.load(d).compute(atoms.positions / length, atoms.numbers, cell,
                                      stress=periodic, energies=True) for d in dirs]
    e = np.array([r.energy for r in results]) * energy
    f = np.array([r.forces for r in results]) * energy / length
    en = np.array([r.energies for r in results]) * energy
    out = {"energy": e.mean(), "energy_std": e.std(), "forces": f.mean(0),
           "forces_std": f.std(0), "energies_std": en.std(0)}
    out["force_spread"] = np.sqrt((out["forces_std"] ** 2).sum(1))
    out["max_force_spread"] = out["force_spread"].max()
    if periodic:
        s = np.array([r.stress for r in results]) * energy / length**3
        out["stress_std"] = s.std(0)
    return out


# ---------------------------------------------------------------------- ASE


@pytest.mark.parametrize("length_unit, energy_unit", [("angstrom", "ev"), ("bohr", "hartree")])
def test_calculator_results_carry_the_spreads_in_ase_units(members, length_unit, energy_unit):
    L = {"angstrom": 1.0, "bohr": BOHR}[length_unit]
    E = {"ev": 1.0, "hartree": HARTREE}[energy_unit]
    atoms = box(1, scale=L)
    ref = reference(members, atoms, L, E)
    calc = BPCalculator([str(d) for d in members], length_unit, energy_unit, threads=1)
    atoms.calc = calc
    assert calc.is_committee and calc.directories == [str(d) for d in members]
    assert atoms.get_potential_energy() == pytest.approx(ref["energy"], rel=1e-12)
    np.testing.assert_allclose(atoms.get_forces(), ref["forces"], rtol=1e-10, atol=1e-12)
    r = calc.results
    assert ref["energy_std"] > 1e-4 * abs(ref["energy"])  # the members do differ
    assert r["energy_std"] == pytest.approx(ref["energy_std"], rel=1e-9)
    assert r["forces_std"].shape == (len(atoms), 3)
    np.testing.assert_allclose(r["forces_std"], ref["forces_std"], rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(r["energies_std"], ref["energies_std"], rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(r["force_spread"], ref["force_spread"], rtol=1e-8)
    assert r["max_force_spread"] == pytest.approx(ref["max_force_spread"], rel=1e-8)
    assert r["stress_std"].shape == (6,)
    np.testing.assert_allclose(r["stress_std"], voigt_6(ref["stress_std"]), rtol=1e-8,
                               atol=1e-12 * np.abs(ref["stress_std"]).max())
    assert calc.get_property("max_force_spread", atoms) == r["max_force_spread"]
    assert calc.evaluations == 1  # one pass computed everything


def test_calculator_takes_a_loaded_committee(members):
    from bpfast.committee import load_committee

    committee = load_committee(members)
    atoms = box(2)
    ref = reference(members, atoms)
    calc = BPCalculator(committee, threads=1)
    assert calc.potential is committee
    atoms.calc = calc
    atoms.get_forces()
    np.testing.assert_allclose(calc.results["forces_std"], ref["forces_std"], rtol=1e-8,
                               atol=1e-12)


def test_cluster_has_no_stress_spread(members):
    atoms = box(3, cell=None)
    atoms.calc = BPCalculator(members, threads=1)
    atoms.get_forces()
    assert "stress_std" not in atoms.calc.results and "energy_std" in atoms.calc.results
    with pytest.raises(PropertyNotImplementedError):
        atoms.calc.get_property("stress_std", atoms)


def test_identical_members_have_no_spread(members, tmp_path):
    copy = shutil.copytree(members[1], tmp_path / "copy")
    atoms = box(4)
    atoms.calc = BPCalculator([members[1], copy, members[1]], threads=1)
    forces = atoms.get_forces()
    r = atoms.calc.results
    assert r["energy_std"] <= 1e-14 * abs(r["energy"])
    assert np.abs(r["forces_std"]).max() <= 1e-14 * np.abs(forces).max()
    assert r["max_force_spread"] <= 1e-14 * np.abs(forces).max()
    single = reference([members[1]], atoms)
    np.testing.assert_allclose(forces, single["forces"], rtol=1e-12, atol=1e-13)


def test_a_single_potential_has_no_committee_properties(members):
    atoms = box(1)
    atoms.calc = calc = BPCalculator(members[0], threads=1)
    atoms.get_forces()
    assert not calc.is_committee
    assert not set(COMMITTEE_PROPERTIES) & set(calc.results)
    assert "energy_std" not in calc.implemented_properties
    assert "energy_std" not in BPCalculator.implemented_properties
    with pytest.raises(PropertyNotImplementedError):
        calc.get_property("energy_std", atoms)


def test_bad_committees_are_clear_errors(members, tmp_path):
    missing = tmp_path / "no-such-potential"
    with pytest.raises(FileNotFoundError, match="no-such-potential"):
        BPCalculator([members[0], missing])
    with pytest.raises(ValueError):
        BPCalculator([])
    with pytest.raises(TypeError, match="list of such paths"):
        BPCalculator([members[0], 3])


# ---------------------------------------------------------------------- MD


def read_log(text):
    rows = np.loadtxt(io.StringIO(text), ndmin=2)
    return dict(zip(("step", "time", "epot", "ekin", "etot", "temperature", "pressure",
                     "spread"), rows.T))


def test_md_logs_the_largest_force_spread(members, tmp_path):
    atoms = box(5)
    log = io.StringIO()
    traj = tmp_path / "md.traj"
    summary = run(atoms, BPCalculator(members, threads=1), steps=6, timestep=0.5,
                  temperature=300, seed=2, trajectory=traj, trajectory_interval=2, log=log,
                  log_interval=2, progress=False)
    lines = log.getvalue().splitlines()
    assert "committee of 4" in lines[0]
    assert lines[1].split()[-1] == "Fspread[eV/Å]"
    d = read_log(log.getvalue())
    np.testing.assert_array_equal(d["step"], [0, 2, 4, 6])
    frames = ase.io.read(traj, ":")
    expected = [reference(members, f)["max_force_spread"] for f in frames]
    np.testing.assert_allclose(d["spread"], expected, rtol=1e-5)
    assert summary.max_force_spread >= max(expected) * (1 - 1e-9)
    assert summary.last["max_force_spread"] == pytest.approx(expected[-1], rel=1e-9)
    assert summary.spread_warn_step is None and summary.spread_stop_step is None
    np.testing.assert_allclose([f.info["max_force_spread"] for f in frames], expected,
                               rtol=1e-9)


def test_md_extxyz_frames_carry_the_spreads(members, tmp_path):
    atoms = box(5)
    traj = tmp_path / "md.extxyz"
    run(atoms, BPCalculator(members, threads=1), steps=4, timestep=0.5, temperature=300,
        seed=2, trajectory=traj, trajectory_interval=2, progress=False)
    assert "force_spread" not in atoms.arrays and "energy_std" not in atoms.info
    for frame in ase.io.read(traj, ":"):
        ref = reference(members, frame)  # positions as written (8 decimals)
        assert frame.info["max_force_spread"] == pytest.approx(ref["max_force_spread"],
                                                               rel=1e-5)
        assert frame.info["energy_std"] == pytest.approx(ref["energy_std"], rel=1e-5)
        np.testing.assert_allclose(frame.arrays["force_spread"], ref["force_spread"],
                                   rtol=1e-5, atol=2e-8)  # ASE writes 8 decimals


def test_md_progress_shows_the_force_spread(members):
    out = io.StringIO()
    run(box(3), BPCalculator(members, threads=1), steps=4, timestep=0.5, temperature=100,
        seed=0, log_interval=2, progress=True, progress_file=out)
    assert re.search(r"Fspread=[0-9.e+-]+ eV/Å", out.getvalue())


def test_md_warns_once_above_the_warning_threshold(members):
    atoms = box(5)
    start = reference(members, atoms)["max_force_spread"]
    with pytest.warns(ForceSpreadWarning, match=r"MD step 0: the largest per-atom force "
                                                r"spread .* exceeds force_spread_warn") as w:
        summary = run(atoms, BPCalculator(members, threads=1), steps=5, timestep=0.5,
                      temperature=300, seed=2, progress=False, force_spread_warn=0.5 * start)
    assert len([x for x in w if issubclass(x.category, ForceSpreadWarning)]) == 1
    assert summary.steps == 5 and summary.spread_warn_step == 0
    assert summary.spread_stop_step is None


def test_md_stops_after_the_step_above_the_stop_threshold(members, tmp_path):
    """Every step in the trajectory; the threshold lies between the largest spread
    before step j and that of step j: the run must end with step j, written."""
    start = box(6)
    # the spread falls along this hot NVE path; reversed, the run climbs back up it
    run(start, BPCalculator(members, threads=1), steps=30, timestep=1.0, temperature=3000,
        seed=4, progress=False)
    start.set_momenta(-start.get_momenta())
    again = dict(steps=20, timestep=1.0, velocities="keep", trajectory_interval=1,
                 progress=False)
    free = tmp_path / "free.traj"
    run(start.copy(), BPCalculator(members, threads=1), trajectory=free, **again)
    spreads = np.array([reference(members, f)["max_force_spread"]
                        for f in ase.io.read(free, ":")])
    running = np.maximum.accumulate(spreads)
    j = max(k for k in range(2, 16) if spreads[k] > (1 + 1e-4) * running[k - 1])
    threshold = 0.5 * (running[j - 1] + spreads[j])

    traj, log = tmp_path / "stop.traj", tmp_path / "stop.log"
    with pytest.warns(ForceSpreadWarning, match=rf"MD step {j}: .* exceeds "
                                                rf"force_spread_stop=.* the run stops"):
        summary = run(start.copy(), BPCalculator(members, threads=1), trajectory=traj,
                      log=log, log_interval=7, force_spread_stop=threshold, **again)
    assert summary.steps == j and summary.spread_stop_step == j
    assert not summary.interrupted
    frames = ase.io.read(traj, ":")
    assert [f.info["step"] for f in frames] == list(range(j + 1))
    np.testing.assert_allclose(
        [reference(members, f)["max_force_spread"] for f in frames], spreads[:j + 1],
        rtol=1e-9)
    text = log.read_text()
    assert text.splitlines()[-1].startswith(f"# stopped after step {j}: the largest force "
                                            f"spread")
    assert read_log(text)["step"][-1] == j  # the stopping step is logged


def test_md_stops_before_the_first_step(members):
    atoms = box(5)
    start = reference(members, atoms)["max_force_spread"]
    with pytest.warns(ForceSpreadWarning, match="MD step 0"):
        summary = run(atoms, BPCalculator(members, threads=1), steps=5, temperature=300,
                      seed=1, progress=False, force_spread_stop=0.5 * start)
    assert summary.steps == 0 and summary.spread_stop_step == 0


def test_md_thresholds_need_a_committee_and_positive_numbers(members):
    with pytest.raises(ValueError, match="need a committee"):
        run(box(1), BPCalculator(members[0], threads=1), steps=1, progress=False,
            force_spread_warn=0.1)
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="force_spread_stop must be a positive number"):
            run(box(1), BPCalculator(members, threads=1), steps=1, progress=False,
                force_spread_stop=bad)
    with pytest.raises(TypeError, match="force_spread_warn"):
        run(box(1), BPCalculator(members, threads=1), steps=1, progress=False,
            force_spread_warn="0.1")


# ---------------------------------------------------------------------- selection


def test_pick_largest_orders_and_keeps_the_gap():
    values = [0.1, 5.0, 4.9, 0.3, 4.0, 0.2, 3.0, 3.5]
    assert pick_largest(values, 3).tolist() == [1, 2, 4]
    # gap 2: 1 taken, 2 too close, then 4, 7 (3.5), 6 too close to 7
    assert pick_largest(values, 3, min_gap=2).tolist() == [1, 4, 7]
    assert pick_largest(values, 8, min_gap=3).tolist() == [1, 4, 7]  # all that fit
    # ties: the earlier frame first; the gap counts frame numbers
    assert pick_largest([1.0, 2.0, 2.0], 2).tolist() == [1, 2]
    assert pick_largest([9.0, 8.0, 7.0], 2, min_gap=5, frames=[0, 4, 10]).tolist() == [0, 2]


@pytest.mark.parametrize("values, n, kwargs, match", [
    ([], 1, {}, "no frames"),
    ([1.0, 2.0], 3, {}, "cannot pick 3 frames out of 2"),
    ([1.0, 2.0], 0, {}, "n must be a positive integer"),
    ([1.0, 2.0], 1, {"min_gap": -1}, "min_gap must be an integer >= 0"),
    ([1.0, float("nan")], 1, {}, "frame 1 is NaN"),
    ([1.0, 2.0], 1, {"frames": [0]}, "one number per value"),
])
def test_pick_largest_refuses_bad_input(values, n, kwargs, match):
    with pytest.raises(ValueError, match=match):
        pick_largest(values, n, **kwargs)


def rattled_frames(count=8, seed=11):
    """One box, rattled more and more (the spreads differ from frame to frame)."""
    base = box(7, n=16)
    rng = np.random.default_rng(seed)
    frames = []
    for k in range(count):
        a = base.copy()
        a.positions += rng.normal(scale=0.02 * (k + 1), size=a.positions.shape)
        frames.append(a)
    order = rng.permutation(count)  # the file's order is not the rattling order
    return [frames[i] for i in order]


def test_select_frames_picks_the_largest_spreads(members):
    frames = rattled_frames()
    expected = np.array([reference(members, a)["max_force_spread"] for a in frames])
    calc = BPCalculator(members, threads=1, skin=0.0)
    picked = select_frames(frames, calc, 3)
    np.testing.assert_allclose(picked.max_force_spread, expected, rtol=1e-8)
    top = np.argsort(-expected)
    assert expected[top[2]] > 1.001 * expected[top[3]]  # a clear choice
    assert picked.indices.tolist() == top[:3].tolist()
    with pytest.raises(ValueError, match="needs a BPCalculator of a committee"):
        select_frames(frames, BPCalculator(members[0]), 1)
    with pytest.raises(ValueError, match="cannot pick 9 frames out of 8"):
        select_frames(frames, calc, 9)


# ---------------------------------------------------------------------- command line


def test_predict_with_several_potentials_writes_the_spreads(members, tmp_path):
    frames = rattled_frames(3)
    src = tmp_path / "frames.extxyz"
    ase.io.write(src, frames)
    out = tmp_path / "out.extxyz"
    proc = bpfast_cmd("predict", *members, src, "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert "committee of 4" in proc.stderr
    for atoms, written in zip(ase.io.read(src, ":"), ase.io.read(out, ":")):
        ref = reference(members, atoms)
        assert written.info["committee_members"] == 4
        assert written.get_potential_energy() == pytest.approx(ref["energy"], rel=1e-12)
        assert written.info["energy_std"] == pytest.approx(ref["energy_std"], rel=1e-9)
        assert written.info["max_force_spread"] == pytest.approx(ref["max_force_spread"],
                                                                 rel=1e-9)
        np.testing.assert_allclose(written.arrays["forces_std"], ref["forces_std"],
                                   rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(written.arrays["force_spread"], ref["force_spread"],
                                   rtol=1e-8)
        np.testing.assert_allclose(written.arrays["energies_std"], ref["energies_std"],
                                   rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(np.asarray(written.info["stress_std"]).reshape(3, 3),
                                   ref["stress_std"], rtol=1e-8,
                                   atol=1e-12 * np.abs(ref["stress_std"]).max())


def test_predict_of_input_data_writes_spreads_in_the_potentials_units(members, tmp_path):
    atoms = box(8, scale=BOHR)  # in Å; the file holds Bohr
    data = tmp_path / "input.data"
    n2p2_io.write_atoms(data, [atoms], "bohr", "hartree")
    out = tmp_path / "out.extxyz"
    proc = bpfast_cmd("predict", *members, data, "-o", out, "--length-unit", "bohr",
                      "--energy-unit", "hartree")
    assert proc.returncode == 0, proc.stderr
    written = ase.io.read(out)
    ref = reference(members, atoms, BOHR, HARTREE)
    assert written.info["energy_unit"] == "hartree"
    assert written.info["energy_std"] == pytest.approx(ref["energy_std"] / HARTREE, rel=1e-9)
    assert written.info["max_force_spread"] == pytest.approx(
        ref["max_force_spread"] * BOHR / HARTREE, rel=1e-9)
    np.testing.assert_allclose(written.arrays["forces_std"],
                               ref["forces_std"] * BOHR / HARTREE, rtol=1e-8, atol=1e-12)


def test_predict_with_one_potential_writes_no_spreads(members, tmp_path):
    src = tmp_path / "one.extxyz"
    ase.io.write(src, box(1))
    out = tmp_path / "out.extxyz"
    proc = bpfast_cmd("predict", members[0], src, "-o", out)
    assert proc.returncode == 0, proc.stderr
    written = ase.io.read(out)
    assert "energy_std" not in written.info and "forces_std" not in written.arrays


def test_predict_names_a_missing_member(members, tmp_path):
    src = tmp_path / "one.extxyz"
    ase.io.write(src, box(1))
    line = one_line_error(bpfast_cmd("predict", members[0], tmp_path / "gone", src), "predict")
    assert "gone" in line


def test_md_command_stops_on_the_spread(members, tmp_path):
    src = tmp_path / "start.extxyz"
    atoms = box(5)
    ase.io.write(src, atoms)
    start = reference(members, atoms)["max_force_spread"]
    log = tmp_path / "md.log"
    proc = bpfast_cmd("md", *members, src, "--steps", "5", "--temperature", "300",
                      "--seed", "1", "--log", log, "--no-progress",
                      "--spread-stop", f"{0.5 * start:.6g}")
    assert proc.returncode == 3, proc.stderr
    assert "stopped after step 0" in proc.stderr
    assert "Fspread" in log.read_text()
    proc = bpfast_cmd("md", *members, src, "--steps", "2", "--temperature", "300",
                      "--no-progress", "--spread-warn", f"{0.5 * start:.6g}")
    assert proc.returncode == 0, proc.stderr
    assert len(re.findall("exceeds force_spread_warn", proc.stderr)) == 1
    line = one_line_error(bpfast_cmd("md", members[0], src, "--steps", "2",
                                     "--spread-warn", "0.1"), "md")
    assert "need a committee" in line


def test_select_command_writes_the_frames_of_largest_spread(members, tmp_path):
    frames = rattled_frames()
    for k, a in enumerate(frames):
        a.info["step"] = 100 * k
    src = tmp_path / "traj.extxyz"
    ase.io.write(src, frames)
    frames = ase.io.read(src, ":")  # as the command reads them
    expected = np.array([reference(members, a, BOHR, HARTREE)["max_force_spread"]
                         for a in frames])  # eV/Å
    out = tmp_path / "picked.data"
    proc = bpfast_cmd("select", "--committee", *members, src, "-n", "3", "-o", out,
                      "--length-unit", "bohr", "--energy-unit", "hartree")
    assert proc.returncode == 0, proc.stderr
    top = np.argsort(-expected)[:3]
    picked = n2p2_io.read_input_data(out)
    assert len(picked) == 3
    for k, s in zip(top, picked):  # largest first, in the potential's units, no energies
        np.testing.assert_allclose(s.positions * BOHR, frames[k].positions, rtol=1e-14,
                                   atol=1e-12)
        np.testing.assert_allclose(s.cell * BOHR, frames[k].cell[:], rtol=1e-14, atol=1e-12)
        assert s.symbols == frames[k].get_chemical_symbols()
        assert s.energy is None and not np.any(s.forces)
        assert f"frame {k} of {src}" in s.comment
    rows = [line.split() for line in proc.stdout.splitlines()[1:]]
    assert proc.stdout.splitlines()[0].split()[:4] == ["rank", "frame", "step", "atoms"]
    assert [int(r[1]) for r in rows] == top.tolist()
    assert [int(r[2]) for r in rows] == (100 * top).tolist()
    np.testing.assert_allclose([float(r[4]) for r in rows], expected[top], rtol=1e-5)
    assert [int(r[6]) for r in rows] == [0, 0, 0]  # inside the training range


def test_select_command_keeps_the_gap(members, tmp_path):
    frames = rattled_frames(10, seed=3)
    src = tmp_path / "traj.extxyz"
    ase.io.write(src, frames)
    expected = np.array([reference(members, a)["max_force_spread"]
                         for a in ase.io.read(src, ":")])
    out = tmp_path / "picked.data"
    proc = bpfast_cmd("select", "--committee", *members, src, "-n", "3", "--min-gap", "3",
                      "-o", out)
    assert proc.returncode == 0, proc.stderr
    chosen = [int(line.split()[1]) for line in proc.stdout.splitlines()[1:]]
    # the greedy choice, made here from the members' spreads
    want: list = []
    for k in np.argsort(-expected):
        if all(abs(k - j) >= 3 for j in want):
            want.append(int(k))
    assert chosen == want[:3]
    assert all(abs(a - b) >= 3 for a in chosen for b in chosen if a != b)
    assert len(n2p2_io.read_input_data(out)) == 3
    # TRAJ first; --index: frame numbers and the gap stay those of the file
    proc = bpfast_cmd("select", src, "--index", "::2", "--committee", *members, "-n", "2",
                      "--min-gap", "4", "-o", out)
    assert proc.returncode == 0, proc.stderr
    chosen = [int(line.split()[1]) for line in proc.stdout.splitlines()[1:]]
    want = []
    for k in np.argsort(-expected[::2]):
        if all(abs(2 * k - j) >= 4 for j in want):
            want.append(2 * int(k))
    assert chosen == want[:2]


@pytest.mark.parametrize("case, match", [
    ("empty", "empty.extxyz: Empty file"),
    ("empty-data", "input.data holds no structures"),
    ("too-many", "-n 5: .* has only 2 frame"),
    ("missing", "missing-member"),
    ("one-member", "at least two potential directories"),
    ("no-traj", "no trajectory given"),
])
def test_select_command_errors(members, tmp_path, case, match):
    src = tmp_path / "traj.extxyz"
    ase.io.write(src, [box(1), box(2)])
    empty = tmp_path / "empty.extxyz"
    empty.write_text("")
    (tmp_path / "input.data").write_text("\n")
    out = tmp_path / "out.data"
    args = {
        "empty": ["--committee", *members, empty, "-n", "1"],
        "empty-data": ["--committee", *members, tmp_path / "input.data", "-n", "1"],
        "too-many": ["--committee", *members, src, "-n", "5"],
        "missing": ["--committee", members[0], tmp_path / "missing-member", src, "-n", "1"],
        "one-member": ["--committee", members[0], src, "-n", "1"],
        "no-traj": ["--committee", *members, "-n", "1"],
    }[case]
    line = one_line_error(bpfast_cmd("select", *args, "-o", out), "select")
    assert re.search(match, line), line
    assert not out.exists()


def test_skin_reuse_gives_the_spreads_of_fresh_lists(members):
    """The Verlet-skin neighbour list serves every member: the results along a short
    trajectory equal those of lists built afresh."""
    atoms = box(9, n=24)
    rng = np.random.default_rng(0)
    cached, fresh = BPCalculator(members, threads=1, skin=1.0), BPCalculator(
        members, threads=1, skin=0.0)
    for _ in range(4):
        atoms.positions += rng.normal(scale=0.05, size=atoms.positions.shape)
        for calc in (cached, fresh):
            calc.calculate(atoms.copy(), ["energy", "forces"], ["positions"])
        for key in ("energy", "forces", "energy_std", "forces_std", "stress_std"):
            np.testing.assert_allclose(cached.results[key], fresh.results[key], rtol=1e-12,
                                       atol=1e-14, err_msg=key)
    assert cached.rebuilds < fresh.rebuilds


def test_predict_writes_a_frame_without_atoms(members, tmp_path):
    src = tmp_path / "frames.extxyz"
    ase.io.write(src, [box(1), box(1)[:0]])
    out = tmp_path / "out.extxyz"
    proc = bpfast_cmd("predict", *members, src, "-o", out)
    assert proc.returncode == 0, proc.stderr
    empty = ase.io.read(out, 1)
    assert len(empty) == 0 and empty.get_potential_energy() == 0.0
    assert empty.info["energy_std"] == 0.0 and empty.info["max_force_spread"] == 0.0


def test_select_frames_counts_extrapolations(members):
    """A frame compressed to 40 % leaves the training range: counted per frame as the
    largest count of a member."""
    frames = [box(7), box(7, scale=0.4), box(8)]
    counts = []
    with pytest.warns(bpfast.ExtrapolationWarning):
        for a in frames:
            counts.append(max(bpfast.load(d).compute(a.positions, a.numbers, a.cell[:])
                              .extrapolations for d in members))
        picked = select_frames(frames, BPCalculator(members, threads=1), 1)
    assert counts[0] == counts[2] == 0 and counts[1] > 0
    assert picked.extrapolations.tolist() == counts


def test_select_command_writes_fewer_frames_when_the_gap_allows_fewer(members, tmp_path):
    src = tmp_path / "traj.extxyz"
    ase.io.write(src, rattled_frames(6))
    out = tmp_path / "picked.data"
    proc = bpfast_cmd("select", "--committee", *members, src, "-n", "4", "--min-gap", "4",
                      "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"bpfast select: warning: only 2 of the 4 frames asked for are at least "
                     r"--min-gap 4 frames apart", proc.stderr)
    chosen = [int(line.split()[1]) for line in proc.stdout.splitlines()[1:]]
    assert len(chosen) == 2 and abs(chosen[0] - chosen[1]) >= 4
    assert len(n2p2_io.read_input_data(out)) == 2


def test_select_command_on_input_data_keeps_the_structures_as_read(members, tmp_path):
    """n2p2 frames (Bohr) come out as they were read, their reference energy dropped;
    the table is in the potential's units."""
    frames = [a.copy() for a in rattled_frames(5)]
    data = tmp_path / "input.data"
    n2p2_io.write_atoms(data, frames, "bohr", "hartree")
    read = n2p2_io.read_input_data(data)
    expected = np.array([reference(members, s.to_atoms("bohr", "hartree", results=False),
                                   BOHR, HARTREE)["max_force_spread"] for s in read])
    out = tmp_path / "picked.data"
    proc = bpfast_cmd("select", "--committee", *members, data, "-n", "2", "-o", out,
                      "--length-unit", "bohr", "--energy-unit", "hartree")
    assert proc.returncode == 0, proc.stderr
    assert "max_force_spread[hartree/bohr]" in proc.stdout.splitlines()[0]
    top = np.argsort(-expected)[:2]
    rows = [line.split() for line in proc.stdout.splitlines()[1:]]
    assert [int(r[1]) for r in rows] == top.tolist()
    np.testing.assert_allclose([float(r[3]) for r in rows],
                               expected[top] * BOHR / HARTREE, rtol=1e-5)
    for k, s in zip(top, n2p2_io.read_input_data(out)):
        np.testing.assert_array_equal(s.positions, read[k].positions)
        np.testing.assert_array_equal(s.cell, read[k].cell)
        assert s.energy is None
