"""Tests of the NumPy reference evaluator (numpy_reference.py) and of the synthetic
potential writer (synthetic.py).

(a) NumpyHDNNP against the n2p2 reference data in ``../shared/reference`` (small
    frames only; skipped only when that directory is absent).  The location can be
    overridden with the environment variable ``BPFAST_SHARED``.
(b) write_potential produces loadable potentials for every SF type, cutoff type,
    activation letter and scaling mode; NumpyHDNNP follows the SF order of the
    format document (section 4.3) and hand-written formulas on tiny structures.
"""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from conftest import POTENTIALS, REFERENCE
from numpy_reference import (
    ATOMIC_NUMBERS,
    NumpyHDNNP,
    activation,
    atof,
    cutoff_function,
    parse_input_nn,
)
from synthetic import (
    ACTIVATION_LETTERS,
    SCALING_MODES,
    SF_TYPES,
    default_scaling_structures,
    random_structure,
    write_potential,
    write_structure_scaling,
)

SMALL = 100  # frames with at most this many atoms are checked (runtime)


# ======================================================================================
# (a) shared n2p2 reference data
# ======================================================================================


def _reference_frames():
    index = REFERENCE / "index.json"
    if not REFERENCE.is_dir() or not index.is_file():
        return [pytest.param(None, None, None, marks=pytest.mark.skip(
            reason=f"n2p2 reference data not found at {REFERENCE}"))]
    params = []
    for potential, cases in json.loads(index.read_text()).items():
        for case in cases:
            for k, frame in enumerate(case["frames"]):
                if frame["natoms"] <= SMALL:
                    params.append(pytest.param(potential, case["file"], k,
                                               id=f"{case['file']}[{k}]"))
    return params


@cache
def _shared_potential(name: str) -> NumpyHDNNP:
    return NumpyHDNNP(POTENTIALS / name)


@pytest.mark.parametrize("potential,file,frame", _reference_frames())
def test_reference_energy(potential, file, frame):
    """Total / per-atom energies to 1e-10 relative, extrapolation count exactly."""
    import ase.io

    atoms = ase.io.read(REFERENCE / file, index=frame)
    pot = _shared_potential(potential)
    pbc = bool(atoms.pbc.any())
    cell = atoms.cell.array if pbc else None
    g = pot.symmetry_functions(atoms.positions, atoms.numbers, cell, pbc)
    e_total, e_atoms = pot.energy(atoms.positions, atoms.numbers, cell, pbc)

    e_ref = atoms.get_potential_energy()
    e_atoms_ref = atoms.get_potential_energies()
    assert abs(e_total - e_ref) <= 1e-10 * max(abs(e_ref), 1e-300)
    assert np.max(np.abs(e_atoms - e_atoms_ref)) <= 1e-10 * np.max(np.abs(e_atoms_ref))
    assert math.isclose(e_atoms.sum(), e_total, rel_tol=1e-14)

    n_ref = int(atoms.info["n2p2_extrapolation_warnings"])
    assert pot.extrapolation_count(None, atoms.numbers, g=g) == n_ref
    # the strict test can only count more
    assert pot.extrapolation_count(None, atoms.numbers, g=g, rel_tol=0.0) >= n_ref


def _require_potential(name: str) -> Path:
    path = POTENTIALS / name
    if not REFERENCE.is_dir():
        pytest.skip(f"n2p2 reference data not found at {REFERENCE}")
    assert path.is_dir(), f"{path} missing although {REFERENCE} exists"
    return path


def test_shared_h2o_sf_order_matches_format_doc():
    """Section 4.3 example: the first 16 SFs of H in H2O, (eta, neighbour)."""
    pot = NumpyHDNNP(_require_potential("H2O_RPBE-D3"), symmetry_functions_only=True)
    assert pot.elements == ["H", "O"]
    sfs = pot.symfuncs["H"]
    assert len(sfs) == 27
    expected = [(0.001, "H"), (0.001, "O"), (0.01, "H"), (0.01, "O"), (0.03, "H"),
                (0.03, "O"), (0.06, "H"), (0.06, "O"), (0.15, "O"), (0.15, "H"),
                (0.3, "O"), (0.3, "H"), (0.6, "O"), (0.6, "H"), (1.5, "O"), (1.5, "H")]
    got = [(f.eta, pot.elements[f.e1]) for f in sfs[:16]]
    assert [t.type for t in sfs[:16]] == [2] * 16
    assert got == expected
    assert [f.rs for f in sfs[8:10]] == [0.9, 1.9]
    assert [f.type for f in sfs[16:]] == [3] * 11


