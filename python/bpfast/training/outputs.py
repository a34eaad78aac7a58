"""What training writes besides the potential: learning curve (CSV, PNG) and log."""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from ..units import energy_factor, length_factor

__all__ = ["History", "TrainingLog", "plot_learning_curve"]

#: Columns of learning_curve.csv in the data's units (RMSE of the energy per atom and
#: of the force components); "" where there is nothing to measure.
_COLUMNS = ("epoch", "time", "cpu_time", "energy_rmse_train", "energy_rmse_test",
            "force_rmse_train", "force_rmse_test")


@dataclass
class History:
    """One row per epoch (epoch 0: the initial weights): the RMSEs in the data's
    units (energy per atom, force components), ``time`` seconds since the start."""

    rows: List[Dict[str, float]] = field(default_factory=list)
    units: Optional[Tuple[str, str]] = None
    best_epoch: int = 0
    stopped: str = ""

    def column(self, name: str) -> List[float]:
        return [r.get(name, float("nan")) for r in self.rows]

    def converted(self, row: Dict[str, float]) -> Dict[str, float]:
        """The RMSEs of ``row`` in meV/atom and meV/Å (empty without known units)."""
        if self.units is None:
            return {}
        to_mev = 1000.0 * energy_factor(self.units[1])
        per_length = to_mev / length_factor(self.units[0])
        out = {}
        for name, value in row.items():
            if name.startswith("energy_rmse"):
                out[name + "_meV_atom"] = value * to_mev
            elif name.startswith("force_rmse"):
                out[name + "_meV_A"] = value * per_length
        return out

    def write_csv(self, path: Path) -> None:
        names = list(_COLUMNS)
        if self.units is not None:
            names += [c + ("_meV_atom" if c.startswith("energy") else "_meV_A")
                      for c in _COLUMNS[3:]]
        with open(path, "w", newline="") as f:
            out = csv.DictWriter(f, fieldnames=names, restval="", extrasaction="ignore")
            out.writeheader()
            for row in self.rows:
                out.writerow({**{k: _fmt(v) for k, v in row.items()},
                              **{k: _fmt(v) for k, v in self.converted(row).items()}})


def _fmt(value) -> str:
    return str(value) if isinstance(value, int) else f"{value:.10g}"


def plot_learning_curve(history: History, path: Path) -> Optional[str]:
    """PNG of the RMSEs per epoch; returns a message instead when matplotlib is
    not installed."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed: learning_curve.png not written"
    epochs = history.column("epoch")
    has_forces = any(r.get("force_rmse_train") is not None for r in history.rows)
    fig, axes = plt.subplots(1, 2 if has_forces else 1, figsize=(10 if has_forces else 5, 4),
                             squeeze=False)
    kinds = [("energy", "energy per atom")] + ([("force", "force")] if has_forces else [])
    for ax, (kind, label) in zip(axes[0], kinds):
        for split in ("train", "test"):
            ax.semilogy(epochs, history.column(f"{kind}_rmse_{split}"), "o-", label=split)
        ax.set_xlabel("epoch")
        ax.set_ylabel(f"RMSE of the {label}")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return None


class TrainingLog:
    """Lines with a time stamp appended to ``train.log`` (kept open while training)."""

    def __init__(self, path: Path, append: bool = False):
        self.path = path
        self._file = open(path, "a" if append else "w")
        self._start = time.perf_counter()

    def __call__(self, message: str) -> None:
        self._file.write(f"[{time.perf_counter() - self._start:9.1f} s] {message}\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()
