"""Training data: n2p2 and ASE files, units, split, counts and errors naming file and structure."""

from __future__ import annotations

import numpy as np
import pytest

import bpfast
from bpfast import n2p2_io
from bpfast.n2p2_io import N2p2Structure
from bpfast.training import DataError, TrainingSet, TrainingStructure, read_training_data
from conftest import SHARED
from synthetic import random_structure

BOHR = 0.529177210903  # Å
HARTREE = 27.211386245988  # eV


def _frames(n=6, elements=("H", "O"), seed=1, energy=True):
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        pos, numbers, cell, _ = random_structure(rng, elements, 4 + k % 3,
                                                 cell=None if k % 3 == 2 else "cubic")
        out.append(N2p2Structure(
            positions=pos, symbols=[bpfast._core.element_symbol(int(z)) for z in numbers],
            cell=cell, forces=rng.normal(size=(len(pos), 3)),
            energy=float(rng.normal()) if energy else None, comment=f"frame {k}"))
    return out


def _write_xyz(path, frames, *, forces=True, energies=None):
    """Frames (Å, eV) as extended XYZ with stored energies/forces."""
    import ase.io
    from ase import Atoms
    from ase.calculators.singlepoint import SinglePointCalculator

    images = []
    for k, f in enumerate(frames):
        atoms = Atoms(f.symbols, positions=f.positions, cell=f.cell, pbc=f.cell is not None)
        energy = f.energy if energies is None else energies[k]
        atoms.calc = SinglePointCalculator(atoms, energy=energy,
                                           forces=f.forces if forces else None)
        images.append(atoms)
    ase.io.write(path, images, format="extxyz")


def test_input_data_is_read_as_is(tmp_path):
    frames = _frames()
    path = tmp_path / "input.data"
    n2p2_io.write_input_data(path, frames)
    data = read_training_data(path, length_unit="bohr", energy_unit="hartree")
    assert len(data) == len(frames)
    for k, (f, s) in enumerate(zip(frames, data)):
        np.testing.assert_array_equal(s.positions, f.positions)  # no unit conversion
        np.testing.assert_array_equal(s.forces, f.forces)
        assert s.energy == f.energy
        assert (s.file, s.index, s.comment) == (str(path), k, f"frame {k}")
        assert s.pbc == ((True,) * 3 if f.cell is not None else (False,) * 3)


def test_ase_file_is_converted_to_the_potential_units(tmp_path):
    pytest.importorskip("ase")
    frames = _frames()
    path = tmp_path / "data.xyz"
    _write_xyz(path, frames)
    data = read_training_data(path, length_unit="bohr", energy_unit="hartree")
    for f, s in zip(frames, data):  # extended XYZ keeps 8 decimals
        np.testing.assert_allclose(s.positions * BOHR, f.positions, rtol=0, atol=1e-8)
        np.testing.assert_allclose(s.forces * HARTREE / BOHR, f.forces, rtol=0, atol=1e-8)
        assert s.energy * HARTREE == pytest.approx(f.energy, rel=1e-12)
        if f.cell is not None:
            np.testing.assert_allclose(s.cell * BOHR, f.cell, rtol=0, atol=1e-8)


def test_structures_without_forces_train_energies_only(tmp_path):
    pytest.importorskip("ase")
    frames = _frames(3)
    path = tmp_path / "energies.xyz"
    _write_xyz(path, frames, forces=False)
    data = read_training_data(path)
    assert data.n_with_forces == 0
    assert all(s.forces is None for s in data)
    with pytest.raises(DataError, match=r"energies\.xyz, structure 0: forces are requested") as e:
        read_training_data(path, forces=True)
    assert e.value.structure == 0 and e.value.file == str(path)
    n2p2 = tmp_path / "input.data"
    n2p2_io.write_input_data(n2p2, frames)
    assert read_training_data(n2p2, forces=False).n_with_forces == 0


def test_counts_and_elements(tmp_path):
    frames = _frames(5, elements=("H", "O", "Cu"))
    path = tmp_path / "input.data"
    n2p2_io.write_input_data(path, frames)
    data = read_training_data(path)
    assert data.elements == ("H", "O", "Cu")  # atomic-number order
    expected = {}
    for f in frames:
        for s in f.symbols:
            expected[s] = expected.get(s, 0) + 1
    assert data.atom_counts == {e: expected[e] for e in ("H", "O", "Cu")}
    assert data.n_atoms == sum(len(f) for f in frames)
    assert data.structure_counts["H"] == sum("H" in f.symbols for f in frames)
    assert "Cu" in data.summary() and "Cu" in repr(data)