@pytest.mark.parametrize("name,expected", [
    ("H2O_RPBE-D3_RuNNer", ["H", "O"]),
    ("Cu2S_PBE", ["S", "Cu"]),
    ("Anisole_SCAN", ["H", "C", "O"]),
])
def test_shared_element_order(name, expected):
    """Section 3: element index order is by atomic number, not the file order."""
    pot = NumpyHDNNP(_require_potential(name), symmetry_functions_only=True)
    assert pot.elements == expected


def test_shared_runner_file_details():
    """RuNNer file: '!' comments, atom_energy, no normalisation, weight count 1376."""
    pot = NumpyHDNNP(_require_potential("H2O_RPBE-D3_RuNNer"))
    assert not pot.normalised
    assert pot.atom_energy == {"H": -0.45890771, "O": -74.94518524}
    assert pot.scaling_mode == "scalecenter"
    assert (pot.scale_min, pot.scale_max) == (0.0, 1.0)
    n_weights = sum(w.size + b.size for w, b in pot.weights["H"])
    assert n_weights == 1376
    assert np.all(pot.scaling["H"][3] == 0.0)  # no sigma column in this file


# ======================================================================================
# (b) synthetic potentials
# ======================================================================================


def _evaluate(directory, seed=1, n_atoms=10, cell="triclinic"):
    pot = NumpyHDNNP(directory)
    rng = np.random.default_rng(seed)
    structure = random_structure(rng, pot.elements, n_atoms, cell=cell)
    e_total, e_atoms = pot.energy(*structure)
    assert np.isfinite(e_total)
    assert np.all(np.isfinite(e_atoms))
    assert e_atoms.shape == (n_atoms,)
    assert math.isclose(e_atoms.sum(), e_total, rel_tol=1e-12, abs_tol=1e-12)
    return pot, structure, e_total, e_atoms


def _sorted_by_key(sfs):
    keys = [f.sort_key() for f in sfs]
    return all(a <= b for a, b in zip(keys, keys[1:]))


@pytest.mark.parametrize("sf_type", SF_TYPES)
def test_synthetic_each_sf_type(tmp_path, sf_type):
    d = write_potential(tmp_path, sf_types=(sf_type,), seed=sf_type)
    pot, structure, _, _ = _evaluate(d)
    for symbol in pot.elements:
        assert len(pot.symfuncs[symbol]) >= 1
        assert {f.type for f in pot.symfuncs[symbol]} == {sf_type}
    # every SF is non-zero for some atom of a denser structure and nothing extrapolates
    rng = np.random.default_rng(7)
    dense = random_structure(rng, pot.elements, 16, cell="cubic", density=0.06)
    g = pot.symmetry_functions(*dense)
    numbers = dense[1]
    for symbol in pot.elements:
        rows = [gi for gi, z in zip(g, numbers) if z == ATOMIC_NUMBERS[symbol]]
        assert np.all(np.any(np.array(rows) != 0.0, axis=0)), (symbol, sf_type)
    assert pot.extrapolation_count(*structure) == 0


CUTOFF_CASES = [(t, 0.0) for t in range(9)] + [(t, 0.3) for t in (1, 4, 5, 6, 7, 8)]


@pytest.mark.parametrize("cutoff_type,alpha", CUTOFF_CASES)
def test_synthetic_cutoff_types(tmp_path, cutoff_type, alpha):
    d = write_potential(tmp_path, cutoff_type=cutoff_type, cutoff_alpha=alpha,
                        sf_types=(2, 3, 9, 12, 13, 22), seed=cutoff_type)
    pot, _, _, _ = _evaluate(d)
    assert pot.cutoff_type == cutoff_type
    assert pot.cutoff_alpha == alpha
    # a dimer crossing the largest cutoff: continuous except for the HARD cutoff
    rc = pot.r_max
    energies = []
    for r in (rc - 1e-7, rc + 1e-7):
        pos = np.array([[0.0, 0.0, 0.0], [r, 0.0, 0.0]])
        numbers = [ATOMIC_NUMBERS[pot.elements[0]], ATOMIC_NUMBERS[pot.elements[-1]]]
        energies.append(pot.energy(pos, numbers)[0])
    jump = abs(energies[1] - energies[0])
    if cutoff_type == 0:
        assert jump > 1e-6
    else:
        assert jump < 1e-9


