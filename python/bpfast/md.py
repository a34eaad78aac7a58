"""Molecular dynamics with a bpfast potential: trajectory, log, progress bar, Ctrl-C.

>>> from bpfast.md import run
>>> summary = run(atoms, BPCalculator(pot, "bohr", "hartree"), steps=10_000, timestep=0.5,
...               temperature=300, ensemble="nvt", trajectory="md.extxyz", log="md.log")

Design. The integrators are ASE's (``ase.md``): velocity Verlet (NVE), Langevin
or Nosé-Hoover chain (NVT), Berendsen or isotropic MTK (NPT). The forces come
from :class:`bpfast.ase.BPCalculator`, i.e. the native core with a Verlet-skin
neighbour list, and the per-step Python work (ASE's integrator, unit conversion,
bookkeeping) is a few O(N) NumPy operations, ~0.3 µs per atom and step. For the
n2p2 water potential at 100,000 atoms that is ~0.1 % of the force time, so a
separate loop would gain nothing measurable (see ``docs/ase_md_cli.md``).

Units are ASE's throughout: fs, K, bar, Å, eV (the calculator converts to and
from the potential's units).

Log columns (one line every ``log_interval`` steps, flushed as written):
``step  time[ps]  Epot[eV]  Ekin[eV]  Etot[eV]  T[K]  P[bar]`` (P = kinetic +
virial pressure, ``nan`` unless the cell is periodic in three directions). With a
committee calculator a last column ``Fspread[eV/Å]`` holds the largest per-atom
force spread of the step (``max_force_spread``: the largest norm of a row of the
members' force standard deviations), and Epot, forces and stress are the
committee means.

Committee thresholds (eV/Å, checked after every step, and for the initial
structure): ``force_spread_warn`` issues one :class:`ForceSpreadWarning` the
first time the largest force spread exceeds it; ``force_spread_stop`` ends the
run after the step where it is exceeded, with that step written to the
trajectory and the log, a ``# stopped`` line in the log, a
:class:`ForceSpreadWarning` naming the step and ``MDSummary.spread_stop_step``
set.

Ctrl-C (SIGINT, when run from the main thread) ends the run after the current
step; the trajectory and log are closed normally and the summary says
``interrupted=True``. A second Ctrl-C interrupts at once.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Dict, Optional, Union

import numpy as np

try:
    import ase
    import ase.io
    from ase import units
except ImportError as exc:  # pragma: no cover - exercised only without ASE
    raise ImportError(
        "bpfast.md needs ASE: pip install 'bpfast[ase]' (or pip install ase tqdm)") from exc

from ._md_defaults import (
    BAROSTATS,
    DEFAULTS,
    DYNAMICS_OPTIONS,
    ENSEMBLES,
    THERMOSTATS,
    VELOCITIES,
    MDDefaults,
)
from .ase import BPCalculator
from .errors import ExtrapolationWarning

__all__ = ["DEFAULTS", "ENSEMBLES", "ForceSpreadWarning", "MDDefaults", "MDSummary",
           "make_dynamics", "run"]

PathLike = Union[str, "os.PathLike[str]"]
SeedLike = Union[int, np.random.SeedSequence, np.random.Generator, None]


class ForceSpreadWarning(UserWarning):
    """The largest per-atom force spread of a committee exceeded a threshold of
    :func:`run` (``force_spread_warn`` or ``force_spread_stop``)."""


@dataclass
class MDSummary:
    """What :func:`run` did.

    steps: MD steps completed; interrupted: stopped by Ctrl-C before ``steps``;
    wall_time: seconds for the steps; atom_steps_per_second: atoms x steps / wall
    time; evaluations, rebuilds: potential evaluations and neighbour-list builds;
    extrapolating_evaluations: evaluations that extrapolated; timings: seconds per
    core phase (neighbors, symmetry_functions, network, forces); first and last:
    the log values (dict: step, time, epot, ekin, etot, temperature, pressure) at
    the start and at the end (with a committee also max_force_spread, eV/Å).
    Committee runs only (None otherwise): max_force_spread: the largest per-atom
    force spread (eV/Å) of the evaluations checked (the initial structure and
    every step); spread_warn_step: the first step whose spread exceeded
    ``force_spread_warn``; spread_stop_step: the step after which the run
    stopped because its spread exceeded ``force_spread_stop``.
    """

    steps: int
    interrupted: bool
    wall_time: float
    atom_steps_per_second: float
    evaluations: int
    rebuilds: int
    extrapolating_evaluations: int
    timings: Dict[str, float] = field(default_factory=dict)
    first: Dict[str, float] = field(default_factory=dict)
    last: Dict[str, float] = field(default_factory=dict)
    max_force_spread: Optional[float] = None
    spread_warn_step: Optional[int] = None
    spread_stop_step: Optional[int] = None


# ---------------------------------------------------------------------- integrators


def make_dynamics(
    atoms,
    *,
    timestep: float,
    ensemble: str = DEFAULTS.ensemble,
    temperature: Optional[float] = None,
    thermostat: str = DEFAULTS.thermostat,
    barostat: str = DEFAULTS.barostat,
    friction: float = DEFAULTS.friction,
    tdamp: float = DEFAULTS.tdamp,
    pressure: float = DEFAULTS.pressure,
    pdamp: float = DEFAULTS.pdamp,
    compressibility: float = DEFAULTS.compressibility,
    seed: SeedLike = None,
):
    """The ``ase.md`` integrator for ``ensemble`` (units fs, K, bar, 1/fs, 1/bar).

    nve: VelocityVerlet. nvt: Langevin (``friction`` 1/fs) or Nose-Hoover chain
    (``tdamp`` fs). npt: Berendsen (``tdamp``, ``pdamp`` fs, ``compressibility``
    1/bar) or isotropic MTK (``tdamp``, ``pdamp``); needs a 3-D periodic cell.
    ``seed`` (an int, a ``numpy.random.SeedSequence`` or ``Generator``) drives the
    Langevin noise; it must not also have drawn the initial velocities (:func:`run`
    gives each its own stream).
    """
    ensemble = ensemble.lower()
    if ensemble not in ENSEMBLES:
        raise ValueError(f"ensemble must be one of {', '.join(ENSEMBLES)}, got {ensemble!r}")
    if not (np.isfinite(timestep) and timestep > 0):
        raise ValueError(f"timestep must be a positive number of fs, got {timestep!r}")
    dt = timestep * units.fs
    if ensemble == "nve":
        from ase.md.verlet import VelocityVerlet
        return VelocityVerlet(atoms, timestep=dt)
    if temperature is None or not (np.isfinite(temperature) and temperature > 0):
        raise ValueError(f"ensemble {ensemble!r} needs a temperature > 0 K, got {temperature!r}")
    for name, value in (("friction", friction), ("tdamp", tdamp), ("pdamp", pdamp),
                        ("compressibility", compressibility)):
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be positive, got {value!r}")
    if ensemble == "nvt":
        if thermostat == "langevin":
            from ase.md.langevin import Langevin
            return Langevin(atoms, timestep=dt, temperature_K=temperature,
                            friction=friction / units.fs, fixcm=False,
                            rng=np.random.default_rng(seed))
        if thermostat == "nose-hoover":
            NoseHooverChainNVT = _import_ase_md("NoseHooverChainNVT")
            return NoseHooverChainNVT(atoms, timestep=dt, temperature_K=temperature,
                                      tdamp=tdamp * units.fs)
        raise ValueError(f"thermostat must be one of {', '.join(THERMOSTATS)}, "
                         f"got {thermostat!r}")
    if not np.asarray(atoms.pbc).all():
        raise ValueError("npt needs a cell that is periodic in all three directions")
    if not np.isfinite(pressure):
        raise ValueError(f"pressure must be a number of bar, got {pressure!r}")
    if barostat == "berendsen":
        from ase.md.nptberendsen import NPTBerendsen
        return NPTBerendsen(atoms, timestep=dt, temperature_K=temperature,
                            pressure_au=pressure * units.bar, taut=tdamp * units.fs,
                            taup=pdamp * units.fs,
                            compressibility_au=compressibility / units.bar)
    if barostat == "mtk":
        IsotropicMTKNPT = _import_ase_md("IsotropicMTKNPT")
        return IsotropicMTKNPT(atoms, timestep=dt, temperature_K=temperature,
                               pressure_au=pressure * units.bar, tdamp=tdamp * units.fs,
                               pdamp=pdamp * units.fs)
    raise ValueError(f"barostat must be one of {', '.join(BAROSTATS)}, got {barostat!r}")


def _import_ase_md(name: str):
    try:
        import ase.md.nose_hoover_chain as nhc
        return getattr(nhc, name)
    except (ImportError, AttributeError):
        raise ImportError(f"{name} needs a newer ASE (ase.md.nose_hoover_chain, ASE >= 3.24; "
                          f"this is {ase.__version__}): pip install -U ase") from None


# ---------------------------------------------------------------------- observables


def _observables(atoms, step: int, timestep: float) -> Dict[str, float]:
    epot = float(atoms.get_potential_energy())
    ekin = float(atoms.get_kinetic_energy())
    temperature = float(atoms.get_temperature()) if len(atoms) else 0.0
    pressure = float("nan")
    calc = atoms.calc
    if np.asarray(atoms.pbc).all() and "stress" in getattr(calc, "results", {}):
        volume = atoms.get_volume()
        virial_pressure = -float(np.sum(calc.results["stress"][:3])) / 3.0
        kinetic_pressure = 2.0 * ekin / (3.0 * volume)
        pressure = (virial_pressure + kinetic_pressure) / units.bar
    out = {"step": step, "time": step * timestep * 1e-3, "epot": epot, "ekin": ekin,
           "etot": epot + ekin, "temperature": temperature, "pressure": pressure}
    if getattr(calc, "is_committee", False):
        out["max_force_spread"] = _max_force_spread(atoms)
    return out


def _max_force_spread(atoms) -> float:
    """The committee's largest per-atom force spread (eV/Å) of ``atoms`` as they are
    (the calculator's stored result unless the atoms changed)."""
    return float(atoms.calc.get_property("max_force_spread", atoms))


LOG_HEADER = ("# step  time[ps]  Epot[eV]  Ekin[eV]  Etot[eV]  T[K]  P[bar]\n")
COMMITTEE_LOG_HEADER = ("# step  time[ps]  Epot[eV]  Ekin[eV]  Etot[eV]  T[K]  P[bar]  "
                        "Fspread[eV/Å]\n")


def _log_line(o: Dict[str, float]) -> str:
    spread = f" {o['max_force_spread']:14.6e}" if "max_force_spread" in o else ""
    return (f"{int(o['step']):10d} {o['time']:12.6f} {o['epot']:20.10f} {o['ekin']:18.10f} "
            f"{o['etot']:20.10f} {o['temperature']:10.3f} {o['pressure']:12.3f}{spread}\n")


def _check_threshold(name: str, value: Optional[float]) -> Optional[float]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name} must be a number of eV/Å or None, got {type(value).__name__}")
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number of eV/Å, got {value!r}")
    return float(value)


