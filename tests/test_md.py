"""MD driver: energy conservation, Verlet-skin reuse, files, ensembles, Ctrl-C, errors."""

from __future__ import annotations

import io
import os
import re
import signal

import numpy as np
import pytest

pytest.importorskip("ase")
import ase.io  # noqa: E402
import ase.units  # noqa: E402
from ase import Atoms  # noqa: E402
from ase.md.verlet import VelocityVerlet  # noqa: E402

import bpfast  # noqa: E402
from bpfast.ase import BPCalculator  # noqa: E402
from bpfast.md import MDSummary, run  # noqa: E402
from conftest import POTENTIALS, REFERENCE, require_shared  # noqa: E402
from synthetic import random_structure, write_potential  # noqa: E402

BOHR = 0.529177210903


@pytest.fixture(scope="module")
def pot(tmp_path_factory):
    d = write_potential(tmp_path_factory.mktemp("pot"), elements=("H", "O"), sf_types=(2, 3),
                        nodes=(6, 5), seed=5, widen=3.0)
    return bpfast.load(d)


def box(seed=0, n=24, cell="cubic"):
    pos, numbers, lattice, pbc = random_structure(np.random.default_rng(seed), ("H", "O"), n,
                                                  cell=cell, density=0.05, min_dist=1.0)
    return Atoms(numbers=numbers, positions=pos, cell=lattice, pbc=pbc)


def read_log(text):
    rows = np.loadtxt(io.StringIO(text), ndmin=2)
    return {name: rows[:, k] for k, name in enumerate(
        ("step", "time", "epot", "ekin", "etot", "temperature", "pressure"))}


# ---------------------------------------------------------------------- physics


@pytest.mark.filterwarnings("ignore::bpfast.ExtrapolationWarning")  # counted below
def test_nve_conserves_energy_in_a_water_box():
    """192 water atoms (n2p2 RPBE-D3, Bohr/Hartree), 200 velocity-Verlet steps of 0.25 fs.

    The rattled frame heats up to ~730 K. Measured (seed 7): drift |<Etot>_last 40 -
    <Etot>_first 40| = 1.1e-6 eV/atom over 50 fs, std(Etot)/std(Ekin) = 0.006, Etot
    peak to peak 5e-4 eV/atom (Verlet's O(dt^2) fluctuation: 2e-3 at 0.5 fs). Bounds:
    2e-5 eV/atom, 0.03, 2e-3 eV/atom. Wrong forces (units, sign, a missing term) miss
    them by orders of magnitude.
    """
    require_shared()
    atoms = ase.io.read(REFERENCE / "H2O_RPBE-D3" / "rattled_liquid_192.extxyz")
    atoms.calc = None
    atoms.set_cell(atoms.cell[:] * BOHR, scale_atoms=False)
    atoms.positions *= BOHR
    calc = BPCalculator(POTENTIALS / "H2O_RPBE-D3", "bohr", "hartree", skin=1.0)
    log = io.StringIO()
    steps = 200
    summary = run(atoms, calc, steps=steps, timestep=0.25, ensemble="nve", temperature=300,
                  seed=7, log=log, log_interval=1, progress=False)
    assert summary.steps == steps and not summary.interrupted
    # at ~730 K a few atoms briefly leave the training range (9 of 201 evaluations)
    assert summary.extrapolating_evaluations <= steps // 10
    d = read_log(log.getvalue())
    n = len(atoms)
    assert len(d["etot"]) == steps + 1
    window = 40
    drift = abs(d["etot"][-window:].mean() - d["etot"][:window].mean()) / n
    assert drift < 2e-5, f"Etot drift {drift:.2e} eV/atom over {steps * 0.25} fs"
    assert d["etot"].std() < 0.03 * d["ekin"].std()
    assert np.ptp(d["etot"]) / n < 2e-3
    assert summary.rebuilds < steps // 2


def test_skin_reuse_gives_identical_forces_along_a_trajectory(pot):
    atoms = box(1, n=32)
    kt = 600 * ase.units.kB
    masses = atoms.get_masses()[:, None]
    atoms.set_momenta(np.random.default_rng(2).normal(size=(32, 3)) * np.sqrt(masses * kt))
    atoms.calc = reuse = BPCalculator(pot, skin=0.6, threads=1)
    fresh = BPCalculator(pot, skin=0.0, threads=1)
    dyn = VelocityVerlet(atoms, timestep=1.0 * ase.units.fs)
    for _ in range(40):
        dyn.step()
        f = atoms.get_forces()
        ref = fresh.get_forces(atoms)
        np.testing.assert_allclose(f, ref, rtol=0, atol=1e-12 * np.abs(ref).max())
        assert atoms.get_potential_energy() == pytest.approx(
            fresh.get_potential_energy(atoms), rel=1e-13, abs=1e-12)
        np.testing.assert_allclose(atoms.get_stress(), fresh.get_stress(atoms), rtol=0,
                                   atol=1e-12 * np.abs(fresh.get_stress(atoms)).max())
    assert fresh.rebuilds == 40
    assert 1 <= reuse.rebuilds < 20


