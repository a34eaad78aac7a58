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

from ._caller import user_stacklevel
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
    ensemble = _check_dynamics(atoms, timestep=timestep, ensemble=ensemble,
                               temperature=temperature, thermostat=thermostat,
                               barostat=barostat, friction=friction, tdamp=tdamp,
                               pressure=pressure, pdamp=pdamp, compressibility=compressibility)
    dt = timestep * units.fs
    if ensemble == "nve":
        from ase.md.verlet import VelocityVerlet
        return VelocityVerlet(atoms, timestep=dt)
    if ensemble == "nvt":
        if thermostat == "langevin":
            from ase.md.langevin import Langevin
            return Langevin(atoms, timestep=dt, temperature_K=temperature,
                            friction=friction / units.fs, fixcm=False,
                            rng=np.random.default_rng(seed))
        NoseHooverChainNVT = _import_ase_md("NoseHooverChainNVT")
        return NoseHooverChainNVT(atoms, timestep=dt, temperature_K=temperature,
                                  tdamp=tdamp * units.fs)
    if barostat == "berendsen":
        from ase.md.nptberendsen import NPTBerendsen
        return NPTBerendsen(atoms, timestep=dt, temperature_K=temperature,
                            pressure_au=pressure * units.bar, taut=tdamp * units.fs,
                            taup=pdamp * units.fs,
                            compressibility_au=compressibility / units.bar)
    IsotropicMTKNPT = _import_ase_md("IsotropicMTKNPT")
    return IsotropicMTKNPT(atoms, timestep=dt, temperature_K=temperature,
                           pressure_au=pressure * units.bar, tdamp=tdamp * units.fs,
                           pdamp=pdamp * units.fs)


def _check_dynamics(
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
) -> str:
    """The ensemble (lower case), once the settings :func:`make_dynamics` uses for it
    are checked; nothing is changed."""
    ensemble = ensemble.lower()
    if ensemble not in ENSEMBLES:
        raise ValueError(f"ensemble must be one of {', '.join(ENSEMBLES)}, got {ensemble!r}")
    if not (np.isfinite(timestep) and timestep > 0):
        raise ValueError(f"timestep must be a positive number of fs, got {timestep!r}")
    if ensemble == "nve":
        return ensemble
    if temperature is None or not (np.isfinite(temperature) and temperature > 0):
        raise ValueError(f"ensemble {ensemble!r} needs a temperature > 0 K, got {temperature!r}")
    for name, value in (("friction", friction), ("tdamp", tdamp), ("pdamp", pdamp),
                        ("compressibility", compressibility)):
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be positive, got {value!r}")
    if ensemble == "nvt":
        if thermostat not in THERMOSTATS:
            raise ValueError(f"thermostat must be one of {', '.join(THERMOSTATS)}, "
                             f"got {thermostat!r}")
        return ensemble
    if not np.asarray(atoms.pbc).all():
        raise ValueError("npt needs a cell that is periodic in all three directions")
    if not np.isfinite(pressure):
        raise ValueError(f"pressure must be a number of bar, got {pressure!r}")
    if barostat not in BAROSTATS:
        raise ValueError(f"barostat must be one of {', '.join(BAROSTATS)}, got {barostat!r}")
    return ensemble


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
                stacklevel=user_stacklevel())
            return True
        if self.warn is not None and spread > self.warn and self.warn_step is None:
            self.warn_step = step
            warnings.warn(ForceSpreadWarning(
                f"MD step {step}: the largest per-atom force spread of the committee, "
                f"{spread:.4g} eV/Å, exceeds force_spread_warn={self.warn:g} eV/Å (warned "
                f"once per run; the log's Fspread column has every logged step)"),
                stacklevel=user_stacklevel())
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


def _check_velocities(velocities: str, temperature: Optional[float]) -> None:
    if velocities not in VELOCITIES:
        raise ValueError(f"velocities must be 'auto', 'keep' or 'init', got {velocities!r}")
    if velocities == "init" and (temperature is None or temperature <= 0):
        raise ValueError("velocities='init' needs a temperature > 0 K")