@pytest.mark.parametrize("cutoff_type", range(9))
@pytest.mark.parametrize("alpha", [0.0, 0.3])
def test_cutoff_function_shape(cutoff_type, alpha):
    """Section 5: 1 inside r_i, decreasing, 0 at r_c (TANHU: tanh^3(1) at 0)."""
    rc = 3.0
    r = np.linspace(0.0, rc, 301)
    f = cutoff_function(r, rc, cutoff_type, alpha)
    if cutoff_type == 0:
        assert np.all(f == 1.0)
        return
    assert np.all(np.diff(f) <= 1e-15)
    assert abs(f[-1]) < 1e-12
    if cutoff_type == 2:
        assert math.isclose(f[0], math.tanh(1.0) ** 3, rel_tol=1e-14)
    else:
        assert math.isclose(f[0], 1.0, rel_tol=1e-14)
    if alpha > 0 and cutoff_type not in (2, 3):
        assert np.all(f[r < alpha * rc] == 1.0)
        assert f[r > alpha * rc + 0.01][0] < 1.0


@pytest.mark.parametrize("letter", ACTIVATION_LETTERS)
def test_synthetic_activations(tmp_path, letter):
    d = write_potential(tmp_path, activations=(letter, letter, letter), sf_types=(2, 3, 20),
                        seed=3)
    pot, _, _, _ = _evaluate(d)
    assert pot.activations == [letter] * 3


def test_activation_formulas():
    """Section 7 table, evaluated with the math module."""
    x = np.array([-40.0, -2.0, -0.3, 0.0, 0.7, 3.0, 40.0])
    expected = {
        "l": lambda v: v,
        "t": math.tanh,
        "s": lambda v: 1.0 if v > 35 else (0.0 if v < -35 else 1.0 / (1.0 + math.exp(-v))),
        "p": lambda v: v if v > 35 else (0.0 if v < -35 else math.log(1.0 + math.exp(v))),
        "r": lambda v: max(0.0, v),
        "g": lambda v: math.exp(-v * v / 2.0),
        "c": math.cos,
        "S": lambda v: 1.0 - 1.0 / (1.0 + math.exp(-v)),
        "e": lambda v: math.exp(-v),
        "h": lambda v: v * v,
    }
    assert set(expected) == set(ACTIVATION_LETTERS)
    for letter, fn in expected.items():
        got = activation(x, letter)
        want = np.array([fn(v) for v in x])
        np.testing.assert_allclose(got, want, rtol=1e-14, atol=0.0, err_msg=letter)
    assert activation(np.array([36.0]), "s")[0] == 1.0
    assert activation(np.array([-36.0]), "p")[0] == 0.0


@pytest.mark.parametrize("mode", SCALING_MODES)
def test_synthetic_scaling_modes(tmp_path, mode):
    d = write_potential(tmp_path, scaling=mode, sf_types=(2, 9, 12, 23), seed=5)
    pot, _, _, _ = _evaluate(d)
    assert pot.scaling_mode == mode
    symbol = pot.elements[0]
    gmin, gmax, gmean, gsigma = pot.scaling[symbol]
    assert np.all(gmax > gmin)
    assert np.all(gsigma > 0)
    assert np.all((gmin <= gmean) & (gmean <= gmax))
    smin, smax = pot.scale_min, pot.scale_max
    assert (smin, smax) == (-1.0, 1.0)
    # formulas of section 6 at G = G_min and G = G_mean
    at_min, at_mean = pot.scale(symbol, gmin), pot.scale(symbol, gmean)
    if mode == "scale":
        np.testing.assert_allclose(at_min, smin, atol=1e-12)
        np.testing.assert_allclose(pot.scale(symbol, gmax), smax, atol=1e-12)
    elif mode == "center":
        np.testing.assert_allclose(at_mean, 0.0, atol=1e-12)
    elif mode == "scalecenter":
        np.testing.assert_allclose(at_mean, smin, atol=1e-12)
        np.testing.assert_allclose(pot.scale(symbol, gmax) - pot.scale(symbol, gmin),
                                   smax - smin, atol=1e-12)
    elif mode == "sigma":
        np.testing.assert_allclose(at_mean, smin, atol=1e-12)
        np.testing.assert_allclose(pot.scale(symbol, gmean + gsigma), smax, atol=1e-12)
    else:
        np.testing.assert_array_equal(at_min, gmin)


