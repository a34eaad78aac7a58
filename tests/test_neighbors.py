"""The cell-list neighbour search against ASE's neighbour list."""

from __future__ import annotations

import numpy as np
import pytest

import bpfast
from bpfast import _core

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


@pytest.mark.skipif(_core._best_simd_width() < 8, reason="no 8-lane (AVX-512) candidate scan on "
                    "this CPU: only the one-at-a-time scan can run")
@pytest.mark.parametrize("pbc", [(True, True, True), (False, True, False)])
def test_both_scan_widths_keep_the_same_pairs(pbc):
    """The candidate scan runs 8 candidates at a time where the CPU has AVX-512, else one
    at a time: the same pairs, in the same order, either way (runs of every length, so
    the masked tail of the wide scan is exercised), and the same as ASE's."""
    rng = np.random.default_rng(7)
    cell = np.array([[16.0, 0.0, 0.0], [3.0, 15.0, 0.0], [-2.0, 1.0, 17.0]])
    positions = rng.uniform(-0.05, 1.05, (900, 3)) @ cell
    cutoff = 3.4
    lists = {}
    for lanes in (4, 8):
        lists[lanes] = bpfast.neighbor_list(positions, cutoff, cell, pbc, threads=2,
                                            _kernels=_core.KernelOptions(simd_width=lanes))
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


@pytest.mark.parametrize("spread", [0.0, 1e-6, 1e-9, 1e-12, 1e-15, 1e-300])
@pytest.mark.parametrize("pbc", [(False, False, False), (True, True, False)])
def test_nearly_flat_along_an_open_direction(spread, pbc):
    """Atoms in a plane up to `spread` along an open direction: the bins along it are then
    extremely thin, and the cutoff spans more of them than an int holds (this once lost
    every pair)."""
    rng = np.random.default_rng(3)
    positions = np.column_stack([rng.uniform(0, 6, 30), rng.uniform(0, 6, 30), np.zeros(30)])
    positions[7, 2] = spread
    cell = np.diag([6.0, 6.0, 1.0])
    i, j, D = bpfast.neighbor_list(positions, 2.5, cell=cell, pbc=pbc)
    atoms = ase.Atoms("H30", positions=positions, cell=cell, pbc=pbc)
    expected = pairs(*ase_nl.neighbor_list("ijD", atoms, 2.5))
    assert len(expected) > 30
    np.testing.assert_allclose(pairs(i, j, D), expected, atol=1e-8)


def test_huge_cutoff_in_open_directions():
    positions = np.array([[0.0, 0.0, 0.0], [1.8, 0.0, 0.0], [-0.45, 1.76, 0.3]])
    for cutoff in (1e9, 1e300):
        i, j, _ = bpfast.neighbor_list(positions, cutoff)
        assert len(i) == 6


def test_bad_cutoff():
    for cutoff in (0.0, -1.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="cutoff must be a positive finite number"):
            bpfast.neighbor_list(np.zeros((2, 3)), cutoff)


def test_cutoff_spanning_too_many_images():
    """A cutoff a million times the cell is refused with an explanation, not attempted."""
    with pytest.raises(ValueError, match="too many periodic images.*supercell"):
        bpfast.neighbor_list(np.zeros((1, 3)), 1e9, cell=np.eye(3) * 10.0)
    with pytest.raises(ValueError, match="too many periodic images"):
        bpfast.neighbor_list(np.zeros((1, 3)), 1e7, cell=np.diag([10.0, 10.0, 0.0]),
                             pbc=(True, True, False))
    # 51 cells along each axis (well inside the limit) still works
    i, _, _ = bpfast.neighbor_list(np.zeros((1, 3)), 2.4, cell=np.eye(3) * 0.1)
    assert len(i) > 50000


def test_core_refuses_huge_thread_counts():
    """The core checks too (a team of 200,000 OpenMP threads crashed the process), not
    only the Python layer."""
    from bpfast import _core

    with pytest.raises(ValueError, match="threads must be at most 4096, got 200000"):
        _core.neighbor_list(np.zeros((2, 3)), None, (False, False, False), 2.0, 200000)
