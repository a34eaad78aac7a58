"""Training benchmark on the water teacher-student set of ../shared/train/H2O_RPBE-D3.

Trains the published architecture (input.nn of the set, its training keywords) on the 800
training frames, validates on the 220 test frames after every epoch and prints per epoch:
time, energy RMSE (meV/atom) and force RMSE (meV/Å) on both sets, then the peak memory
(max RSS) and the time to n2p2's final accuracy. n2p2's anchor (nnp-train, 2 MPI ranks):
58-60 s per epoch; test force RMSE 120/33/24.7/19.8/17.0/15.7 meV/Å after epochs
1/3/5/10/20/30; final energy 0.131 meV/atom, force 16.2 meV/Å.

    python bench/bench_training.py --threads 2 --time-limit 360 -o /tmp/water-train
"""

from __future__ import annotations

import os

# One BLAS thread and passive OpenMP waiting: the Kalman update (OpenBLAS) and the core
# (OpenMP) run one after the other, and on 2 cores their idle threads would otherwise
# spin against each other (measured: 12 instead of 17 s for an epoch of 200 frames).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

import argparse  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import shared_dir  # noqa: E402

N2P2_FINAL_FORCE = 16.2  # meV/Å on test.data
N2P2_FINAL_ENERGY = 0.131  # meV/atom
N2P2_SETUP, N2P2_EPOCH = 35.0, 59.0  # s, nnp-train with 2 MPI ranks on AMD EPYC Zen 4
N2P2_FORCE_BY_EPOCH = {1: 120.0, 3: 33.0, 5: 24.7, 10: 19.8, 20: 17.0, 30: 15.7}  # own split


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-o", "--output", default="bench-training-out", help="output directory")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--time-limit", type=float, default=360.0, help="seconds (default 360)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--optimizer", choices=("kalman", "adam"), default="kalman")
    p.add_argument("--decoupled", action="store_true", help="per-element Kalman filter")
    p.add_argument("--force-batch", type=int, default=64,
                   help="force components per Kalman update (default 64)")
    p.add_argument("--energy-batch", type=int, default=4,
                   help="structures per Kalman energy update (default 4)")
    p.add_argument("--force-fraction", type=float, default=0.0164,
                   help="fraction of the force components per epoch (default 0.0164, "
                        "4 times input.nn's 0.0041)")
    p.add_argument("--seed", type=int, default=None,
                   help="random seed (default: random_seed of input.nn)")
    p.add_argument("--no-energy-offset", action="store_true",
                   help="keep the output biases as drawn (no mean-energy start)")
    p.add_argument("--force-sample", type=int, default=100,
                   help="training frames whose force RMSE is measured per epoch (default 100)")
    p.add_argument("--train-frames", type=int, default=None,
                   help="use only the first N training frames")
    p.add_argument("--plot", metavar="PNG", default=None,
                   help="also plot the test errors against time beside n2p2's (matplotlib)")
    p.add_argument("--plot-only", action="store_true",
                   help="no training: plot OUTPUT/learning_curve.csv of an earlier run")
    args = p.parse_args(argv)
    curve = Path(args.output) / "learning_curve.csv"
    if args.plot_only:
        plot_against_n2p2(curve, Path(args.plot or "training_vs_n2p2.png"))
        return 0

    from bpfast.training import read_training_data, train

    d = shared_dir() / "train" / "H2O_RPBE-D3"
    start = time.perf_counter()
    data = read_training_data(d / "train.data")
    if args.train_frames:
        data = data[:args.train_frames]
    test = read_training_data(d / "test.data")
    print(f"read {len(data)} training and {len(test)} test frames in "
          f"{time.perf_counter() - start:.1f} s; {platform.processor() or platform.machine()}, "
          f"{args.threads} thread(s), {os.cpu_count()} cores")
    _, history = train(d / "input.nn", data, args.output, test=test, epochs=args.epochs,
                       time_limit=args.time_limit, optimizer=args.optimizer, seed=args.seed,
                       threads=args.threads, decoupled=args.decoupled,
                       force_batch=args.force_batch, force_sample=args.force_sample,
                       energy_batch=args.energy_batch, force_fraction=args.force_fraction,
                       energy_offset=not args.no_energy_offset,
                       units=("bohr", "hartree"))
    print(f"{'epoch':>5} {'time/s':>8} {'CPU/s':>8} {'E train':>9} {'E test':>9} {'F train':>9} "
          f"{'F test':>9}   (meV/atom, meV/Å)")
    reached = None
    for row in history.rows:
        c = history.converted(row)
        f_test = c.get("force_rmse_test_meV_A", float("nan"))
        e_test = c["energy_rmse_test_meV_atom"]
        print(f"{row['epoch']:5d} {row['time']:8.1f} {row.get('cpu_time', float('nan')):8.1f} "
              f"{c['energy_rmse_train_meV_atom']:9.3f} "
              f"{e_test:9.3f} {c.get('force_rmse_train_meV_A', float('nan')):9.2f} "
              f"{f_test:9.2f}")
        if reached is None and f_test <= N2P2_FINAL_FORCE and e_test <= N2P2_FINAL_ENERGY:
            reached = row["time"]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (max RSS): {peak:.0f} MiB")
    print("n2p2's final accuracy " + (f"reached after {reached:.0f} s" if reached is not None
                                      else "not reached") + (f"; {history.stopped}"
                                                             if history.stopped else ""))
    if args.plot:
        plot_against_n2p2(curve, Path(args.plot))
    return 0


def plot_against_n2p2(curve: Path, png: Path) -> None:
    """Test force and energy RMSE against wall time: bpfast's learning curve (CSV written
    by train) and nnp-train's figures of the same CPU model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.ticker import FixedLocator, NullFormatter, ScalarFormatter

    rows = np.genfromtxt(curve, delimiter=",", names=True)[1:]  # epoch 0: random weights
    n2p2_t = [N2P2_SETUP + N2P2_EPOCH * e for e in N2P2_FORCE_BY_EPOCH]
    fig, (ax_f, ax_e) = plt.subplots(1, 2, figsize=(9, 3.6), constrained_layout=True)
    ax_f.plot(rows["time"], rows["force_rmse_test_meV_A"], "o-", ms=3, label="bpfast")
    ax_f.plot(n2p2_t, list(N2P2_FORCE_BY_EPOCH.values()), "s--", ms=4,
              label="n2p2 nnp-train (own split)")
    ax_e.plot(rows["time"], rows["energy_rmse_test_meV_atom"], "o-", ms=3, label="bpfast")
    for ax, final, unit, y_ticks in ((ax_f, N2P2_FINAL_FORCE, "meV/Å", (10, 20, 50, 100)),
                                     (ax_e, N2P2_FINAL_ENERGY, "meV/atom", (0.1, 0.2, 0.5, 1))):
        ax.axhline(final, color="grey", lw=0.8, ls=":", label="n2p2 final (1,813 s)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        for axis, ticks in ((ax.xaxis, (20, 50, 100, 200, 500, 1000, 2000)), (ax.yaxis, y_ticks)):
            axis.set_major_locator(FixedLocator(ticks))
            axis.set_major_formatter(ScalarFormatter())
            axis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("wall time (s)")
        ax.legend(fontsize=8)
        ax.set_ylabel(f"test RMSE ({unit})")
    ax_f.set_title("forces")
    ax_e.set_title("energies")
    fig.savefig(png, dpi=110)
    print(f"plot: {png}")


if __name__ == "__main__":
    sys.exit(main())