def test_synthetic_default_scale_range_and_sigma_column(tmp_path):
    """No scale_min/max keywords -> 0 and 1; a RuNNer-like scaling file still loads."""
    d = write_potential(tmp_path, scale_range=None, sigma_column=False, scaling="scale",
                        sf_types=(2, 3), sf_keyword="symfunction")
    with open(d / "scaling.data", "a") as fh:
        fh.write("       -0.2378336387       -0.1948975729\n")  # RuNNer trailer line
    pot, _, _, _ = _evaluate(d)
    assert (pot.scale_min, pot.scale_max) == (0.0, 1.0)
    assert np.all(pot.scaling[pot.elements[0]][3] == 0.0)


def test_synthetic_normalisation_and_offsets(tmp_path):
    """E_i = NN_i / conv_energy + mean_energy + atom_energy(el_i) (section 8)."""
    offsets = {"H": -0.5, "O": -75.25}
    kw = {"sf_types": (2, 3, 22), "seed": 11, "normalize_nodes": True}
    plain = NumpyHDNNP(write_potential(tmp_path / "a", normalisation=False, **kw))
    shifted = NumpyHDNNP(write_potential(tmp_path / "b", normalisation=False,
                                         atom_energy=offsets, **kw))
    normed = NumpyHDNNP(write_potential(tmp_path / "c", normalisation=True, **kw))
    assert plain.normalize_nodes and normed.normalised and not plain.normalised
    assert 0 < normed.conv_energy != 1.0 and normed.mean_energy != 0.0
    rng = np.random.default_rng(4)
    s = random_structure(rng, ("H", "O"), 9, cell="cubic")
    _, e_plain = plain.energy(*s)
    _, e_shift = shifted.energy(*s)
    want = np.array([offsets["H"] if z == 1 else offsets["O"] for z in s[1]])
    np.testing.assert_allclose(e_shift - e_plain, want, rtol=0, atol=1e-12)
    # normalisation consumes random numbers before the weights, so compare formulas
    _, e_norm = normed.energy(*s)
    numbers = np.asarray(s[1])
    el = normed._element_indices(numbers)
    g = normed.symmetry_functions(*s)
    for i in range(len(numbers)):
        symbol = normed.elements[el[i]]
        nn = normed.network(symbol, normed.scale(symbol, g[i]))[0]
        assert math.isclose(e_norm[i], nn / normed.conv_energy + normed.mean_energy,
                            rel_tol=1e-13)


def test_synthetic_files_and_sf_order(tmp_path):
    """input.nn is shuffled / unsorted; NumpyHDNNP applies section 3 and 4.3 order."""
    elements = ("O", "Cu", "H")
    d = write_potential(tmp_path, elements=elements, seed=2)
    kw = parse_input_nn(d / "input.nn")
    file_elements = kw["elements"][0][1]
    z = [ATOMIC_NUMBERS[e] for e in file_elements]
    assert z != sorted(z)
    lines = kw["symfunction_short"]
    pot = NumpyHDNNP(d)
    assert pot.elements == ["H", "O", "Cu"]
    parsed = [f for e in pot.elements for f in pot.symfuncs[e]]
    assert sorted(f.line for f in parsed) == sorted(n for n, _ in lines)
    file_order = sorted(parsed, key=lambda f: f.line)
    assert [f.sort_key() for f in file_order] != sorted(f.sort_key() for f in file_order)
    for e in pot.elements:
        sfs = pot.symfuncs[e]
        types = [f.type for f in sfs]
        assert types == sorted(types)
        assert set(types) == set(SF_TYPES)
        assert _sorted_by_key(sfs)
        assert len({f.sort_key() for f in sfs}) == len(sfs)  # no duplicates
        assert all(f.e1 <= f.e2 for f in sfs if f.type in (3, 9, 21, 22))
    # files of n2p2 layout: one weights file per element, scaling rows = n_SF total
    for e in pot.elements:
        assert (d / f"weights.{ATOMIC_NUMBERS[e]:03d}.data").is_file()
    rows = [ln for ln in (d / "scaling.data").read_text().splitlines() if not ln.startswith("#")]
    assert len(rows) == len(parsed)
    first_cols = [tuple(int(x) for x in ln.split()[:2]) for ln in rows]
    expected_cols = [(k + 1, j + 1) for k, e in enumerate(pot.elements)
                     for j in range(len(pot.symfuncs[e]))]
    assert first_cols == expected_cols
    _evaluate(d)


