"""Training of an HDNNP: data and settings in, a potential directory out.

:func:`train` reads the settings and data, computes the raw symmetry functions and
``scaling.data`` once, initialises the weights and runs epochs of the extended Kalman
filter (per structure, as n2p2's ``nnp-train``) or of Adam on mini-batches. After every
epoch the RMSEs on the training and test sets go into ``learning_curve.csv`` and
``train.log``; the weights with the lowest test error so far are the potential
written to the output directory, so that an interruption leaves them on disk.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, List, Optional, Sequence, Tuple, Union

import numpy as np

from .. import _core
from .._validation import check_threads
from ..errors import ExtrapolationWarning
from ..potential import Potential, load
from ..units import guess_units
from .data import DataError, TrainingSet, read_training_data
from .descriptors import DescriptorCalculator
from .forces import ForceModel, core_tangents, unit_directions
from .input_nn import read_settings
from .model import EnergyModel
from .optimizers import Adam, KalmanFilter
from .outputs import History, TrainingLog, plot_learning_curve
from .potential_files import write_potential
from .scaling import compute_scaling
from .settings import Settings, TrainingOptions
from .weights import initialize_weights

if TYPE_CHECKING:
    from ..committee import Committee

__all__ = ["train"]

PathLike = Union[str, "os.PathLike[str]"]
CHECKPOINT = "checkpoint.npz"


def _settings(settings) -> Tuple[Settings, Optional[Tuple[str, str]]]:
    if isinstance(settings, Settings):
        return settings, None
    path = Path(settings)
    return read_settings(path), guess_units(path)


def _data(data, settings: Settings, what: str, length_unit="angstrom",
          energy_unit="ev") -> TrainingSet:
    if not isinstance(data, TrainingSet):
        data = read_training_data(data, elements=settings.elements, length_unit=length_unit,
                                  energy_unit=energy_unit)
    if len(data) == 0:
        raise DataError("", None, f"the {what} set is empty")
    data.check_elements(settings.elements)
    return data


def _output_directory(outdir: PathLike) -> Path:
    d = Path(outdir)
    try:
        d.mkdir(parents=True, exist_ok=True)
        probe = d / ".bpfast-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise OSError(exc.errno, f"cannot write the output directory ({exc.strerror})",
                      str(d)) from None
    return d


def _structure_forces(data: TrainingSet) -> bool:
    return any(s.forces is not None for s in data)


class _Evaluator:
    """RMSEs of the current weights on one set (energies from the model; forces, when
    the set has them, from the potential written with the weights and loaded)."""

    def __init__(self, model: EnergyModel, data: TrainingSet, threads: int,
                 force_sample: Optional[int] = None):
        self.model, self.data, self.threads = model, data, threads
        with_forces = [k for k, s in enumerate(data) if s.forces is not None]
        if force_sample is not None and len(with_forces) > force_sample:
            picks = np.unique(np.linspace(0, len(with_forces) - 1, force_sample).round())
            with_forces = [with_forces[int(k)] for k in picks]
        self.force_structures = with_forces
        self.extrapolations = 0  # of the last force measurement

    def __call__(self, w: np.ndarray, potential: Optional[Potential]):
        e = self.model.energies(w)
        energy = float(np.sqrt(np.mean(((e - self.model.reference) / self.model.n_atoms) ** 2)))
        if potential is None or not _structure_forces(self.data):
            return energy, None
        def squared_error(k: int):
            s = self.data[k]
            r = potential.compute(s.positions, s.numbers, s.cell, s.pbc, threads=1)
            return float(((r.forces - s.forces) ** 2).sum()), s.forces.size, r.extrapolations

        # One structure per worker thread (the core releases the GIL); the sum in order.
        # Values outside the training range are counted (the run logs them once), not
        # warned about at every epoch.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExtrapolationWarning)
            if self.threads > 1 and len(self.force_structures) > 1:
                with ThreadPoolExecutor(max_workers=self.threads) as pool:
                    parts = list(pool.map(squared_error, self.force_structures))
            else:
                parts = [squared_error(k) for k in self.force_structures]
        sq = sum(p[0] for p in parts)
        n = sum(p[1] for p in parts)
        self.extrapolations = sum(p[2] for p in parts)
        return energy, float(np.sqrt(sq / n))


def _make_tangents(potential: Potential, model: EnergyModel, threads: int):
    """The raw symmetry-function tangents of the training structures (None if the core
    has none)."""
    return core_tangents(potential, model, threads)


class _Prepared:
    """What the members of a committee share: the raw symmetry functions of the training
    and test sets and the scaling computed from the training set."""

    def __init__(self, settings, train_set, test_set, threads):
        self.calc = DescriptorCalculator(settings)
        self.g_train = self.calc.compute(train_set, threads=threads)
        self.g_test = self.calc.compute(test_set, threads=threads)
        self.scaling = compute_scaling(self.g_train) if settings.scaling != "none" else None


class _Run:
    """State of one training run (weights, optimiser, history) and its outputs."""

    def __init__(self, settings, units, train_set, test_set, outdir, optimizer, seed, threads,
                 batch_size, log, decoupled=False, force_batch=32, force_sample=None,
                 energy_batch=1, energy_offset=True, prepared=None):
        self.force_batch, self.force_sample = force_batch, force_sample
        self.energy_batch = energy_batch
        self.settings, self.units, self.outdir, self.log = settings, units, outdir, log
        self.threads = threads
        self.cpu_start = time.process_time()
        prepared = prepared or _Prepared(settings, train_set, test_set, threads)
        calc, g_train, g_test = prepared.calc, prepared.g_train, prepared.g_test
        self.scaling = prepared.scaling
        n_inputs = {e: v.shape[1] for e, v in g_train.values.items()}
        self.model = EnergyModel(settings, self.scaling, g_train, train_set, threads)
        test_model = EnergyModel(settings, self.scaling, g_test, test_set, threads)
        self.evaluate = {"train": _Evaluator(self.model, train_set, threads, force_sample),
                         "test": _Evaluator(test_model, test_set, threads)}
        self.forces = _structure_forces(train_set) or _structure_forces(test_set)
        self.force_model = self._force_model(calc, train_set)
        self.rng = np.random.default_rng(seed)
        self.w = self.model.flatten(initialize_weights(settings, seed, n_inputs=n_inputs))
        if energy_offset and self.model.set_output_bias(self.w):
            log("output biases set to the mean atomic energy of the training set")
        self.best_w = self.w.copy()
        self.best_metric = np.inf
        self.epoch = 0
        self.history = History(units=units)
        self.batch_size = batch_size
        self.kind = optimizer
        n = self.model.parameter_count
        if optimizer == "kalman":
            blocks = ([self.model.blocks[e] for e in self.model.elements]
                      if decoupled else None)
            self.optimizer = KalmanFilter(n, settings.training, blocks)
        else:
            self.optimizer = Adam(n, settings.training)

    def _force_model(self, calc, train_set) -> Optional[ForceModel]:
        options = self.settings.training
        if not (_structure_forces(train_set) and options.use_short_forces
                and options.force_weight > 0.0):
            return None
        tangents = _make_tangents(Potential(calc._core), self.model, self.threads)
        if tangents is None:
            self.log("forces are not trained: this build of bpfast has no symmetry-function "
                     "tangents (Potential.symmetry_function_tangents); energies only")
            return None
        return ForceModel(self.model, train_set, tangents)

    # -------------------------------------------------------------- updates

    def energy_errors(self, chosen: np.ndarray):
        """Errors (reference - prediction) of the total energies of the structures
        ``chosen`` in the networks' units, E' = (E - N mean_energy) conv_energy, and their
        Jacobian (P, k): n2p2's energy update."""
        m = self.model
        e, jac = m.energy_jacobian(self.w, chosen)
        return (m.reference[chosen] - e) * m.conv_energy, (jac * m.conv_energy).T

    def force_errors(self, index: int, components: np.ndarray, select=None):
        """Errors (reference - prediction) of force components of structure ``index`` in
        the networks' units, F' = F conv_energy / conv_length, and their Jacobian (P, m).

        With ``select`` (errors (m,) -> indices), only the selected components: their
        errors and Jacobian (P, k) (the Jacobian is computed for those only)."""
        fm = self.force_model
        d = unit_directions(len(fm.data[index]), components)
        scale = self.model.conv_energy / self.model.conv_length
        reference = fm.reference(index, d)
        if select is None:
            pred, jac = fm.components(self.w, index, d)
            return (reference - pred) * scale, jac.T * scale
        pred, keep, jac = fm.selected_components(
            self.w, index, d, lambda p: select((reference - p) * scale))
        return ((reference - pred) * scale)[keep], jac.T * scale

    def force_threshold(self) -> float:
        """The error (networks' units) above which a force component is an update
        candidate: ``short_force_error_threshold`` times the training-set force RMSE of
        the last epoch (0 before any is measured)."""
        rows = self.history.rows
        rmse = rows[-1].get("force_rmse_train") if rows else None
        if rmse is None:
            return 0.0
        scale = self.model.conv_energy / self.model.conv_length
        return self.settings.training.short_force_error_threshold * rmse * scale

    def select_force_candidates(self, errors: np.ndarray) -> np.ndarray:
        """Indices of at most ``force_batch`` of the drawn candidates: those whose error
        exceeds :meth:`force_threshold`, in the order drawn, completed by the largest
        remaining errors when too few do (n2p2's ``selection_mode 2`` for a batch)."""
        above = np.flatnonzero(np.abs(errors) > self.force_threshold())
        chosen = above[:self.force_batch]
        if len(chosen) < min(self.force_batch, len(errors)):
            rest = np.setdiff1d(np.arange(len(errors)), chosen)
            order = rest[np.argsort(-np.abs(errors[rest]), kind="stable")]
            chosen = np.concatenate([chosen, order[:self.force_batch - len(chosen)]])
        return np.sort(chosen)

    def _force_steps(self):
        """(structure, candidates) of one epoch's force updates: short_force_fraction of
        all force components of the structures with forces, ``force_batch`` components
        of one structure per update, chosen among ``rmse_threshold_trials`` times as
        many distinct random candidates."""
        data = self.force_model.data
        with_forces = np.array([k for k, s in enumerate(data) if s.forces is not None])
        sizes = np.array([3 * len(data[k]) for k in with_forces], dtype=float)
        total = self.settings.training.short_force_fraction * sizes.sum()
        n_updates = int(np.ceil(total / self.force_batch))
        picks = self.rng.choice(with_forces, size=n_updates, p=sizes / sizes.sum())
        trials = max(1, self.settings.training.rmse_threshold_trials)
        steps = []
        for k in picks.tolist():
            n = 3 * len(data[k])
            steps.append(("force", k, self.rng.choice(n, size=min(trials * self.force_batch, n),
                                                       replace=False)))
        return steps

    def _steps(self):
        n = self.model.n_structures
        order = self.rng.permutation(n)
        if self.kind == "kalman":
            b = self.energy_batch
            steps = [("energy", np.sort(order[k:k + b])) for k in range(0, n, b)]
            if self.force_model is not None:
                steps += self._force_steps()
                steps = [steps[k] for k in self.rng.permutation(len(steps))]
            return steps
        return [("batch", np.sort(order[k:k + self.batch_size]))
                for k in range(0, n, self.batch_size)]

    def _batch_gradient(self, chosen: np.ndarray) -> np.ndarray:
        """Gradient of mean (dE/N)^2 + force_weight mean (dF)^2 over sampled components."""
        errors, jac = self.energy_errors(chosen)
        per_atom = self.model.n_atoms[chosen]
        gradient = -2.0 * (jac @ (errors / per_atom ** 2)) / len(chosen)
        if self.force_model is None:
            return gradient
        fraction = self.settings.training.short_force_fraction
        terms, count = np.zeros_like(gradient), 0
        for k in chosen:
            s = self.force_model.data[int(k)]
            if s.forces is None:
                continue
            m = max(1, int(round(fraction * 3 * len(s))))
            comps = self.rng.choice(3 * len(s), size=min(m, 3 * len(s)), replace=False)
            f_err, f_jac = self.force_errors(int(k), np.sort(comps))
            terms += self.settings.training.force_weight * (f_jac @ f_err)
            count += len(comps)
        return gradient - 2.0 * terms / max(count, 1)

    def run_epoch(self, deadline: float) -> bool:
        """One epoch of updates; False if the deadline came first."""
        steps = self._steps()
        for k, step in enumerate(steps):
            if time.perf_counter() > deadline:
                return False
            self.optimizer.progress = self.epoch + k / len(steps)
            if step[0] == "batch":
                self.optimizer.step(self.w, self._batch_gradient(step[1]))
                continue
            if step[0] == "energy":
                errors, jac = self.energy_errors(step[1])
            else:
                errors, jac = self.force_errors(step[1], step[2],
                                                select=self.select_force_candidates)
                weight = self.settings.training.force_weight  # n2p2: error and H times it
                errors, jac = errors * weight, jac * weight
            self.optimizer.update(self.w, errors, jac)
        return True

    # -------------------------------------------------------------- outputs

    def write(self, directory: Path, w: np.ndarray) -> Path:
        return write_potential(directory, self.settings, self.scaling, self.model.layers(w),
                               units=self.units)

    def measure(self, start: float) -> dict:
        potential = None
        if self.forces:
            with tempfile.TemporaryDirectory(prefix="bpfast-train-") as tmp:
                potential = load(self.write(Path(tmp), self.w))
        row = {"epoch": self.epoch, "time": time.perf_counter() - start,
               "cpu_time": time.process_time() - self.cpu_start}
        for split, evaluate in self.evaluate.items():
            energy, force = evaluate(self.w, potential)
            row[f"energy_rmse_{split}"] = energy
            if force is not None:
                row[f"force_rmse_{split}"] = force
            if self.epoch == 0 and evaluate.extrapolations:
                self.log(f"{split} set: {evaluate.extrapolations} (atom, symmetry function) "
                         "values outside the training set's range (scaling.data)")
        return row

    def metric(self, row: dict) -> float:
        split = "test" if len(self.evaluate["test"].data) else "train"
        key = f"force_rmse_{split}" if f"force_rmse_{split}" in row else f"energy_rmse_{split}"
        return row[key]

    def record(self, row: dict) -> None:
        self.history.rows.append(row)
        metric = self.metric(row)
        if metric < self.best_metric:
            self.best_metric, self.best_w = metric, self.w.copy()
            self.history.best_epoch = self.epoch
            self.write(self.outdir, self.best_w)
        self.history.write_csv(self.outdir / "learning_curve.csv")
        text = ", ".join(f"{k} {v:.6g}" for k, v in row.items() if k != "epoch")
        self.log(f"epoch {self.epoch}: {text}" + (" (best)" if self.history.best_epoch ==
                                                  self.epoch else ""))

    def save_checkpoint(self) -> None:
        state = {"w": self.w, "best_w": self.best_w,
                 "scalars": np.array([self.epoch, self.best_metric]),
                 "rng": np.array(json.dumps(self.rng.bit_generator.state)),
                 "history": np.array(json.dumps({"rows": self.history.rows,
                                                 "best_epoch": self.history.best_epoch})),
                 "kind": np.array(self.kind), **self.optimizer.state()}
        tmp = self.outdir / (CHECKPOINT + ".tmp.npz")
        np.savez(tmp, **state)
        os.replace(tmp, self.outdir / CHECKPOINT)

    def load_checkpoint(self, path: Path) -> None:
        with np.load(path) as state:
            if str(state["kind"]) != self.kind:
                raise ValueError(f"{path}: the checkpoint is of the {state['kind']} optimizer, "
                                 f"not {self.kind}")
            if state["w"].shape != self.w.shape:
                raise ValueError(f"{path}: the checkpoint has {state['w'].size} weights, the "
                                 f"settings define {self.w.size}")
            self.w, self.best_w = np.array(state["w"]), np.array(state["best_w"])
            epoch, self.best_metric = state["scalars"]
            self.epoch = int(epoch)
            self.rng.bit_generator.state = json.loads(str(state["rng"]))
            hist = json.loads(str(state["history"]))
            self.history.rows, self.history.best_epoch = hist["rows"], hist["best_epoch"]
            self.optimizer.load_state(state)


