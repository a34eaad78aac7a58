"""pytest-benchmark benchmarks: ``pytest bench/`` (not part of the test suite).

Each benchmark evaluates one shipped potential on a supercell of its example frame;
neighbour-list benchmarks compare bpfast with the peers that are installed.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

bpfast = pytest.importorskip("bpfast")
from _common import BASE_FRAMES, SHARED, supercell  # noqa: E402

if not (SHARED / "potentials").is_dir():
    pytest.skip(f"n2p2 potentials not found in {SHARED}", allow_module_level=True)


@pytest.fixture(scope="module", params=sorted(BASE_FRAMES))
def case(request):
    atoms = supercell(request.param, 3000)
    return bpfast.load(SHARED / "potentials" / request.param), atoms


@pytest.mark.parametrize("threads", [1, 2])
def test_energy_forces_stress(benchmark, case, threads):
    pot, atoms = case
    benchmark.extra_info["atoms"] = len(atoms)

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", bpfast.ExtrapolationWarning)
            return pot.compute(atoms.positions, atoms.numbers, atoms.cell.array, stress=True,
                               threads=threads)

    res = benchmark(run)
    assert np.isfinite(res.energy)


def test_energy_only(benchmark, case):
    pot, atoms = case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bpfast.ExtrapolationWarning)
        benchmark(pot.compute, atoms.positions, atoms.numbers, atoms.cell.array, forces=False)


@pytest.mark.parametrize("package", ["bpfast", "vesin", "matscipy", "ase"])
def test_neighbor_list(benchmark, package):
    atoms = supercell("H2O_RPBE-D3", 10_000)
    cutoff = 12.0
    pos, cell = atoms.positions, atoms.cell.array
    if package == "bpfast":
        benchmark(bpfast.neighbor_list, pos, cutoff, cell, True, threads=1)
    elif package == "vesin":
        vesin = pytest.importorskip("vesin")
        nl = vesin.NeighborList(cutoff=cutoff, full_list=True)
        benchmark(nl.compute, points=pos, box=cell, periodic=True, quantities="ijD")
    elif package == "matscipy":
        neighbours = pytest.importorskip("matscipy.neighbours")
        benchmark(neighbours.neighbour_list, "ijD", atoms, cutoff)
    else:
        from ase.neighborlist import neighbor_list

        benchmark.pedantic(neighbor_list, args=("ijD", atoms, cutoff), rounds=1, iterations=1)
