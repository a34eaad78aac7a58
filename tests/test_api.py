"""The public Python API: attributes, results, threads, and the README quickstart."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import bpfast
from conftest import POTENTIALS, REPO, require_shared
from synthetic import random_structure, write_potential


@pytest.fixture(scope="module")
def potdir(tmp_path_factory):
    return write_potential(tmp_path_factory.mktemp("pot"), elements=("O", "H"), sf_types=(2, 3, 20),
                           nodes=(6, 5), activations=("t", "p", "l"), seed=9)


@pytest.fixture(scope="module")
def pot(potdir):
    return bpfast.load(potdir)


def test_public_names():
    for name in bpfast.__all__:
        assert hasattr(bpfast, name)
    assert issubclass(bpfast.FormatError, ValueError)
    assert issubclass(bpfast.UnsupportedPotentialError, ValueError)
    assert issubclass(bpfast.ExtrapolationWarning, UserWarning)


def test_potential_attributes(pot, potdir):
    assert pot.elements == ("H", "O")  # sorted by atomic number, whatever the file order
    assert pot.atomic_numbers == (1, 8)
    assert pot.cutoff == pytest.approx(4.0)
    n = pot.n_symmetry_functions
    assert set(n) == {"H", "O"} and all(v > 0 for v in n.values())
    assert pot.architecture == {el: (n[el], 6, 5, 1) for el in ("H", "O")}
    assert pot.activations == {"H": "tpl", "O": "tpl"}
    text = repr(pot)
    assert "H" in text and "O" in text and f"{n['H']}-6-5-1" in text
    sfs = pot.symmetry_functions
    assert [sf["type"] for sf in sfs["H"]] == sorted(sf["type"] for sf in sfs["H"])
    assert pot.normalization is not None and set(pot.normalization) == {
        "mean_energy", "conv_energy", "conv_length"}
    assert Path(pot.directory) == Path(potdir)


def test_result_is_frozen_and_typed(pot):
    s = random_structure(np.random.default_rng(0), ("H", "O"), 6, cell="cubic", density=0.05)
    res = pot.compute(*s, stress=True, energies=True)
    assert isinstance(res, bpfast.Result)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.energy = 0.0  # type: ignore[misc]
    assert isinstance(res.energy, float)
    assert res.forces.dtype == np.float64 and res.forces.shape == (6, 3)
    assert res.stress.shape == (3, 3) and res.energies.shape == (6,)
    only_energy = pot.compute(*s, forces=False)
    assert only_energy.forces is None and only_energy.stress is None and only_energy.energies is None
    assert only_energy.energy == pytest.approx(res.energy, rel=1e-14)
    assert set(res.timings) == {"neighbors", "symmetry_functions", "network", "forces"}
    # arrays inside: == is identity (no ambiguous array truth value), hashable
    assert res == res and res != only_energy and len({res, only_energy}) == 2


def test_species_as_symbols_or_numbers(pot):
    positions, numbers, cell, pbc = random_structure(np.random.default_rng(1), ("H", "O"), 5, cell=None)
    symbols = ["H" if z == 1 else "O" for z in numbers]
    a = pot.compute(positions, numbers)
    b = pot.compute(positions, symbols)
    c = pot.compute(positions.tolist(), list(numbers.astype(np.int8)))
    mixed = [s if k % 2 else int(z) for k, (s, z) in enumerate(zip(symbols, numbers))]
    d = pot.compute(positions, mixed)  # numpy turns ["O", 1, ...] into strings
    assert a.energy == b.energy == c.energy == d.energy
    np.testing.assert_array_equal(a.forces, b.forces)


def test_orthorhombic_cell_as_lengths(pot):
    positions, numbers, cell, _ = random_structure(np.random.default_rng(2), ("H", "O"), 6, cell="cubic")
    lengths = np.diag(cell)
    assert pot.compute(positions, numbers, lengths).energy == pot.compute(positions, numbers, cell).energy


_THREAD_SCRIPT = """
import json, sys, numpy as np, bpfast
sys.path.insert(0, {tests!r})
from synthetic import random_structure
pot = bpfast.load({potdir!r})
s = random_structure(np.random.default_rng(5), ("H", "O"), 60, cell="triclinic", box=8.0)
r = pot.compute(*s, stress=True, energies=True)
print(json.dumps(dict(e=r.energy, f=r.forces.tolist(), s=r.stress.tolist(), a=r.energies.tolist())))
"""


def test_omp_num_threads_1_and_2_agree(potdir):
    script = _THREAD_SCRIPT.format(tests=str(Path(__file__).parent), potdir=str(potdir))
    out = {}
    for threads in ("1", "2"):
        env = dict(os.environ, OMP_NUM_THREADS=threads)
        proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                              text=True, check=True)
        out[threads] = json.loads(proc.stdout)
    one, two = out["1"], out["2"]
    assert two["e"] == pytest.approx(one["e"], rel=1e-12)
    f1, f2 = np.array(one["f"]), np.array(two["f"])
    assert np.max(np.abs(f1 - f2)) <= 1e-12 * np.max(np.abs(f1))
    s1, s2 = np.array(one["s"]), np.array(two["s"])
    assert np.max(np.abs(s1 - s2)) <= 1e-12 * np.max(np.abs(s1))
    np.testing.assert_allclose(two["a"], one["a"], rtol=1e-12)


def test_readme_quickstart_runs():
    """The README's quickstart, pointed at the shipped n2p2 water potential."""
    require_shared()
    readme = (REPO / "README.md").read_text()
    block = re.search(r"## Quickstart\s+```python\n(.*?)```", readme, re.S).group(1)
    code = block.replace('bpfast.load("H2O_RPBE-D3")', f'bpfast.load({str(POTENTIALS / "H2O_RPBE-D3")!r})')
    assert code != block
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bpfast.ExtrapolationWarning)
        namespace: dict = {}
        exec(compile(code, "README.md", "exec"), namespace)
    res = namespace["res"]
    assert np.isfinite(res.energy) and res.forces.shape == (3, 3) and res.stress.shape == (3, 3)