def train(
    settings: Union[PathLike, Settings],
    data: Union[PathLike, Sequence[PathLike], TrainingSet],
    outdir: PathLike,
    *,
    test: Union[None, PathLike, Sequence[PathLike], TrainingSet] = None,
    epochs: Optional[int] = None,
    time_limit: Optional[float] = None,
    optimizer: str = "kalman",
    seed: Optional[int] = None,
    threads: Optional[int] = None,
    force_weight: Optional[float] = None,
    batch_size: int = 32,
    patience: Optional[int] = None,
    resume: bool = False,
    progress: bool = True,
    units: Optional[Tuple[str, str]] = None,
    decoupled: bool = False,
    force_batch: int = 32,
    force_sample: Optional[int] = None,
    energy_batch: int = 1,
    energy_offset: bool = True,
    force_fraction: Optional[float] = None,
    length_unit: Union[str, float] = "angstrom",
    energy_unit: Union[str, float] = "ev",
    committee: Optional[int] = None,
) -> Tuple[Union[Potential, "Committee"], Union[History, List[History]]]:
    """Train the networks of ``settings`` on ``data``; returns (potential, history).

    Parameters
    ----------
    settings : path of an n2p2 ``input.nn`` or :class:`Settings`
        Elements, symmetry functions, architecture, scaling and the training keywords
        (``epochs``, ``random_seed``, ``test_fraction``, ``kalman_*``,
        ``gradient_adam_*``, ``force_weight``).
    data : path(s) or :class:`TrainingSet`
        Labelled structures in the potential's units (see ``read_training_data``).
    outdir : path
        Receives ``input.nn``, ``scaling.data`` and ``weights.ZZZ.data`` of the best
        epoch (lowest test RMSE: forces if the data have forces, else energies),
        ``learning_curve.csv``, ``learning_curve.png`` (with matplotlib),
        ``train.log`` and ``checkpoint.npz`` (the state after the last epoch).
    test : path(s) or TrainingSet, optional
        Validation set; default: ``test_fraction`` of ``data`` drawn with the seed.
    epochs, seed, force_weight : default from the settings' training keywords.
    time_limit : seconds, optional
        Training stops at the first update after this time (the epoch is measured);
        no epoch starts after it.
    optimizer : "kalman" or "adam"
        n2p2's extended Kalman filter, one update per structure, or Adam on
        mini-batches of ``batch_size`` structures (loss: mean squared error of the
        energy per atom).
    patience : int, optional
        Early stopping: stop after this many epochs without a new best.
    decoupled : bool
        Kalman filter decoupled per element (one covariance matrix per network:
        less memory and time per update, n2p2's per-element decoupling).
    force_batch : int
        Force components (of one structure) per Kalman force update, chosen among
        ``rmse_threshold_trials`` times as many random ones: first those whose error
        exceeds ``short_force_error_threshold`` times the last training-set force RMSE.
    energy_batch : int
        Structures per Kalman energy update (default 1, as ``nnp-train`` on one rank).
    force_fraction : float, optional
        Fraction of all training force components used per epoch (default:
        ``short_force_fraction`` of the settings).
    energy_offset : bool
        Shift the initial output biases so that the mean atomic energy matches the
        training set (default True; linear output neurons only). False keeps the
        biases as ``nnp-train`` draws them.
    force_sample : int, optional
        Measure the training-set force RMSE on at most this many structures (evenly
        spaced); default all. The test set is always measured in full.
    resume : bool
        Continue from ``outdir/checkpoint.npz`` (same settings, data and seed).
    units : (length, energy), optional
        The data's units for the meV columns (default: the ``# Length unit`` and
        ``# Energy unit`` comments of ``input.nn``, if any).
    length_unit, energy_unit : str or float
        The potential's units (names of :mod:`bpfast.units`, or Å resp. eV per unit):
        data files that ASE reads (Å, eV) are converted to them; n2p2 ``input.data``
        files are read as they are.

    committee : int, optional
        Train a committee of this many members (at least 2) in one call: member m is
        trained with seed ``seed + m`` into ``outdir/member_m`` (each a potential
        directory with its own learning curve, log and checkpoint). The members share
        the train/test split (drawn with ``seed``), the symmetry functions and the
        scaling, so that :func:`bpfast.load_committee` evaluates them together;
        ``time_limit`` applies to each member. Returns ``(Committee, [History, ...])``.
        Member 0 is the potential a single run with ``seed`` trains.

    The result is reproducible for the same inputs, seed and thread count. On
    KeyboardInterrupt the best weights so far are already in ``outdir``.
    """
    settings, stated_units = _settings(settings)
    seed, epochs = _seed_and_epochs(settings.training, optimizer, seed, epochs, force_batch,
                                    energy_batch, batch_size, committee)
    settings = _with_overrides(settings, force_weight, force_fraction)
    train_set, test_set = _train_and_test_sets(settings, data, test, seed, force_weight,
                                               length_unit, energy_unit)
    n_threads = check_threads(threads) or _core.default_threads()
    out = _output_directory(outdir)
    plan = _Plan(units=units or stated_units, train_set=train_set, test_set=test_set,
                 optimizer=optimizer, threads=n_threads, batch_size=batch_size, epochs=epochs,
                 time_limit=time_limit, patience=patience, resume=resume, progress=progress,
                 decoupled=decoupled, force_batch=force_batch, force_sample=force_sample,
                 energy_batch=energy_batch, energy_offset=energy_offset)
    with _one_blas_thread():
        if committee is None:
            return _train_logged(settings, out, seed, plan)
        return _train_committee(settings, out, seed, int(committee), plan)


