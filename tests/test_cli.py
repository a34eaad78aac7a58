"""The bpfast command line: info, predict, md, bench; errors; Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

pytest.importorskip("ase")
import ase.io  # noqa: E402
from ase import Atoms  # noqa: E402

import bpfast  # noqa: E402
from bpfast import cli, n2p2_io  # noqa: E402
from bpfast.n2p2_io import N2p2Structure  # noqa: E402
from conftest import POTENTIALS, REFERENCE, copy_stating_units, require_shared  # noqa: E402
from synthetic import random_structure, write_potential  # noqa: E402

BOHR = 0.529177210903
HARTREE = 27.211386245988


@pytest.fixture(scope="module")
def potdir(tmp_path_factory):
    """A synthetic potential (rc 4) with an input.data of two periodic boxes."""
    d = write_potential(tmp_path_factory.mktemp("pot"), elements=("H", "O"), sf_types=(2, 3),
                        nodes=(5, 4), seed=13, widen=3.0)
    rng = np.random.default_rng(3)
    frames = []
    for _ in range(2):
        pos, numbers, cell, _ = random_structure(rng, ("H", "O"), 16, cell="cubic",
                                                 density=0.05, min_dist=1.0)
        frames.append(N2p2Structure(positions=pos, cell=cell, energy=0.0, charge=0.0,
                                    symbols=["H" if z == 1 else "O" for z in numbers]))
    n2p2_io.write_input_data(d / "input.data", frames)
    return d


def bpfast_cmd(*args, timeout=120, **kwargs):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "bpfast", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, env=env, check=False,
                          **kwargs)


def one_line_error(proc, command):
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"bpfast {command}: error: ")
    assert "Traceback" not in proc.stderr
    return lines[0]


# ---------------------------------------------------------------------- in-process


def test_info(potdir, capsys):
    assert cli.main(["info", str(potdir)]) == 0
    out = capsys.readouterr().out
    pot = bpfast.load(potdir)
    assert "elements: H O" in out and "cutoff: 4" in out
    for el in ("H", "O"):
        assert f"  {el}: {pot.n_symmetry_functions[el]} (type 2: " in out
        assert f"{pot.n_symmetry_functions[el]}-5-4-1, activations t t l" in out
    assert "units: unknown" in out and "normalisation: mean_energy" in out


def test_predict_in_potential_units_matches_compute(potdir, tmp_path, capsys):
    out = tmp_path / "pred.extxyz"
    assert cli.main(["predict", str(potdir), str(potdir / "input.data"), "-o", str(out),
                     "--length-unit", "bohr", "--energy-unit", "hartree",
                     "--threads", "1"]) == 0
    assert "2 structure(s), 32 atoms" in capsys.readouterr().err
    pot = bpfast.load(potdir)
    frames = n2p2_io.read_input_data(potdir / "input.data")
    images = ase.io.read(out, index=":")
    assert len(images) == 2
    for f, a in zip(frames, images):  # input.data is in the potential's units: so is OUT
        ref = pot.compute(f.positions, f.symbols, f.cell, stress=True, energies=True)
        np.testing.assert_array_equal(a.positions, f.positions)
        assert a.get_potential_energy() == pytest.approx(ref.energy, rel=1e-14)
        np.testing.assert_allclose(a.get_forces(), ref.forces, rtol=1e-13, atol=1e-14)
        np.testing.assert_allclose(a.get_stress(voigt=False), ref.stress, rtol=1e-12,
                                   atol=1e-16)
        np.testing.assert_allclose(a.get_potential_energies(), ref.energies, rtol=1e-13)


def test_predict_in_ase_units_from_extxyz(potdir, tmp_path, capsys):
    frames = n2p2_io.read_input_data(potdir / "input.data")
    atoms = frames[0].to_atoms("bohr", "hartree", results=False)
    cluster = Atoms(atoms.symbols[:6], positions=atoms.positions[:6])  # isolated: no stress
    src = tmp_path / "in.traj"  # any format ase.io reads; .traj keeps every digit
    ase.io.write(src, [atoms, cluster])
    out = tmp_path / "out.xyz"
    assert cli.main(["predict", str(potdir), str(src), "-o", str(out), "--length-unit", "bohr",
                     "--energy-unit", "Ha", "--index", "::1"]) == 0
    capsys.readouterr()
    pot = bpfast.load(potdir)
    a, c = ase.io.read(out, index=":")
    ref = pot.compute(frames[0].positions, frames[0].symbols, frames[0].cell, stress=True)
    assert a.get_potential_energy() == pytest.approx(ref.energy * HARTREE, rel=1e-13)
    np.testing.assert_allclose(a.get_forces(), ref.forces * HARTREE / BOHR, rtol=1e-12,
                               atol=1e-12)
    np.testing.assert_allclose(a.get_stress(voigt=False), ref.stress * HARTREE / BOHR**3,
                               rtol=1e-10, atol=1e-14)
    assert "stress" not in c.calc.results and c.get_forces().shape == (6, 3)


def test_predict_records_the_units_of_each_frame(potdir, tmp_path, capsys):
    """ase.io.read takes any extended XYZ for Å / eV: the frames say which units they have."""
    out = tmp_path / "pred.extxyz"
    assert cli.main(["predict", str(potdir), str(potdir / "input.data"), "-o", str(out),
                     "--length-unit", "bohr", "--energy-unit", "hartree"]) == 0
    assert "(bohr, hartree: the potential's units)" in capsys.readouterr().err
    for a in ase.io.read(out, index=":"):
        assert (a.info["length_unit"], a.info["energy_unit"]) == ("bohr", "hartree")
    src = tmp_path / "in.traj"
    ase.io.write(src, n2p2_io.read_input_data(potdir / "input.data")[0].to_atoms(
        "bohr", "hartree", results=False))
    assert cli.main(["predict", str(potdir), str(src), "-o", str(out), "--length-unit",
                     "bohr", "--energy-unit", "hartree"]) == 0
    assert "(angstrom, ev)" in capsys.readouterr().err
    a = ase.io.read(out)
    assert (a.info["length_unit"], a.info["energy_unit"]) == ("angstrom", "ev")


def test_predict_writes_a_structure_without_atoms_with_energy_zero(potdir, tmp_path, capsys):
    src, out = tmp_path / "empty.extxyz", tmp_path / "out.extxyz"
    ase.io.write(src, [Atoms(cell=[9, 9, 9], pbc=True), Atoms()], format="extxyz")
    assert cli.main(["predict", str(potdir), str(src), "-o", str(out)]) == 0
    assert "2 structure(s), 0 atoms" in capsys.readouterr().err
    periodic, isolated = ase.io.read(out, index=":")
    assert len(periodic) == len(isolated) == 0
    assert periodic.get_potential_energy() == 0.0 == isolated.get_potential_energy()
    np.testing.assert_array_equal(periodic.get_stress(), np.zeros(6))


def test_md_without_atoms_is_a_one_line_error(potdir, tmp_path, capsys):
    src = tmp_path / "empty.extxyz"
    ase.io.write(src, Atoms(cell=[9, 9, 9], pbc=True), format="extxyz")
    assert cli.main(["md", str(potdir), str(src), "--steps", "1", "--temperature", "300",
                     "--no-progress"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "bpfast md: error: MD needs at least one atom; the structure has none"
    assert not any("one atom:" in line for line in err)


@pytest.mark.parametrize("command", ["predict", "md", "bench"])
def test_units_stated_in_input_nn_but_not_given_are_named_once(potdir, tmp_path, capsys,
                                                                command):
    stated = copy_stating_units(potdir, tmp_path / "pot", "Bohr", "Ha")
    args = {"predict": [str(potdir / "input.data"), "--index", "0"],
            "md": [str(potdir / "input.data"), "--steps", "2", "--no-progress"],
            "bench": ["--atoms", "20", "--steps", "1"]}[command]
    assert cli.main([command, str(stated), *args, "--threads", "1"]) == 0
    err = capsys.readouterr().err
    hint = (f"bpfast {command}: warning: input.nn states the units Bohr and Ha, but angstrom "
            f"and ev are in use: pass --length-unit bohr --energy-unit ha if input.nn is right")
    assert err.count("warning:") == 1 and hint in err.splitlines()
    assert cli.main([command, str(stated), *args, "--threads", "1", "--length-unit", "bohr",
                     "--energy-unit", "ha"]) == 0
    assert "warning" not in capsys.readouterr().err


def test_bad_arguments_in_process(potdir, tmp_path, capsys):
    assert cli.main(["predict", str(potdir), str(tmp_path / "none.xyz")]) == 1
    assert "structure file not found" in capsys.readouterr().err
    assert cli.main(["predict", str(potdir), str(potdir / "input.data"),
                     "--length-unit", "furlong"]) == 1
    assert "unknown length unit 'furlong'" in capsys.readouterr().err
    assert cli.main(["predict", str(potdir), str(potdir / "input.data"), "--format",
                     "nosuchfmt"]) == 1
    assert "unknown --format 'nosuchfmt': use 'n2p2' or an ase.io format" in capsys.readouterr().err
    assert cli.main(["predict", str(potdir), str(potdir / "input.data"), "--index", "7"]) == 1
    assert "has 2 structures" in capsys.readouterr().err
    assert cli.main(["md", str(potdir), str(potdir / "input.data"), "--steps", "1",
                     "--ensemble", "nvt"]) == 1
    assert "needs --temperature" in capsys.readouterr().err
    assert cli.main(["md", str(potdir), str(potdir / "input.data"), "--steps", "1",
                     "--traj", str(tmp_path / "md.vasp"), "--no-progress"]) == 1
    assert ("does not write ase.io's 'vasp' format frame by frame; use one of: ASE "
            "trajectory (.traj); extended XYZ (.xyz, .extxyz); PDB (.pdb)"
            in capsys.readouterr().err)
    bad = tmp_path / "input.data"
    bad.write_text("begin\natom 0 0 0 H 0 0 0 0\nend\n")
    assert cli.main(["predict", str(potdir), str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:2:" in err and len(err.strip().splitlines()) == 1
    with pytest.raises(SystemExit) as info:
        cli.main(["md", str(potdir)])
    assert info.value.code == 2
    assert "required: STRUCTURE, --steps" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        cli.main(["md", str(potdir), "x", "--steps", "10", "--dt", "-1"])
    assert info.value.code == 2
    assert "argument --dt: expected a positive number" in capsys.readouterr().err
    assert cli.main([]) == 2


def test_bench_in_process(potdir, capsys):
    assert cli.main(["bench", str(potdir), "--atoms", "100", "--steps", "2",
                     "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "x 2x2x2 = 128 atoms" in out
    assert "atom·steps/s" in out and "peak memory" in out and "kiB/atom" in out
    for phase in ("neighbors", "symmetry_functions", "network", "forces",
                  "python + integrator"):
        assert phase in out


def test_supercell_repeats_balance_perpendicular_heights():
    """A skewed cell: b almost parallel to a, so the cell is thin across a and b (heights
    V/|b x c| = 1.047 and V/|c x a| = 1 Å) though all three vectors are ~10 Å long."""
    from bpfast._supercell import perpendicular_heights, supercell_repeats

    cell = np.array([[10.0, 0.0, 0.0], [9.5, 1.0, 0.0], [0.0, 0.0, 10.0]])
    heights = perpendicular_heights(cell)
    np.testing.assert_allclose(heights, [100 / np.hypot(10, 95), 1.0, 10.0], rtol=1e-14)
    # 100 cells: 10 across a and b, 1 along c give heights 10.5, 10, 10 (balancing the
    # lengths gave 5 x 5 x 4: heights 5.2, 5, 40)
    assert supercell_repeats(cell, 1, 100) == (10, 10, 1)
    for n_atoms, at_least in [(1, 7), (3, 1000), (2, 20_000)]:
        reps = np.array(supercell_repeats(cell, n_atoms, at_least))
        assert n_atoms * reps.prod() >= at_least
        supercell = reps * heights
        for k in range(3):  # the last repeat along k went to the thinnest direction
            if reps[k] > 1:
                assert (reps[k] - 1) * heights[k] <= supercell.min() + 1e-12
    with pytest.raises(ValueError, match="needs a cell with atoms"):
        supercell_repeats(cell, 0, 10)


def test_bench_repeats_a_skewed_cell_across_its_thin_directions(potdir, tmp_path, capsys):
    first = n2p2_io.read_input_data(potdir / "input.data")[0].to_atoms(results=False)
    a, b, c = first.cell[:]  # a cube of edge L
    skewed = first.copy()  # the same lattice, described by the vectors a, 5 a + b, c
    skewed.set_cell([a, 5 * a + b, c], scale_atoms=False)
    src = tmp_path / "skewed.extxyz"
    ase.io.write(src, skewed)
    assert cli.main(["bench", str(potdir), "--structure", str(src), "--atoms", "128",
                     "--steps", "1", "--threads", "1"]) == 0
    # perpendicular heights L / sqrt(26), L, L: six repeats across the first direction
    # (6 L / sqrt(26) = 1.18 L), then one more cell along the second (a tie with the
    # third goes to the first). Balancing the lengths (L, 5.1 L, L) gave 3x1x3, thin
    # across the first direction (3 L / sqrt(26) = 0.59 L).
    assert "x 6x2x1 = 192 atoms" in capsys.readouterr().out


# ---------------------------------------------------------------------- subprocess


def test_help_of_every_command():
    for args in ([], ["info"], ["predict"], ["md"], ["bench"]):
        proc = bpfast_cmd(*args, "--help")
        assert proc.returncode == 0, proc.stderr
        assert "usage: bpfast" in proc.stdout
    assert "--length-unit" in proc.stdout and "--atoms" in proc.stdout
    proc = bpfast_cmd("predict", "--help")
    assert "in the units of the structures read" in " ".join(proc.stdout.split())


def test_help_explains_velocities_keep_and_the_bench_size(capsys):
    with pytest.raises(SystemExit):
        cli.main(["md", "--help"])
    md_help = " ".join(capsys.readouterr().out.split())
    assert ("keep: never draw them (a structure without velocities starts at rest, even with "
            "--temperature)") in md_help
    with pytest.raises(SystemExit):
        cli.main(["bench", "--help"])
    bench_help = " ".join(capsys.readouterr().out.split())
    assert "Build a supercell of at least --atoms atoms" in bench_help
    assert "about" not in bench_help


def test_version_is_that_of_the_installed_distribution(capsys):
    """pyproject.toml reads the version from bpfast/__init__.py: one place to change it."""
    from importlib.metadata import version

    with pytest.raises(SystemExit):
        cli.main(["--version"])
    assert capsys.readouterr().out.strip() == f"bpfast {version('bpfast')}"
    assert version("bpfast") == bpfast.__version__


def test_errors_are_one_line():
    proc = bpfast_cmd("info", "/nonexistent/potential")
    assert "No such potential directory" in one_line_error(proc, "info")
    assert proc.returncode == 1
    proc = bpfast_cmd("md", "/nonexistent/potential", "x.xyz")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [(
        "bpfast md: error: the following arguments are required: --steps "
        "(see 'bpfast md --help')")]
    proc = bpfast_cmd("predict")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1


def test_md_end_to_end(potdir, tmp_path):
    traj, log = tmp_path / "md.extxyz", tmp_path / "md.log"
    proc = bpfast_cmd("md", potdir, potdir / "input.data", "--steps", 30, "--dt", 0.5,
                      "--temperature", 300, "--ensemble", "nvt", "--seed", 1, "--traj", traj,
                      "--traj-interval", 10, "--log", log, "--log-interval", 5,
                      "--repeat", 2, 1, 1, "--length-unit", "bohr", "--energy-unit",
                      "hartree", "--threads", 1)
    assert proc.returncode == 0, proc.stderr
    assert "30/30" in proc.stderr and "atom·steps/s" in proc.stderr  # progress bar
    assert "bpfast md: 30 steps" in proc.stderr
    rows = np.loadtxt(log, ndmin=2)
    np.testing.assert_array_equal(rows[:, 0], np.arange(0, 31, 5))
    frames = ase.io.read(traj, index=":")
    assert len(frames) == 4 and len(frames[0]) == 32
    first = n2p2_io.read_input_data(potdir / "input.data")[0]
    np.testing.assert_allclose(frames[0].positions[:16], first.positions * BOHR, atol=1e-7)
    assert frames[-1].get_potential_energy() == pytest.approx(rows[-1, 2], abs=1e-7)


def test_ctrl_c_keeps_what_was_written(potdir, tmp_path):
    traj, log = tmp_path / "md.traj", tmp_path / "md.log"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bpfast", "md", str(potdir), str(potdir / "input.data"),
         "--steps", "10000000", "--temperature", "300", "--traj", str(traj),
         "--traj-interval", "20", "--log", str(log), "--log-interval", "10", "--no-progress",
         "--threads", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if log.exists() and len(log.read_text().splitlines()) >= 8:
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted after step" in err
    text = log.read_text()
    assert "# interrupted after step" in text
    rows = np.loadtxt(log, ndmin=2)
    assert len(rows) >= 6 and np.all(np.isfinite(rows))
    frames = ase.io.read(traj, index=":")
    assert len(frames) >= 3
    assert len(frames) - 1 == int(rows[-1, 0]) // 20


def test_predict_shipped_water_potential_matches_n2p2(tmp_path):
    require_shared()
    ref_path = REFERENCE / "H2O_RPBE-D3" / "configset_6frames.extxyz"
    out = tmp_path / "pred.extxyz"
    proc = bpfast_cmd("predict", POTENTIALS / "H2O_RPBE-D3", ref_path, "-o", out,
                      "--structure-units", "potential", "--length-unit", "bohr",
                      "--energy-unit", "hartree")
    assert proc.returncode == 0, proc.stderr
    assert "6 structure(s), 672 atoms" in proc.stderr
    got = ase.io.read(out, index=":")
    ref = ase.io.read(ref_path, index=":")
    assert len(got) == len(ref) == 6
    for g, r in zip(got, ref):  # the reference files are in Bohr / Hartree
        np.testing.assert_array_equal(g.positions, r.positions)
        assert g.get_potential_energy() == pytest.approx(r.get_potential_energy(),
                                                         rel=1e-10, abs=1e-9 * len(r))
        fmax = np.abs(r.get_forces()).max()
        np.testing.assert_allclose(g.get_forces(), r.get_forces(), rtol=0, atol=1e-8 * fmax)
        s = r.get_stress(voigt=False)
        np.testing.assert_allclose(g.get_stress(voigt=False), s, rtol=0,
                                   atol=1e-8 * np.abs(s).max())
        assert g.info["case"] == "configset_6frames"


def test_info_and_md_on_shipped_water_potential(tmp_path):
    require_shared()
    proc = bpfast_cmd("info", POTENTIALS / "H2O_RPBE-D3")
    assert proc.returncode == 0, proc.stderr
    assert "units: Bohr / Ha according to the comments of input.nn" in proc.stdout
    assert "H: 27 (type 2: 16, type 3: 11)" in proc.stdout
    assert "O: 30-25-25-1, activations t t l" in proc.stdout
    log = tmp_path / "md.log"
    proc = bpfast_cmd("md", POTENTIALS / "H2O_RPBE-D3",
                      REFERENCE / "H2O_RPBE-D3" / "ice8_orthorhombic.extxyz",
                      "--structure-units", "potential", "--length-unit", "bohr",
                      "--energy-unit", "hartree", "--steps", 20, "--dt", 0.25,
                      "--temperature", 100, "--seed", 2, "--log", log, "--log-interval", 1,
                      "--no-progress")
    assert proc.returncode == 0, proc.stderr
    rows = np.loadtxt(log, ndmin=2)
    assert len(rows) == 21
    assert np.ptp(rows[:, 4]) < 0.05 * np.ptp(rows[:, 3]) + 1e-6  # Etot steadier than Ekin