@pytest.mark.parametrize("cell", ["triclinic", None])
def test_neighbor_cache_reuse_is_exact(pot, cell):
    rng = np.random.default_rng(7)
    positions, numbers, c, pbc = random_structure(rng, ("H", "O"), 30, cell=cell, density=0.05)
    cache = bpfast.NeighborCache(skin=0.6)
    assert cache.skin == 0.6 and cache.rebuilds == 0
    pos = positions.copy()
    for _ in range(12):
        pos = pos + rng.normal(scale=0.03, size=pos.shape)
        cached = pot.compute(pos, numbers, c, pbc, cache=cache, stress=c is not None, energies=True)
        fresh = pot.compute(pos, numbers, c, pbc, stress=c is not None, energies=True)
        assert cached.energy == pytest.approx(fresh.energy, rel=1e-12)
        np.testing.assert_allclose(cached.forces, fresh.forces, rtol=0,
                                   atol=1e-12 * np.max(np.abs(fresh.forces)))
        np.testing.assert_allclose(cached.energies, fresh.energies, rtol=1e-12, atol=1e-14)
        if c is not None:
            np.testing.assert_allclose(cached.stress, fresh.stress, rtol=0,
                                       atol=1e-12 * np.max(np.abs(fresh.stress)))
    # Random walk of 12 steps of 0.03 per component: some atoms pass skin/2 = 0.3.
    assert 1 < cache.rebuilds < 12


def test_neighbor_cache_error_names_the_skin(pot):
    cache = bpfast.NeighborCache(skin=1.0)
    assert repr(bpfast.NeighborCache(skin=1e-300)) == "NeighborCache(skin=1e-300, rebuilds=0)"
    with pytest.raises(ValueError, match="too many periodic images.*a skin of 1"):
        # a slab (a 3-D cell this small is refused earlier, from its density)
        pot.compute(np.zeros((1, 3)), ["H"], np.diag([0.004, 0.004, 1.0]),
                    [True, True, False], cache=cache)


def test_neighbor_cache_rebuilds_when_needed(pot):
    rng = np.random.default_rng(8)
    positions, numbers, cell, pbc = random_structure(rng, ("H", "O"), 20, cell="cubic", density=0.05)
    cache = bpfast.NeighborCache(skin=1.0)
    pot.compute(positions, numbers, cell, pbc, cache=cache)
    pot.compute(positions + 0.1, numbers, cell, pbc, cache=cache)
    assert cache.rebuilds == 1  # moved 0.17 < skin / 2
    moved = positions.copy()
    moved[3] += [0.6, 0.0, 0.0]
    pot.compute(moved, numbers, cell, pbc, cache=cache)
    assert cache.rebuilds == 2  # one atom moved more than skin / 2
    pot.compute(moved, numbers, cell * 1.01, pbc, cache=cache)
    assert cache.rebuilds == 3  # new cell
    pot.compute(moved[:-1], numbers[:-1], cell * 1.01, pbc, cache=cache)
    assert cache.rebuilds == 4  # other atoms
    cache.reset()
    pot.compute(moved[:-1], numbers[:-1], cell * 1.01, pbc, cache=cache)
    assert cache.rebuilds == 5
    none = bpfast.NeighborCache(skin=0.0)
    for _ in range(3):
        pot.compute(positions, numbers, cell, pbc, cache=none)
    assert none.rebuilds == 3
    with pytest.raises(ValueError, match="skin"):
        bpfast.NeighborCache(skin=-1.0)
    with pytest.raises(TypeError, match="NeighborCache"):
        pot.compute(positions, numbers, cell, pbc, cache=object())