# ---------------------------------------------------------------------- train's parts


def _seed_and_epochs(options: TrainingOptions, optimizer: str, seed: Optional[int],
                     epochs: Optional[int], force_batch: int, energy_batch: int,
                     batch_size: int, committee: Optional[int]) -> Tuple[int, int]:
    """The seed and the number of epochs (the settings' unless given), once the
    optimizer, the batch sizes and the committee size are checked."""
    if optimizer not in ("kalman", "adam"):
        raise ValueError(f"optimizer must be 'kalman' or 'adam', got {optimizer!r}")
    seed = options.random_seed if seed is None else int(seed)
    epochs = options.epochs if epochs is None else int(epochs)
    if epochs < 0:
        raise ValueError(f"epochs must be >= 0, got {epochs}")
    if force_batch < 1:
        raise ValueError(f"force_batch must be >= 1, got {force_batch}")
    if energy_batch < 1:
        raise ValueError(f"energy_batch must be >= 1, got {energy_batch}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if committee is not None and (isinstance(committee, bool) or int(committee) != committee
                                  or committee < 2):
        raise ValueError(f"committee must be a number of members >= 2, got {committee!r}")
    return seed, epochs


def _with_overrides(settings: Settings, force_weight: Optional[float],
                    force_fraction: Optional[float]) -> Settings:
    """``settings`` with the force weight and fraction of :func:`train`, where given."""
    training = settings.training
    if force_weight is not None:
        training = replace(training, force_weight=float(force_weight))
    if force_fraction is not None:
        training = replace(training, short_force_fraction=float(force_fraction))
    return settings if training is settings.training else replace(settings, training=training)


