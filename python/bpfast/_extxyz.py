"""Extended XYZ output with every digit, for ``bpfast predict``.

ASE's extxyz writer rounds to 8 decimals; predictions are written here with the
shortest repr that reads back to the same double. ``ase.io.read`` reads the files.
"""

from __future__ import annotations

from typing import List, Optional

import numpy as np

__all__ = ["COMMITTEE_COLUMNS", "write_extxyz"]

#: per-atom committee spreads written from ``atoms.arrays``: (name, columns)
COMMITTEE_COLUMNS = (("forces_std", 3), ("force_spread", 1), ("energies_std", 1))


def _info_value(value) -> Optional[str]:
    """An extended-XYZ comment-line value, or None for what cannot be written."""
    if isinstance(value, (bool, np.bool_)):
        return "T" if value else "F"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    arr = np.asarray(value)
    if arr.dtype.kind in "if" and arr.ndim == 1 and arr.size:
        return '"' + " ".join(repr(float(x)) if arr.dtype.kind == "f" else str(int(x))
                              for x in arr) + '"'
    return None


def write_extxyz(stream, images) -> None:
    """Extended XYZ with every digit (shortest exact repr; ASE's writer keeps 8 decimals).

    Per frame: Lattice (periodic directions only), pbc, the calculator's energy,
    free_energy and stress (9 numbers), the scalar ``atoms.info`` entries; columns
    species, pos, then momenta, forces and per-atom energies when present, and the
    committee spreads of ``atoms.arrays`` (:data:`COMMITTEE_COLUMNS`).
    """
    for atoms in images:
        results = dict(getattr(atoms.calc, "results", {}) or {})
        n = len(atoms)
        columns = [("species", "S", 1, np.array(atoms.get_chemical_symbols(), dtype=object)),
                   ("pos", "R", 3, atoms.positions)]
        if atoms.has("momenta") and np.any(atoms.get_momenta()):
            columns.append(("momenta", "R", 3, atoms.get_momenta()))
        if "forces" in results:
            columns.append(("forces", "R", 3, np.asarray(results["forces"])))
        if "energies" in results:
            columns.append(("energies", "R", 1, np.asarray(results["energies"])))
        for key, width in COMMITTEE_COLUMNS:
            if key in atoms.arrays:
                columns.append((key, "R", width, atoms.arrays[key]))
        head: List[str] = []
        if np.asarray(atoms.pbc).any():
            head.append('Lattice="' + " ".join(repr(float(x)) for x in atoms.cell[:].ravel())
                        + '"')
        head.append("Properties=" + ":".join(f"{name}:{kind}:{k}"
                                             for name, kind, k, _ in columns))
        for key in ("energy", "free_energy"):
            if key in results:
                head.append(f"{key}={float(results[key])!r}")
        if "stress" in results:
            s = np.asarray(results["stress"], dtype=np.float64)
            if s.shape == (6,):
                xx, yy, zz, yz, xz, xy = s
                s = np.array([[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]])
            head.append('stress="' + " ".join(repr(float(x)) for x in s.ravel()) + '"')
        reserved = {"energy", "free_energy", "stress", "lattice", "properties", "pbc"}
        for key, value in atoms.info.items():
            text = _info_value(value)
            if text is not None and key.lower() not in reserved and key.isidentifier():
                head.append(f"{key}={text}")
        head.append('pbc="' + " ".join("T" if p else "F" for p in atoms.pbc) + '"')
        lines = [str(n), " ".join(head)]
        table = np.hstack([np.asarray(values, dtype=np.float64).reshape(n, width)
                           for _, _, width, values in columns[1:]])
        symbols = columns[0][3]
        for symbol, row in zip(symbols, table.tolist()):  # repr: shortest exact digits
            lines.append(f"{symbol:<2s} " + " ".join(map(repr, row)))
        stream.write("\n".join(lines) + "\n")