def _initial_velocities(atoms, temperature: Optional[float], velocities: str,
                        seed: SeedLike) -> None:
    """Maxwell-Boltzmann momenta at exactly ``temperature``, zero total momentum
    (and zero angular momentum for isolated structures), unless kept."""
    _check_velocities(velocities, temperature)
    have = bool(np.any(atoms.get_momenta()))
    if velocities == "keep" or (velocities == "auto" and have):
        return
    if temperature is None or temperature <= 0:
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
    calc = _md_calculator(atoms, calculator)
    watch = _spread_watch(calc, force_spread_warn, force_spread_stop)
    if len(atoms) == 0:
        raise ValueError("MD needs at least one atom; the structure has none")
    steps = _check_run_options(steps, trajectory_interval, log_interval, seed, trajectory,
                               dynamics)
    _check_velocities(velocities, temperature)
    _check_dynamics(atoms, timestep=timestep, ensemble=ensemble, temperature=temperature,
                    **dynamics)
    atoms.calc = calc  # nothing has changed before: every argument is checked
    # independent streams: noise that replayed the velocity draw would heat the system
    velocity_seed, noise_seed = np.random.SeedSequence(seed).spawn(2)
    _initial_velocities(atoms, temperature, velocities, velocity_seed)
    dyn = make_dynamics(atoms, timestep=timestep, ensemble=ensemble, temperature=temperature,
                        seed=noise_seed, **dynamics)
    bar = _progress_bar(steps, progress_file) if progress else None
    md = _MDRun(atoms, dyn, watch, steps=steps, timestep=timestep, log_interval=log_interval,
                trajectory_interval=trajectory_interval, bar=bar)
    try:
        md.open_outputs(trajectory, log, ensemble)
        md.run_steps()
    finally:
        md.close_outputs()
    return md.summary()


# ---------------------------------------------------------------------- run's parts


def _md_calculator(atoms, calculator) -> BPCalculator:
    calc = calculator if calculator is not None else atoms.calc
    if not isinstance(calc, BPCalculator):
        raise TypeError("run needs a bpfast.ase.BPCalculator (pass calculator= or set "
                        "atoms.calc)")
    return calc


def _spread_watch(calc: BPCalculator, warn, stop) -> _SpreadWatch:
    """The force-spread thresholds of :func:`run`, checked (a committee's only)."""
    watch = _SpreadWatch(_check_threshold("force_spread_warn", warn),
                         _check_threshold("force_spread_stop", stop))
    if not calc.is_committee and (watch.warn is not None or watch.stop is not None):
        raise ValueError("force_spread_warn and force_spread_stop need a committee: a "
                         "BPCalculator of several potential directories or a "
                         "bpfast.Committee")
    return watch


def _check_run_options(steps, trajectory_interval, log_interval, seed,
                       trajectory: Optional[PathLike], dynamics: Dict[str, Any]) -> int:
    """``steps`` as an int, once the counts, the seed, the trajectory's name and the
    names of the integrator settings are checked (before anything is drawn or opened)."""
    if isinstance(steps, bool) or int(steps) != steps or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
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
    return int(steps)