class _SpreadWatch:
    """The committee's largest force spread against the thresholds of :func:`run`."""

    def __init__(self, warn: Optional[float], stop: Optional[float]):
        self.warn, self.stop = warn, stop
        self.largest: Optional[float] = None
        self.warn_step: Optional[int] = None
        self.stop_step: Optional[int] = None

    def check(self, spread: float, step: int) -> bool:
        """Record the spread of ``step``; True when the run must stop after it."""
        self.largest = spread if self.largest is None else max(self.largest, spread)
        if self.stop is not None and spread > self.stop:
            self.stop_step = step
            warnings.warn(ForceSpreadWarning(
                f"MD step {step}: the largest per-atom force spread of the committee, "
                f"{spread:.4g} eV/Å, exceeds force_spread_stop={self.stop:g} eV/Å; the run "
                f"stops after this step (written to the trajectory and the log)"),
                stacklevel=3)
            return True
        if self.warn is not None and spread > self.warn and self.warn_step is None:
            self.warn_step = step
            warnings.warn(ForceSpreadWarning(
                f"MD step {step}: the largest per-atom force spread of the committee, "
                f"{spread:.4g} eV/Å, exceeds force_spread_warn={self.warn:g} eV/Å (warned "
                f"once per run; the log's Fspread column has every logged step)"),
                stacklevel=3)
        return False


