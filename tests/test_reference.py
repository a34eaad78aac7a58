"""Agreement with n2p2 on every reference case in ../shared/reference.

The reference files were produced by n2p2 (see ../shared/reference/README.md for
provenance). Tolerances follow that README: energies 1e-10 relative, forces and
stress 1e-8 of their largest component (1e-10 absolute floor for values that vanish
by symmetry).
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest

import bpfast
from conftest import (POTENTIALS, reference_cases, require_shared, scaling_bounds,
                      second_generation_potentials)

ase_io = pytest.importorskip("ase.io")

CASES = reference_cases()


@functools.lru_cache(maxsize=None)
def potential(name: str) -> bpfast.Potential:
    return bpfast.load(POTENTIALS / name)


def reference_values(atoms):
    """energy, forces, per-atom energies, stress (3x3 or None) of a reference frame."""
    calc_results = atoms.calc.results if atoms.calc is not None else {}

    def get(key, arrays=False):
        source = atoms.arrays if arrays else atoms.info
        if key in source:
            return source[key]
        return calc_results.get(key)

    stress = get("stress")
    if stress is not None:
        stress = np.asarray(stress, dtype=float)
        if stress.shape == (6,):
            xx, yy, zz, yz, xz, xy = stress
            stress = np.array([[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]])
        stress = stress.reshape(3, 3)
    return float(get("energy")), np.asarray(get("forces", True)), np.asarray(
        get("energies", True)), stress


def evaluate(pot, atoms):
    periodic = bool(atoms.pbc.any())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bpfast.ExtrapolationWarning)
        return pot.compute(atoms.positions, atoms.numbers,
                           atoms.cell.array if periodic else None, atoms.pbc,
                           forces=True, stress=periodic, energies=True)


def close(actual, expected, rel, floor=1e-10):
    scale = np.max(np.abs(expected)) if np.size(expected) else 0.0
    return np.max(np.abs(actual - expected)) <= max(rel * scale, floor)


def test_reference_data_present():
    require_shared()
    assert CASES, "no reference cases found"


@pytest.mark.parametrize("name,path", CASES, ids=[f"{n}/{p.stem}" for n, p in CASES])
def test_matches_n2p2(name, path):
    pot = potential(name)
    frames = ase_io.read(path, index=":")
    for atoms in frames:
        energy, forces, energies, stress = reference_values(atoms)
        res = evaluate(pot, atoms)
        assert abs(res.energy - energy) <= 1e-10 * abs(energy) + 1e-12 * len(atoms)
        assert close(res.forces, forces, 1e-8), np.max(np.abs(res.forces - forces))
        assert close(res.energies, energies, 1e-10)
        assert abs(res.energies.sum() - res.energy) <= 1e-12 * abs(res.energy) + 1e-12
        if stress is not None:
            assert close(res.stress, stress, 1e-8), np.max(np.abs(res.stress - stress))


@pytest.mark.parametrize("name,path", CASES, ids=[f"{n}/{p.stem}" for n, p in CASES])
def test_extrapolation_count_matches_n2p2(name, path):
    """n2p2's count of (atom, SF) values outside scaling.data's range.

    Values equal to a training extreme can land on either side of the bound by
    round-off, which depends on summation order; bpfast does not count values within
    1e-10 of a bound. So n2p2's count must lie between bpfast's count and the count
    of all values strictly outside the range.
    """
    pot = potential(name)
    stats = scaling_bounds(POTENTIALS / name, pot)
    for atoms in ase_io.read(path, index=":"):
        expected = atoms.info["n2p2_extrapolation_warnings"]
        periodic = bool(atoms.pbc.any())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", bpfast.ExtrapolationWarning)
            res = pot.compute(atoms.positions, atoms.numbers,
                              atoms.cell.array if periodic else None, atoms.pbc, forces=False)
        G = pot.descriptors(atoms.positions, atoms.numbers,
                            atoms.cell.array if periodic else None, atoms.pbc)
        strict = beyond_roundoff = 0
        for z, g in zip(atoms.numbers, G):
            lo, hi = stats[int(z)]
            strict += int(np.sum((g < lo) | (g > hi)))
            slack = 1e-10 * np.maximum(np.maximum(np.abs(lo), np.abs(hi)), hi - lo)
            beyond_roundoff += int(np.sum((g < lo - slack) | (g > hi + slack)))
        assert res.extrapolations == beyond_roundoff
        assert res.extrapolations <= expected <= strict


@pytest.mark.parametrize("name", second_generation_potentials())
def test_every_2g_potential_loads_and_runs(name):
    pot = potential(name)
    assert pot.cutoff > 0
    rng = np.random.default_rng(0)
    n = 2 * len(pot.elements)
    # A sparse random cluster: atoms at least 1.5 length units apart.
    pos = []
    while len(pos) < n:
        p = rng.uniform(0, 6, 3)
        if all(np.linalg.norm(p - q) > 1.5 for q in pos):
            pos.append(p)
    species = [pot.elements[i % len(pot.elements)] for i in range(n)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bpfast.ExtrapolationWarning)
        res = pot.compute(np.array(pos), species)
    assert np.isfinite(res.energy)
    assert np.isfinite(res.forces).all()


def test_4g_potentials_are_rejected_clearly():
    require_shared()
    fourth = [d for d in sorted(POTENTIALS.iterdir()) if list(d.glob("weightse.*.data"))]
    assert fourth, "expected the shared 4G potentials"
    for d in fourth:
        with pytest.raises(bpfast.UnsupportedPotentialError, match="4th-generation"):
            bpfast.load(d)


def test_thin_cell_forces_include_self_images():
    """Where n2p2 master drops the self-image terms, bpfast must not."""
    require_shared()
    checked = 0
    for name, path in CASES:
        for atoms in ase_io.read(path, index=":"):
            if "forces_master_nnp_predict" not in atoms.arrays:
                continue
            wrong = atoms.arrays["forces_master_nnp_predict"]
            _, forces, _, _ = reference_values(atoms)
            if np.max(np.abs(wrong - forces)) < 1e-6 * np.max(np.abs(forces)):
                continue
            res = evaluate(potential(name), atoms)
            assert np.max(np.abs(res.forces - forces)) < 1e-3 * np.max(np.abs(res.forces - wrong))
            checked += 1
    assert checked > 0
