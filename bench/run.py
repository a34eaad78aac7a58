"""Speed and memory of bpfast, with neighbour-list peers measured in the same run.

    python bench/run.py                      # water, Cu2S, anisole; 10^3 .. 10^5 atoms; 1, 2 threads
    python bench/run.py --sizes 1000 1000000 --potentials H2O_RPBE-D3 --threads 2
    python bench/run.py --smoke              # a few seconds: 1000 water atoms, 1 repeat

Prints, per potential, size and thread count: microseconds per atom, in total and per phase
(neighbours, symmetry functions, network, forces), each the best of the timed calls after
one warm-up call (whose time is printed as "first"; at least --repeats calls, more for small
systems until they took --min-seconds; medians are in the JSON), atoms*steps/s, peak RSS and
bytes per atom above the structure's own arrays; the speed-up of each phase over one
thread; and, when vesin / matscipy / ASE are installed, the time of the same full
neighbour list with each of them. Every size and thread count runs in a fresh process so
that its peak memory is its own. Writes JSON and a PNG plot (matplotlib) to --out. Needs
the n2p2 potentials and example structures in ../shared (or $BPFAST_SHARED).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import BASE_FRAMES, SHARED, cpu_model, n2p2_reference, supercell  # noqa: E402

def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def worker(potential: str, atoms_wanted: int, threads: int, repeats: int,
           min_seconds: float = 2.0) -> dict:
    """One measurement, in its own process."""
    import warnings

    import bpfast

    atoms = supercell(potential, atoms_wanted)
    pos, numbers, cell = atoms.positions.copy(), atoms.numbers.astype(np.int32), atoms.cell.array.copy()
    forces = np.zeros_like(pos)  # what an MD code holds anyway
    pot = bpfast.load(SHARED / "potentials" / potential)
    baseline = rss_bytes()
    times, phases = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bpfast.ExtrapolationWarning)
        # One warm-up call (it starts the threads and maps the memory that later calls
        # reuse, as the first step of an MD run does), then at least `repeats` timed
        # calls, more for small systems until they took min_seconds (at most 50).
        while len(times) < 1 + repeats or (sum(times[1:]) < min_seconds and len(times) < 51):
            t0 = time.perf_counter()
            res = pot.compute(pos, numbers, cell, True, stress=True, threads=threads)
            times.append(time.perf_counter() - t0)
            phases.append(res.timings)
            forces[:] = res.forces
            del res
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    n = len(pos)
    first, times, phases = times[0], times[1:], phases[1:]
    # The best of the timed calls, in total and for each phase separately: on a shared
    # machine noise only ever adds time (medians are kept in the JSON too).
    seconds = min(times)
    return {
        "potential": potential, "atoms": n, "threads": threads, "calls": len(times),
        "seconds": seconds, "us_per_atom": seconds / n * 1e6,
        "first_call_seconds": first, "median_seconds": float(np.median(times)),
        "phase_us_per_atom": {p: min(ph[p] for ph in phases) / n * 1e6 for p in phases[0]},
        "phase_median_us_per_atom": {p: float(np.median([ph[p] for ph in phases])) / n * 1e6
                                     for p in phases[0]},
        "atom_steps_per_s": n / seconds,
        "peak_rss_bytes": peak, "bytes_per_atom": max(peak - baseline, 0) / n,
    }


def peers(potential: str, atoms_wanted: int) -> dict:
    """Seconds for the same full neighbour list (i, j, D) with each available package."""
    import bpfast

    atoms = supercell(potential, atoms_wanted)
    cutoff = bpfast.load(SHARED / "potentials" / potential).cutoff
    pos, cell = atoms.positions, atoms.cell.array
    out = {}

    def best(fn, repeats=3):
        t = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            t.append(time.perf_counter() - t0)
        return min(t)

    out["bpfast"] = best(lambda: bpfast.neighbor_list(pos, cutoff, cell, True, threads=1))
    try:
        import vesin

        nl = vesin.NeighborList(cutoff=cutoff, full_list=True)
        out["vesin"] = best(lambda: nl.compute(points=pos, box=cell, periodic=True, quantities="ijD"))
    except ImportError:
        pass
    try:
        from matscipy.neighbours import neighbour_list as msp

        out["matscipy"] = best(lambda: msp("ijD", atoms, cutoff))
    except ImportError:
        pass
    if len(atoms) <= 200_000:
        from ase.neighborlist import neighbor_list as ase_nl

        out["ase"] = best(lambda: ase_nl("ijD", atoms, cutoff), repeats=1)
    return {"potential": potential, "atoms": len(atoms), "cutoff": cutoff, "seconds": out}


def thread_speedups(results: list) -> list:
    """For every potential and size measured on one thread and on more: the ratio of the
    one-thread time to the n-thread time, in total and per phase (phases are per-thread
    times, so each ratio is the phase's throughput gain)."""
    one = {(r["potential"], r["atoms"]): r for r in results if r["threads"] == 1}
    rows = []
    for r in results:
        base = one.get((r["potential"], r["atoms"]))
        if r["threads"] == 1 or base is None:
            continue
        ratio = {"total": base["seconds"] / r["seconds"]}
        for p, v in r["phase_us_per_atom"].items():
            ratio[p] = base["phase_us_per_atom"][p] / v if v > 0 else float("nan")
        rows.append({"potential": r["potential"], "atoms": r["atoms"], "threads": r["threads"],
                     "speedup": ratio})
    return rows


def run_in_subprocess(flag: str, args: list) -> dict:
    proc = subprocess.run([sys.executable, __file__, flag, *map(str, args)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip().splitlines()[-1] if proc.stderr else "worker failed")
    return json.loads(proc.stdout)


def plot(results: list, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    keys = sorted({(r["potential"], r["threads"]) for r in results})
    for pot, th in keys:
        rows = sorted((r for r in results if r["potential"] == pot and r["threads"] == th),
                      key=lambda r: r["atoms"])
        ax.plot([r["atoms"] for r in rows], [r["us_per_atom"] for r in rows], "o-",
                label=f"{pot}, {th} thread{'s' if th > 1 else ''}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("atoms")
    ax.set_ylabel("µs per atom (energy + forces + stress)")
    ax.set_title("bpfast, one evaluation")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--potentials", nargs="+", default=list(BASE_FRAMES))
    ap.add_argument("--sizes", nargs="+", type=int, default=[1000, 10_000, 100_000])
    ap.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    ap.add_argument("--repeats", type=int, default=3,
                    help="timed calls (at least) after one warm-up call; the best is reported")
    ap.add_argument("--min-seconds", type=float, default=2.0,
                    help="small systems: more timed calls until they took this long (max 50)")
    ap.add_argument("--no-peers", action="store_true", help="skip the neighbour-list peers")
    ap.add_argument("--smoke", action="store_true", help="seconds-long run: 1000 water atoms")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    ap.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
    ap.add_argument("--peer-worker", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        pot, n, th, rep, min_s = args.worker
        print(json.dumps(worker(pot, int(n), int(th), int(rep), float(min_s))))
        return 0
    if args.peer_worker:
        print(json.dumps(peers(args.peer_worker[0], int(args.peer_worker[1]))))
        return 0
    if not (SHARED / "potentials").is_dir():
        print(f"bench/run.py: n2p2 potentials not found in {SHARED}", file=sys.stderr)
        return 2
    if args.smoke:
        args.potentials, args.sizes, args.threads, args.repeats = ["H2O_RPBE-D3"], [1000], [1], 1
        args.min_seconds = 0.0
    args.out.mkdir(parents=True, exist_ok=True)

    import bpfast
    from bpfast import _core
    from bpfast._kernels import kernel_summary

    meta = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "cpu": cpu_model(), "kernels": _core.kernel_choice(),
            "python": platform.python_version(), "bpfast": bpfast.__version__,
            "command": " ".join([Path(sys.executable).name, *sys.argv])}
    print(f"# {meta['date']}  {meta['machine']}  {meta['cpu']}  {meta['command']}")
    k = meta["kernels"]
    print(f"# {kernel_summary(k)} ({k['reason']})")
    results, peer_results = [], []
    header = (f"{'potential':<14}{'atoms':>9}{'thr':>4}{'µs/atom':>9}{'neigh':>7}{'SF':>7}"
              f"{'NN':>6}{'forces':>7}{'first':>7}{'atom·steps/s':>14}{'peak MB':>9}{'B/atom':>8}"
              f"{'n2p2/us':>9}")
    print(header)
    n2p2 = n2p2_reference(cpu_model())
    for pot in args.potentials:
        for n in args.sizes:
            for th in args.threads:
                r = run_in_subprocess("--worker", [pot, n, th, args.repeats, args.min_seconds])
                results.append(r)
                ph = r["phase_us_per_atom"]
                ref = n2p2.get((pot, th))
                ratio = f"{ref / r['us_per_atom']:.2f}x" if ref else "-"
                print(f"{pot:<14}{r['atoms']:>9}{th:>4}{r['us_per_atom']:>9.1f}"
                      f"{ph['neighbors']:>7.1f}{ph['symmetry_functions']:>7.1f}{ph['network']:>6.1f}"
                      f"{ph['forces']:>7.1f}{r['first_call_seconds'] / r['atoms'] * 1e6:>7.1f}"
                      f"{r['atom_steps_per_s']:>14.0f}"
                      f"{r['peak_rss_bytes'] / 1e6:>9.0f}{r['bytes_per_atom']:>8.0f}{ratio:>9}",
                      flush=True)
            if not args.no_peers and not args.smoke:
                peer_results.append(run_in_subprocess("--peer-worker", [pot, n]))
    speedups = thread_speedups(results)
    if speedups:
        print("\n# speed-up over one thread: 1-thread time / n-thread time, total and per phase")
        for row in speedups:
            cells = "  ".join(f"{k} {v:.2f}" for k, v in row["speedup"].items())
            print(f"{row['potential']:<14}{row['atoms']:>9}{row['threads']:>4}  {cells}")
    if peer_results:
        print("\n# full neighbour list (i, j, D), 1 thread, seconds; ratio = peer / bpfast")
        for p in peer_results:
            s = p["seconds"]
            cells = "  ".join(f"{k} {v:.4f}s ({v / s['bpfast']:.2f}x)" for k, v in s.items())
            print(f"{p['potential']:<14}{p['atoms']:>9}  cutoff {p['cutoff']:g}  {cells}")
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out_json = args.out / f"bench-{stamp}.json"
    out_json.write_text(json.dumps({"meta": meta, "results": results, "thread_speedups": speedups,
                                    "neighbor_lists": peer_results}, indent=1))
    try:
        plot(results, args.out / f"bench-{stamp}.png")
    except ImportError:
        print("(matplotlib not installed: no plot)")
    print(f"# wrote {out_json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