def _train_and_test_sets(settings: Settings, data, test, seed: int,
                         force_weight: Optional[float], length_unit,
                         energy_unit) -> Tuple[TrainingSet, TrainingSet]:
    """The training and test sets, read and checked; without ``test``, the settings'
    ``test_fraction`` of ``data`` drawn with ``seed``."""
    train_set = _data(data, settings, "training", length_unit, energy_unit)
    if force_weight is not None and force_weight > 0 and not _structure_forces(train_set):
        train_set.require_forces()  # forces requested explicitly: name a structure without
    if test is None:
        return train_set.split(settings.training.test_fraction, seed)
    test_set = _data(test, settings, "test", length_unit, energy_unit)
    train_set.check_test_set(test_set)
    return train_set, test_set


@dataclass(frozen=True)
class _Plan:
    """What every training run of one :func:`train` call shares (the arguments of
    :func:`train`, checked, and the data sets)."""

    units: Optional[Tuple[str, str]]
    train_set: TrainingSet
    test_set: TrainingSet
    optimizer: str
    threads: int
    batch_size: int
    epochs: int
    time_limit: Optional[float]
    patience: Optional[int]
    resume: bool
    progress: bool
    decoupled: bool
    force_batch: int
    force_sample: Optional[int]
    energy_batch: int
    energy_offset: bool