# ---------------------------------------------------------------------- files


@pytest.mark.parametrize("suffix", [".extxyz", ".traj"])
def test_run_writes_log_and_trajectory(pot, tmp_path, suffix):
    atoms = box(2)
    calc = BPCalculator(pot, threads=1)
    traj = tmp_path / f"md{suffix}"
    log = tmp_path / "md.log"
    summary = run(atoms, calc, steps=20, timestep=0.5, temperature=300, seed=1,
                  trajectory=traj, trajectory_interval=5, log=log, log_interval=4,
                  progress=False)
    assert isinstance(summary, MDSummary) and summary.steps == 20
    assert summary.evaluations == 21 and summary.atom_steps_per_second > 0
    assert set(summary.timings) == {"neighbors", "symmetry_functions", "network", "forces"}
    text = log.read_text()
    assert text.splitlines()[1].split()[1:] == ["step", "time[ps]", "Epot[eV]", "Ekin[eV]",
                                                "Etot[eV]", "T[K]", "P[bar]"]
    d = read_log(text)
    np.testing.assert_array_equal(d["step"], [0, 4, 8, 12, 16, 20])
    np.testing.assert_allclose(d["time"], d["step"] * 0.5e-3)
    np.testing.assert_allclose(d["etot"], d["epot"] + d["ekin"], atol=1e-9)
    assert d["temperature"][0] == pytest.approx(300, rel=1e-6)
    assert np.all(np.isfinite(d["pressure"]))
    frames = ase.io.read(traj, index=":")
    assert len(frames) == 5  # steps 0, 5, 10, 15, 20
    assert [f.info["step"] for f in frames] == [0, 5, 10, 15, 20]
    assert [f.info["time_fs"] for f in frames] == [0.0, 2.5, 5.0, 7.5, 10.0]
    assert "step" not in atoms.info and "time_fs" not in atoms.info
    last = frames[-1]
    np.testing.assert_allclose(last.positions, atoms.positions, atol=1e-7)
    assert last.get_potential_energy() == pytest.approx(d["epot"][-1], abs=1e-8)
    np.testing.assert_allclose(last.get_forces(), atoms.get_forces(), atol=1e-7)
    np.testing.assert_allclose(last.get_velocities(), atoms.get_velocities(), atol=1e-7)
    assert summary.first["etot"] == pytest.approx(d["etot"][0])
    assert summary.last["step"] == 20


def test_progress_bar_shows_one_rate_atom_steps_per_second(pot):
    out = io.StringIO()
    run(box(3), BPCalculator(pot, threads=1), steps=12, timestep=0.5, temperature=100,
        seed=0, log_interval=4, progress=True, progress_file=out)
    text = out.getvalue()
    assert "12/12" in text and "atom·steps/s" in text
    # tqdm's own (smoothed) step/s beside it disagreed with it
    assert "step/s" not in text.replace("atom·steps/s", "")
    assert "it/s" not in text and "s/step" not in text


def test_pdb_trajectory_is_pdb(pot, tmp_path):
    atoms = box(2)
    path = tmp_path / "md.pdb"
    run(atoms, BPCalculator(pot, threads=1), steps=4, temperature=300, seed=1,
        trajectory=path, trajectory_interval=2, progress=False)
    assert path.read_text().startswith("CRYST1")
    frames = ase.io.read(path, index=":", format="proteindatabank")
    assert len(frames) == 3
    np.testing.assert_allclose(frames[-1].positions, atoms.positions, atol=1e-3)


@pytest.mark.parametrize("name, message", [
    ("md.vasp", "does not write ase.io's 'vasp' format frame by frame"),
    ("md.foo", "no trajectory format has the suffix '.foo'"),
    ("md", "no trajectory format has the suffix '(none)'"),
])
def test_trajectory_names_without_a_trajectory_format_are_refused(pot, tmp_path, name,
                                                                   message):
    atoms = box(2)
    before = atoms.get_momenta().copy()
    with pytest.raises(ValueError, match=re.escape(message)):
        run(atoms, BPCalculator(pot, threads=1), steps=1, temperature=300,
            trajectory=tmp_path / name, progress=False)
    assert not (tmp_path / name).exists()
    np.testing.assert_array_equal(atoms.get_momenta(), before)  # nothing changed


