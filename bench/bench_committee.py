"""Cost of a committee relative to one of its members, in one run.

    python bench/bench_committee.py                      # wall clock, 8 members
    python bench/bench_committee.py --callgrind /tmp/bpfast-callgrind   # + instructions

Structure: water, rattled_liquid_192 of ../shared/reference/H2O_RPBE-D3 repeated 2x2x4
(3,072 atoms), one thread. Committee: copies of the H2O_RPBE-D3 potential whose weights
are perturbed per member (the same symmetry functions and scaling, as members trained
with different seeds). Compared, each as committee / one member:

- energy: energy-only committee (mean and energy spread) vs an energy-only member;
- mean forces: the mean forces and energy spread (forces_std=False) vs a member's forces;
- member forces: every member's forces and the force spread vs a member's forces;
- memory: peak resident memory of a process doing one such call, committee minus member.

Wall clock is the best of --repeats calls after one warm-up; the machine may be shared,
so --callgrind also counts the instructions of one call (inside Potential::compute and
Committee::compute) with valgrind's callgrind on an unstripped build of the core
(configured into the given directory as bench/count_instructions.py does; valgrind knows
no AVX-512, so these are the 4-lane kernels' counts). Needs ../shared (or $BPFAST_SHARED).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, SHARED, base_frame, cpu_model  # noqa: E402

POTENTIAL = "H2O_RPBE-D3"

#: name -> (committee?, compute keywords)
CASES = {
    "member energy": (False, {"forces": False}),
    "member forces": (False, {"forces": True}),
    "committee energy": (True, {"forces": False}),
    "committee mean forces": (True, {"forces": True, "forces_std": False}),
    "committee member forces": (True, {"forces": True}),
}
#: ratio name -> (committee case, member case, goal)
RATIOS = {
    "energy and energy spread": ("committee energy", "member energy", 1.15),
    "mean forces and energy spread": ("committee mean forces", "member forces", 1.15),
    "member forces (force spread)": ("committee member forces", "member forces", 3.0),
}


def perturbed_members(source: Path, root: Path, count: int, relative: float = 0.02) -> list:
    """`count` copies of the potential in `source`, weights times 1 + relative N(0, 1)."""
    from bpfast.testing import perturbed_copy

    return [str(perturbed_copy(source, root / f"member{k}", seed=k, scale=relative))
            for k in range(count)]


def water(path: Path) -> None:
    """The benchmark structure as arrays in `path` (.npz)."""
    atoms = base_frame(POTENTIAL).repeat((2, 2, 4))
    np.savez(path, positions=atoms.positions, numbers=atoms.numbers.astype(np.int32),
             cell=atoms.cell[:])


# One case in a fresh process: its time (or nothing, under callgrind) and peak memory.
WORKER = """
import sys, json, time, resource, warnings
sys.path[:0] = {paths!r}
import numpy as np
import bpfast
warnings.simplefilter("ignore")
s = np.load({structure!r})
dirs = {dirs!r}
model = bpfast.load_committee(dirs) if {committee!r} else bpfast.load(dirs[0])
args = (s["positions"], s["numbers"], s["cell"], True)
kwargs = dict({kwargs!r}, threads=1)
def resident_kib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() // 1024
before = resident_kib()
times = []
for _ in range({repeats} + 1):
    t0 = time.perf_counter()
    model.compute(*args, **kwargs)
    times.append(time.perf_counter() - t0)