def _train_logged(settings: Settings, out: Path, seed: int, plan: _Plan,
                  prepared: Optional[_Prepared] = None):
    """One training run into ``out``, with its log."""
    log = TrainingLog(out / "train.log", append=plan.resume and (out / CHECKPOINT).exists())
    try:
        return _train(settings, out, seed, plan, log, prepared)
    finally:
        log.close()


def _train_committee(settings: Settings, out: Path, seed: int, members: int, plan: _Plan):
    """``members`` runs with seeds seed, seed + 1, ... into out/member_m, sharing the
    symmetry functions and the scaling."""
    from ..committee import Committee

    prepared = _Prepared(settings, plan.train_set, plan.test_set, plan.threads)
    potentials, histories = [], []
    for m in range(members):
        directory = _output_directory(out / f"member_{m}")
        potential, history = _train_logged(settings, directory, seed + m, plan, prepared)
        potentials.append(potential)
        histories.append(history)
    return Committee(potentials), histories


def _one_blas_thread():
    """One BLAS thread during training (threadpoolctl, when installed): the Kalman update
    (BLAS) and the core (OpenMP) run one after the other, and their idle thread pools
    would otherwise spin against each other on few cores."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _progress_bar(total: int, initial: int, enabled: bool):
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, initial=initial, unit="epoch", desc="training")




def _train(settings: Settings, out: Path, seed: int, plan: _Plan, log: TrainingLog,
           prepared: Optional[_Prepared]) -> Tuple[Potential, History]:
    """Epoch 0 (or the checkpoint's state), the epochs, and the potential of the best."""
    start = time.perf_counter()
    run = _started_run(settings, out, seed, plan, log, prepared, start)
    _run_epochs(run, plan, start, log, out)
    history = run.history
    if history.stopped:
        log(f"stopped: {history.stopped}")
    log(f"best epoch {history.best_epoch}: weights in {out}")
    message = plot_learning_curve(history, out / "learning_curve.png")
    if message:
        log(message)
    return load(out), history


def _started_run(settings: Settings, out: Path, seed: int, plan: _Plan, log: TrainingLog,
                 prepared: Optional[_Prepared], start: float) -> _Run:
    """The run with its weights initialised and epoch 0 measured and written, or in the
    state of ``out/checkpoint.npz`` (``resume``)."""
    log(f"training set: {len(plan.train_set)} structures, test set: {len(plan.test_set)}; "
        f"optimizer {plan.optimizer}, seed {seed}, {plan.threads} thread(s)")
    run = _Run(settings, plan.units, plan.train_set, plan.test_set, out, plan.optimizer, seed,
               plan.threads, plan.batch_size, log, decoupled=plan.decoupled,
               force_batch=plan.force_batch, force_sample=plan.force_sample,
               energy_batch=plan.energy_batch, energy_offset=plan.energy_offset,
               prepared=prepared)
    log(f"{run.model.parameter_count} weights; symmetry functions and scaling in "
        f"{time.perf_counter() - start:.1f} s")
    if plan.resume and (out / CHECKPOINT).exists():
        run.load_checkpoint(out / CHECKPOINT)
        log(f"resumed after epoch {run.epoch}")
    else:
        run.record(run.measure(start))
    return run


def _run_epochs(run: _Run, plan: _Plan, start: float, log: TrainingLog, out: Path) -> None:
    """Epochs until ``plan.epochs``, the time limit (counted from ``start``) or the
    patience; ``run.history.stopped`` says why, if training stopped early."""
    deadline = start + (plan.time_limit if plan.time_limit is not None else np.inf)
    bar = _progress_bar(plan.epochs, min(run.epoch, plan.epochs), plan.progress)
    try:
        while run.epoch < plan.epochs:
            stopped = _epoch(run, plan, start, deadline, bar)
            if stopped:
                run.history.stopped = stopped
                break
    except KeyboardInterrupt:
        log(f"interrupted in epoch {run.epoch + 1}; the best weights (epoch "
            f"{run.history.best_epoch}) are in {out}")
        raise
    finally:
        if bar is not None:
            bar.close()


def _epoch(run: _Run, plan: _Plan, start: float, deadline: float, bar) -> str:
    """One epoch, measured, recorded and checkpointed (none once the deadline has
    passed); why training stops after it, or "" to go on."""
    time_limit = f"time limit of {plan.time_limit} s"
    if time.perf_counter() > deadline:  # no epoch without updates
        return time_limit
    finished = run.run_epoch(deadline)
    run.epoch += 1
    row = run.measure(start)
    run.record(row)
    run.save_checkpoint()
    if bar is not None:
        bar.set_postfix({k.replace("_rmse", ""): f"{v:.3g}" for k, v in row.items()
                         if "rmse" in k})
        bar.update(1)
    if not finished:
        return time_limit
    if plan.patience is not None and run.epoch - run.history.best_epoch >= plan.patience:
        return f"no better test error in {plan.patience} epochs"
    return ""