def test_split_is_reproducible_and_complete(tmp_path):
    path = tmp_path / "input.data"
    n2p2_io.write_input_data(path, _frames(20))
    data = read_training_data(path)
    train, test = data.split(0.25, seed=7)
    assert (len(train), len(test)) == (15, 5)
    indices = sorted([s.index for s in train] + [s.index for s in test])
    assert indices == list(range(20))
    again = data.split(0.25, seed=7)
    assert [s.index for s in again[1]] == [s.index for s in test]
    other = data.split(0.25, seed=8)
    assert [s.index for s in other[1]] != [s.index for s in test]
    assert [s.index for s in train] == sorted(s.index for s in train)  # order kept
    assert len(data.split(0.0, seed=1)[1]) == 0
    assert len(data[:2].split(0.01, seed=1)[1]) == 1  # at least one test structure
    for bad in (-0.1, 1.0, float("nan")):
        with pytest.raises(ValueError, match="test_fraction"):
            data.split(bad, seed=1)
    with pytest.raises(ValueError, match="seed"):
        data.split(0.1, seed=-1)


def test_element_missing_from_the_settings_names_file_and_structure(tmp_path):
    frames = _frames(4)
    frames[2] = _frames(1, elements=("H", "Cu"), seed=5)[0]
    path = tmp_path / "input.data"
    n2p2_io.write_input_data(path, frames)
    with pytest.raises(DataError, match=r"input\.data, structure 2: element\(s\) Cu not in "
                                        r"the settings") as e:
        read_training_data(path, elements=["O", "H"])
    assert (e.value.file, e.value.structure) == (str(path), 2)


def test_test_set_with_other_elements(tmp_path):
    train_path, test_path = tmp_path / "train.data", tmp_path / "test.data"
    n2p2_io.write_input_data(train_path, _frames(3))
    n2p2_io.write_input_data(test_path, _frames(2, seed=2) + _frames(1, ("O", "Cu"), seed=3))
    train, test = read_training_data(train_path), read_training_data(test_path)
    with pytest.raises(DataError, match=r"test\.data, structure 2: element\(s\) Cu not in the "
                                        r"training set"):
        train.check_test_set(test)
    train.check_test_set(test[:2])


def test_nan_labels_name_file_and_structure(tmp_path):
    pytest.importorskip("ase")
    frames = _frames(3)
    path = tmp_path / "nan.xyz"
    _write_xyz(path, frames, energies=[1.0, float("nan"), 2.0])
    with pytest.raises(DataError, match=r"nan\.xyz, structure 1: the reference energy is nan"):
        read_training_data(path)
    frames[2].forces[1, 2] = np.inf
    _write_xyz(path, frames)
    with pytest.raises(DataError, match=r"structure 2: the reference forces contain NaN or "
                                        r"infinite values \(atom 1\)"):
        read_training_data(path)


def test_missing_energy_and_empty_files(tmp_path):
    path = tmp_path / "input.data"
    n2p2_io.write_input_data(path, _frames(2) + _frames(1, energy=False))
    with pytest.raises(DataError, match=r"input\.data, structure 2: no 'energy' line"):
        read_training_data(path)
    empty = tmp_path / "empty.data"
    empty.write_text("")
    n2p2_io.write_input_data(tmp_path / "input.data", _frames(2))
    with pytest.raises(DataError, match=r"empty\.data: the file holds no structures"):
        read_training_data([tmp_path / "input.data", empty])
    with pytest.raises(FileNotFoundError):
        read_training_data(tmp_path / "missing.data")
    with pytest.raises(ValueError, match="no training data files"):
        read_training_data([])
    with pytest.raises(ValueError, match="forces must be"):
        read_training_data(path, forces="yes")


def test_structure_checks():
    pos = np.zeros((2, 3))
    with pytest.raises(DataError, match="structure 4: periodic structure without a"):
        TrainingStructure(pos, [1, 1], None, True, 0.0, index=4)
    with pytest.raises(DataError, match="no atoms"):
        TrainingStructure(np.zeros((0, 3)), [], None, False, 0.0)
    with pytest.raises(DataError, match="forces must have shape"):
        TrainingStructure(pos, [1, 1], None, False, 0.0, np.zeros((3, 3)))
    with pytest.raises(TypeError):
        TrainingSet([pos])
    s = TrainingStructure(pos + [[0, 0, 0], [0, 0, 1]], [1, 8], None, False, -1.0)
    assert TrainingSet([s, s])[1] is s and len(TrainingSet([s, s])[[0]]) == 1


def test_shared_water_training_data():
    train = SHARED / "train" / "H2O_RPBE-D3" / "test.data"
    if not train.is_file():
        pytest.skip(f"training data not found at {train}")
    data = read_training_data(train, forces=True, elements=("H", "O"))
    assert len(data) == 220
    assert data.atom_counts == {"H": 220 * 128, "O": 220 * 64}
    per_atom = np.array([s.energy / len(s) for s in data])
    assert abs(per_atom.mean() + 25.522) < 0.01  # README: about -25.522 Ha per atom