#: ase.io formats whose frames can be appended one by one to an open file
STREAM_FORMATS = {"extxyz": "extended XYZ (.xyz, .extxyz)", "proteindatabank": "PDB (.pdb)"}


def _trajectory_format(path: Path) -> str:
    """The ase.io format the name of ``path`` stands for, if it can hold a trajectory."""
    from ase.io.formats import filetype, ioformats

    known = "; ".join(["ASE trajectory (.traj)", *STREAM_FORMATS.values()])
    try:
        fmt = filetype(str(path), read=False, guess=False)
    except Exception:  # ase.io raises UnknownFileTypeError for a name without suffix
        fmt = None
    if fmt not in ioformats:
        raise ValueError(f"trajectory {path}: no trajectory format has the suffix "
                         f"{path.suffix or '(none)'!r}; use one of: {known}") from None
    if fmt != "traj" and fmt not in STREAM_FORMATS:
        raise ValueError(f"trajectory {path}: bpfast does not write ase.io's {fmt!r} format "
                         f"frame by frame; use one of: {known} (ase.io converts a .traj "
                         f"afterwards)")
    return fmt


class _Trajectory:
    """Frames written as they come, in the format the file name gives."""

    def __init__(self, path: PathLike, atoms):
        self.path = Path(path)
        self.format = _trajectory_format(self.path)
        self.count = 0
        if self.format == "traj":
            from ase.io.trajectory import Trajectory
            self._traj = Trajectory(str(self.path), "w", atoms)
            self._file: Optional[IO[str]] = None
        else:
            self._traj = None
            self._file = open(self.path, "w", encoding="utf-8")  # noqa: SIM115

    def write(self, atoms, step: int, time_fs: float) -> None:
        # The frame's step and time (and a committee's spreads) go into atoms.info
        # (and atoms.arrays) for this write only.
        extra_info: Dict[str, Any] = {"step": step, "time_fs": time_fs}
        extra_arrays: Dict[str, np.ndarray] = {}
        if getattr(atoms.calc, "is_committee", False):
            results = atoms.calc.results
            extra_info.update({key: results[key] for key in ("energy_std", "max_force_spread")
                               if key in results})
            if "force_spread" in results:
                extra_arrays["force_spread"] = results["force_spread"]
        info, arrays = atoms.info, atoms.arrays
        saved_info = {key: info[key] for key in extra_info if key in info}
        saved_arrays = {key: arrays[key] for key in extra_arrays if key in arrays}
        info.update(extra_info)
        arrays.update(extra_arrays)
        try:
            if self._traj is not None:
                self._traj.write(atoms)
            else:
                ase.io.write(self._file, atoms, format=self.format)
                self._file.flush()
        finally:
            for key in extra_info:
                info.pop(key, None)
            for key in extra_arrays:
                arrays.pop(key, None)
            info.update(saved_info)
            arrays.update(saved_arrays)
        self.count += 1

    def close(self) -> None:
        if self._traj is not None:
            self._traj.close()
        if self._file is not None:
            self._file.close()


