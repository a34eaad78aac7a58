"""The host-neighbour entry point used by the LAMMPS pair style.

A host (LAMMPS) hands over local atoms, explicit ghost atoms (periodic images) and full
neighbour lists of the local atoms. Here the ghosts are the periodic images built by
hand, so the result must equal the periodic evaluation once the forces on ghosts are
added to the atoms they are images of (what LAMMPS' reverse communication does).
"""

from __future__ import annotations

import numpy as np
import pytest

import bpfast
from synthetic import random_structure, write_potential


@pytest.fixture(scope="module")
def pot(tmp_path_factory):
    return bpfast.load(write_potential(tmp_path_factory.mktemp("pot"), seed=3))


def with_ghosts(positions, cell, reach):
    """Local atoms followed by all their images with lattice shifts in [-reach, reach]^3."""
    n = len(positions)
    shifts = [np.array(s) for s in np.ndindex(*(2 * reach + 1,) * 3)]
    shifts = [s - reach for s in shifts if np.any(s != reach)]
    images = [positions + s @ cell for s in shifts]
    owner = np.concatenate([np.arange(n)] + [np.arange(n)] * len(shifts))
    return np.concatenate([positions] + images), owner


@pytest.mark.parametrize("cell_kind", ["triclinic", "thin"])
def test_host_neighbors_equal_periodic_evaluation(pot, cell_kind):
    rng = np.random.default_rng(2)
    if cell_kind == "thin":
        cell = np.array([[2.5, 0.0, 0.0], [0.6, 3.1, 0.0], [0.4, -0.5, 6.0]])
        positions = rng.uniform(0, 1, (4, 3)) @ cell
        numbers = np.array([1, 8, 1, 8])
    else:
        positions, numbers, cell, _ = random_structure(rng, ("H", "O"), 12, cell="triclinic",
                                                       min_height=4.5)
    ref = pot.compute(positions, numbers, cell, True, stress=True, energies=True)
    heights = abs(np.linalg.det(cell)) / np.linalg.norm(np.cross(cell[[1, 2, 0]], cell[[2, 0, 1]]), axis=1)
    reach = int(np.ceil(pot.cutoff / heights.min())) + 1
    everything, owner = with_ghosts(positions, cell, reach)
    n = len(positions)
    # Full neighbour lists of the local atoms, from a plain distance search.
    offsets, neighbors = [0], []
    for i in range(n):
        d = np.linalg.norm(everything - everything[i], axis=1)
        js = np.flatnonzero((d < pot.cutoff + 0.3) & (np.arange(len(everything)) != i))
        neighbors.extend(js)
        offsets.append(len(neighbors))
    out = pot._core.compute_host(everything, numbers[owner].astype(np.int32),
                                 np.arange(n, dtype=np.int32), np.array(offsets, dtype=np.int64),
                                 np.array(neighbors, dtype=np.int32))
    assert out["energy"] == pytest.approx(ref.energy, rel=1e-12)
    np.testing.assert_allclose(out["energies"][:n], ref.energies, rtol=1e-12, atol=1e-14)
    assert np.all(out["energies"][n:] == 0.0)
    folded = np.zeros_like(positions)
    np.add.at(folded, owner, out["forces"])
    np.testing.assert_allclose(folded, ref.forces, rtol=0, atol=1e-12 * np.abs(ref.forces).max())
    volume = abs(np.linalg.det(cell))
    np.testing.assert_allclose(out["virial"] / volume, ref.stress, rtol=0,
                               atol=1e-12 * np.abs(ref.stress).max())


def test_host_neighbors_reject_bad_indices(pot):
    with pytest.raises(ValueError, match="out of range"):
        pot._core.compute_host(np.zeros((2, 3)), np.array([1, 1], dtype=np.int32),
                               np.array([0], dtype=np.int32), np.array([0, 1], dtype=np.int64),
                               np.array([5], dtype=np.int32))