def test_sf_order_hand_derived(tmp_path):
    """Section 4.3 rules applied by hand to a scrambled list of lines."""
    text = """\
number_of_elements 3
elements O H C
cutoff_type 1
global_hidden_layers_short 1
global_nodes_short 2
global_activation_short t l
symfunction_short H 3 O H 0.1 1 1 4.0
symfunction_short H 2 O 0.5 0.0 4.0
symfunction_short H 2 H 0.5 0.0 4.0
symfunction_short H 2 C 0.5 0.0 3.0
symfunction_short H 2 H 0.1 1.0 4.0
symfunction_short H 2 H 0.1 0.5 4.0
symfunction_short H 20 H -4 4 p2a
symfunction_short H 20 H -4 4 p2
symfunction_short H 20 C 0.5 4 p2
symfunction_short H 3 H H 0.1 -1 1 4.0
symfunction_short H 3 C H 0.1 1 1 4.0
symfunction_short H 12 0.1 0 4.0
symfunction_short H 22 H H -4 4 0 180 p3
symfunction_short H 22 H H -4 4 -90 90 p3
symfunction_short H 22 O H 0 4 0 180 p2
symfunction_short C 2 H 0.1 0 4.0
symfunction_short O 2 H 0.1 0 4.0
"""
    (tmp_path / "input.nn").write_text(text)
    pot = NumpyHDNNP(tmp_path, symmetry_functions_only=True)
    assert pot.elements == ["H", "C", "O"]
    first = 7  # file line of the first H symfunction
    # L1..L15 = file lines first..first+14; expected order derived from section 4.3
    expected = [4, 6, 5, 3, 2, 10, 11, 1, 12, 8, 9, 7, 15, 14, 13]
    assert [f.line - first + 1 for f in pot.symfuncs["H"]] == expected
    swapped = pot.symfuncs["H"][7]  # 'H 3 O H' -> e1 = H(0), e2 = O(2)
    assert (swapped.e1, swapped.e2) == (0, 2)


# --------------------------------------------------------------------------------------
# hand-computed symmetry functions on tiny structures
# --------------------------------------------------------------------------------------

_HEAD = """\
number_of_elements 2
elements O H
cutoff_type {ct} {alpha}
global_hidden_layers_short 1
global_nodes_short 2
global_activation_short t l
"""


def _sf_only(tmp_path, lines, ct=1, alpha=0.0):
    (tmp_path / "input.nn").write_text(_HEAD.format(ct=ct, alpha=alpha) + "\n".join(lines) + "\n")
    return NumpyHDNNP(tmp_path, symmetry_functions_only=True)


def test_radial_dimer_with_inner_cutoff(tmp_path):
    rc, alpha, eta, rs = 4.0, 0.3, 0.7, 0.5
    pot = _sf_only(tmp_path, [f"symfunction_short H 2 O {eta} {rs} {rc}",
                              f"symfunction_short H 2 H {eta} {rs} {rc}",
                              f"symfunction_short O 2 H {eta} {rs} {rc}"], ct=1, alpha=alpha)

    def fc(r):
        ri = alpha * rc
        return 1.0 if r < ri else 0.5 * (math.cos(math.pi * (r - ri) / (rc - ri)) + 1.0)

    for r in (0.9, 2.0, 3.99, 4.01):
        g = pot.symmetry_functions([[0, 0, 0], [0, r, 0]], [1, 8])
        want = math.exp(-eta * (r - rs) ** 2) * fc(r) if r < rc else 0.0
        assert math.isclose(g[0][1], want, rel_tol=1e-14, abs_tol=1e-300)  # H 2 O
        assert g[0][0] == 0.0  # H 2 H: no H neighbour
        assert math.isclose(g[1][0], want, rel_tol=1e-14, abs_tol=1e-300)


