"""Accuracy of a potential trained on the water teacher–student set away from its training
conditions: other temperatures and densities.

    python bench/bench_training_transfer.py TRAINED_DIR [--frames 20] [--seed 1]

The training set (../shared/train/H2O_RPBE-D3) holds 300 K and 450 K frames with the
reference cell scaled by 0.98, 1.00 and 1.02. This script runs Langevin dynamics with the
teacher (the published H2O_RPBE-D3 potential of ../shared/potentials) from the first
test frame at conditions outside that range — 600 K at the reference density, and 300 K
with the cell scaled by 0.96 and by 1.04 — takes --frames frames of each (one every 20
steps after 400 steps of equilibration), labels them with the teacher's exact energies and
forces, and prints the trained potential's energy RMSE (meV/atom) and force RMSE (meV/Å)
on each set, beside those on the test set of the training conditions. Needs ../shared (or
$BPFAST_SHARED). Both potentials are in Bohr and Hartree.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SHARED, cpu_model  # noqa: E402

HARTREE_MEV = 27211.386245988
BOHR_ANGSTROM = 0.529177210903
CONDITIONS = {"600 K, cell x1.00": (600.0, 1.00), "300 K, cell x0.96": (300.0, 0.96),
              "300 K, cell x1.04": (300.0, 1.04)}


def md_frames(teacher_dir: Path, start, temperature: float, scale: float, frames: int,
              seed: int) -> list:
    """(positions, symbols, cell) in Bohr of `frames` Langevin frames of the teacher."""
    from bpfast.ase import BPCalculator
    from bpfast.md import run

    atoms = start.to_atoms("bohr", "hartree", results=False)
    atoms.set_cell(atoms.cell[:] * scale, scale_atoms=True)
    atoms.calc = BPCalculator(str(teacher_dir), length_unit="bohr", energy_unit="hartree")
    run(atoms, steps=400, timestep=0.5, ensemble="nvt", temperature=temperature, seed=seed,
        progress=False)
    out = []
    for _ in range(frames):
        run(atoms, steps=20, timestep=0.5, ensemble="nvt", temperature=temperature,
            velocities="keep", seed=seed + len(out) + 1, progress=False)
        out.append((atoms.positions / BOHR_ANGSTROM, atoms.get_chemical_symbols(),
                    atoms.cell[:] / BOHR_ANGSTROM))
    return out


def rmse(trained, teacher, frames) -> tuple:
    """(energy RMSE per atom, force RMSE) of `trained` against `teacher` (Hartree, Bohr)."""
    de, df = [], []
    for pos, sym, cell in frames:
        a = trained.compute(pos, sym, cell)
        b = teacher.compute(pos, sym, cell)
        de.append((a.energy - b.energy) / len(sym))
        df.append((a.forces - b.forces).ravel())
    return (float(np.sqrt(np.mean(np.square(de)))),
            float(np.sqrt(np.mean(np.square(np.concatenate(df))))))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("trained", type=Path, help="potential directory trained on the water set")
    p.add_argument("--frames", type=int, default=20, help="frames per condition (20)")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()

    import bpfast
    from bpfast.n2p2_io import read_input_data

    teacher_dir = SHARED / "potentials" / "H2O_RPBE-D3"
    test = read_input_data(SHARED / "train" / "H2O_RPBE-D3" / "test.data")
    trained, teacher = bpfast.load(args.trained), bpfast.load(teacher_dir)
    print(f"# {cpu_model()}  {args.trained}")
    print(f"{'frames':<34}{'n':>4}{'E meV/atom':>12}{'F meV/Å':>10}")
    sets = {"test set (300/450 K, x0.98-1.02)":
            [(s.positions, s.symbols, s.cell) for s in test]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bpfast.ExtrapolationWarning)
        for name, (temperature, scale) in CONDITIONS.items():
            sets[name] = md_frames(teacher_dir, test[0], temperature, scale, args.frames,
                                   args.seed)
        for name, frames in sets.items():
            e, f = rmse(trained, teacher, frames)
            print(f"{name:<34}{len(frames):>4}{e * HARTREE_MEV:>12.3f}"
                  f"{f * HARTREE_MEV / BOHR_ANGSTROM:>10.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
