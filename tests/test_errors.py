"""Bad input gets a clear Python exception or warning, never a crash or a NaN."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest

import bpfast
from conftest import scaling_bounds
from synthetic import default_scaling_structures, random_structure


@pytest.fixture
def broken(potdir, tmp_path):
    """A fresh copy of the potential to damage."""
    target = tmp_path / "broken"
    shutil.copytree(potdir, target)
    return target


def edit_line(path, predicate, replace):
    """Replaces the first line for which predicate(line) holds; returns its 1-based number."""
    lines = path.read_text().splitlines()
    for k, line in enumerate(lines):
        if predicate(line):
            lines[k] = replace(line)
            path.write_text("\n".join(lines) + "\n")
            return k + 1
    raise AssertionError("no matching line")


# ---------------------------------------------------------------------------------
# Files


def test_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="no_such_dir"):
        bpfast.load(tmp_path / "no_such_dir")


@pytest.mark.parametrize("name", ["input.nn", "scaling.data", "weights.001.data", "weights.008.data"])
def test_missing_file(broken, name):
    (broken / name).unlink()
    with pytest.raises(FileNotFoundError) as info:
        bpfast.load(broken)
    assert info.value.filename.endswith(name)


def test_input_nn_path_is_accepted(potdir):
    assert bpfast.load(potdir / "input.nn").elements == ("H", "O")


def _sf_line(kind):
    return lambda line: line.split()[:1] in (["symfunction_short"], ["symfunction"]) and (
        line.split()[2] == kind)


@pytest.mark.parametrize(
    "predicate,replace,message",
    [
        (_sf_line("2"), lambda s: s.split("!")[0].split("#")[0].rsplit(None, 1)[0] + " abc",
         "expected a number for rc, found 'abc'"),
        (_sf_line("2"), lambda s: "symfunction_short H 7 H 0.1 0.0 4.0", "unknown symmetry function type 7"),
        (_sf_line("2"), lambda s: "symfunction_short H 2 Zn 0.1 0.0 4.0", "element 'Zn' is not listed"),
        (_sf_line("3"), lambda s: "symfunction_short H 3 H O 0.1 1.0", "expects parameters"),
        (lambda s: s.startswith("global_activation_short"), lambda s: "global_activation_short t t",
         "expects 3"),
        (lambda s: s.startswith("global_activation_short"), lambda s: "global_activation_short t q s",
         "unknown activation 'q'"),
        (lambda s: s.startswith("cutoff_type"), lambda s: "cutoff_type 6 1.5", "alpha"),
        (lambda s: s.startswith("cutoff_type"), lambda s: "cutoff_type 12", "unknown cutoff_type 12"),
        (lambda s: s.startswith("elements"), lambda s: "elements H O Xq", "number_of_elements"),
        (lambda s: s.startswith("number_of_elements"), lambda s: "number_of_elements two",
         "expected a number"),
        (lambda s: s.startswith("global_nodes_short"), lambda s: s + "\nglobal_nodes_short 3 3",
         "given a second time"),
    ],
)
def test_malformed_input_nn(broken, predicate, replace, message):
    number = edit_line(broken / "input.nn", predicate, replace)
    with pytest.raises(bpfast.FormatError, match=re.escape(message)) as info:
        bpfast.load(broken)
    err = info.value
    assert isinstance(err, ValueError)
    assert err.file.endswith("input.nn")
    if "second time" in message:
        number += 1
    assert err.line == number
    assert f"input.nn:{number}:" in str(err)


@pytest.mark.parametrize("name", ["input.nn", "scaling.data", "weights.001.data"])
def test_binary_file(broken, name):
    path = broken / name
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:3]) + b"\x00\x01\xfe binary\n" + b"".join(lines[3:]))
    with pytest.raises(bpfast.FormatError, match="binary data .*expected a text file") as info:
        bpfast.load(broken)
    assert info.value.file.endswith(name) and info.value.line == 4


def test_missing_keyword(broken):
    edit_line(broken / "input.nn", lambda s: s.startswith("global_hidden_layers_short"), lambda s: "")
    with pytest.raises(bpfast.FormatError, match="missing required keyword 'global_hidden_layers_short'"):
        bpfast.load(broken)


def test_fourth_generation_is_unsupported(broken):
    path = broken / "input.nn"
    path.write_text("nnp_type 4G-HDNNP\n" + path.read_text())
    with pytest.raises(bpfast.UnsupportedPotentialError, match="4th-generation"):
        bpfast.load(broken)


@pytest.mark.parametrize("keyword", ["nnp_type", "nnp_generation"])
def test_generation_error_names_the_keyword_as_written(broken, keyword):
    path = broken / "input.nn"
    path.write_text(f"{keyword} 4\n" + path.read_text())
    with pytest.raises(bpfast.UnsupportedPotentialError, match=f"input.nn:1: {keyword} 4 "):
        bpfast.load(broken)
    path.write_text(f"{keyword} 3\n" + path.read_text().split("\n", 1)[1])
    with pytest.raises(bpfast.FormatError, match=f"unknown {keyword} '3'"):
        bpfast.load(broken)


def test_scaling_data_too_short(broken):
    path = broken / "scaling.data"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-3]) + "\n")
    with pytest.raises(bpfast.FormatError, match="file ends early") as info:
        bpfast.load(broken)
    assert info.value.file.endswith("scaling.data")


def test_scaling_data_not_a_number(broken):
    number = edit_line(broken / "scaling.data", lambda s: not s.startswith("#") and s.strip(),
                       lambda s: s.replace(s.split()[3], "x1.0", 1))
    with pytest.raises(bpfast.FormatError, match="column 4") as info:
        bpfast.load(broken)
    assert info.value.line == number


def _scaling_rows(path):
    """(line number, columns) of the data rows of a scaling.data file."""
    return [(k + 1, s.split()) for k, s in enumerate(path.read_text().splitlines())
            if s.strip() and not s.startswith("#")]


def test_scaling_data_row_of_the_wrong_element(broken):
    # The function index is right, the element index is not: the row belongs elsewhere.
    path = broken / "scaling.data"
    number, cols = _scaling_rows(path)[2]
    edit_line(path, lambda s: s.split()[:2] == cols[:2], lambda s: s.replace(cols[0], "2", 1))
    with pytest.raises(bpfast.FormatError, match="expected the row of element 1 .H. "
                       "function 3, found element 2 function 3") as info:
        bpfast.load(broken)
    assert info.value.file.endswith("scaling.data") and info.value.line == number


def test_scaling_data_row_of_the_wrong_function(broken):
    path = broken / "scaling.data"
    number, cols = _scaling_rows(path)[1]
    edit_line(path, lambda s: s.split()[:2] == cols[:2], lambda s: s.replace(cols[1], "7", 1))
    with pytest.raises(bpfast.FormatError, match="function 2, found element 1 function 7") as info:
        bpfast.load(broken)
    assert info.value.line == number


@pytest.mark.parametrize("extra", [["1 1 0.0 1.0 0.5 0.1"], ["3 1 0.0 1.0 0.5"],
                                   ["-0.5 -0.2", "0.1 0.2"], ["0.5"]])
def test_scaling_data_surplus_rows(broken, extra):
    path = broken / "scaling.data"
    text = path.read_text()
    path.write_text(text + "\n".join(extra) + "\n")
    with pytest.raises(bpfast.FormatError, match="surplus row") as info:
        bpfast.load(broken)
    assert info.value.file.endswith("scaling.data")
    assert info.value.line == len(text.splitlines()) + len(extra)


def test_scaling_data_may_end_with_runners_energy_range(broken, potdir):
    # RuNNer writes the per-atom energy range (2 columns) after the last function.
    path = broken / "scaling.data"
    path.write_text(path.read_text() + "\n# comment\n      -0.2378336387       -0.1948975729\n")
    structure = default_scaling_structures(("H", "O"), 4.0, 4)[0]
    assert bpfast.load(broken).compute(*structure).energy == bpfast.load(potdir).compute(
        *structure).energy


@pytest.mark.parametrize("change", ["drop", "extra", "garbage"])
def test_weights_file_problems(broken, change):
    path = broken / "weights.008.data"
    lines = [s for s in path.read_text().splitlines()]
    data = [k for k, s in enumerate(lines) if s.strip() and not s.lstrip().startswith("#")]
    if change == "drop":
        del lines[data[-1]]
    elif change == "extra":
        lines.append("0.5")
    else:
        lines[data[3]] = "nan?"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(bpfast.FormatError) as info:
        bpfast.load(broken)
    assert info.value.file.endswith("weights.008.data")
    if change == "garbage":
        assert info.value.line == data[3] + 1
    else:
        assert "weights and biases" in str(info.value)


# ---------------------------------------------------------------------------------
# Structures


def test_element_the_potential_lacks(pot):
    with pytest.raises(KeyError, match="C .*does not describe"):
        pot.compute(np.zeros((2, 3)) + [[0, 0, 0], [1, 0, 0]], ["H", "C"])


def test_unknown_element_symbol(pot):
    with pytest.raises(KeyError, match="Xx"):
        pot.compute(np.zeros((1, 3)), ["Xx"])
    with pytest.raises(KeyError, match="200"):
        pot.compute(np.zeros((1, 3)), [200])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_positions(pot, bad):
    pos = np.array([[0.0, 0.0, 0.0], [1.0, bad, 0.0]])
    with pytest.raises(ValueError, match="NaN or infinite.*atom 1"):
        pot.compute(pos, ["H", "O"])


def test_non_finite_cell(pot):
    with pytest.raises(ValueError, match="cell"):
        pot.compute(np.zeros((1, 3)), ["H"], cell=np.diag([5.0, np.nan, 5.0]))


@pytest.mark.parametrize(
    "positions,species,cell,message",
    [
        (np.zeros((2, 2)), ["H", "O"], None, r"positions must have shape \(n, 3\)"),
        (np.zeros((2, 3)), ["H"], None, "species has 1 entries but positions has 2"),
        (np.zeros((2, 3)), [["H", "O"]], None, "1-D"),
        (np.zeros((1, 3)), ["H"], np.eye(2), "cell must be a 3x3"),
    ],
)
def test_wrong_shapes(pot, positions, species, cell, message):
    with pytest.raises(ValueError, match=message):
        pot.compute(positions, species, cell)


def test_singular_cell(pot):
    cell = np.array([[4.0, 0, 0], [0, 4.0, 0], [4.0, 4.0, 0]])
    with pytest.raises(ValueError, match="singular"):
        pot.compute(np.zeros((1, 3)), ["H"], cell)


def test_pbc_without_cell(pot):
    with pytest.raises(ValueError, match="no cell"):
        pot.compute(np.zeros((1, 3)), ["H"], pbc=True)


def test_stress_without_cell(pot):
    with pytest.raises(ValueError, match="stress needs a cell"):
        pot.compute(np.zeros((1, 3)), ["H"], stress=True)


@pytest.mark.parametrize("threads", [0, -1, 1.5, 10**10, float("inf"), float("nan"), "2", True])
def test_bad_threads(pot, threads):
    with pytest.raises(ValueError, match="threads must be an integer from 1 to 4096"):
        pot.compute(np.zeros((1, 3)), ["H"], threads=threads)


def test_zero_atoms(pot):
    res = pot.compute(np.zeros((0, 3)), [], energies=True)
    assert res.energy == 0.0
    assert res.forces.shape == (0, 3)
    assert res.energies.shape == (0,)
    res = pot.compute(np.zeros((0, 3)), [], cell=np.eye(3) * 5, stress=True)
    assert res.energy == 0.0 and np.all(res.stress == 0.0)


def test_atoms_on_top_of_each_other(pot):
    # forces between coincident atoms are undefined: an error, not a finite number
    pos = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [1.0, 0.2, 0.1], [0.3, 1.1, 0.0]])
    with pytest.raises(ValueError, match="atoms 0 and 1 are at the same position"):
        pot.compute(pos, ["H", "H", "O", "O"], cell=np.eye(3) * 6, stress=True, energies=True)


def test_far_apart_atoms_do_not_exhaust_memory(pot):
    pos = np.array([[0.0, 0.0, 0.0], [1e7, 0.0, 0.0], [0.0, 3e6, -2e7]])
    res = pot.compute(pos, ["H", "O", "H"])
    assert np.isfinite(res.energy) and res.neighbor_pairs == 0


def test_extrapolation_warning(pot):
    # Compressed far below the synthetic training density: many SFs leave the range.
    rng = np.random.default_rng(0)
    positions, numbers, cell, pbc = random_structure(rng, ("H", "O"), 12, cell="cubic", box=2.0,
                                                     min_dist=0.3)
    with pytest.warns(bpfast.ExtrapolationWarning, match=r"the potential is extrapolating: "
                      r"symmetry-function values outside the training range") as record:
        res = pot.compute(positions, numbers, cell, pbc)
    assert len(record) == 1
    assert res.extrapolations > 0
    assert record[0].message.count == res.extrapolations
    # The count is what the descriptors and scaling.data say.
    stats = scaling_bounds(pot.directory, pot)
    G = pot.descriptors(positions, numbers, cell, pbc)
    expected = sum(int(np.sum((g < stats[z][0]) | (g > stats[z][1])))
                   for z, g in zip(numbers, G))
    assert res.extrapolations == expected


def test_no_warning_for_the_training_structures(pot, recwarn):
    # scaling.data of the synthetic potential was computed from exactly these.
    for s in default_scaling_structures(("H", "O"), 4.0, 4):
        res = pot.compute(*s)
        assert res.extrapolations == 0
    assert len(recwarn) == 0


# ---------------------------------------------------------------------------------
# Host neighbour lists (the entry point of host codes such as the LAMMPS pair style)


def _host_call(pot, positions=None, numbers=None, centers=(0, 1), offsets=(0, 2, 4),
               neighbors=(1, 2, 0, 2)):
    if positions is None:
        positions = np.array([[0.0, 0.0, 0.0], [1.8, 0.0, 0.0], [0.0, 1.8, 0.0]])
    numbers = np.array([8, 1, 1], dtype=np.int32) if numbers is None else numbers
    return pot._core.compute_host(np.asarray(positions, dtype=np.float64), numbers,
                                  np.array(centers, dtype=np.int32),
                                  np.array(offsets, dtype=np.int64),
                                  np.array(neighbors, dtype=np.int32))


def test_host_neighbors_valid_call(pot):
    out = _host_call(pot)
    assert np.isfinite(out["energy"]) and out["forces"].shape == (3, 3)


@pytest.mark.parametrize(
    "change,message",
    [
        ({"offsets": (0, 3, 2)}, r"offsets must be non-decreasing .*offsets\[1\] = 3 > offsets\[2\] = 2"),
        ({"offsets": (0, 2, -4)}, r"offsets must be non-decreasing"),
        ({"offsets": (-1, 2, 4)}, r"offsets must start at 0 or more, got offsets\[0\] = -1"),
        ({"offsets": (0, 2, 9)}, r"offsets must end at most at len\(neighbors\) = 4, got offsets\[2\] = 9"),
        ({"offsets": (0, 4)}, r"offsets must have shape \(3,\) \(len\(centers\) \+ 1\), got shape \(2,\)"),
        ({"numbers": np.array([8, 1], dtype=np.int32)},
         r"numbers must have shape \(3,\) \(one atomic number per row of positions\), got shape \(2,\)"),
        ({"numbers": np.array([[8], [1], [1]], dtype=np.int32)},
         r"numbers must have shape \(3,\) .*got shape \(3, 1\)"),
        ({"positions": np.zeros(9)}, r"positions must have shape \(n, 3\), got shape \(9,\)"),
        ({"centers": (0, 3)}, r"centre index out of range: centers\[1\] = 3, expected 0 \.\. 2"),
        ({"centers": (1, 1)}, r"atom 1 is listed twice in centers"),
        ({"neighbors": (1, 2, 0, 7)}, r"neighbour index out of range: neighbour 1 of centre 1 is atom 7"),
        ({"neighbors": (1, 2, 1, 2)}, r"centre 1 lists itself as a neighbour"),
    ],
)
@pytest.mark.parametrize("kind", ["potential", "committee"])
def test_host_neighbors_bad_arrays(pot, potdir, kind, change, message):
    # a committee's host entry point (the LAMMPS pair style's) checks the same way
    host = pot if kind == "potential" else bpfast.load_committee([potdir, potdir])
    with pytest.raises(ValueError, match=message):
        _host_call(host, **change)