def test_angular_trimer(tmp_path):
    rc = 5.0
    lines = [
        "symfunction_short H 3 H O 0.05 -1 3.7 5.0 0.3",   # narrow, rs, non-integer zeta
        "symfunction_short H 9 O H 0.05 1 2 5.0",          # wide
        "symfunction_short H 22 O H -5 5 0 180 p2",        # compact wide
        "symfunction_short H 21 H O 0.5 5 90 270 p2a",     # compact narrow, asymmetric
        "symfunction_short H 25 -5 5 -90 90 e",            # weighted compact wide
        "symfunction_short O 2 H 0.1 0 5.0",
    ]
    pot = _sf_only(tmp_path, lines, ct=6)
    a, b, theta = 1.1, 1.7, math.radians(104.0)
    pos = [[0, 0, 0], [a, 0, 0], [b * math.cos(theta), b * math.sin(theta), 0]]
    g = pot.symmetry_functions(pos, [1, 1, 8])[0]
    c = math.dist(pos[1], pos[2])
    cos = math.cos(theta)

    def fc(r):
        x = r / rc
        return ((15 - 6 * x) * x - 10) * x**3 + 1

    def p2(u):
        return ((15 - 6 * u) * u - 10) * u**3 + 1

    t3 = 2 ** (1 - 3.7) * (1 - cos) ** 3.7 * math.exp(
        -0.05 * ((a - 0.3) ** 2 + (b - 0.3) ** 2 + (c - 0.3) ** 2)) * fc(a) * fc(b) * fc(c)
    t9 = 2 ** (1 - 2) * (1 + cos) ** 2 * math.exp(-0.05 * (a * a + b * b)) * fc(a) * fc(b)
    ang = p2(abs(math.degrees(theta) - 90.0) / 90.0)
    t22 = p2(a / rc) * p2(b / rc) * ang

    def p2a(r, lo, hi):
        u = abs(r - 0.5 * (lo + hi)) / (0.5 * (hi - lo))
        return p2((2 - u) * u)

    t21 = (p2a(a, 0.5, 5) * p2a(b, 0.5, 5) * p2a(c, 0.5, 5)
           * p2(abs(math.degrees(theta) - 180.0) / 90.0))
    # type 25 window -90..90 is centred at 0 deg: 104 deg lies outside -> 0 for pair (j,k)
    order = {f.type: k for k, f in enumerate(pot.symfuncs["H"])}
    assert math.isclose(g[order[3]], t3, rel_tol=1e-13)
    assert math.isclose(g[order[9]], t9, rel_tol=1e-13)
    assert math.isclose(g[order[22]], t22, rel_tol=1e-13)
    assert math.isclose(g[order[21]], t21, rel_tol=1e-13)
    assert g[order[25]] == 0.0


def test_self_images_and_partial_pbc(tmp_path):
    """One atom in a small cubic cell: all neighbours are its own images."""
    rc, eta, a = 4.0, 0.3, 2.5
    pot = _sf_only(tmp_path, [f"symfunction_short H 2 H {eta} 0 {rc}",
                              "symfunction_short O 2 H 0.1 0 4.0"], ct=1)

    def term(r):
        return math.exp(-eta * r * r) * 0.5 * (math.cos(math.pi * r / rc) + 1.0)

    cell = a * np.eye(3)
    full = pot.symmetry_functions([[0.3, 0.2, 0.1]], [1], cell, True)[0][0]
    # 6 images at a, 12 at sqrt(2) a (3.54 < 4), 8 at sqrt(3) a (4.33 > 4)
    assert math.isclose(full, 6 * term(a) + 12 * term(math.sqrt(2) * a), rel_tol=1e-13)
    # unwrapped position far outside the cell gives the same value
    far = pot.symmetry_functions([[0.3 + 7 * a, 0.2 - 3 * a, 0.1]], [1], cell, True)[0][0]
    assert math.isclose(far, full, rel_tol=1e-13)
    line = pot.symmetry_functions([[0.3, 0.2, 0.1]], [1], cell, (True, False, False))[0][0]
    assert math.isclose(line, 2 * term(a), rel_tol=1e-13)