def _progress_bar(steps: int, file: Optional[IO[str]]):
    """A tqdm bar over ``steps`` on ``file`` (default stderr)."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        raise ImportError("the progress bar needs tqdm: pip install tqdm "
                          "(or pass progress=False)") from None
    # one rate: atoms x steps / s since the first step (tqdm's own step/s is not
    # shown; smoothing 0 makes its time remaining use the same mean rate)
    return tqdm(total=steps, unit="step", file=file or sys.stderr,
                dynamic_ncols=True, smoothing=0,
                bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}"
                           "{postfix}]")


def _log_title(calc: BPCalculator, n_atoms: int, ensemble: str, timestep: float) -> str:
    what = (f"committee of {len(calc.directories)}: {', '.join(calc.directories)}"
            if calc.is_committee else f"potential {calc.directories[0]}")
    return f"# bpfast MD: {n_atoms} atoms, {ensemble}, dt {timestep:g} fs, {what}\n"


class _MDRun:
    """One run of :func:`run` once its arguments are checked: the outputs, step 0, the
    step loop with its Ctrl-C handling, and the counts the summary reports.

    The progress bar, the trajectory and the log are closed by :meth:`close_outputs`
    (a log stream passed by the caller is flushed, not closed)."""

    def __init__(self, atoms, dyn, watch: _SpreadWatch, *, steps: int, timestep: float,
                 log_interval: int, trajectory_interval: int, bar):
        self.atoms, self.calc, self.dyn, self.watch = atoms, atoms.calc, dyn, watch
        self.bar = bar
        self.steps, self.timestep = steps, timestep
        self.log_interval, self.trajectory_interval = log_interval, trajectory_interval
        self.committee = self.calc.is_committee
        self.calc_counts_before = _CalculatorCounts.of(self.calc)
        self.traj: Optional[_Trajectory] = None
        self.log_file: Optional[IO[str]] = None
        self.own_log = False  # the log was opened here (and is closed here)
        self.extrapolation_warned = False  # one ExtrapolationWarning per run
        self.done = 0  # steps completed
        self.logged = 0  # the last step written to the log
        self.interrupted = False  # by Ctrl-C, before ``steps``
        self.hard_interrupt = False  # by a second Ctrl-C, maybe within a step
        self.steps_start = 0.0  # perf_counter at the first step
        self.wall = 0.0  # seconds for the steps
        self.first: Dict[str, float] = {}
        self.last: Dict[str, float] = {}

    # -------------------------------------------------------------- outputs

    def open_outputs(self, trajectory: Optional[PathLike],
                     log: Union[PathLike, IO[str], None], ensemble: str) -> None:
        """Open the trajectory and the log (a path, or a stream kept open) and write the
        log's header lines."""
        if trajectory is not None:
            self.traj = _Trajectory(trajectory, self.atoms)
        if log is None:
            return
        if hasattr(log, "write"):
            self.log_file = log  # type: ignore[assignment]
        else:
            self.log_file = open(log, "w", encoding="utf-8")  # noqa: SIM115
            self.own_log = True
        self.log_file.write(_log_title(self.calc, len(self.atoms), ensemble, self.timestep))
        self.log_file.write(COMMITTEE_LOG_HEADER if self.committee else LOG_HEADER)

    def _write_log(self, observables: Dict[str, float]) -> None:
        if self.log_file is not None:
            self.log_file.write(_log_line(observables))
            self.log_file.flush()
            self.logged = int(observables["step"])

    def close_outputs(self) -> None:
        """Close the progress bar and the trajectory; end the log with why the run ended
        early, if it did."""
        if self.bar is not None:
            self.bar.close()
        if self.traj is not None:
            self.traj.close()
        if self.log_file is None:
            return
        if self.interrupted:
            self.log_file.write(f"# interrupted after step {self.done}\n")
        elif self.watch.stop_step is not None:
            self.log_file.write(f"# stopped after step {self.watch.stop_step}: the largest "
                                f"force spread {self.watch.largest:.6g} eV/Å exceeds "
                                f"force_spread_stop {self.watch.stop:g} eV/Å\n")
        self.log_file.flush()
        if self.own_log:
            self.log_file.close()

    # -------------------------------------------------------------- steps

    def run_steps(self) -> None:
        """Step 0 (the initial state), then the steps until ``steps``, a force spread
        above force_spread_stop, or Ctrl-C."""
        self.first = self.last = self._observe(0)
        self._write_log(self.first)
        if self.traj is not None:
            self.traj.write(self.atoms, 0, 0.0)
        stop_now = self.committee and self.watch.check(self.first["max_force_spread"], 0)
        with _StopOnSigint() as sigint:
            self.steps_start = time.perf_counter()
            try:
                if not stop_now:
                    self._step_loop(sigint)
            except KeyboardInterrupt:  # second Ctrl-C: the step may be half done
                self.interrupted = self.hard_interrupt = True
            self.wall = time.perf_counter() - self.steps_start
        if self.interrupted and not self.hard_interrupt and self.done > 0:
            self._log_state_reached()

    def _step_loop(self, sigint: _StopOnSigint) -> None:
        for k in range(1, self.steps + 1):
            stop_now = self._step(k)
            if self.bar is not None:
                self.bar.update(1)
            if sigint.requested:
                self.interrupted = k < self.steps
                return
            if stop_now:
                return

    def _step(self, k: int) -> bool:
        """MD step ``k`` and what is recorded of it; True if its force spread stops the
        run."""
        self._evaluate(self.dyn.step, k)
        self.done = k
        stop_now = self.committee and self.watch.check(
            self._evaluate(lambda: _max_force_spread(self.atoms), k), k)
        log_step = k % self.log_interval == 0 or k == self.steps or stop_now
        frame_step = self.traj is not None and (k % self.trajectory_interval == 0 or stop_now)
        if log_step or frame_step:
            self.last = self._observe(k)
            if log_step:
                self._write_log(self.last)
            if frame_step:
                self.traj.write(self.atoms, k, k * self.timestep)
            if self.bar is not None:
                self._show_progress(k)
        return stop_now

    def _show_progress(self, k: int) -> None:
        rate = len(self.atoms) * k / max(time.perf_counter() - self.steps_start, 1e-12)
        spread = (f", Fspread={self.last['max_force_spread']:.3g} eV/Å"
                  if self.committee else "")
        self.bar.set_postfix_str(
            f"{rate:.3g} atom·steps/s, T={self.last['temperature']:.1f} K, "
            f"Etot={self.last['etot']:.6g} eV{spread}", refresh=False)

    def _log_state_reached(self) -> None:
        """After a graceful stop: the state reached, into the log if it is not there
        (from the calculator's cached results)."""
        if int(self.last.get("step", -1)) != self.done:
            self.last = self._observe(self.done)
        if self.logged != self.done:
            self._write_log(self.last)

    # -------------------------------------------------------------- evaluations

    def _observe(self, step: int) -> Dict[str, float]:
        return self._evaluate(lambda: _observables(self.atoms, step, self.timestep), step)

    def _evaluate(self, fn, step: int):
        """Call fn (which evaluates the structure of MD step ``step``) under a warnings
        guard: one ExtrapolationWarning per run."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ExtrapolationWarning)
            result = fn()
        for w in caught:
            if not issubclass(w.category, ExtrapolationWarning):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
            elif not self.extrapolation_warned:
                self.extrapolation_warned = True
                warnings.warn(ExtrapolationWarning(
                    f"{w.message} (MD step {step}; further extrapolations during this "
                    f"run are only counted)"), stacklevel=user_stacklevel())
        return result

    # -------------------------------------------------------------- summary

    def summary(self) -> MDSummary:
        counts = _CalculatorCounts.of(self.calc).since(self.calc_counts_before)
        return MDSummary(
            steps=self.done,
            interrupted=self.interrupted,
            wall_time=self.wall,
            atom_steps_per_second=(len(self.atoms) * self.done / self.wall if self.wall > 0
                                   else 0.0),
            evaluations=counts.evaluations,
            rebuilds=counts.rebuilds,
            extrapolating_evaluations=counts.extrapolating_evaluations,
            timings=counts.timings,
            first=self.first,
            last=self.last,
            max_force_spread=self.watch.largest,
            spread_warn_step=self.watch.warn_step,
            spread_stop_step=self.watch.stop_step,
        )


@dataclass(frozen=True)
class _CalculatorCounts:
    """A BPCalculator's counters (evaluations, neighbour-list builds, extrapolating
    evaluations) and seconds per core phase."""

    evaluations: int
    rebuilds: int
    extrapolating_evaluations: int
    timings: Dict[str, float]

    @classmethod
    def of(cls, calc: BPCalculator) -> "_CalculatorCounts":
        return cls(calc.evaluations, calc.rebuilds, calc.extrapolating_evaluations,
                   dict(calc.timings))

    def since(self, before: "_CalculatorCounts") -> "_CalculatorCounts":
        return _CalculatorCounts(
            self.evaluations - before.evaluations, self.rebuilds - before.rebuilds,
            self.extrapolating_evaluations - before.extrapolating_evaluations,
            {k: v - before.timings.get(k, 0.0) for k, v in self.timings.items()})
