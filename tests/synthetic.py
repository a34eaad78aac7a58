"""Writers of small synthetic HDNNPs in n2p2 format, and random test structures.

The test-suite uses these so that it can run without ``../shared``.  Everything is
deterministic for a given ``seed`` / ``numpy.random.Generator``.

Public API::

    write_potential(directory, *, elements=("H", "O"), sf_types=SF_TYPES,
                    cutoff_type=6, cutoff_alpha=0.0, scaling="scalecenter",
                    activations=("t", "t", "l"), nodes=(6, 5), normalize_nodes=False,
                    normalisation=True, atom_energy=None, rc=4.0, seed=0,
                    scaling_structures=None, ...) -> pathlib.Path
    random_structure(rng, elements=("H", "O"), n_atoms=8, cell="triclinic",
                     density=0.05, box=None, min_dist=0.8, min_height=None)
        -> (positions, numbers, cell, pbc)
    default_scaling_structures(elements, rc, seed) -> list of structures
    write_structure_scaling(directory, structures, *, widen=1.0,
                            sigma_column=True) -> {symbol: (min, max, mean, sigma)}

A *structure* is a tuple ``(positions (N, 3), numbers (N,), cell (3, 3) or None,
pbc bool)``; cell rows are the lattice vectors.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Optional

import numpy as np

try:  # imported as a top-level module (tests/ on sys.path, pytest "prepend" mode)
    from numpy_reference import ATOMIC_NUMBERS, NumpyHDNNP
except ImportError:  # pragma: no cover - imported as part of a package
    from .numpy_reference import ATOMIC_NUMBERS, NumpyHDNNP

__all__ = [
    "ACTIVATION_LETTERS",
    "SCALING_MODES",
    "SF_TYPES",
    "Structure",
    "default_scaling_structures",
    "random_structure",
    "write_potential",
    "write_structure_scaling",
]

SF_TYPES = (2, 3, 9, 12, 13, 20, 21, 22, 23, 24, 25)
SCALING_MODES = ("none", "scale", "center", "scalecenter", "sigma")
ACTIVATION_LETTERS = ("l", "t", "s", "p", "r", "g", "c", "S", "e", "h")

#: (positions, numbers, cell or None, pbc)
Structure = tuple[np.ndarray, np.ndarray, Optional[np.ndarray], bool]

# --------------------------------------------------------------------------------------
# Random structures
# --------------------------------------------------------------------------------------


def _cell_heights(cell: np.ndarray) -> np.ndarray:
    volume = abs(np.linalg.det(cell))
    return np.array(
        [volume / np.linalg.norm(np.cross(cell[(k + 1) % 3], cell[(k + 2) % 3])) for k in range(3)]
    )


def random_structure(
    rng: np.random.Generator,
    elements: Sequence[str] = ("H", "O"),
    n_atoms: int = 8,
    cell="triclinic",
    density: float = 0.05,
    box: float | None = None,
    min_dist: float = 0.8,
    min_height: float | None = None,
) -> Structure:
    """Random, well separated atoms; periodic (cubic / triclinic) or a cluster.

    Parameters
    ----------
    rng: ``numpy.random.Generator`` (the only source of randomness).
    elements: element symbols; atoms are assigned round-robin (so every element
        occurs when ``n_atoms >= len(elements)``) and then shuffled.
    n_atoms: number of atoms.
    cell: ``None`` (cluster, non-periodic), ``"cubic"``, ``"triclinic"`` (random
        shears up to 0.3 of the edge, rows = lattice vectors) or an explicit 3x3
        array (periodic).
    density: atoms per volume, used when ``box`` is not given.  For clusters it
        defines the cube the atoms are placed in.
    box: edge length of the (cubic / pre-shear) box; overrides ``density``.
    min_dist: minimum distance between any two atoms, periodic images included.
    min_height: if given, the generated cell is scaled up uniformly so that every
        perpendicular cell height is at least this (use e.g. the largest cutoff to
        avoid an atom seeing its own images; needed for exactly-collinear-safe
        tests of the compact angular SF types 21/22/24/25).

    Returns
    -------
    positions (N, 3) float64, numbers (N,) int64, cell (3, 3) float64 or None, pbc bool.
    """
    if n_atoms < 1:
        raise ValueError("n_atoms must be >= 1")
    numbers = np.array([ATOMIC_NUMBERS[elements[k % len(elements)]] for k in range(n_atoms)])
    numbers = numbers[rng.permutation(n_atoms)]
    edge = box if box is not None else (n_atoms / density) ** (1.0 / 3.0)

    if cell is None:
        lattice = None
    elif isinstance(cell, str):
        if cell == "cubic":
            lattice = edge * np.eye(3)
        elif cell == "triclinic":
            shear = rng.uniform(-0.3, 0.3, size=3)
            lattice = np.array([[1.0, 0.0, 0.0], [shear[0], 1.0, 0.0], [shear[1], shear[2], 1.0]])
            lattice = edge * lattice  # unit lower-triangular: volume edge**3 kept
        else:
            raise ValueError(f"cell must be None, 'cubic', 'triclinic' or 3x3, got {cell!r}")
    else:
        lattice = np.array(cell, dtype=float).reshape(3, 3)
    if lattice is not None and min_height is not None:
        h = _cell_heights(lattice).min()
        if h < min_height:
            lattice = lattice * (min_height / h)
    if lattice is not None and _cell_heights(lattice).min() <= min_dist:
        raise ValueError("cell too small for min_dist")

    if lattice is not None:
        shifts = np.array(
            [(a, b, c) for a in (-1, 0, 1) for b in (-1, 0, 1) for c in (-1, 0, 1)], dtype=float
        ) @ lattice
    else:
        shifts = np.zeros((1, 3))

    positions = np.zeros((0, 3))
    attempts = 0
    while len(positions) < n_atoms:
        attempts += 1
        if attempts > 200000:
            raise RuntimeError("could not place atoms; lower the density or min_dist")
        frac = rng.uniform(0.0, 1.0, size=3)
        p = frac @ lattice if lattice is not None else edge * frac
        if len(positions):
            d = (positions[None, :, :] + shifts[:, None, :]) - p
            if np.min(np.einsum("kij,kij->ki", d, d)) < min_dist**2:
                continue
        positions = np.vstack([positions, p])
    return positions, numbers.astype(np.int64), lattice, lattice is not None


def default_scaling_structures(
    elements: Sequence[str], rc: float = 4.0, seed: int = 0
) -> list[Structure]:
    """Structures used by :func:`write_potential` to derive ``scaling.data``.

    Periodic cubic/triclinic cells of 6, 16 and 32 atoms at densities 0.02 ... 0.12
    (atoms per (rc/4)^3 volume unit) plus clusters of 2 ... 32 atoms, all with
    ``min_dist = 0.8 * rc / 4``.  Together with the default widening this keeps
    structures from :func:`random_structure` with a few or more atoms, density
    0.03 ... 0.08 and the default ``min_dist`` inside the SF ranges (no
    extrapolation) in practice; single-atom periodic cells may still extrapolate.
    """
    rng = np.random.default_rng(10_000 + seed)
    s = rc / 4.0
    out: list[Structure] = []
    for k, dens in enumerate((0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.1, 0.12)):
        for n in (6, 16, 32):
            cell = "cubic" if (k + n) % 2 else "triclinic"
            out.append(random_structure(rng, elements, n, cell=cell, density=dens / s**3,
                                        min_dist=0.8 * s))
    for n, dens in ((2, 0.05), (3, 0.1), (6, 0.05), (12, 0.1), (24, 0.05), (32, 0.12)):
        out.append(random_structure(rng, elements, n, cell=None, density=dens / s**3,
                                    min_dist=0.8 * s))
    return out


# --------------------------------------------------------------------------------------
# Symmetry-function parameter sets (lengths in units of rc / 4, scaled below)
# --------------------------------------------------------------------------------------

# type 2: (eta [1/len^2], rs, rc fraction)
_T2 = [(0.05, 0.0, 1.0), (0.5, 0.0, 1.0), (1.5, 1.2, 1.0), (0.8, 2.0, 0.85), (3.0, 1.0, 1.0)]
# types 3 / 9: (eta, lambda, zeta, rs or None (column omitted), rc fraction)
_T3 = [
    (0.05, 1.0, 1.0, None, 1.0),
    (0.05, -1.0, 2.0, None, 1.0),
    (0.2, 1.0, 3.7, 0.5, 1.0),
    (0.1, -1.0, 1.5, None, 0.9),
    (0.01, 1.0, 2.0, 1.0, 1.0),
    (0.3, -1.0, 1.0, 0.0, 0.95),
]
# type 12: (eta, rs, rc fraction)
_T12 = [(0.1, 0.0, 1.0), (0.8, 1.5, 1.0), (2.0, 0.5, 0.85)]
# type 13: (eta, rs, lambda, zeta, rc fraction)
_T13 = [(0.05, 0.0, 1.0, 1.0, 1.0), (0.1, 0.5, -1.0, 2.0, 1.0), (0.2, 0.0, 1.0, 3.7, 0.9),
        (0.02, 0.0, -1.0, 1.5, 1.0)]
# type 20 / 23: (rl fraction, rc fraction, subtype)
_T20 = [(-1.0, 1.0, "p2"), (0.25, 1.0, "p2a"), (-0.8, 0.8, "p1"), (0.1, 0.7, "e"),
        (0.3, 0.95, "p3"), (-1.0, 1.0, "p4a"), (0.2, 0.9, "p1a"), (-0.9, 0.9, "p4")]
# types 21 / 22 / 24 / 25: (rl fraction, rc fraction, angle_left, angle_right, subtype)
_T22 = [
    (-1.0, 1.0, 0.0, 180.0, "p2"),
    (-1.0, 1.0, -90.0, 90.0, "p1"),
    (0.2, 1.0, 90.0, 270.0, "p2a"),
    (-0.9, 0.9, 30.0, 150.0, "p3"),
    (0.1, 1.0, 0.0, 120.0, "e"),
    (-1.0, 1.0, 60.0, 180.0, "p4"),
    (-1.0, 1.0, 45.5, 165.5, "p3a"),
]


def _fmt(value: float, style: int) -> str:
    return f"{value:.10E}" if style else f"{value:.10g}"


def _sf_lines(elements: Sequence[str], sf_types: Sequence[int], rc: float,
              rng: np.random.Generator) -> list[str]:
    """One line (without keyword) per SF: '<ec> <type> <params...>'."""
    s = rc / 4.0
    by_z = sorted(elements, key=lambda e: ATOMIC_NUMBERS[e])
    pairs = [(a, b) for i, a in enumerate(by_z) for b in by_z[i:]]
    lines: list[str] = []
    counters = {t: int(rng.integers(0, 100)) for t in sf_types}

    def pick(t: int, table: list, k: int) -> list:
        """k distinct options of ``table``, cycling so that all get used."""
        start = counters[t]
        counters[t] += k
        return [table[(start + m) % len(table)] for m in range(min(k, len(table)))]

    def pair_text(e1: str, e2: str) -> str:
        return f"{e1} {e2}" if rng.random() < 0.5 else f"{e2} {e1}"

    for ec in by_z:
        for t in sf_types:
            style = int(rng.integers(0, 2))

            def f(value: float, style: int = style) -> str:
                return _fmt(value, style)

            if t == 2:
                for e1 in by_z:
                    for eta, rs, rcf in pick(t, _T2, int(rng.integers(2, 4))):
                        lines.append(f"{ec} 2 {e1} {f(eta / s**2)} {f(rs * s)} {f(rcf * rc)}")
            elif t in (3, 9):
                for e1, e2 in pairs:
                    for eta, lam, zeta, rs, rcf in pick(t, _T3, int(rng.integers(1, 3))):
                        text = (f"{ec} {t} {pair_text(e1, e2)} {f(eta / s**2)} {f(lam)} "
                                f"{f(zeta)} {f(rcf * rc)}")
                        if rs is not None:
                            text += f" {f(rs * s)}"
                        lines.append(text)
            elif t == 12:
                for eta, rs, rcf in pick(t, _T12, int(rng.integers(1, 4))):
                    lines.append(f"{ec} 12 {f(eta / s**2)} {f(rs * s)} {f(rcf * rc)}")
            elif t == 13:
                for eta, rs, lam, zeta, rcf in pick(t, _T13, int(rng.integers(1, 4))):
                    lines.append(f"{ec} 13 {f(eta / s**2)} {f(rs * s)} {f(lam)} {f(zeta)} "
                                 f"{f(rcf * rc)}")
            elif t in (20, 23):
                targets = by_z if t == 20 else [None]
                for e1 in targets:
                    for rlf, rcf, sub in pick(t, _T20, int(rng.integers(1, 4))):
                        el = f"{e1} " if e1 is not None else ""
                        lines.append(f"{ec} {t} {el}{f(rlf * rc)} {f(rcf * rc)} {sub}")
            elif t in (21, 22, 24, 25):
                targets = pairs if t in (21, 22) else [None]
                for pair in targets:
                    k = int(rng.integers(1, 3)) if pair is not None else int(rng.integers(2, 4))
                    for rlf, rcf, al, ar, sub in pick(t, _T22, k):
                        el = f"{pair_text(*pair)} " if pair is not None else ""
                        lines.append(f"{ec} {t} {el}{f(rlf * rc)} {f(rcf * rc)} "
                                     f"{f(al)} {f(ar)} {sub}")
            else:
                raise ValueError(f"unsupported SF type {t}")
    return lines


# --------------------------------------------------------------------------------------
# scaling.data
# --------------------------------------------------------------------------------------


def write_structure_scaling(
    directory,
    structures: Sequence[Structure],
    *,
    widen: float = 1.0,
    sigma_column: bool = True,
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """(Re)write ``directory/scaling.data`` from SF statistics over ``structures``.

    Only ``input.nn`` is needed.  G_min / G_max are the observed extremes widened by
    ``widen`` times the observed range on each side (a tiny range is replaced by a
    small positive one, so G_max > G_min always); the mean is the observed mean and
    sigma the observed standard deviation (at least 1e-3 of the widened range).
    Rows are in n2p2's order: elements by atomic number, SFs sorted (section 4.3).
    Returns ``{symbol: (G_min, G_max, G_mean, G_sigma)}`` as written.
    """
    directory = Path(directory)
    pot = NumpyHDNNP(directory, symmetry_functions_only=True)
    values: dict[str, list[np.ndarray]] = {e: [] for e in pot.elements}
    for positions, numbers, cell, pbc in structures:
        g = pot.symmetry_functions(positions, numbers, cell, pbc)
        for z, gi in zip(np.asarray(numbers).reshape(-1), g):
            values[pot.elements[pot._index_of_z[int(z)]]].append(gi)
    stats = {}
    lines = [
        "#" * 80,
        "# Symmetry function scaling data (synthetic, bpfast tests/synthetic.py).",
        "# Col 1 e_index, 2 sf_index, 3 sf_min, 4 sf_max, 5 sf_mean"
        + (", 6 sf_sigma" if sigma_column else ""),
        "#" * 80,
    ]
    for k, e in enumerate(pot.elements):
        n_sf = len(pot.symfuncs[e])
        if values[e]:
            arr = np.array(values[e])
            lo, hi = arr.min(axis=0), arr.max(axis=0)
            mean, std = arr.mean(axis=0), arr.std(axis=0)
        else:  # element absent from all structures: arbitrary but valid numbers
            lo, hi, mean, std = np.zeros(n_sf), np.ones(n_sf), np.full(n_sf, 0.5), np.ones(n_sf)
        span = hi - lo
        tiny = np.maximum(1e-3, 1e-3 * np.abs(hi))
        span = np.where(span < tiny, tiny, span)
        gmin = lo - widen * span
        gmax = hi + widen * span
        sigma = np.maximum(std, 1e-3 * (gmax - gmin))
        stats[e] = (gmin, gmax, mean, sigma)
        for j in range(n_sf):
            row = f"{k + 1:10d} {j + 1:10d} {gmin[j]:24.16E} {gmax[j]:24.16E} {mean[j]:24.16E}"
            if sigma_column:
                row += f" {sigma[j]:24.16E}"
            lines.append(row)
    (directory / "scaling.data").write_text("\n".join(lines) + "\n")
    return stats


# --------------------------------------------------------------------------------------
# weights.ZZZ.data
# --------------------------------------------------------------------------------------


def _write_weights(path: Path, layers: list[tuple[np.ndarray, np.ndarray]]) -> None:
    lines = [
        "#" * 80,
        "# Neural network connection values (weights and biases), synthetic.",
        "# Col 1 connection, 2 t (a = weight, b = bias), 3 index,",
        "# weights: 4 l_s 5 n_s 6 l_e 7 n_e; biases: 4 l_e 5 n_e (neurons 1-based)",
        "#" * 80,
    ]
    index = 0
    for layer, (w, b) in enumerate(layers, start=1):
        n_in, n_out = w.shape
        for j in range(n_in):
            for k in range(n_out):
                index += 1
                lines.append(f"{w[j, k]:24.16E} a {index:9d} {layer - 1:5d} {j + 1:5d} "
                             f"{layer:5d} {k + 1:5d}")
        for k in range(n_out):
            index += 1
            lines.append(f"{b[k]:24.16E} b {index:9d} {layer:5d} {k + 1:5d}")
    path.write_text("\n".join(lines) + "\n")


# --------------------------------------------------------------------------------------
# The potential
# --------------------------------------------------------------------------------------


def write_potential(
    directory,
    *,
    elements: Sequence[str] = ("H", "O"),
    sf_types: Sequence[int] = SF_TYPES,
    cutoff_type: int = 6,
    cutoff_alpha: float = 0.0,
    scaling: str = "scalecenter",
    activations: Sequence[str] = ("t", "t", "l"),
    nodes: Sequence[int] = (6, 5),
    normalize_nodes: bool = False,
    normalisation: bool = True,
    atom_energy: dict[str, float] | None = None,
    rc: float = 4.0,
    seed: int = 0,
    scaling_structures: Sequence[Structure] | None = None,
    scale_range: tuple[float, float] | None = (-1.0, 1.0),
    sf_keyword: str = "symfunction_short",
    widen: float = 1.0,
    sigma_column: bool = True,
    sf_lines: Sequence[str] | None = None,
) -> Path:
    """Write a random but valid 2G HDNNP in n2p2 format to ``directory``.

    Files: ``input.nn``, ``scaling.data``, ``weights.ZZZ.data`` (one per element).

    * ``input.nn``: the ``elements`` line is written in *descending* atomic-number
      order and the SF lines in a shuffled order that is never n2p2's sorted order
      (when there are at least two SFs), so readers must sort as n2p2 does
      (sections 3, 4.3).  Some
      lines carry ``!`` or ``#`` comments and numbers are written in ``%g`` or
      ``%E`` style.  A few training keywords that prediction ignores are included.
    * SFs: for every central element and every type in ``sf_types`` 1-3 functions
      per neighbour element (radial) or per unordered element pair (angular), with
      varied parameters (lambda +-1, zeta 1, 2, 1.5, 3.7, several eta / rs, compact
      subtypes p1-p4, p1a-p4a, e, windows rl = -rc and rl > 0, angle windows
      0..180, -90..90, 90..270, 30..150, 0..120, 60..180, 45.5..165.5).  Lengths
      are scaled with ``rc / 4`` and no SF cutoff exceeds ``rc``.
    * ``scaling.data``: statistics of the raw SFs over ``scaling_structures`` (or
      :func:`default_scaling_structures`) computed with :class:`NumpyHDNNP`, range
      widened by ``widen`` (see :func:`write_structure_scaling`).
    * weights: uniform in [-0.5, 0.5]; with ``scaling`` "none" or "center" the
      first-layer weights of input j are divided by that SF's range so that the
      pre-activations stay O(1) (keeps e.g. ``e``/``h`` activations finite).

    Parameters
    ----------
    scaling: one of ``SCALING_MODES`` ("none", "scale", "center", "scalecenter",
        "sigma").
    activations: one letter per hidden layer plus one for the output layer.
    nodes: neurons per hidden layer (at least one hidden layer).
    normalisation: write ``mean_energy``/``conv_energy``/``conv_length`` (random
        values derived from ``seed``).
    atom_energy: optional ``{symbol: offset}``; written as ``atom_energy`` lines.
    scale_range: ``(S_min, S_max)`` written as ``scale_min_short``/
        ``scale_max_short``; ``None`` omits them (n2p2 defaults 0 and 1).
    sf_keyword: ``"symfunction_short"`` or its alias ``"symfunction"``.
    sf_lines: explicit SFs ('<element> <type> <parameters>', without keyword) instead
        of the random ones; ``sf_types`` is then ignored.
    Returns the directory as ``pathlib.Path``.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if scaling not in SCALING_MODES:
        raise ValueError(f"scaling must be one of {SCALING_MODES}, got {scaling!r}")
    if len(nodes) < 1 or len(activations) != len(nodes) + 1:
        raise ValueError("need >= 1 hidden layer and len(activations) == len(nodes) + 1")
    for a in activations:
        if a not in ACTIVATION_LETTERS:
            raise ValueError(f"unknown activation letter {a!r}")
    for e in elements:
        if e not in ATOMIC_NUMBERS:
            raise ValueError(f"unknown element {e!r}")
    if sf_keyword not in ("symfunction_short", "symfunction"):
        raise ValueError("sf_keyword must be 'symfunction_short' or 'symfunction'")
    rng = np.random.default_rng(seed)

    # ---------------------------------------------------------------- input.nn
    sf_lines = list(sf_lines) if sf_lines is not None else _sf_lines(elements, sf_types, rc, rng)
    order = rng.permutation(len(sf_lines))
    if len(sf_lines) > 1 and np.all(order == np.arange(len(sf_lines))):
        order = np.roll(order, 1)
    sf_lines = [sf_lines[k] for k in order]

    by_z_desc = sorted(elements, key=lambda e: -ATOMIC_NUMBERS[e])
    out = [
        "# Synthetic 2G HDNNP written by bpfast tests/synthetic.py",
        f"# seed {seed}; random weights, physically meaningless.",
        "",
        f"number_of_elements {len(elements)}        ! RuNNer-style comment",
        f"elements {' '.join(by_z_desc)}",
        f"cutoff_type {cutoff_type} {cutoff_alpha!r}" if (cutoff_alpha or seed % 2)
        else f"cutoff_type {cutoff_type}",
    ]
    if scaling in ("scale", "scalecenter"):
        out.append("scale_symmetry_functions")
    if scaling in ("center", "scalecenter"):
        out.append("center_symmetry_functions   # subtract the mean")
    if scaling == "sigma":
        out.append("scale_symmetry_functions_sigma")
    if scale_range is not None:
        out.append(f"scale_min_short {scale_range[0]!r}")
        out.append(f"scale_max_short {scale_range[1]!r}")
    out += [
        f"global_hidden_layers_short {len(nodes)}",
        f"global_nodes_short {' '.join(str(int(n)) for n in nodes)}",
        f"global_activation_short {' '.join(activations)}",
    ]
    if normalize_nodes:
        out.append("normalize_nodes")
    if normalisation:
        out += [
            f"mean_energy {rng.uniform(-3.0, -1.0):.16E}",
            f"conv_energy {rng.uniform(0.5, 3.0):.16E}",
            f"conv_length {rng.uniform(0.5, 2.0):.16E}",
        ]
    for e, value in (atom_energy or {}).items():
        out.append(f"atom_energy {e} {float(value)!r}")
    out += ["", "# training keywords (ignored for prediction)", "random_seed 12345",
            "epochs 10", "use_short_forces", "", "# symmetry functions (shuffled)"]
    def write_input(lines: list[str]) -> None:
        body = [f"{sf_keyword} {line}" + ["", "   ! sf", "   # sf"][k % 3]
                for k, line in enumerate(lines)]
        (directory / "input.nn").write_text("\n".join(out + body) + "\n")

    write_input(sf_lines)
    # make sure the file order differs from n2p2's sorted order (section 4.3)
    parsed = NumpyHDNNP(directory, symmetry_functions_only=True)
    sorted_lines = [f.line for e in parsed.elements for f in parsed.symfuncs[e]]
    if len(sorted_lines) > 1 and sorted_lines == sorted(sorted_lines):
        write_input(sf_lines[::-1])

    # ---------------------------------------------------------------- scaling.data
    if scaling_structures is None:
        scaling_structures = default_scaling_structures(elements, rc, seed)
    stats = write_structure_scaling(directory, scaling_structures, widen=widen,
                                    sigma_column=sigma_column)

    # ---------------------------------------------------------------- weights
    pot = NumpyHDNNP(directory, symmetry_functions_only=True)
    for e in pot.elements:
        sizes = [len(pot.symfuncs[e])] + [int(n) for n in nodes] + [1]
        layers = []
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            w = rng.uniform(-0.5, 0.5, size=(n_in, n_out))
            b = rng.uniform(-0.5, 0.5, size=n_out)
            layers.append((w, b))
        if scaling in ("none", "center"):
            gmin, gmax, _, _ = stats[e]
            layers[0] = (layers[0][0] / (gmax - gmin)[:, None], layers[0][1])
        _write_weights(directory / f"weights.{ATOMIC_NUMBERS[e]:03d}.data", layers)
    return directory


if __name__ == "__main__":  # pragma: no cover - manual smoke test
    import sys
    import tempfile

    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp())
    write_potential(target)
    pos, num, cell, pbc = random_structure(np.random.default_rng(1))
    print(target, NumpyHDNNP(target).energy(pos, num, cell, pbc)[0])
