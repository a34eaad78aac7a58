"""Damaged potential files and odd structures: a clear exception naming the file and line,
the atom or the argument, never a crash, a hang, a NaN or a silently changed result."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import warnings

import numpy as np
import pytest

try:
    import resource
except ImportError:  # not on Windows
    resource = None

import bpfast
from synthetic import default_scaling_structures

FILES = ("input.nn", "scaling.data", "weights.001.data", "weights.008.data")


@pytest.fixture
def broken(potdir, tmp_path):
    """A fresh copy of the potential to damage."""
    target = tmp_path / "broken"
    shutil.copytree(potdir, target)
    return target


@pytest.fixture(scope="module")
def structure():
    """A periodic H/O structure inside the training range of ``potdir``."""
    return default_scaling_structures(("H", "O"), 4.0, 4)[0]


def same_result(directory, reference, structure):
    a = bpfast.load(directory).compute(*structure, stress=True)
    b = reference.compute(*structure, stress=True)
    return (a.energy == b.energy and np.array_equal(a.forces, b.forces)
            and np.array_equal(a.stress, b.stress))


def sf_lines(path):
    """(1-based line number, tokens) of the symfunction lines of an input.nn."""
    rows = []
    for k, text in enumerate(path.read_text().splitlines()):
        tokens = re.split(r"[#!]", text)[0].split()
        if tokens[:1] in (["symfunction_short"], ["symfunction"]):
            rows.append((k + 1, tokens))
    return rows


def set_token(path, number, index, value):
    lines = path.read_text().splitlines()
    tokens = re.split(r"[#!]", lines[number - 1])[0].split()
    tokens[index] = value
    lines[number - 1] = " ".join(tokens)
    path.write_text("\n".join(lines) + "\n")


def replace_keyword(path, keyword, text):
    """Replaces the line of `keyword` by `text`; returns its line number."""
    lines = path.read_text().splitlines()
    for k, line in enumerate(lines):
        if line.split()[:1] == [keyword]:
            lines[k] = text
            path.write_text("\n".join(lines) + "\n")
            return k + 1
    raise AssertionError(f"no {keyword} line")


def format_error(directory, name, line, words):
    with pytest.raises(bpfast.FormatError, match=words) as info:
        bpfast.load(directory)
    assert info.value.file.endswith(name)
    assert info.value.line == line
    return info.value


# ---------------------------------------------------------------------------------
# Encodings and line endings: the same potential


@pytest.mark.parametrize("name", FILES)
def test_byte_order_mark_is_ignored(broken, pot, structure, name):
    path = broken / name
    # The mark directly before data (no comment line to absorb it).
    lines = [s for s in path.read_text().splitlines() if s.strip() and not s.lstrip().startswith("#")]
    path.write_bytes("\ufeff".encode() + "\n".join(lines).encode() + b"\n")
    assert same_result(broken, pot, structure)


@pytest.mark.parametrize("ending", [b"\r\n", b"\r"])
def test_dos_and_classic_mac_line_endings(broken, pot, structure, ending):
    for name in FILES:
        path = broken / name
        path.write_bytes(path.read_bytes().replace(b"\n", ending))
    assert same_result(broken, pot, structure)


def test_tabs_separate_columns(broken, pot, structure):
    for name in FILES:
        path = broken / name
        path.write_text(path.read_text().replace(" ", "\t"))
    assert same_result(broken, pot, structure)


@pytest.mark.parametrize("name", FILES)
def test_directory_in_place_of_a_file(broken, name):
    (broken / name).unlink()
    (broken / name).mkdir()
    err = format_error(broken, name, 0, "a directory, expected a file")
    assert name in str(err)


def test_path_to_another_file_of_the_potential(potdir):
    with pytest.raises(FileNotFoundError, match="Not a potential directory but a file") as info:
        bpfast.load(potdir / "scaling.data")
    assert info.value.filename.endswith("scaling.data")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this system")
def test_named_pipe_in_place_of_a_file_does_not_block(broken):
    fifo = broken / "scaling.data"
    fifo.unlink()
    os.mkfifo(fifo)

    def release_a_blocked_reader():  # so that a regression fails instead of hanging
        try:
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:  # no reader waiting
            pass

    timer = threading.Timer(2.0, release_a_blocked_reader)
    timer.start()
    try:
        format_error(broken, "scaling.data", 0, "not a regular file")
    finally:
        timer.cancel()


# ---------------------------------------------------------------------------------
# Symmetry-function parameters


def _parameter_cases():
    # (type, token index of the parameter in 'symfunction_short El T ...', value, words)
    return [
        ("2", 4, "-0.5", "eta must be"),
        ("9", 5, "-1.0", "eta must be"),
        ("2", 4, "1e308", "eta .* too large"),
        ("9", 5, "1e308", "eta .* too large"),
        ("9", 7, "0", "zeta must be"),
        ("9", 7, "-2", "zeta must be"),
        ("9", 7, "0.5", "zeta must be"),
        ("9", 7, "1024", "zeta must be"),
        ("9", 7, "1e9", "zeta must be"),
    ]


@pytest.mark.parametrize("sf_type,index,value,words", _parameter_cases())
def test_symmetry_function_parameters_out_of_range(broken, sf_type, index, value, words):
    path = broken / "input.nn"
    number = next(k for k, tokens in sf_lines(path) if tokens[2] == sf_type)
    set_token(path, number, index, value)
    format_error(broken, "input.nn", number, words)


def test_zeta_bounds_are_inclusive(broken, structure):
    path = broken / "input.nn"
    number = next(k for k, tokens in sf_lines(path) if tokens[2] == "9")
    for zeta in ("1", "1000", "2.5"):
        set_token(path, number, 7, zeta)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", bpfast.ExtrapolationWarning)
            res = bpfast.load(broken).compute(*structure)
        assert np.isfinite(res.energy) and np.isfinite(res.forces).all()


# ---------------------------------------------------------------------------------
# Network and normalisation keywords


def test_more_node_counts_than_hidden_layers(broken):
    number = replace_keyword(broken / "input.nn", "global_nodes_short", "global_nodes_short 6 5 4")
    format_error(broken, "input.nn", number, "expects 2 node counts")


@pytest.mark.parametrize("counts", ["0 5", "-3 5", "6 0"])
def test_element_nodes_must_be_positive(broken, counts):
    path = broken / "input.nn"
    path.write_text(path.read_text() + f"element_nodes_short H {counts}\n")
    number = len(path.read_text().splitlines())
    format_error(broken, "input.nn", number, "number of nodes must be positive")


@pytest.mark.parametrize("keyword", ["conv_energy", "conv_length"])
@pytest.mark.parametrize("value", ["-1.5", "0"])
def test_normalisation_factors_must_be_positive(broken, keyword, value):
    number = replace_keyword(broken / "input.nn", keyword, f"{keyword} {value}")
    format_error(broken, "input.nn", number, f"{keyword} must be positive")


def test_atom_energy_given_twice_for_an_element(broken):
    path = broken / "input.nn"
    path.write_text(path.read_text() + "atom_energy H -0.5\natom_energy O -75.0\n"
                    "atom_energy H -0.4\n")
    number = len(path.read_text().splitlines())
    format_error(broken, "input.nn", number, "atom_energy of H given a second time")


@pytest.mark.parametrize("kind", ["potential", "committee"])
def test_overflowing_network_is_an_error(broken, potdir, structure, kind):
    # Finite but absurd weights: the output layer's sum overflows to -inf.
    for name in FILES[2:]:
        path = broken / name
        path.write_text("".join(
            line if line.lstrip().startswith("#") or not line.strip() else "1e308\n"
            for line in path.read_text().splitlines(keepends=True)))
    evaluator = (bpfast.load(broken) if kind == "potential"
                 else bpfast.load_committee([potdir, broken]))
    with pytest.raises(FloatingPointError, match=r"broken gave a non-finite energy.*overflowed"):
        evaluator.compute(*structure, stress=True)
    with pytest.raises(FloatingPointError, match=r"non-finite energy, energies \(atoms 0, 1, "):
        evaluator.compute(*structure, energies=True)


# ---------------------------------------------------------------------------------
# Structures


@pytest.mark.parametrize("kind", ["potential", "committee", "ase"])
def test_cell_far_smaller_than_the_cutoff_is_refused_quickly(pot, potdir, kind):
    # 0.15-wide cubic cell, cutoff 4 (+ the calculator's skin): about 80000 neighbours
    # per atom; evaluating them would take minutes (angular functions: pairs of neighbours).
    positions, species, cell = [[0.0, 0.0, 0.0]], ["O"], np.eye(3) * 0.15
    if kind == "ase":
        from ase import Atoms

        from bpfast.ase import BPCalculator

        atoms = Atoms("O", positions=positions, cell=cell, pbc=True)
        atoms.calc = BPCalculator(pot)
        call = atoms.get_potential_energy
    else:
        evaluator = pot if kind == "potential" else bpfast.load_committee([potdir, potdir])
        def call():
            return evaluator.compute(positions, species, cell)
    with pytest.raises(ValueError, match=r"\d+ neighbours .*more than 10000"):
        call()


@pytest.mark.parametrize("kind", ["potential", "committee"])
def test_atom_with_too_many_neighbours_is_named(pot, potdir, kind):
    # A slab periodic in x and y with 0.05-wide cell vectors: ~20000 images within the
    # cutoff 4 (no volume, so only the built list shows it).
    evaluator = pot if kind == "potential" else bpfast.load_committee([potdir, potdir])
    with pytest.raises(ValueError, match=r"atom 0 has \d+ neighbours within 4 .*more than "
                                         r"10000"):
        evaluator.compute([[0.0, 0.0, 0.0]], ["O"], np.diag([0.05, 0.05, 1.0]),
                          [True, True, False])


@pytest.mark.parametrize("kind", ["potential", "committee"])
def test_many_atoms_in_a_tiny_cell_are_refused_before_their_neighbour_list(pot, potdir, kind):
    # 200 atoms in a 1-wide cell, cutoff 4: ~54000 neighbours each. Their list alone
    # grows with n^2 (gigabytes at a few thousand atoms): refused from the density.
    rng = np.random.default_rng(3)
    positions = rng.uniform(0.0, 1.0, (200, 3))
    evaluator = pot if kind == "potential" else bpfast.load_committee([potdir, potdir])
    with pytest.raises(ValueError, match=r"200 atoms in a cell of volume 1 have about \d+ "
                                         r"neighbours each within 4 on average"):
        evaluator.compute(positions, ["O"] * 200, np.eye(3))


def test_dense_but_evaluable_cell_still_works(pot):
    # One atom in a 0.5-wide cell: ~2100 neighbours, well below the limit.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = pot.compute([[0.0, 0.0, 0.0]], ["O"], np.eye(3) * 0.5, stress=True)
    assert np.isfinite(res.energy) and np.isfinite(res.stress).all()


@pytest.mark.skipif(resource is None, reason="no setrlimit on this system")
def test_neighbour_list_beyond_the_memory_is_a_memory_error(tmp_path):
    # 6000 atoms in a 2-wide cell, cutoff 4: ~10^9 pairs, far beyond a 3 GiB address
    # space. The failed allocation happens in the threads that build the list.
    script = tmp_path / "dense.py"
    script.write_text(
        "import resource, numpy as np, bpfast\n"
        "resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))\n"
        "positions = np.random.default_rng(0).uniform(0.0, 2.0, (6000, 3))\n"
        "try:\n"
        "    bpfast.neighbor_list(positions, 4.0, np.eye(3) * 2.0, threads=2)\n"
        "except MemoryError:\n"
        "    print('MemoryError')\n")
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "MemoryError"


@pytest.mark.parametrize("offset", [1e12, -1e17, 1e300])
def test_atom_too_far_from_a_periodic_cell(pot, structure, offset):
    positions, species, cell, pbc = structure
    positions = np.array(positions, dtype=float)
    positions[2, 1] += offset
    with pytest.raises(ValueError, match="atom 2 is .* lengths of lattice vector [123] from the cell"):
        pot.compute(positions, species, cell, pbc)


def test_far_atom_without_periodicity_is_isolated(pot):
    near = pot.compute([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]], ["O", "H"])
    far = pot.compute([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1e12, 0.0, 0.0]], ["O", "H", "H"])
    alone = pot.compute([[0.0, 0.0, 0.0]], ["H"])
    assert far.energy == pytest.approx(near.energy + alone.energy, rel=1e-12)


def test_complex_positions_are_refused(pot):
    with pytest.raises(TypeError, match="positions must be real"):
        pot.compute(np.zeros((1, 3), dtype=complex), ["O"])


@pytest.mark.parametrize("pbc", ["False", "yes", ["True", "False", "False"]])
def test_pbc_given_as_text_is_refused(pot, pbc):
    with pytest.raises(TypeError, match="pbc must be"):
        pot.compute([[0.0, 0.0, 0.0]], ["O"], np.eye(3) * 5.0, pbc)
