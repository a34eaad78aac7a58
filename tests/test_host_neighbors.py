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


def open_lists(positions, cutoff, centres):
    """Full neighbour lists (compressed rows) of `centres` among `centres` only."""
    offsets, neighbors = [0], []
    for i in centres:
        d = np.linalg.norm(positions[centres] - positions[i], axis=1)
        neighbors.extend(centres[(d < cutoff + 0.2) & (centres != i)])
        offsets.append(len(neighbors))
    return (np.asarray(centres, dtype=np.int32), np.array(offsets, dtype=np.int64),
            np.array(neighbors, dtype=np.int32))


@pytest.fixture(scope="module")
def mixed():
    """An open H/O cluster with argon atoms (an element the potential does not describe)
    among its atoms: positions, atomic numbers, the indices of the H and O atoms."""
    rng = np.random.default_rng(5)
    positions, numbers, _, _ = random_structure(rng, ("H", "O"), 14, cell=None)
    argon = rng.uniform(positions.min(0), positions.max(0), (4, 3))
    order = rng.permutation(len(positions) + len(argon))
    everything = np.concatenate([positions, argon])[order]
    z = np.concatenate([numbers, np.full(len(argon), 18)])[order]
    return np.ascontiguousarray(everything), z.astype(np.int32), np.flatnonzero(z != 18)


@pytest.mark.parametrize("model", ["potential", "committee"])
def test_atoms_outside_the_host_lists_may_be_of_any_element(pot, mixed, tmp_path, model):
    """Atoms that are neither centres nor listed neighbours (LAMMPS pair_style hybrid
    gives them to other styles) take no part, whatever their element: the result is that
    of the listed atoms alone, with zero force and energy on the others."""
    if model == "committee":
        from bpfast.testing import perturbed_copy
        source = write_potential(tmp_path / "source", seed=3)
        pot = bpfast.load_committee([source, perturbed_copy(source, tmp_path / "m1", seed=1)])
    positions, numbers, listed = mixed
    out = pot._core.compute_host(positions, numbers, *open_lists(positions, pot.cutoff, listed))
    alone = pot._core.compute_host(
        np.ascontiguousarray(positions[listed]), numbers[listed],
        *open_lists(positions[listed], pot.cutoff, np.arange(len(listed))))
    others = np.setdiff1d(np.arange(len(numbers)), listed)
    forces = np.asarray(out["forces"]).reshape(-1, len(numbers), 3)
    energies = np.asarray(out["energies"]).reshape(-1, len(numbers))
    np.testing.assert_allclose(out["energy"], alone["energy"], rtol=1e-13)
    np.testing.assert_allclose(forces[:, listed],
                               np.asarray(alone["forces"]).reshape(forces[:, listed].shape),
                               rtol=0, atol=1e-12 * np.abs(alone["forces"]).max())
    np.testing.assert_allclose(energies[:, listed],
                               np.asarray(alone["energies"]).reshape(energies[:, listed].shape),
                               rtol=1e-13)
    assert np.all(forces[:, others] == 0.0) and np.all(energies[:, others] == 0.0)


def test_host_lists_naming_an_atom_of_another_element_are_refused(pot, mixed):
    positions, numbers, listed = mixed
    argon = int(np.flatnonzero(numbers == 18)[0])
    centres, offsets, neighbors = open_lists(positions, pot.cutoff, listed)
    with pytest.raises(KeyError, match=rf"atom {argon} \(a centre\) is Ar \(Z=18\), which the "
                                       r"potential does not describe \(elements: H, O\)"):
        pot._core.compute_host(positions, numbers, np.append(centres, argon).astype(np.int32),
                               np.append(offsets, offsets[-1]), neighbors)
    first = int(centres[0])
    with pytest.raises(KeyError, match=rf"atom {argon} \(a neighbour of centre {first}\) is Ar"):
        pot._core.compute_host(positions, numbers, centres, offsets + (offsets > 0),
                               np.insert(neighbors, 0, argon).astype(np.int32))
