"""Code paths of the compact angular kernel (types 21, 22, 24, 25).

Per central pair (i, j) the kernel takes a shortcut when every candidate partner k
counts (the neighbour list's own rows and precomputed window bounds) and the general
route when some are left out (exactly collinear triplets; for types 21 and 24 also
r_jk outside the windows). The gradient pass replays what the values pass recorded
(sorted neighbour list, partners, angles) or recomputes it past the recording limit.
The structures here mix both routes; forces are checked against finite differences
and the two ways of the gradient pass against each other.
"""

from __future__ import annotations

import numpy as np
import pytest

import bpfast
from bpfast import _core
from bpfast.testing import numerical_forces
from synthetic import write_potential

pytestmark = pytest.mark.filterwarnings("ignore::bpfast.ExtrapolationWarning")

RC = 4.0
# Angle windows that contain 0 or 180 degrees (where collinear triplets would count)
# and others; radial windows with r_l < 0 and r_l > 0; 1, 3 and 10 SFs per window.
ANGLES = ((90, 270), (-90, 90), (0, 180), (30, 150), (60, 180), (45.5, 165.5), (0, 120),
          (10, 100), (80, 170), (20, 60))
LINES = [
    f"{ec} {t} {pair}{rl} {rc} {left} {right} {sub}"
    for ec in ("H", "O")
    for t, pair in ((22, "H O "), (22, "H H "), (21, "O H "), (25, ""), (24, ""))
    for (rl, rc, sub), n_angles in (((-RC, RC, "p2"), 10), ((0.5, 3.5, "p2a"), 3),
                                     ((1.0, 3.8, "e"), 1))
    for left, right in ANGLES[:n_angles]
] + [f"{ec} 20 {e} {-RC} {RC} p2" for ec in ("H", "O") for e in ("H", "O")]


def collinear_cluster(seed: int):
    """A chain of atoms on the x axis at integer x (whose triplets are exactly
    collinear: cos theta = +-1) and atoms around it, as (positions, numbers)."""
    rng = np.random.default_rng(seed)
    chain = np.array([[x, 0.0, 0.0] for x in (-2.0, -1.0, 0.0, 1.0, 2.0)])
    around = []
    while len(around) < 9:
        p = rng.uniform(-2.5, 2.5, 3)
        if min(np.linalg.norm(q - p) for q in [*chain, *around]) > 0.9:
            around.append(p)
    positions = np.vstack([chain, around])
    numbers = rng.choice([1, 8], len(positions))
    numbers[:3] = (1, 8, 1)  # both elements on the chain
    return positions, numbers


@pytest.fixture(scope="module")
def potential_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("compact_paths")
    write_potential(directory, sf_lines=LINES, rc=RC, seed=4)
    return directory


def options(limit: int) -> "_core.KernelOptions":
    return _core.KernelOptions(pair_tape_limit=limit)


def test_the_cluster_has_triplets_left_out(potential_dir):
    """Moving the chain off the axis by 1e-5 changes the SFs by far more than a smooth
    change would: triplets that were exactly collinear (left out) then count."""
    pot = bpfast.load(potential_dir)
    positions, numbers = collinear_cluster(0)
    moved = positions.copy()
    moved[:5, 1] += 1e-5 * np.arange(1, 6)
    g0 = np.concatenate(pot.descriptors(positions, numbers))
    g1 = np.concatenate(pot.descriptors(moved, numbers))
    assert np.max(np.abs(g1 - g0)) > 1e-2


@pytest.mark.parametrize("seed", [0, 1])
def test_forces_with_triplets_left_out_match_finite_differences(potential_dir, seed):
    """Forces on the atoms off the chain against central differences: moving them
    leaves the chain's triplets exactly collinear (left out on both sides), while their
    own triplets with a chain atom as j or k go through the partner lists with gaps.
    (Moving a chain atom would make its triplets count on both sides of the difference,
    another energy surface.)"""
    pot = bpfast.load(potential_dir)
    positions, numbers = collinear_cluster(seed)
    res = pot.compute(positions, numbers)
    around = np.arange(5, len(positions))
    fd = numerical_forces(pot, positions, numbers, step=1e-5, atoms=around)[around]
    scale = np.max(np.abs(fd))
    assert scale > 1e-3
    np.testing.assert_allclose(res.forces[around], fd, rtol=0, atol=1e-6 * scale)


@pytest.mark.parametrize("limit", [0, 300])
@pytest.mark.parametrize("periodic", [False, True])
def test_replayed_and_recomputed_gradients_are_identical(potential_dir, limit, periodic):
    """Gradient pass from recorded data (default limit) and recomputed (limit 0: nothing
    recorded; 300 doubles: some groups recorded), bit for bit."""
    pot = bpfast.load(potential_dir)
    positions, numbers = collinear_cluster(2)
    cell = np.diag([9.0, 9.5, 10.0]) if periodic else None
    kw = dict(cell=cell, pbc=periodic, threads=1, stress=periodic)
    recorded = pot.compute(positions, numbers, **kw)
    fresh = pot.compute(positions, numbers, **kw, _kernels=options(limit))
    assert fresh.energy == recorded.energy
    assert np.array_equal(fresh.forces, recorded.forces)
    if periodic:
        assert np.array_equal(fresh.stress, recorded.stress)


def test_committee_members_match_their_potentials(potential_dir, tmp_path):
    """A committee's gradient pass serves every member from shared angle functions and
    per-member dE/dG; each member's forces are those of its potential alone."""
    other = tmp_path / "other"
    write_potential(other, sf_lines=LINES, rc=RC, seed=5)
    committee = bpfast.load_committee([potential_dir, other])
    positions, numbers = collinear_cluster(3)
    res = committee.compute(positions, numbers, members=True, threads=1)
    for m, directory in enumerate((potential_dir, other)):
        alone = bpfast.load(directory).compute(positions, numbers, threads=1)
        scale = np.max(np.abs(alone.forces))
        np.testing.assert_allclose(res.member_forces[m], alone.forces, rtol=0,
                                   atol=1e-12 * scale)