class _StopOnSigint:
    """First SIGINT: ask the loop to stop after this step. Second: KeyboardInterrupt."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None
        self._installed = False

    def __enter__(self) -> "_StopOnSigint":
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.getsignal(signal.SIGINT)
            signal.signal(signal.SIGINT, self._handle)
            self._installed = True
        return self

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)


def _initial_velocities(atoms, temperature: Optional[float], velocities: str,
                        seed: SeedLike) -> None:
    """Maxwell-Boltzmann momenta at exactly ``temperature``, zero total momentum
    (and zero angular momentum for isolated structures), unless kept."""
    if velocities not in VELOCITIES:
        raise ValueError(f"velocities must be 'auto', 'keep' or 'init', got {velocities!r}")
    have = bool(np.any(atoms.get_momenta()))
    if velocities == "keep" or (velocities == "auto" and have):
        return
    if temperature is None or temperature <= 0:
        if velocities == "init":
            raise ValueError("velocities='init' needs a temperature > 0 K")
        return
    if len(atoms) < 2:
        warnings.warn(f"one atom: no motion is left once the centre-of-mass momentum is "
                      f"removed, so it starts at rest, not at {temperature:g} K", stacklevel=3)
        return
    rng = np.random.default_rng(seed)
    masses = atoms.get_masses()[:, None]
    p = rng.standard_normal((len(atoms), 3)) * np.sqrt(masses * units.kB * temperature)
    p -= masses * (p.sum(axis=0) / masses.sum())  # no centre-of-mass motion
    atoms.set_momenta(p)
    if not np.asarray(atoms.pbc).any() and len(atoms) > 2:
        from ase.md.velocitydistribution import ZeroRotation
        ZeroRotation(atoms)
    current = atoms.get_temperature()
    if current > 0:
        atoms.set_momenta(atoms.get_momenta() * np.sqrt(temperature / current))


# ---------------------------------------------------------------------- driver


def run(
    atoms,
    calculator: Optional[BPCalculator] = None,
    *,
    steps: int,
    timestep: float = DEFAULTS.timestep,
    ensemble: str = DEFAULTS.ensemble,
    temperature: Optional[float] = None,
    velocities: str = DEFAULTS.velocities,
    seed: Optional[int] = None,
    trajectory: Optional[PathLike] = None,
    trajectory_interval: int = DEFAULTS.trajectory_interval,
    log: Union[PathLike, IO[str], None] = None,
    log_interval: int = DEFAULTS.log_interval,
    progress: bool = True,
    progress_file: Optional[IO[str]] = None,
    force_spread_warn: Optional[float] = None,
    force_spread_stop: Optional[float] = None,
    **dynamics: Any,
) -> MDSummary:
    """Run ``steps`` MD steps on ``atoms`` (modified in place).

    Parameters
    ----------
    atoms : ase.Atoms
        Positions in Å; momenta are kept or drawn (``velocities``).
    calculator : BPCalculator, optional
        Default: ``atoms.calc``, which must then be a BPCalculator. With a committee
        calculator the dynamics follow the members' mean forces, and the log,
        progress bar and summary report the largest per-atom force spread.
    steps : int
        Number of steps (>= 0).
    timestep : float
        fs.
    ensemble : "nve", "nvt" or "npt"
    temperature : float, optional
        K; target of the thermostat and temperature of the initial velocities.
    velocities : "auto", "keep" or "init"
        auto: keep the momenta of ``atoms`` if any are non-zero, else draw
        Maxwell-Boltzmann velocities at ``temperature`` (zero total momentum).
    seed : int, optional
        Seed of the initial velocities and of the Langevin noise (two independent
        streams spawned from it; the same seed gives the same run on any number of
        threads).
    trajectory : path, optional
        The suffix names the format: ``.traj`` (ASE trajectory), ``.xyz`` or
        ``.extxyz`` (extended XYZ; both keep energy, forces, stress, per-atom
        energies and velocities) or ``.pdb``; other names are a ValueError. Frame
        0 is the initial state, then every ``trajectory_interval`` steps. Frames
        record ``step`` and ``time_fs``, and with a committee ``max_force_spread``
        (eV/Å) and ``energy_std`` (eV) in ``info`` and (extended XYZ) the per-atom
        ``force_spread`` (eV/Å).
    log : path or text stream, optional
        Energy log every ``log_interval`` steps (see module docstring).
    progress : bool
        Show a tqdm progress bar with atoms x steps / s on ``progress_file``
        (default stderr); with a committee it also shows the largest force spread
        of the last logged step.
    force_spread_warn, force_spread_stop : float, optional
        Thresholds (eV/Å) of the committee's largest per-atom force spread, for a
        calculator with a committee only: warn once (:class:`ForceSpreadWarning`),
        resp. stop the run after the first step that exceeds it (see the module
        docstring). Checked for the initial structure and after every step.
    **dynamics
        Settings of the integrator, passed to :func:`make_dynamics`: thermostat
        ("langevin" or "nose-hoover", nvt), barostat ("berendsen" or "mtk", npt),
        friction (Langevin, 1/fs), tdamp and pdamp (thermostat and barostat time
        constants, fs), pressure (bar, npt), compressibility (1/bar, Berendsen).
        Defaults: :data:`DEFAULTS`.

    Returns an :class:`MDSummary`. Extrapolation: the first extrapolating
    evaluation issues a :class:`bpfast.ExtrapolationWarning`; the total count is
    in the summary and on the calculator.
    """
    calc = calculator if calculator is not None else atoms.calc
    if not isinstance(calc, BPCalculator):
        raise TypeError("run needs a bpfast.ase.BPCalculator (pass calculator= or set "
                        "atoms.calc)")
    watch = _SpreadWatch(_check_threshold("force_spread_warn", force_spread_warn),
                         _check_threshold("force_spread_stop", force_spread_stop))
    committee = calc.is_committee
    if not committee and (watch.warn is not None or watch.stop is not None):
        raise ValueError("force_spread_warn and force_spread_stop need a committee: a "
                         "BPCalculator of several potential directories or a "
                         "bpfast.Committee")
    if len(atoms) == 0:
        raise ValueError("MD needs at least one atom; the structure has none")
    atoms.calc = calc
    if isinstance(steps, bool) or int(steps) != steps or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    steps = int(steps)
    for name, value in (("trajectory_interval", trajectory_interval),
                        ("log_interval", log_interval)):
        if isinstance(value, bool) or int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if seed is not None and (isinstance(seed, bool) or int(seed) != seed or seed < 0):
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    if trajectory is not None:
        _trajectory_format(Path(trajectory))  # refuse a name before anything changes
    unknown = sorted(set(dynamics) - set(DYNAMICS_OPTIONS))
    if unknown:
        raise TypeError(f"run got unknown keyword argument(s) {', '.join(unknown)}; the "
                        f"integrator takes {', '.join(DYNAMICS_OPTIONS)}")
    # independent streams: noise that replayed the velocity draw would heat the system
    velocity_seed, noise_seed = np.random.SeedSequence(seed).spawn(2)
    _initial_velocities(atoms, temperature, velocities, velocity_seed)
    dyn = make_dynamics(atoms, timestep=timestep, ensemble=ensemble, temperature=temperature,
                        seed=noise_seed, **dynamics)
    bar = None
    if progress:
        try:
            from tqdm.auto import tqdm
        except ImportError:
            raise ImportError("the progress bar needs tqdm: pip install tqdm "
                              "(or pass progress=False)") from None
        # one rate: atoms x steps / s since the first step (tqdm's own step/s is not
        # shown; smoothing 0 makes its time remaining use the same mean rate)
        bar = tqdm(total=steps, unit="step", file=progress_file or sys.stderr,
                   dynamic_ncols=True, smoothing=0,
                   bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}"
                              "{postfix}]")

    log_file: Optional[IO[str]] = None
    own_log = False
    traj: Optional[_Trajectory] = None
    warned = [False]
    n = len(atoms)
    evaluations0, rebuilds0 = calc.evaluations, calc.rebuilds
    extrap0 = calc.extrapolating_evaluations
    timings0 = dict(calc.timings)
    done = 0
    interrupted = hard = False
    wall = 0.0
    first: Dict[str, float] = {}
    last: Dict[str, float] = {}

    def evaluate(fn, step: int):
        """Call fn (which evaluates the structure of MD step ``step``) under a warnings
        guard: one ExtrapolationWarning per run."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ExtrapolationWarning)
            result = fn()
        for w in caught:
            if issubclass(w.category, ExtrapolationWarning):
                if not warned[0]:
                    warned[0] = True
                    warnings.warn(ExtrapolationWarning(
                        f"{w.message} (MD step {step}; further extrapolations during this "
                        f"run are only counted)"), stacklevel=3)
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        return result

    try:
        if trajectory is not None:
            traj = _Trajectory(trajectory, atoms)
        if log is not None:
            if hasattr(log, "write"):
                log_file = log  # type: ignore[assignment]
            else:
                log_file = open(log, "w", encoding="utf-8")  # noqa: SIM115
                own_log = True
            what = (f"committee of {len(calc.directories)}: {', '.join(calc.directories)}"
                    if committee else f"potential {calc.directories[0]}")
            log_file.write(f"# bpfast MD: {n} atoms, {ensemble}, dt {timestep:g} fs, "
                           f"{what}\n")
            log_file.write(COMMITTEE_LOG_HEADER if committee else LOG_HEADER)

        first = last = evaluate(lambda: _observables(atoms, 0, timestep), 0)
        logged = 0  # the last step in the log
        if log_file is not None:
            log_file.write(_log_line(first))
            log_file.flush()
        if traj is not None:
            traj.write(atoms, 0, 0.0)
        stop_now = committee and watch.check(first["max_force_spread"], 0)

        with _StopOnSigint() as stop:
            t0 = time.perf_counter()
            try:
                for k in range(1, steps + 1):
                    if stop_now:
                        break
                    evaluate(dyn.step, k)
                    done = k
                    if committee:
                        stop_now = watch.check(evaluate(lambda: _max_force_spread(atoms), k), k)
                    if k % log_interval == 0 or k == steps or stop_now or (
                            traj is not None and k % trajectory_interval == 0):
                        last = evaluate(lambda k=k: _observables(atoms, k, timestep), k)
                        if log_file is not None and (k % log_interval == 0 or k == steps
                                                     or stop_now):
                            log_file.write(_log_line(last))
                            log_file.flush()
                            logged = k
                        if traj is not None and (k % trajectory_interval == 0 or stop_now):
                            traj.write(atoms, k, k * timestep)
                        if bar is not None:
                            rate = n * k / max(time.perf_counter() - t0, 1e-12)
                            spread = (f", Fspread={last['max_force_spread']:.3g} eV/Å"
                                      if committee else "")
                            bar.set_postfix_str(
                                f"{rate:.3g} atom·steps/s, T={last['temperature']:.1f} K, "
                                f"Etot={last['etot']:.6g} eV{spread}", refresh=False)
                    if bar is not None:
                        bar.update(1)
                    if stop.requested:
                        interrupted = k < steps
                        break
            except KeyboardInterrupt:  # second Ctrl-C: the step may be half done
                interrupted = hard = True
            wall = time.perf_counter() - t0
        if interrupted and not hard and done > 0:
            # graceful stop after a whole step: log the state reached (cached results)
            if int(last.get("step", -1)) != done:
                last = evaluate(lambda: _observables(atoms, done, timestep), done)
            if log_file is not None and logged != done:
                log_file.write(_log_line(last))
    finally:
        if bar is not None:
            bar.close()
        if traj is not None:
            traj.close()
        if log_file is not None:
            if interrupted:
                log_file.write(f"# interrupted after step {done}\n")
            elif watch.stop_step is not None:
                log_file.write(f"# stopped after step {watch.stop_step}: the largest force "
                               f"spread {watch.largest:.6g} eV/Å exceeds force_spread_stop "
                               f"{watch.stop:g} eV/Å\n")
            log_file.flush()
            if own_log:
                log_file.close()

    timings = {k: v - timings0.get(k, 0.0) for k, v in calc.timings.items()}
    return MDSummary(
        steps=done,
        interrupted=interrupted,
        wall_time=wall,
        atom_steps_per_second=n * done / wall if wall > 0 else 0.0,
        evaluations=calc.evaluations - evaluations0,
        rebuilds=calc.rebuilds - rebuilds0,
        extrapolating_evaluations=calc.extrapolating_evaluations - extrap0,
        timings=timings,
        first=first,
        last=last,
        max_force_spread=watch.largest,
        spread_warn_step=watch.warn_step,
        spread_stop_step=watch.stop_step,
    )
