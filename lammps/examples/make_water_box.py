"""Writes a LAMMPS data file (units metal, atom_style atomic) of liquid-like water.

    python make_water_box.py water.data                  # 6x6x6 = 216 molecules, 648 atoms
    python make_water_box.py water.data --molecules 20 20 20 --seed 3

Molecules sit on a simple cubic lattice at 1.0 g/cm^3 (spacing 3.104 Å) with random
orientations (O-H 0.9572 Å, H-O-H 104.52°); atom type 1 is O, type 2 is H. The lattice is
no liquid: minimise and equilibrate before production (water_nvt.lmp does).
Needs only NumPy.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

MASS = {"O": 15.999, "H": 1.008}
SPACING = (18.015 / 6.02214076e23 / 1.0 * 1e24) ** (1.0 / 3.0)  # Å per molecule at 1 g/cm^3
R_OH, ANGLE_HOH = 0.9572, np.radians(104.52)


def random_rotations(rng: np.random.Generator, n: int) -> np.ndarray:
    """n uniformly random rotation matrices (from random unit quaternions)."""
    q = rng.normal(size=(n, 4))
    q /= np.linalg.norm(q, axis=1)[:, None]
    w, x, y, z = q.T
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
        np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
        np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1),
    ], axis=1)


def water_box(molecules=(6, 6, 6), seed=1):
    """(positions n x 3 in Å, types n, box lengths 3) for the given lattice of molecules."""
    rng = np.random.default_rng(seed)
    half = ANGLE_HOH / 2
    local = np.array([[0.0, 0.0, 0.0],
                      [R_OH * np.sin(half), 0.0, R_OH * np.cos(half)],
                      [-R_OH * np.sin(half), 0.0, R_OH * np.cos(half)]])
    local -= local.mean(axis=0)
    sites = np.array(np.meshgrid(*(np.arange(m) for m in molecules), indexing="ij"))
    sites = (sites.reshape(3, -1).T + 0.5) * SPACING
    rotations = random_rotations(rng, len(sites))
    positions = sites[:, None, :] + np.einsum("mij,aj->mai", rotations, local)
    types = np.tile([1, 2, 2], len(sites))
    return positions.reshape(-1, 3), types, np.array(molecules) * SPACING


def write_data(path: Path, positions, types, box) -> None:
    lines = [f"water: {len(types) // 3} molecules at 1 g/cm^3 (make_water_box.py)", "",
             f"{len(types)} atoms", "2 atom types", ""]
    lines += [f"0.0 {length:.10f} {a}lo {a}hi" for length, a in zip(box, "xyz")]
    lines += ["", "Masses", "", f"1 {MASS['O']}  # O", f"2 {MASS['H']}  # H", "",
              "Atoms # atomic", ""]
    lines += [f"{i + 1} {t} {x:.10f} {y:.10f} {z:.10f}"
              for i, (t, (x, y, z)) in enumerate(zip(types, positions))]
    path.write_text("\n".join(lines) + "\n")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output", type=Path)
    parser.add_argument("--molecules", type=int, nargs=3, default=[6, 6, 6],
                        metavar=("NX", "NY", "NZ"), help="molecules along x, y, z")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    positions, types, box = water_box(tuple(args.molecules), args.seed)
    write_data(args.output, positions, types, box)
    print(f"{args.output}: {len(types)} atoms, box {box[0]:.3f} x {box[1]:.3f} x {box[2]:.3f} Å")


if __name__ == "__main__":
    main()