class _InterruptingCalculator(BPCalculator):
    """Sends SIGINT to this process at the k-th evaluation, as Ctrl-C would."""

    def __init__(self, *args, at: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.at = at

    def calculate(self, *args, **kwargs):
        super().calculate(*args, **kwargs)
        if self.evaluations == self.at:
            os.kill(os.getpid(), signal.SIGINT)


# stopped at step 7 (neither logged nor a frame), or at step 8 (a frame but no log step:
# the frame computed the observables, and the state reached must still be logged)
@pytest.mark.parametrize("stop, frames", [(7, 4), (8, 5)])
def test_ctrl_c_stops_after_the_current_step_and_keeps_the_files(pot, tmp_path, stop, frames):
    atoms = box(4)
    calc = _InterruptingCalculator(pot, threads=1, at=stop + 1)
    traj, log = tmp_path / "md.extxyz", tmp_path / "md.log"
    handler = signal.getsignal(signal.SIGINT)
    summary = run(atoms, calc, steps=1000, timestep=0.5, temperature=300, seed=0,
                  trajectory=traj, trajectory_interval=2, log=log, log_interval=3,
                  progress=False)
    assert signal.getsignal(signal.SIGINT) is handler  # restored
    assert summary.interrupted and summary.steps == stop
    text = log.read_text()
    assert text.rstrip().endswith(f"# interrupted after step {stop}")
    d = read_log(text)
    np.testing.assert_array_equal(d["step"], [0, 3, 6, stop])
    assert len(ase.io.read(traj, index=":")) == frames  # steps 0, 2, 4, 6 (, 8)


# ---------------------------------------------------------------------- ensembles


@pytest.mark.parametrize("ensemble, options", [
    ("nvt", {"thermostat": "langevin", "friction": 0.05}),
    ("nvt", {"thermostat": "nose-hoover", "tdamp": 20.0}),
    ("npt", {"barostat": "berendsen", "pdamp": 100.0, "pressure": 1e4}),
    ("npt", {"barostat": "mtk", "pdamp": 100.0, "pressure": 1e4}),
])
def test_thermostats_and_barostats_run(pot, ensemble, options):
    atoms = box(5)
    volume = atoms.get_volume()
    summary = run(atoms, BPCalculator(pot, threads=1), steps=15, timestep=0.5,
                  ensemble=ensemble, temperature=500, seed=3, progress=False, **options)
    assert summary.steps == 15
    assert np.isfinite(summary.last["etot"]) and summary.last["temperature"] > 0
    if ensemble == "npt":
        assert atoms.get_volume() != pytest.approx(volume, rel=1e-9)
    else:
        assert atoms.get_volume() == pytest.approx(volume, rel=1e-12)


def test_one_atom_cannot_start_at_a_temperature(pot):
    atoms = box(1)[:1]
    with pytest.warns(UserWarning, match="one atom: .* starts at rest, not at 300 K"):
        run(atoms, BPCalculator(pot, threads=1), steps=1, temperature=300, progress=False)
    assert not atoms.get_momenta().any()


@pytest.mark.parametrize("seed", [-1, 1.5, True])
def test_bad_seed(pot, seed):
    with pytest.raises(ValueError, match="seed must be an integer >= 0"):
        run(box(2), BPCalculator(pot, threads=1), steps=1, temperature=300, seed=seed,
            progress=False)


def test_velocities_are_kept_or_drawn(pot):
    atoms = box(6)
    run(atoms, BPCalculator(pot, threads=1), steps=0, temperature=250, seed=4, progress=False)
    assert atoms.get_temperature() == pytest.approx(250, rel=1e-6)
    assert np.abs(atoms.get_momenta().sum(axis=0)).max() < 1e-10
    p = atoms.get_momenta().copy()
    run(atoms, BPCalculator(pot, threads=1), steps=0, temperature=900, progress=False)
    np.testing.assert_array_equal(atoms.get_momenta(), p)  # auto: kept
    run(atoms, BPCalculator(pot, threads=1), steps=0, temperature=900, velocities="init",
        seed=1, progress=False)
    assert atoms.get_temperature() == pytest.approx(900, rel=1e-6)
    still = box(6)
    run(still, BPCalculator(pot, threads=1), steps=0, progress=False)  # nve, no T: at rest
    assert not still.get_momenta().any()


def test_bad_arguments(pot):
    calc = BPCalculator(pot, threads=1)
    with pytest.raises(ValueError, match="ensemble must be one of"):
        run(box(), calc, steps=1, ensemble="nph", progress=False)
    with pytest.raises(ValueError, match="needs a temperature"):
        run(box(), calc, steps=1, ensemble="nvt", progress=False)
    with pytest.raises(ValueError, match="periodic in all three"):
        run(box(cell=None), calc, steps=1, ensemble="npt", temperature=300, progress=False)
    with pytest.raises(ValueError, match="thermostat must be one of"):
        run(box(), calc, steps=1, ensemble="nvt", temperature=300, thermostat="andersen",
            progress=False)
    with pytest.raises(ValueError, match="steps must be an integer"):
        run(box(), calc, steps=-1, progress=False)
    with pytest.raises(ValueError, match="timestep"):
        run(box(), calc, steps=1, timestep=0.0, progress=False)
    with pytest.raises(ValueError, match="log_interval"):
        run(box(), calc, steps=1, log_interval=0, progress=False)
    with pytest.raises(TypeError, match="BPCalculator"):
        run(box(), steps=1, progress=False)
    with pytest.raises(TypeError, match="unknown keyword argument.*frction; the integrator "
                                        "takes thermostat, barostat, friction"):
        run(box(), calc, steps=1, ensemble="nvt", temperature=300, frction=0.1,
            progress=False)


def test_no_atoms_is_an_error_not_a_one_atom_warning(pot):
    with pytest.raises(ValueError, match="MD needs at least one atom; the structure has none"):
        run(box()[:0], BPCalculator(pot, threads=1), steps=1, temperature=300, progress=False)


def test_command_line_defaults_are_those_of_run():
    """``bpfast md`` and run() take their defaults from one place."""
    import inspect

    from bpfast import cli
    from bpfast.md import DEFAULTS, make_dynamics

    parser = cli.build_parser()
    args = parser.parse_args(["md", "pot", "structure", "--steps", "1"])
    signature = {**inspect.signature(make_dynamics).parameters,
                 **inspect.signature(run).parameters}
    options = {"timestep": "dt", "trajectory_interval": "traj_interval"}
    for name, value in vars(DEFAULTS).items():
        assert getattr(args, options.get(name, name)) == value, name
        assert signature[name].default == value, name


# ---------------------------------------------------------------------- random streams


def dilute_gas(spacing=5.0, per_side=12):
    """H and O atoms on a simple-cubic grid wider than the cutoff (4 Å): no forces."""
    grid = np.stack(np.meshgrid(*[np.arange(per_side)] * 3, indexing="ij"), -1).reshape(-1, 3)
    numbers = np.where(np.arange(len(grid)) % 2, 8, 1)
    return Atoms(numbers=numbers, positions=grid * spacing, cell=[per_side * spacing] * 3,
                 pbc=True)


@pytest.mark.filterwarnings("ignore::bpfast.ExtrapolationWarning")  # lone atoms: G = 0
@pytest.mark.parametrize("seed", [None, 0, 11])
def test_langevin_noise_is_independent_of_the_initial_velocities(pot, seed):
    """One Langevin step of a force-free gas at 300 K keeps T at 300 K.

    Without forces the step only mixes the velocities with fresh noise, which keeps
    <T> = 300 K; over 1728 atoms the spread of T after one step is ~0.5 K. Noise that
    repeats the normals of the initial velocities adds to them coherently (+60 K at
    friction 0.01/fs and 0.5 fs), so a bound of 10 K separates the two by far.
    """
    atoms = dilute_gas()
    calc = BPCalculator(pot, threads=1)
    run(atoms, calc, steps=0, temperature=300, seed=seed, progress=False)
    assert atoms.get_temperature() == pytest.approx(300, rel=1e-9)
    assert np.abs(atoms.get_forces()).max() == 0.0
    run(atoms, calc, steps=1, ensemble="nvt", temperature=300, friction=0.01, velocities="keep",
        seed=seed, progress=False)
    assert abs(atoms.get_temperature() - 300) < 10


@pytest.mark.filterwarnings("ignore::bpfast.ExtrapolationWarning")
def test_langevin_noise_after_drawn_velocities_is_fresh(pot):
    """The same as above in one call: velocities drawn and the first step taken."""
    atoms = dilute_gas()
    summary = run(atoms, BPCalculator(pot, threads=1), steps=1, ensemble="nvt",
                  temperature=300, friction=0.01, seed=5, progress=False)
    assert summary.first["temperature"] == pytest.approx(300, rel=1e-9)
    assert abs(summary.last["temperature"] - 300) < 10


def test_a_seed_gives_the_same_langevin_trajectory_on_one_and_two_threads(pot):
    finals = []
    for threads in (1, 2):
        atoms = box(7, n=32)
        run(atoms, BPCalculator(pot, threads=threads), steps=20, ensemble="nvt",
            temperature=400, seed=123, progress=False)
        finals.append((atoms.positions.copy(), atoms.get_momenta()))
    np.testing.assert_allclose(finals[0][0], finals[1][0], rtol=0, atol=1e-9)
    np.testing.assert_allclose(finals[0][1], finals[1][1], rtol=0, atol=1e-9)