print(json.dumps({{"seconds": min(times[1:]) if len(times) > 1 else times[0],
                  "extra_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before}}))
"""


def run_case(name: str, dirs: list, structure: Path, repeats: int, work: Path,
             paths: list, valgrind: bool = False) -> dict:
    committee, kwargs = CASES[name]
    if not committee:
        dirs = dirs[:1]
    script = work / f"case_{name.replace(' ', '_')}.py"
    script.write_text(WORKER.format(paths=paths, structure=str(structure), dirs=dirs,
                                    committee=committee, kwargs=kwargs,
                                    repeats=0 if valgrind else repeats))
    command = [sys.executable, "-S" if valgrind else "-B", str(script)]
    out_file = work / f"callgrind.{script.stem}"
    if valgrind:
        command = ["valgrind", "--tool=callgrind", "--collect-atstart=no",
                   "--toggle-collect=*Potential::compute(*",
                   "--toggle-collect=*Committee::compute(*",
                   f"--callgrind-out-file={out_file}"] + command
    run = subprocess.run(command, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"{name} failed:\n{run.stderr[-3000:]}")
    result = json.loads(run.stdout.strip().splitlines()[-1])
    if valgrind:
        totals = [line for line in out_file.read_text().splitlines()
                  if line.startswith(("totals:", "summary:"))]
        result["instructions"] = int(totals[-1].split()[1])
    return result


def shadow_package(core: Path, work: Path) -> Path:
    """A copy of python/bpfast (symlinks) with the unstripped module `core`."""
    shadow = work / "shadow" / "bpfast"
    shadow.mkdir(parents=True)
    for f in (REPO / "python" / "bpfast").iterdir():
        if not f.name.startswith("_core"):
            (shadow / f.name).symlink_to(f)
    (shadow / core.name).symlink_to(core)
    return shadow.parent


def report(results: dict, key: str, unit: str, scale: float) -> None:
    for name in CASES:
        print(f"  {name:<26} {results[name][key] * scale:>14,.3f} {unit}")
    for label, (num, den, goal) in RATIOS.items():
        ratio = results[num][key] / results[den][key]
        verdict = "meets" if ratio <= goal else "misses"
        print(f"  {label:<32} {ratio:5.2f}x one member ({verdict} the goal <= {goal:g}x)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--members", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=5, help="timed calls per case")
    ap.add_argument("--callgrind", type=Path, metavar="BUILD",
                    help="also count instructions, with an unstripped core built in BUILD")
    args = ap.parse_args(argv)
    print(f"CPU: {cpu_model()}")
    print(f"{POTENTIAL} water, rattled_liquid_192 x 2x2x4 = 3072 atoms, one thread, "
          f"{args.members} members")
    with tempfile.TemporaryDirectory(prefix="bpfast-committee-") as tmp:
        work = Path(tmp)
        structure = work / "water.npz"
        water(structure)
        dirs = perturbed_members(SHARED / "potentials" / POTENTIAL, work, args.members)
        installed: list = []  # the installed bpfast
        timed = {name: run_case(name, dirs, structure, args.repeats, work, installed)
                 for name in CASES}
        print("wall clock (best of the timed calls):")
        report(timed, "seconds", "s", 1.0)
        one = timed["member forces"]["extra_kib"] / 1024
        many = timed["committee member forces"]["extra_kib"] / 1024
        needed = (args.members - 1) * 3072 * 8 * (3 + 3 + 3 + 1) / 2**20
        print(f"memory: a call's peak above the resident memory before it: {one:.1f} MiB for "
              f"one member's forces, {many:.1f} MiB for {args.members} members' ({many - one:+.1f}"
              f" MiB; {args.members - 1} more members' forces in the result, the force buffer, "
              f"the stacked arrays and atomic energies take {needed:.1f} MiB)")
        if args.callgrind:
            sys.path.insert(0, str(Path(__file__).resolve().parent))
            from count_instructions import build_core

            package = shadow_package(build_core(args.callgrind), work)
            paths = [str(package), sysconfig.get_paths()["purelib"]]
            counted = {name: run_case(name, dirs, structure, 0, work, paths, valgrind=True)
                       for name in CASES}
            print("instructions of one call (callgrind, 4-lane kernels):")
            report(counted, "instructions", "M", 1e-6)
    return 0


if __name__ == "__main__":
    sys.exit(main())
