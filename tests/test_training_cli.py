"""'bpfast train': a potential trained from input.data files loads in bpfast; errors in one
line naming the file."""

from __future__ import annotations

import csv
import warnings

import numpy as np
import pytest

import bpfast
from bpfast.cli import main
from bpfast.n2p2_io import N2p2Structure, write_input_data
from synthetic import random_structure, write_potential

pytestmark = pytest.mark.filterwarnings("ignore::bpfast.ExtrapolationWarning")


def _write_labelled(path, teacher, rng, n, elements=("H", "O")):
    out = []
    for k in range(n):
        pos, num, cell, _ = random_structure(rng, elements, 6 + k % 4, cell="cubic",
                                             density=0.05)
        r = teacher.compute(pos, num, cell)
        symbols = [bpfast._core.element_symbol(int(z)) for z in num]
        out.append(N2p2Structure(positions=pos, symbols=symbols, cell=cell, energy=r.energy,
                                 forces=r.forces))
    write_input_data(path, out)
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    teacher_dir = write_potential(d / "teacher", sf_types=(2, 3), nodes=(4, 4),
                                  normalisation=False, seed=2)
    teacher = bpfast.load(teacher_dir)
    rng = np.random.default_rng(7)
    (teacher_dir / "input.nn").write_text("# Length unit : Bohr\n# Energy unit : Ha\n"
                                          + (teacher_dir / "input.nn").read_text())
    return (teacher_dir / "input.nn", _write_labelled(d / "train.data", teacher, rng, 40),
            _write_labelled(d / "test.data", teacher, rng, 10))


