"""Instructions per (pair, radial function) and per (triplet, angular function) of bpfast's
symmetry-function kernels, counted with valgrind's callgrind (repeatable on a loaded machine,
unlike timings).

    python bench/count_instructions.py --build /tmp/bpfast-callgrind     # water, 192 atoms

Steps: (1) builds the core unstripped (CMake RelWithDebInfo: the same -O3 code as a release
build, with symbols) into --build unless it is there; (2) writes two variants of the water
potential into a temporary directory, one with only its radial functions (type 2) and one
with only its Gaussian angular functions (type 3), unscaled and with random weights (the
network does not enter the count; non-zero dE/dG makes the gradient pass run); (3) runs
one compute() with forces of the base frame under callgrind for each, collecting only
inside Descriptor::values* and Descriptor::gradient*, and (4) divides each pass's
instructions by the number of (pair, radial function) or (triplet, angular function)
terms. Valgrind knows no AVX-512: under it the CPU looks like x86-64-v3, so these are the
4-lane (AVX2) kernels' counts. Needs valgrind, CMake, Ninja, pybind11 and cmeel-eigen, and
the n2p2 potentials in ../shared (or $BPFAST_SHARED).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, SHARED, base_frame  # noqa: E402

SCALING_KEYWORDS = ("scale_symmetry_functions", "center_symmetry_functions",
                    "scale_symmetry_functions_sigma", "scale_min_short", "scale_max_short")
PASSES = ("values", "gradient")


def build_core(build: Path) -> Path:
    """The unstripped _core module in `build` (configured and built when missing)."""
    import pybind11

    found = sorted(build.glob("_core*.so"))
    if found:
        return found[0]
    subprocess.run(["cmake", "-S", str(REPO), "-B", str(build), "-G", "Ninja",
                    "-DCMAKE_BUILD_TYPE=RelWithDebInfo", f"-DPython_EXECUTABLE={sys.executable}",
                    f"-Dpybind11_DIR={pybind11.get_cmake_dir()}"], check=True)
    subprocess.run(["cmake", "--build", str(build)], check=True)
    return sorted(build.glob("_core*.so"))[0]


def sf_lines(input_nn: str):
    """(line, central element, type, neighbour elements, cutoff) of every symfunction_short."""
    for line in input_nn.splitlines():
        cols = line.split("#")[0].split()
        if cols and cols[0] == "symfunction_short":
            sf_type = int(cols[2])
            neighbours = cols[3:4] if sf_type == 2 else cols[3:5]
            yield line, cols[1], sf_type, neighbours, float(cols[-1])


def write_variant(source: Path, directory: Path, sf_type: int) -> list:
    """A copy of the potential in `source` with only its SFs of `sf_type`, no scaling and
    random weights; returns their (central, neighbours, cutoff)."""
    text = (source / "input.nn").read_text()
    kept, lines = [], []
    for line in text.splitlines():
        cols = line.split("#")[0].split()
        if cols and cols[0] in SCALING_KEYWORDS:
            continue
        if cols and cols[0] == "symfunction_short":
            (sf,) = list(sf_lines(line))
            if sf[2] != sf_type:
                continue
            kept.append((sf[1], tuple(sf[3]), sf[4]))
        lines.append(line)
    directory.mkdir()
    (directory / "input.nn").write_text("\n".join(lines) + "\n")
    keywords = {}
    for line in text.splitlines():
        cols = line.split("#")[0].split()
        if cols:
            keywords.setdefault(cols[0], cols[1:])
    hidden = [int(v) for v in keywords["global_nodes_short"]]
    # wide statistics (no function counts as extrapolating; unused without scaling)
    rows = [f"{e + 1} {k + 1} -1e10 1e10 0.0 1.0" for e, symbol in enumerate(keywords["elements"])
            for k in range(sum(1 for sf in kept if sf[0] == symbol))]
    (directory / "scaling.data").write_text("\n".join(rows) + "\n")
    for symbol in keywords["elements"]:
        from ase.data import atomic_numbers

        sizes = [sum(1 for sf in kept if sf[0] == symbol), *hidden, 1]
        count = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
        weights = np.random.default_rng(count).normal(0.0, 0.1, count)
        (directory / f"weights.{atomic_numbers[symbol]:03d}.data").write_text(
            "".join(f"{w:.17g}\n" for w in weights))
    return kept


def term_counts(atoms, sfs: list) -> tuple:
    """Terms of the functions `sfs` in `atoms` (in the potential's units): pairs for
    radial functions, triplets (unordered neighbour pairs within the cutoff of the centre)
    for angular ones, and of those the triplets whose third side is within the cutoff too."""
    from collections import Counter

    from bpfast import neighbor_list

    symbols = np.array(atoms.get_chemical_symbols())
    rc = max(sf[2] for sf in sfs)
    i, j, D = neighbor_list(atoms.positions, rc, atoms.cell[:], True, threads=1)
    r = np.linalg.norm(D, axis=1)
    terms = close = 0
    for (central, neighbours, cutoff), copies in Counter(sfs).items():
        for centre in np.flatnonzero(symbols == central):
            rows = np.flatnonzero(i == centre)
            inside = rows[r[rows] < cutoff]
            if len(neighbours) == 1:
                terms += copies * int(np.sum(symbols[j[inside]] == neighbours[0]))
                continue
            a = inside[symbols[j[inside]] == neighbours[0]]
            b = inside[symbols[j[inside]] == neighbours[1]]
            if neighbours[0] == neighbours[1]:
                p, q = np.triu_indices(len(a), 1)
                p, q = a[p], a[q]
            else:
                p, q = (m.ravel() for m in np.meshgrid(a, b, indexing="ij"))
            terms += copies * len(p)
            close += copies * int(np.sum(np.linalg.norm(D[q] - D[p], axis=1) < cutoff))
    return terms, close


# Run with python -S: no .pth files, so an editable install's import hook cannot take
# bpfast from elsewhere; the packages come from the given directories.
DRIVER = """
import sys
sys.path[:0] = [{package!r}, {site!r}]
import warnings, numpy as np
import bpfast
warnings.simplefilter("ignore")
s = np.load({structure!r})
bpfast.load({potential!r}).compute(s["positions"], s["numbers"], s["cell"], True, threads=1)
"""


def callgrind(core: Path, potential: Path, structure: Path, work: Path) -> dict:
    """Instructions inside Descriptor::values* and Descriptor::gradient* (inclusive)."""
    # the Python package with the unstripped module, found before the installed one
    shadow = work / "shadow" / "bpfast"
    if not shadow.exists():
        shadow.mkdir(parents=True)
        for f in (REPO / "python" / "bpfast").iterdir():
            (shadow / f.name).symlink_to(f)
        (shadow / core.name).symlink_to(core)
    driver = work / f"driver_{potential.name}.py"
    driver.write_text(DRIVER.format(package=str(shadow.parent), site=sysconfig.get_paths()["purelib"],
                                    structure=str(structure), potential=str(potential)))
    out = work / f"callgrind.{potential.name}"
    run = subprocess.run(["valgrind", "--tool=callgrind", "--collect-atstart=no",
                    "--toggle-collect=*Descriptor::values(*", "--toggle-collect=*Descriptor::gradient(*",
                    f"--callgrind-out-file={out}", sys.executable, "-S", str(driver)],
                   capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"callgrind run failed:\n{run.stderr[-3000:]}")
    report = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", str(out)],
                            check=True, capture_output=True, text=True).stdout
    counts = dict.fromkeys(PASSES, 0)
    for line in report.splitlines():
        m = re.match(r"\s*([\d,]+)\s.*bpfast::Descriptor::(values|gradient)\(", line)
        if m:  # the public entry points include the narrow/wide kernels they call
            counts[m.group(2)] = max(counts[m.group(2)], int(m.group(1).replace(",", "")))
    return counts


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", type=Path, required=True, help="build directory of the unstripped core")
    ap.add_argument("--potential", default="H2O_RPBE-D3")
    args = ap.parse_args(argv)
    core = build_core(args.build)
    source = SHARED / "potentials" / args.potential
    atoms = base_frame(args.potential)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        structure = work / "structure.npz"
        # the reference frames are in the potential's units already
        np.savez(structure, positions=atoms.positions, numbers=atoms.numbers.astype(np.int32),
                 cell=atoms.cell[:])
        print(f"{args.potential}, {len(atoms)} atoms, one compute() with forces, 4-lane kernels")
        for sf_type, what in ((2, "pair, radial function"), (3, "triplet, angular function")):
            variant = work / f"type{sf_type}"
            sfs = write_variant(source, variant, sf_type)
            terms, close = term_counts(atoms, sfs)
            counts = callgrind(core, variant, structure, work)
            print(f"type {sf_type}: {len(sfs)} functions, {terms:,} ({what}) terms"
                  + (f" ({close:,} with r_jk < r_c)" if sf_type == 3 else ""))
            for name in PASSES:
                print(f"  {name:<9} {counts[name]:>14,} instructions = "
                      f"{counts[name] / terms:6.2f} per ({what})"
                      + (f", {counts[name] / close:6.2f} per term with r_jk < r_c" if sf_type == 3 else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
