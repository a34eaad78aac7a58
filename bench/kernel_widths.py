"""Speed of bpfast's 4-lane and 8-lane kernels, and of the automatic choice, on this CPU.

    python bench/kernel_widths.py                         # water 3072, Cu2S 3456, anisole 2048
    python bench/kernel_widths.py --potentials H2O_RPBE-D3 --rounds 9 --json out.json

One process, one thread. Each round runs one call with every width (4, 8, automatic) in
turn, so that load from other processes falls on all widths alike; each width's figure is
its best call over the rounds (noise only ever adds time). Prints, per potential, the
microseconds per atom of the whole call (wall time, and CPU time of the process, which a
loaded machine inflates less), of its neighbour-list and symmetry-function phases (wall), and
the CPU time of bpfast.neighbor_list() alone (the candidate scan is the part of the
neighbour list that comes in two widths), whether the widths give bitwise equal
energies and forces, and, where n2p2 was timed on this CPU model (N2P2_US_PER_ATOM in
_common.py), n2p2's one-thread time divided by each width's CPU time. Needs the n2p2
potentials and example structures in ../shared (or $BPFAST_SHARED). Where the CPU lacks
8-lane kernels, the "8" row runs 4 lanes.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SHARED, base_frame, cpu_model, n2p2_reference, supercell  # noqa: E402

#: potential -> repetitions of its base frame (water 3,072 atoms, Cu2S 3,456, anisole 2,048)
REPEATS = {"H2O_RPBE-D3": (2, 2, 4), "Cu2S_PBE": (2, 3, 4), "Anisole_SCAN": (2, 2, 2)}
WIDTHS = {"4": 4, "8": 8, "auto": 0}


def measure(potential: str, atoms_wanted: int, rounds: int) -> dict:
    import bpfast
    from bpfast import _core

    atoms = supercell(potential, atoms_wanted) if atoms_wanted else base_frame(potential).repeat(
        REPEATS[potential])
    pos, numbers, cell = atoms.positions.copy(), atoms.numbers.astype(np.int32), atoms.cell.array.copy()
    pot = bpfast.load(SHARED / "potentials" / potential)
    n = len(pos)
    best = {w: {"total": np.inf, "cpu": np.inf, "neighbors": np.inf, "symmetry_functions": np.inf,
                "neighbor_list_cpu": np.inf} for w in WIDTHS}
    cutoff = pot.cutoff
    results = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bpfast.ExtrapolationWarning)
        for round_ in range(rounds + 1):  # round 0 warms up
            for name, lanes in WIDTHS.items():
                kernels = _core.KernelOptions(simd_width=lanes)
                t0, c0 = time.perf_counter(), time.process_time()
                res = pot.compute(pos, numbers, cell, True, threads=1, _kernels=kernels)
                seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
                c0 = time.process_time()
                bpfast.neighbor_list(pos, cutoff, cell, True, threads=1, _kernels=kernels)
                nl_cpu = time.process_time() - c0
                results[name] = res
                if round_ == 0:
                    continue
                b = best[name]
                b["total"] = min(b["total"], seconds)
                b["cpu"] = min(b["cpu"], cpu)
                b["neighbor_list_cpu"] = min(b["neighbor_list_cpu"], nl_cpu)
                for phase in ("neighbors", "symmetry_functions"):
                    b[phase] = min(b[phase], res.timings[phase])
    same = {f"{a}=={b}": bool(results[a].energy == results[b].energy and
                              np.array_equal(results[a].forces, results[b].forces))
            for a, b in (("4", "8"), ("auto", "4"), ("auto", "8"))}
    return {"potential": potential, "atoms": n, "rounds": rounds,
            "lanes": {name: _core.KernelOptions(simd_width=lanes).lanes
                      for name, lanes in WIDTHS.items()},
            "us_per_atom": {w: {k: v / n * 1e6 for k, v in b.items()} for w, b in best.items()},
            "bitwise_equal": same,
            "energy_difference_4_8": abs(results["4"].energy - results["8"].energy)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--potentials", nargs="+", default=list(REPEATS))
    ap.add_argument("--atoms", type=int,
                    help="about this many atoms in every supercell (default: the repetitions above)")
    ap.add_argument("--rounds", type=int, default=7, help="timed rounds (default 7)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)
    from bpfast import _core
    from bpfast._kernels import kernel_summary

    choice = _core.kernel_choice()
    print(f"CPU: {cpu_model()}")
    print(f"automatic {kernel_summary(choice)} ({choice['reason']})")
    rows = []
    for potential in args.potentials:
        r = measure(potential, args.atoms, args.rounds)
        rows.append(r)
        print(f"\n{potential}, {r['atoms']} atoms, 1 thread, best of {r['rounds']} interleaved "
              f"calls (us/atom)")
        print(f"  {'width':<6}{'lanes':>6}{'wall':>9}{'CPU':>9}{'neighbours':>12}{'SFs':>9}"
              f"{'neighbor_list() CPU':>21}{'n2p2 / CPU':>12}")
        ref = n2p2_reference(cpu_model()).get((potential, 1))
        for w, t in r["us_per_atom"].items():
            ratio = f"{ref / t['cpu']:.2f}x" if ref else "-"
            print(f"  {w:<6}{r['lanes'][w]:>6}{t['total']:>9.2f}{t['cpu']:>9.2f}"
                  f"{t['neighbors']:>12.3f}{t['symmetry_functions']:>9.2f}"
                  f"{t['neighbor_list_cpu']:>21.3f}{ratio:>12}")
        print("  bitwise equal: " + ", ".join(f"{k} {v}" for k, v in r["bitwise_equal"].items()) +
              f"; |E4 - E8| = {r['energy_difference_4_8']:.3g}")
    if args.json:
        meta = {"cpu": cpu_model(), "kernel_choice": choice,
                "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        args.json.write_text(json.dumps({"meta": meta, "results": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
