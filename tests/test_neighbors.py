"""The cell-list neighbour search against ASE's neighbour list."""

from __future__ import annotations

import numpy as np
import pytest

import bpfast

ase_nl = pytest.importorskip("ase.neighborlist")
ase = pytest.importorskip("ase")


def pairs(i, j, D):
    """Sorted rows (i, j, D rounded) so that lists can be compared as sets."""
    rows = np.column_stack([i, j, np.round(D, 8)])
    return rows[np.lexsort(rows.T[::-1])]


CELLS = {
    "cubic": np.eye(3) * 7.0,
    "triclinic": np.array([[6.0, 0.0, 0.0], [2.5, 5.5, 0.0], [-1.5, 1.0, 6.5]]),
    "thin": np.array([[1.7, 0.0, 0.0], [0.3, 2.2, 0.0], [0.2, 0.4, 9.0]]),
    "left-handed": np.array([[0.0, 6.0, 0.0], [6.5, 0.0, 0.0], [0.5, 0.5, 6.0]]),
}


@pytest.mark.parametrize("name", sorted(CELLS))
@pytest.mark.parametrize("pbc", [(True, True, True), (True, False, True), (False, False, False)])
def test_matches_ase(name, pbc):
    rng = np.random.default_rng(0)
    cell = CELLS[name]
    positions = rng.uniform(-0.2, 1.2, (25, 3)) @ cell  # some atoms outside the cell
    cutoff = 3.7
    i, j, D = bpfast.neighbor_list(positions, cutoff, cell, pbc)
    atoms = ase.Atoms("H25", positions=positions, cell=cell, pbc=pbc)
    ai, aj, aD = ase_nl.neighbor_list("ijD", atoms, cutoff, self_interaction=False)
    assert len(i) == len(ai) > 0
    np.testing.assert_allclose(pairs(i, j, D), pairs(ai, aj, aD), atol=1e-7)
    assert np.all(np.linalg.norm(D, axis=1) < cutoff)


@pytest.mark.parametrize("pbc", [(True, True, True), (False, True, True), (True, True, False),
                                 (False, False, False)])
def test_many_bins_match_ase(pbc):
    """Enough atoms for several bins per axis (half the cutoff wide), so that the runs of
    consecutive bins along the last axis start, end and wrap at different places."""
    rng = np.random.default_rng(4)
    cell = np.array([[14.0, 0.0, 0.0], [3.0, 13.0, 0.0], [-2.0, 2.5, 15.0]])
    positions = rng.uniform(-0.1, 1.1, (500, 3)) @ cell
    cutoff = 3.1
    i, j, D = bpfast.neighbor_list(positions, cutoff, cell, pbc)
    atoms = ase.Atoms(f"H{len(positions)}", positions=positions, cell=cell, pbc=pbc)
    ai, aj, aD = ase_nl.neighbor_list("ijD", atoms, cutoff, self_interaction=False)
    assert len(i) == len(ai) > 1000
    np.testing.assert_allclose(pairs(i, j, D), pairs(ai, aj, aD), atol=1e-7)


@pytest.mark.parametrize("threads", [1, 2, 3, 7])
def test_thread_blocks_match_ase(threads):
    """Each thread's pairs stay in their own block of consecutive atoms; the list reads
    the same whatever the number of blocks (more threads than the machine has, too)."""
    rng = np.random.default_rng(5)
    cell = np.array([[12.0, 0.0, 0.0], [2.0, 11.0, 0.0], [-1.0, 1.5, 12.5]])
    positions = rng.uniform(0.0, 1.0, (300, 3)) @ cell
    cutoff = 3.3
    i, j, D = bpfast.neighbor_list(positions, cutoff, cell, True, threads=threads)
    atoms = ase.Atoms(f"H{len(positions)}", positions=positions, cell=cell, pbc=True)
    ai, aj, aD = ase_nl.neighbor_list("ijD", atoms, cutoff, self_interaction=False)
    assert len(i) == len(ai) > 1000
    assert np.all(np.diff(i) >= 0)  # in atom order
    np.testing.assert_allclose(pairs(i, j, D), pairs(ai, aj, aD), atol=1e-7)


@pytest.mark.parametrize("pbc", [(True, True, True), (True, False, True), (False, False, False)])
def test_large_lists_match_ase(pbc):
    """Enough atoms (> 4096) for the wrapping and binning passes to run on the threads
    (per-thread bounds of the open directions merged), in clumps of different density,
    with open directions (no size hint: the pair buffers grow while they fill)."""
    rng = np.random.default_rng(6)
    cell = np.array([[30.0, 0.0, 0.0], [4.0, 28.0, 0.0], [-3.0, 2.0, 31.0]])
    centres = rng.uniform(0.0, 1.0, (40, 3))
    frac = centres[rng.integers(0, 40, 4500)] + rng.normal(0.0, 0.06, (4500, 3))
    positions = frac @ cell  # some atoms outside the cell
    cutoff = 1.5
    atoms = ase.Atoms(f"H{len(positions)}", positions=positions, cell=cell, pbc=pbc)
    expected = pairs(*ase_nl.neighbor_list("ijD", atoms, cutoff, self_interaction=False))
    assert len(expected) > 5 * len(positions)
    for threads in (1, 2, 3):
        i, j, D = bpfast.neighbor_list(positions, cutoff, cell, pbc, threads=threads)
        assert np.all(np.diff(i) >= 0)
        np.testing.assert_allclose(pairs(i, j, D), expected, atol=1e-7)


@pytest.mark.parametrize("pbc", [(True, True, True), (False, True, False)])
def test_both_scan_widths_keep_the_same_pairs(pbc):
    """The candidate scan runs 8 candidates at a time where the CPU has AVX-512, else one
    at a time: the same pairs, in the same order, either way (runs of every length, so
    the masked tail of the wide scan is exercised), and the same as ASE's."""
    from bpfast import _core

    rng = np.random.default_rng(7)
    cell = np.array([[16.0, 0.0, 0.0], [3.0, 15.0, 0.0], [-2.0, 1.0, 17.0]])
    positions = rng.uniform(-0.05, 1.05, (900, 3)) @ cell
    cutoff = 3.4
    lists = {}
    try:
        for lanes in (4, 8):
            _core._set_simd_width(lanes)
            lists[lanes] = bpfast.neighbor_list(positions, cutoff, cell, pbc, threads=2)
    finally:
        _core._set_simd_width(0)
    for a, b in zip(lists[4], lists[8]):
        np.testing.assert_array_equal(a, b)
    atoms = ase.Atoms(f"H{len(positions)}", positions=positions, cell=cell, pbc=pbc)
    expected = pairs(*ase_nl.neighbor_list("ijD", atoms, cutoff, self_interaction=False))
    np.testing.assert_allclose(pairs(*lists[8]), expected, atol=1e-7)


def test_cluster_without_cell():
    rng = np.random.default_rng(1)
    positions = rng.uniform(0, 10, (60, 3))
    i, j, D = bpfast.neighbor_list(positions, 2.5)
    np.testing.assert_allclose(D, positions[j] - positions[i], atol=1e-12)
    d = np.linalg.norm(positions[:, None] - positions[None], axis=-1)
    expected = np.argwhere((d < 2.5) & ~np.eye(60, dtype=bool))
    assert sorted(map(tuple, np.column_stack([i, j]))) == sorted(map(tuple, expected))


def test_bad_cutoff():
    with pytest.raises(ValueError, match="cutoff"):
        bpfast.neighbor_list(np.zeros((2, 3)), 0.0)