def test_copies_share_the_potential_and_pickles_carry_the_files(tmp_path):
    """copy/deepcopy return the same (immutable) potential; a pickle carries the files'
    contents, so it loads in another process even after the directory is gone, and it
    refuses files changed since they were loaded."""
    import copy
    import pickle
    import shutil

    directory = write_potential(tmp_path / "pot", elements=("O", "H"), sf_types=(2, 3), seed=4)
    pot = bpfast.load(directory)
    assert copy.copy(pot) is pot and copy.deepcopy(pot) is pot
    positions, numbers, cell, pbc = random_structure(np.random.default_rng(2), ("O", "H"), 9)
    expected = pot.compute(positions, numbers, cell, pbc, stress=True)

    data = pickle.dumps(pot)
    shutil.rmtree(directory)
    again = pickle.loads(data)
    assert again.directory == pot.directory and again.elements == pot.elements
    res = again.compute(positions, numbers, cell, pbc, stress=True)
    assert res.energy == expected.energy
    np.testing.assert_array_equal(res.forces, expected.forces)
    np.testing.assert_array_equal(res.stress, expected.stress)
    twice = pickle.loads(pickle.dumps(again))  # its files travel with it
    assert twice.compute(positions, numbers, cell, pbc).energy == expected.energy

    # in another process (what multiprocessing does)
    script = ("import pickle, sys, numpy as np; pot = pickle.load(sys.stdin.buffer); "
              "print(repr(pot.compute(*pickle.loads(bytes.fromhex(sys.argv[1]))).energy))")
    args = pickle.dumps((positions, numbers, cell, pbc)).hex()
    out = subprocess.run([sys.executable, "-c", script, args], input=data, capture_output=True,
                         check=True)
    assert float(out.stdout) == expected.energy

    changed = write_potential(tmp_path / "changed", elements=("O", "H"), sf_types=(2, 3), seed=4)
    pot = bpfast.load(changed)
    with open(changed / "weights.008.data", "a") as f:
        f.write("# appended after loading\n")
    with pytest.raises(pickle.PicklingError, match="weights.008.data changed since it was loaded"):
        pickle.dumps(pot)


def test_potential_without_scaling_loads_and_pickles_without_scaling_data(tmp_path):
    """input.nn without scaling keywords needs no scaling.data: load and pickle hash and
    carry exactly the files the reader read."""
    import pickle

    directory = write_potential(tmp_path / "pot", sf_types=(2,), scaling="none", seed=1)
    (directory / "scaling.data").unlink()
    pot = bpfast.load(directory)
    assert sorted(Path(f).name for f in pot._core.files) == [
        "input.nn", "weights.001.data", "weights.008.data"]
    positions, numbers, cell, pbc = random_structure(np.random.default_rng(2), ("O", "H"), 6)
    again = pickle.loads(pickle.dumps(pot))
    assert again.compute(positions, numbers, cell, pbc).energy == pot.compute(
        positions, numbers, cell, pbc).energy


def test_finite_difference_helpers(pot):
    """bpfast.testing: indices or a boolean mask select the rows; far from the origin the
    difference is divided by the displacement actually made (x +- h rounded)."""
    from bpfast.testing import numerical_forces, numerical_stress

    positions, numbers, cell, pbc = random_structure(np.random.default_rng(5), ("H", "O"), 4,
                                                     cell=None)
    exact = pot.compute(positions, numbers).forces
    for atoms in ([2], np.array([False, False, True, False])):
        fd = numerical_forces(pot, positions, numbers, atoms=atoms, step=1e-4)
        assert not fd[[0, 1, 3]].any()
        np.testing.assert_allclose(fd[2], exact[2], rtol=0, atol=1e-6 * np.abs(exact).max())
    far = positions + 1e10  # spacing of doubles here: 2e-6, a fiftieth of the step
    fd = numerical_forces(pot, far, numbers, atoms=[1], step=1e-4)
    np.testing.assert_allclose(fd[1], exact[1], rtol=0, atol=1e-4 * np.abs(exact).max())
    for bad in (dict(step=0.0), dict(atoms=[7]), dict(atoms=np.ones(3, dtype=bool))):
        with pytest.raises(ValueError):
            numerical_forces(pot, positions, numbers, **bad)
    with pytest.raises(ValueError, match="needs a cell"):
        numerical_stress(pot, positions, numbers, None)