def test_collinear_triplets_skipped_by_compact_angular(tmp_path):
    """Section 4.2: exactly collinear triplets contribute nothing to types 21-25."""
    pot = _sf_only(tmp_path, ["symfunction_short H 22 H H -4 4 90 270 p2",
                              "symfunction_short H 3 H H 0.1 -1 1 4.0",
                              "symfunction_short O 2 H 0.1 0 4.0"], ct=6)
    a, b = 1.2, 1.9
    # theta = 180 deg (cos = -1 exactly) and theta = 0 deg (cos = +1 exactly)
    for pos in ([[0, 0, 0], [-a, 0, 0], [b, 0, 0]], [[0, 0, 0], [a, 0, 0], [b, 0, 0]]):
        g = pot.symmetry_functions(pos, [1, 1, 1])[0]
        assert g[1] == 0.0  # type 22 (after type 3 in the sorted order)
    # the Gaussian type is not skipped: 2^0 (1 - cos 180)^1 exp(...) f_c f_c f_c
    g = pot.symmetry_functions([[0, 0, 0], [-a, 0, 0], [b, 0, 0]], [1, 1, 1])[0]
    assert g[0] > 0.0
    # slightly off collinear the compact function is close to its maximum C(r)C(r)
    eps = 1e-6
    g = pot.symmetry_functions([[0, 0, 0], [-a, eps, 0], [b, 0, 0]], [1, 1, 1])[0]
    assert g[1] > 0.1


@pytest.mark.parametrize("normalize", [False, True])
def test_network_by_hand(tmp_path, normalize):
    """Weights layout (source outer, target inner, then biases) and normalize_nodes."""
    rc, etas = 4.0, (0.2, 0.9)
    text = "\n".join([
        "number_of_elements 1", "elements H", "cutoff_type 1",
        "global_hidden_layers_short 1", "global_nodes_short 3",
        "global_activation_short t l",
        f"symfunction_short H 2 H {etas[1]} 0 {rc}",
        f"symfunction_short H 2 H {etas[0]} 0 {rc}",
    ] + (["normalize_nodes"] if normalize else []))
    (tmp_path / "input.nn").write_text(text + "\n")
    (tmp_path / "scaling.data").write_text("# none\n 1 1 0 1 0.5 0.1\n 1 2 0 1 0.5 0.1\n")
    w1 = np.array([[0.3, -0.2, 0.5], [0.7, 0.1, -0.4]])  # (inputs, hidden)
    b1 = np.array([0.05, -0.1, 0.2])
    w2 = np.array([0.6, -0.8, 0.25])
    b2 = -0.3
    values = [float(v) for v in (*w1.ravel(), *b1, *w2, b2)]
    (tmp_path / "weights.001.data").write_text(
        "# comment\n" + "\n".join(f"{v!r} x {k + 1}" for k, v in enumerate(values)) + "\n")
    pot = NumpyHDNNP(tmp_path)
    r = 2.3
    fc = 0.5 * (math.cos(math.pi * r / rc) + 1.0)
    x = [math.exp(-eta * r * r) * fc for eta in etas]  # sorted by eta
    hidden = []
    for k in range(3):
        z = x[0] * w1[0, k] + x[1] * w1[1, k] + b1[k]
        hidden.append(math.tanh(z / 2.0 if normalize else z))
    out = sum(h * w for h, w in zip(hidden, w2)) + b2
    if normalize:
        out /= 3.0
    e_total, e_atoms = pot.energy([[0, 0, 0], [r, 0, 0]], [1, 1])
    assert math.isclose(e_atoms[0], out, rel_tol=1e-13)
    assert math.isclose(e_total, 2.0 * out, rel_tol=1e-13)


# --------------------------------------------------------------------------------------
# invariances of the reference on a synthetic potential
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def synthetic_pot(tmp_path_factory):
    return NumpyHDNNP(write_potential(tmp_path_factory.mktemp("pot"), seed=21))