def test_train_command_writes_a_loadable_potential(files, tmp_path, capsys):
    settings, train_data, test_data = files
    out = tmp_path / "out"
    status = main(["train", str(settings), str(train_data), "-o", str(out), "--test",
                   str(test_data), "--epochs", "3", "--seed", "4", "--threads", "1",
                   "--no-progress"])
    assert status == 0, capsys.readouterr().err
    assert "best epoch" in capsys.readouterr().out
    pot = bpfast.load(out)
    assert pot.elements == ("H", "O")
    with open(out / "learning_curve.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4
    hartree_mev, bohr_angstrom = 27211.386245988, 0.529177210903
    row = rows[-1]
    assert float(row["energy_rmse_test_meV_atom"]) == pytest.approx(
        float(row["energy_rmse_test"]) * hartree_mev, rel=1e-6)
    assert float(row["force_rmse_train_meV_A"]) == pytest.approx(
        float(row["force_rmse_train"]) * hartree_mev / bohr_angstrom, rel=1e-6)
    assert (out / "train.log").read_text().count("epoch") >= 4


def test_train_command_errors_name_the_file(files, tmp_path, capsys):
    settings, train_data, _ = files
    rng = np.random.default_rng(1)
    pos, num, cell, _ = random_structure(rng, ("H", "C"), 6, cell="cubic", density=0.05)
    other = tmp_path / "carbon.data"
    symbols = [bpfast._core.element_symbol(int(z)) for z in num]
    write_input_data(other, [N2p2Structure(positions=pos, symbols=symbols, cell=cell,
                                           energy=-1.0)])
    status = main(["train", str(settings), str(other), "-o", str(tmp_path / "o"),
                   "--no-progress"])
    err = capsys.readouterr().err
    assert status == 1 and "carbon.data" in err and "C" in err and len(err.splitlines()) == 1
    with pytest.raises(SystemExit) as exc:
        main(["train", str(settings), str(train_data), "-o", str(tmp_path / "o"),
              "--optimizer", "sgd"])
    assert exc.value.code == 2 and "sgd" in capsys.readouterr().err


def test_train_command_converts_ase_files_to_the_potentials_units(files, tmp_path, capsys):
    """The same structures as extended XYZ in Å and eV, trained with --length-unit bohr
    --energy-unit hartree, give the learning curve of the input.data in Bohr and Hartree."""
    from ase import Atoms
    from ase.calculators.singlepoint import SinglePointCalculator
    from ase.io import write

    from bpfast.n2p2_io import read_input_data
    from bpfast.units import ENERGY_UNITS, LENGTH_UNITS

    settings, train_data, test_data = files
    bohr, hartree = LENGTH_UNITS["bohr"], ENERGY_UNITS["hartree"]

    def as_extxyz(src, dst):
        frames = []
        for s in read_input_data(src):
            atoms = Atoms(s.symbols, positions=s.positions * bohr, cell=s.cell * bohr, pbc=True)
            atoms.calc = SinglePointCalculator(atoms, energy=s.energy * hartree,
                                               forces=s.forces * hartree / bohr)
            frames.append(atoms)
        write(dst, frames, format="extxyz")
        return dst

    curves = []
    for name, train_file, test_file, units in [
            ("n2p2", train_data, test_data, []),
            ("ase", as_extxyz(train_data, tmp_path / "train.extxyz"),
             as_extxyz(test_data, tmp_path / "test.extxyz"),
             ["--length-unit", "bohr", "--energy-unit", "hartree"])]:
        out = tmp_path / name
        status = main(["train", str(settings), str(train_file), "-o", str(out), "--test",
                       str(test_file), "--epochs", "2", "--seed", "4", "--threads", "1",
                       "--no-progress", *units])
        assert status == 0, capsys.readouterr().err
        with open(out / "learning_curve.csv") as f:
            curves.append([float(r["force_rmse_test"]) for r in csv.DictReader(f)])
    np.testing.assert_allclose(curves[1], curves[0], rtol=1e-6)


def test_train_command_passes_the_update_options(files, tmp_path, monkeypatch):
    import bpfast.training as training

    seen = {}

    def fake_train(*args, **kwargs):
        seen.update(kwargs)
        raise KeyboardInterrupt  # stops right after the options arrived

    monkeypatch.setattr(training, "train", fake_train)
    settings, train_data, _ = files
    status = main(["train", str(settings), str(train_data), "-o", str(tmp_path / "out"),
                   "--energy-batch", "8", "--force-fraction", "0.03", "--no-energy-offset",
                   "--force-batch", "64", "--no-progress"])
    assert status == 130
    assert seen["energy_batch"] == 8 and seen["force_batch"] == 64
    assert seen["force_fraction"] == pytest.approx(0.03)
    assert seen["energy_offset"] is False
    assert main(["train", str(settings), str(train_data), "-o", str(tmp_path / "out"),
                 "--energy-batch", "8", "--no-progress"]) == 130
    assert seen["energy_offset"] is True and seen["force_fraction"] is None


@pytest.mark.filterwarnings("error::bpfast.ExtrapolationWarning")
def test_test_set_outside_the_training_range_is_logged_once_not_warned(files, tmp_path):
    settings, train_data, _ = files
    teacher = bpfast.load(settings.parent)
    rng = np.random.default_rng(11)
    dense = []
    for _ in range(4):  # four times the training density: outside the training range
        pos, num, cell, _ = random_structure(rng, ("H", "O"), 8, cell="cubic", density=0.2)
        with warnings.catch_warnings():  # the teacher's own ranges do not matter here
            warnings.simplefilter("ignore", bpfast.ExtrapolationWarning)
            r = teacher.compute(pos, num, cell)
        symbols = [bpfast._core.element_symbol(int(z)) for z in num]
        dense.append(N2p2Structure(positions=pos, symbols=symbols, cell=cell, energy=r.energy,
                                   forces=r.forces))
    write_input_data(tmp_path / "dense.data", dense)
    out = tmp_path / "out"
    bpfast.train(settings, train_data, out, test=tmp_path / "dense.data", epochs=2, seed=1,
                 threads=2, progress=False)
    log = (out / "train.log").read_text()
    assert log.count("values outside the training set's range") == 1
    assert "test set: " in log.split("values outside")[0].splitlines()[-1]
