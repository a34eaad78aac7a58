"""n2p2 structure files (input.data): reading, writing, round trips, errors."""

from __future__ import annotations

import io

import numpy as np
import pytest

import bpfast
from bpfast import n2p2_io
from bpfast.n2p2_io import N2p2Structure
from conftest import POTENTIALS, REFERENCE, require_shared
from synthetic import random_structure

BOHR = 0.529177210903
HARTREE = 27.211386245988


def _structures():
    rng = np.random.default_rng(4)
    out = []
    for k, cell in enumerate(("triclinic", None, "cubic")):
        pos, numbers, lattice, _ = random_structure(rng, ("H", "O", "Cu"), 5 + k, cell=cell)
        n = len(pos)
        out.append(N2p2Structure(
            positions=pos,
            symbols=[bpfast._core.element_symbol(int(z)) for z in numbers],
            cell=lattice,
            charges=rng.normal(size=n),
            atom_energies=rng.normal(size=n),
            forces=rng.normal(size=(n, 3)),
            energy=float(rng.normal()) * 100 if k != 1 else None,
            charge=0.0 if k == 0 else (None if k == 1 else -1.5),
            comment=["frame with pi = 3.14159", None, ""][k],
            tags=["set=train", "", "set=test"][k],
        ))
    return out


def _assert_same(a: N2p2Structure, b: N2p2Structure):
    assert a.symbols == b.symbols
    np.testing.assert_array_equal(a.positions, b.positions)
    if a.cell is None:
        assert b.cell is None
    else:
        np.testing.assert_array_equal(a.cell, b.cell)
    for name in ("charges", "atom_energies", "forces"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert (a.energy, a.charge, a.comment, a.tags) == (b.energy, b.charge, b.comment, b.tags)


def test_round_trip_is_exact(tmp_path):
    frames = _structures()
    path = tmp_path / "input.data"
    n2p2_io.write_input_data(path, frames)
    back = n2p2_io.read_input_data(path)
    assert len(back) == len(frames)
    for a, b in zip(frames, back):
        _assert_same(a, b)
    # written again, the file is byte-identical
    again = tmp_path / "again.data"
    n2p2_io.write_input_data(again, back)
    assert again.read_text() == path.read_text()
    # append mode, streams, index
    n2p2_io.write_input_data(again, frames[0], append=True)
    assert len(n2p2_io.read_input_data(again)) == 4
    buf = io.StringIO()
    n2p2_io.write_input_data(buf, frames)
    buf.seek(0)
    _assert_same(n2p2_io.read_input_data(buf, index=-1), frames[-1])
    assert n2p2_io.is_input_data(path) and n2p2_io.is_input_data(again)


def test_text_layout_follows_n2p2():
    s = N2p2Structure(positions=[[0.0, 0.5, 1.0]], symbols=["O"], cell=np.eye(3) * 2,
                      energy=-1.25, charge=0.0, comment="hello")
    buf = io.StringIO()
    n2p2_io.write_input_data(buf, s)
    lines = buf.getvalue().splitlines()
    assert [ln.split()[0] for ln in lines] == ["begin", "comment", "lattice", "lattice",
                                               "lattice", "atom", "energy", "charge", "end"]
    atom = lines[5].split()
    assert len(atom) == 10 and atom[4] == "O"
    assert float(atom[2]) == 0.5


def test_reader_accepts_n2p2_variants():
    text = """
  begin set=train
comment   two words
atom 0 0 0 H 0 0 0 0 0
atom 1 0 0 H 0.1 0.2 0.3 0.4 0.5 extra-column
energy -1.0
end
begin
atom 0 0 0 Ne 0 0 0 0 0
end
"""
    frames = n2p2_io.read_input_data(io.StringIO(text))
    assert len(frames) == 2
    a, b = frames
    assert a.tags == "set=train" and a.comment == "two words" and a.energy == -1.0
    assert a.cell is None and not a.pbc and a.charge is None
    np.testing.assert_array_equal(a.forces[1], [0.3, 0.4, 0.5])
    assert a.charges[1] == 0.1 and a.atom_energies[1] == 0.2
    assert b.symbols == ["Ne"] and b.energy is None and b.comment is None
    np.testing.assert_array_equal(a.numbers, [1, 1])


@pytest.mark.parametrize("text, line, words", [
    ("atom 0 0 0 H 0 0 0 0 0\n", 1, "expected 'begin'"),
    ("begin\nlattice 1 0 0\nlattice 0 1 0\natom 0 0 0 H 0 0 0 0 0\nend\n", 5, "need 0 or 3"),
    ("begin\natom 0 0 0 H 0 0 0 0\nend\n", 2, "9 fields"),
    ("begin\natom 0 0 x H 0 0 0 0 0\nend\n", 2, "must be a finite number, got 'x'"),
    # what Python's float() takes but n2p2's atof does not (or reads as something else)
    ("begin\natom 0 0 1_0 H 0 0 0 0 0\nend\n", 2, "must be a finite number, got '1_0'"),
    ("begin\natom 0 0 nan H 0 0 0 0 0\nend\n", 2, "must be a finite number, got 'nan'"),
    ("begin\natom 0 0 1e999 H 0 0 0 0 0\nend\n", 2, "got '1e999'"),
    ("begin\nenergy \uff11\nend\n", 2, "must be a finite number"),  # full-width digit
    ("begin\n" + "lattice 1 0 0\n" * 3 + "end\n", 1, "the cell is singular"),
    ("begin\natom 0 0 0 Xx 0 0 0 0 0\nend\n", 2, "unknown element"),
    ("begin\nposition 0 0 0\nend\n", 2, "unknown line type"),
    ("begin\natom 0 0 0 H 0 0 0 0 0\n", 2, "no 'end'"),
    ("begin\nbegin\n", 2, "missing 'end'"),
    ("begin\nenergy\nend\n", 2, "needs a value"),
    ("begin\n" + "lattice 1 0 0\n" * 4 + "end\n", 5, "more than 3"),
])
def test_format_errors_name_file_and_line(tmp_path, text, line, words):
    path = tmp_path / "input.data"
    path.write_text(text)
    with pytest.raises(bpfast.FormatError) as info:
        n2p2_io.read_input_data(path)
    assert info.value.line == line
    assert info.value.file == str(path)
    assert words in str(info.value)
    assert f"{path}:{line}:" in str(info.value)


def test_encodings(tmp_path):
    """A byte-order mark is dropped; bytes that are not UTF-8 name their line."""
    path = tmp_path / "input.data"
    path.write_bytes(b"\xef\xbb\xbfbegin\natom 0 0 0 H 0 0 0 0 0\nend\n")
    assert n2p2_io.read_input_data(path)[0].symbols == ["H"]
    assert n2p2_io.is_input_data(path)
    other = tmp_path / "x.data"
    other.write_bytes(path.read_bytes())
    assert n2p2_io.is_input_data(other)
    path.write_bytes(b"begin\ncomment caf\xe9\natom 0 0 0 H 0 0 0 0 0\nend\n")
    with pytest.raises(bpfast.FormatError, match="not UTF-8 text") as info:
        n2p2_io.read_input_data(path)
    assert info.value.line == 2 and info.value.file == str(path)


def test_structure_validation():
    with pytest.raises(ValueError, match="'O H' is not an element symbol"):
        N2p2Structure(positions=np.zeros((1, 3)), symbols=["O H"])
    with pytest.raises(ValueError, match="tags must be one line"):
        N2p2Structure(positions=np.zeros((1, 3)), symbols=["H"], tags="set=train\nend\nbegin")
    with pytest.raises(ValueError, match="the cell is singular"):
        N2p2Structure(positions=np.zeros((1, 3)), symbols=["H"], cell=np.zeros((3, 3)))
    with pytest.raises(ValueError, match="symbols has 1 entries"):
        N2p2Structure(positions=np.zeros((2, 3)), symbols=["H"])
    with pytest.raises(ValueError, match="cell must be 3x3"):
        N2p2Structure(positions=np.zeros((1, 3)), symbols=["H"], cell=np.eye(2))
    with pytest.raises(ValueError, match="forces must have shape"):
        N2p2Structure(positions=np.zeros((1, 3)), symbols=["H"], forces=np.zeros(3))
    with pytest.raises(IndexError):
        n2p2_io.read_input_data(io.StringIO(""), index=0)
    with pytest.raises(TypeError):
        n2p2_io.write_input_data(io.StringIO(), [object()])


def test_ase_conversion_with_units(tmp_path):
    pytest.importorskip("ase")
    from ase import Atoms

    frames = _structures()
    images = [f.to_atoms("bohr", "hartree") for f in frames]
    a = images[0]
    np.testing.assert_allclose(a.positions, frames[0].positions * BOHR, rtol=1e-15)
    np.testing.assert_allclose(a.cell[:], frames[0].cell * BOHR, rtol=1e-15)
    assert a.pbc.all() and not images[1].pbc.any()
    assert a.get_potential_energy() == pytest.approx(frames[0].energy * HARTREE, rel=1e-15)
    np.testing.assert_allclose(a.get_forces(), frames[0].forces * HARTREE / BOHR, rtol=1e-15)
    np.testing.assert_array_equal(a.get_initial_charges(), frames[0].charges)
    assert a.info["comment"] == frames[0].comment and a.info["n2p2_tags"] == "set=train"
    assert images[1].calc is None  # no energy line -> no results

    path = tmp_path / "input.data"
    n2p2_io.write_atoms(path, images, "bohr", "hartree")
    back = n2p2_io.read_input_data(path)
    for f, b in zip(frames, back):
        np.testing.assert_allclose(b.positions, f.positions, rtol=1e-14, atol=1e-14)
        np.testing.assert_allclose(b.forces, f.forces if f.energy is not None else 0.0,
                                   rtol=1e-14, atol=1e-14)
        np.testing.assert_allclose(b.atom_energies, f.atom_energies, rtol=1e-14, atol=1e-14)
        assert b.symbols == f.symbols and b.comment == f.comment and b.tags == f.tags
        assert (b.energy is None) == (f.energy is None)
    again = n2p2_io.read_atoms(path, "bohr", "hartree")
    np.testing.assert_allclose(again[2].positions, images[2].positions, rtol=1e-14)

    mixed = Atoms("H2", positions=[[0, 0, 0], [0, 0, 1]], cell=np.eye(3) * 5,
                  pbc=[True, True, False])
    with pytest.raises(ValueError, match="periodic in all three directions or in none"):
        N2p2Structure.from_atoms(mixed)


def test_reads_shipped_input_data():
    require_shared()
    pytest.importorskip("ase")
    import ase.io

    frames = n2p2_io.read_input_data(POTENTIALS / "H2O_RPBE-D3" / "input.data")
    assert len(frames) == 1 and len(frames[0]) == 1080 and frames[0].pbc
    # the reference case example_liquid_1080 is this configuration (Bohr)
    ref = ase.io.read(REFERENCE / "H2O_RPBE-D3" / "example_liquid_1080.extxyz")
    np.testing.assert_allclose(frames[0].positions, ref.positions, rtol=0, atol=1e-12)
    np.testing.assert_allclose(frames[0].cell, ref.cell[:], rtol=0, atol=1e-12)
    assert frames[0].symbols == ref.get_chemical_symbols()
    dimers = n2p2_io.read_input_data(POTENTIALS / "LJ_Ne_toy" / "input.data")
    assert len(dimers) == 101 and all(not d.pbc and len(d) == 2 for d in dimers)
    assert all(d.energy is not None for d in dimers)