def test_invariances(synthetic_pot):
    pot = synthetic_pot
    rng = np.random.default_rng(8)
    pos, num, cell, pbc = random_structure(rng, pot.elements, 8, cell="triclinic",
                                           min_height=pot.r_max)
    e0, ea0 = pot.energy(pos, num, cell, pbc)
    # translation
    e1, _ = pot.energy(pos + np.array([0.37, -1.2, 5.1]), num, cell, pbc)
    assert math.isclose(e1, e0, rel_tol=1e-12)
    # rotation of positions and cell
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    e2, _ = pot.energy(pos @ q.T, num, cell @ q.T, pbc)
    assert math.isclose(e2, e0, rel_tol=1e-12)
    # permutation
    perm = rng.permutation(len(num))
    e3, ea3 = pot.energy(pos[perm], num[perm], cell, pbc)
    assert math.isclose(e3, e0, rel_tol=1e-12)
    np.testing.assert_allclose(ea3, ea0[perm], rtol=1e-11, atol=1e-12)
    # supercell 2x1x1: per-atom energies repeat
    sup_pos = np.vstack([pos, pos + cell[0]])
    sup_cell = cell.copy()
    sup_cell[0] *= 2
    e4, ea4 = pot.energy(sup_pos, np.concatenate([num, num]), sup_cell, pbc)
    assert math.isclose(e4, 2 * e0, rel_tol=1e-11)
    np.testing.assert_allclose(ea4, np.concatenate([ea0, ea0]), rtol=1e-11, atol=1e-12)
    # the structure is inside the scaling range
    assert pot.extrapolation_count(pos, num, cell, pbc) == 0


def test_finite_difference_forces_sum_to_zero(synthetic_pot):
    pot = synthetic_pot
    rng = np.random.default_rng(3)
    pos, num, cell, pbc = random_structure(rng, pot.elements, 4, cell=None, density=0.08)
    f = pot.forces(pos, num, cell, pbc, h=1e-5)
    assert np.max(np.abs(f)) > 1e-6
    np.testing.assert_allclose(f.sum(axis=0), 0.0, atol=1e-7 * max(1.0, np.abs(f).max()))


def test_default_scaling_structures_do_not_extrapolate(tmp_path):
    """write_structure_scaling widens the observed range: its own data stay inside."""
    d = write_potential(tmp_path, sf_types=(2, 13, 24), seed=9)
    structures = default_scaling_structures(("H", "O"), 4.0, seed=9)
    stats = write_structure_scaling(d, structures, widen=0.0)
    pot = NumpyHDNNP(d)
    for gmin, gmax, _, _ in stats.values():
        assert np.all(gmax > gmin)
    # with zero widening every extreme is attained by some structure
    counts = [pot.extrapolation_count(*s, rel_tol=0.0) for s in structures]
    assert sum(counts) == 0
    for symbol, (gmin, gmax, _, _) in stats.items():
        hit_min = np.zeros(len(gmin), bool)
        for s in structures:
            for gi, z in zip(pot.symmetry_functions(*s), s[1]):
                if z == ATOMIC_NUMBERS[symbol]:
                    hit_min |= gi == gmin
        assert hit_min[(gmax - gmin) > 1e-3 * np.maximum(1.0, np.abs(gmax))].all()


# --------------------------------------------------------------------------------------
# parser details (section 2)
# --------------------------------------------------------------------------------------


def test_atof_like_c():
    assert atof("100.0d0") == 100.0
    assert atof("1.5d-3") == 1.5  # C atof stops at 'd'
    assert atof("-2.5E-01") == -0.25
    assert atof(".5") == 0.5
    with pytest.raises(ValueError):
        atof("abc")


def test_parser_errors(tmp_path):
    d = write_potential(tmp_path, sf_types=(2,), seed=1)
    original = (d / "input.nn").read_text()
    (d / "input.nn").write_text(original + "global_nodes_short 6 5\n")
    with pytest.raises(ValueError, match="duplicate"):
        NumpyHDNNP(d)
    (d / "input.nn").write_text(original + "symfunction H 2 H 0.3 0.0 4.0\n")
    with pytest.raises(ValueError, match="two spellings"):
        NumpyHDNNP(d)
    (d / "input.nn").write_text(
        "\n".join(ln for ln in original.splitlines() if not ln.startswith("conv_energy")))
    with pytest.raises(ValueError, match="all or none"):
        NumpyHDNNP(d)
    (d / "input.nn").write_text(original)
    weights = d / "weights.001.data"
    weights.write_text(weights.read_text() + "  1.0 b 999 2 1\n")
    with pytest.raises(ValueError, match="architecture"):
        NumpyHDNNP(d)
    other = NumpyHDNNP(write_potential(tmp_path / "x", sf_types=(2,)))
    with pytest.raises(KeyError):
        other.energy([[0.0, 0.0, 0.0]], [6])  # carbon is not an element of the potential
