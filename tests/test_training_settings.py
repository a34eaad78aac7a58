"""input.nn settings for training: reading, the ignored-keyword report, writing, round trips,
the standard symmetry-function set."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

import bpfast
from bpfast.training import (
    DescriptorCalculator,
    Normalization,
    Settings,
    SymmetryFunction,
    TrainingOptions,
    read_settings,
    standard_symmetry_functions,
    write_settings,
)
from bpfast.training.input_nn import symmetry_function_lines
from conftest import POTENTIALS, SHARED, second_generation_potentials
from numpy_reference import NumpyHDNNP
from synthetic import write_potential

TRAINING_KEYWORDS = """\
random_seed 4242
epochs 7               # comment
test_fraction 0.2
use_short_forces
force_weight 3.5d0
energy_fraction 0.5     ! n2p2's alternative name of short_energy_fraction
short_force_fraction 0.01
updater_type 0
gradient_type 1
gradient_adam_eta 2.0E-3
kalman_q0 0.02
weights_min -0.5
weights_max 0.5
nguyen_widrow_weights_short
parallel_mode 0
memorize_symfunc_results
runner_mode 2
"""


def _synthetic(tmp_path, **kw):
    d = write_potential(tmp_path / "pot", **kw)
    mine = {line.split()[0] for line in TRAINING_KEYWORDS.splitlines()}
    kept = [line for line in (d / "input.nn").read_text().splitlines()
            if not (line.split() and line.split()[0] in mine)]
    (d / "input.nn").write_text("\n".join(kept) + "\n" + TRAINING_KEYWORDS)
    return d


def test_reads_potential_and_training_keywords(tmp_path):
    d = _synthetic(tmp_path, sf_keyword="symfunction", atom_energy={"O": -2.5})
    s = read_settings(d)
    ref = NumpyHDNNP(d, symmetry_functions_only=True)
    assert s.elements == tuple(ref.elements)
    assert len(s.symmetry_functions) == sum(len(v) for v in ref.symfuncs.values())
    assert (s.cutoff_type, s.cutoff_alpha, s.scaling) == (
        ref.cutoff_type, ref.cutoff_alpha, ref.scaling_mode)
    assert (s.scale_min, s.scale_max) == (ref.scale_min, ref.scale_max)
    assert list(s.hidden_nodes) == ref.hidden_nodes and list(s.activations) == ref.activations
    assert s.atom_energy == {"O": -2.5}
    assert s.normalization == Normalization(ref.mean_energy, ref.conv_energy, ref.conv_length)
    t = s.training
    assert (t.random_seed, t.epochs, t.test_fraction, t.force_weight) == (4242, 7, 0.2, 3.5)
    assert (t.short_energy_fraction, t.short_force_fraction) == (0.5, 0.01)
    assert (t.updater_type, t.gradient_type, t.gradient_adam_eta, t.kalman_q0) == (
        0, 1, 2.0e-3, 0.02)
    assert (t.weights_min, t.weights_max) == (-0.5, 0.5)
    assert t.use_short_forces and t.nguyen_widrow_weights_short
    assert not t.use_old_weights_short
    assert t.kalman_eta == TrainingOptions().kalman_eta  # absent: default
    ignored = {i.keyword: i for i in s.ignored}
    assert set(ignored) == {"parallel_mode", "memorize_symfunc_results", "runner_mode"}
    assert "does not use" in ignored["parallel_mode"].reason
    assert "not an n2p2 keyword" in ignored["runner_mode"].reason
    lines = (d / "input.nn").read_text().splitlines()
    assert lines[ignored["runner_mode"].line - 1].startswith("runner_mode")
    report = s.report()
    assert "3 keyword(s) not used" in report and "runner_mode" in report


def test_symmetry_function_lines_round_trip(tmp_path):
    d = _synthetic(tmp_path)
    s = read_settings(d)
    text = (d / "input.nn").read_text().splitlines()
    for sf in s.symmetry_functions:
        assert text[sf.line - 1].split()[0] in ("symfunction_short", "symfunction")
        again = SymmetryFunction.from_tokens(sf.to_text().split())
        assert again == sf


def test_written_settings_read_back_equal_and_load(tmp_path):
    d = _synthetic(tmp_path, atom_energy={"H": -0.5, "O": -70.25})
    s = read_settings(d)
    out = tmp_path / "written"
    out.mkdir()
    write_settings(s, out, units=("bohr", "hartree"))
    back = read_settings(out)
    assert back == s
    assert [(i.keyword, i.arguments) for i in back.ignored] == [
        ("parallel_mode", ("0",)), ("memorize_symfunc_results", ()), ("runner_mode", ("2",))]
    bare = write_settings(s, tmp_path / "bare.nn", training=False)
    assert read_settings(bare).ignored == () and read_settings(bare).training == TrainingOptions()
    assert bpfast.units.guess_units(out) == ("bohr", "hartree")
    # the written input.nn defines the same potential: loads with the original files
    for f in d.iterdir():
        if f.name != "input.nn":
            (out / f.name).write_bytes(f.read_bytes())
    a, b = bpfast.load(d), bpfast.load(out)
    def table(pot):  # without the line numbers, which differ
        return {e: [{k: v for k, v in row.items() if k != "line"} for row in rows]
                for e, rows in pot.symmetry_functions.items()}

    assert table(a) == table(b)
    assert (a.architecture, a.activations, a.atom_energy, a.normalization) == (
        b.architecture, b.activations, b.atom_energy, b.normalization)


def test_errors_name_file_and_line(tmp_path):
    d = _synthetic(tmp_path)
    path = d / "input.nn"
    base = path.read_text()

    def fails(extra, match, exc=bpfast.FormatError):
        path.write_text(base + extra)
        with pytest.raises(exc, match=match) as info:
            read_settings(path)
        return info.value

    n = len(base.splitlines()) + 1
    err = fails("symfunction_short H 2 O 0.1 0.0\n", rf"input\.nn:{n}: symfunction_short: "
                                                     r"type 2 expects the parameters")
    assert (err.file, err.line) == (str(path), n)
    fails("symfunction_short H 2 Xx 0.1 0.0 3.0\n", r"e1 must be an element symbol")
    fails("symfunction_short H 7 O 0.1 0.0 3.0\n", r"unknown symmetry function type 7")
    fails("symfunction_short H 2 O abc 0.0 3.0\n", r"expected a number for eta")
    fails("epochs 2\n", rf"input\.nn:{n}: keyword 'epochs' given a second time")
    fails("force_fraction 0.1\n", r"keyword 'short_force_fraction' given a second time")
    path.write_text(base.replace("weights_max 0.5", "weights_max -2"))
    with pytest.raises(bpfast.FormatError, match=r"weights_min .* must be smaller than "
                                                 r"weights_max"):
        read_settings(path)
    fails("element_nodes_short H 3 3\n", r"per-element network keyword",
          bpfast.UnsupportedPotentialError)
    fails("nnp_type 4G-HDNNP\n", r"2nd-generation", bpfast.UnsupportedPotentialError)
    path.write_text(base.replace("cutoff_type", "#cutoff_type"))
    with pytest.raises(bpfast.FormatError, match="missing required keyword 'cutoff_type'"):
        read_settings(path)
    with pytest.raises(FileNotFoundError):
        read_settings(tmp_path / "nowhere" / "input.nn")


def _small_settings(**kw):
    sfs = [SymmetryFunction("H", 2, "O", eta=0.5, rs=0.0, rc=5.0),
           SymmetryFunction("O", 2, "H", eta=0.5, rs=1.0, rc=5.0),
           SymmetryFunction("O", 3, "H", "H", eta=0.1, lambda_=-1.0, zeta=4.0, rc=5.0)]
    return Settings(elements=("O", "H"), symmetry_functions=sfs, **kw)


def test_settings_built_in_python_are_checked():
    s = _small_settings()
    assert s.elements == ("H", "O")
    assert s.architecture("O") == (2, 25, 25, 1) and s.cutoff == 5.0
    for kw, match in [({"scaling": "minmax"}, "scaling must be one of"),
                      ({"activations": ("t", "l")}, "activations needs 3 letters"),
                      ({"activations": ("t", "x", "l")}, "unknown activation"),
                      ({"cutoff_type": 9}, "cutoff_type"),
                      ({"cutoff_alpha": 1.0}, "cutoff_alpha"),
                      ({"atom_energy": {"Cu": 1.0}}, "atom_energy given for Cu"),
                      ({"hidden_nodes": (0,), "activations": ("t", "l")}, "hidden_nodes")]:
        with pytest.raises(ValueError, match=match):
            _small_settings(**kw)
    with pytest.raises(ValueError, match="uses Cu, which is not in elements"):
        Settings(("H",), [SymmetryFunction("H", 2, "Cu", eta=1.0, rc=3.0)])
    with pytest.raises(ValueError, match="element O has no symmetry functions"):
        Settings(("H", "O"), [SymmetryFunction("H", 2, "O", eta=1.0, rc=3.0)])
    with pytest.raises(ValueError, match="rc must be positive"):
        SymmetryFunction("H", 2, "O", eta=1.0, rc=0.0)
    with pytest.raises(ValueError, match="have no e2"):
        SymmetryFunction("H", 2, "O", "H", eta=1.0, rc=3.0)
    with pytest.raises(ValueError, match="test_fraction"):
        TrainingOptions(test_fraction=1.5)
    with pytest.raises(TypeError, match="epochs must be an integer"):
        TrainingOptions(epochs=2.5)
    with pytest.raises(ValueError, match="conv_energy"):
        Normalization(-1.0, 0.0, 1.0)


def test_python_settings_write_a_loadable_input_nn(tmp_path):
    s = _small_settings(normalization=Normalization(-3.0, 2.0, 1.5), atom_energy={"H": -0.5},
                        training=TrainingOptions(epochs=3, nguyen_widrow_weights_short=True))
    write_settings(s, tmp_path)
    back = read_settings(tmp_path / "input.nn")
    assert back == s
    assert replace(back, training=TrainingOptions()) != s


def test_standard_set():
    cutoff, r_min = 6.0, 0.9
    sfs = standard_symmetry_functions(["O", "H"], cutoff, r_min=r_min)
    per_centre = {e: [sf for sf in sfs if sf.element == e] for e in ("H", "O")}
    for lst in per_centre.values():
        radial = [sf for sf in lst if sf.type == 2]
        angular = [sf for sf in lst if sf.type == 3]
        assert len(radial) == 2 * 12 and len(angular) == 3 * 2 * 4 * 2
        assert all(sf.rc == cutoff for sf in lst)
        centred = sorted(sf.eta for sf in radial if sf.rs == 0.0 and sf.e1 == "H")
        widths = sorted(1.0 / math.sqrt(2.0 * eta) for eta in centred)
        np.testing.assert_allclose(widths, np.linspace(r_min, cutoff, 6))
        shifted = sorted(sf.rs for sf in radial if sf.rs > 0.0 and sf.e1 == "O")
        delta = (cutoff - r_min) / 6
        np.testing.assert_allclose(shifted, r_min + delta * np.arange(6))
        assert {sf.zeta for sf in angular} == {1.0, 2.0, 4.0, 16.0}
        assert {sf.lambda_ for sf in angular} == {1.0, -1.0}
        assert {(sf.e1, sf.e2) for sf in angular} == {("H", "H"), ("H", "O"), ("O", "O")}
    assert len(set(sfs)) == len(sfs)
    wide = standard_symmetry_functions(["H"], 5.0, angular_type=9, n_angular_eta=1)
    assert {sf.type for sf in wide} == {2, 9}
    with pytest.raises(ValueError, match="r_min"):
        standard_symmetry_functions(["H"], 5.0, r_min=6.0)
    with pytest.raises(ValueError, match="not an element"):
        standard_symmetry_functions(["Q"], 5.0)
    lines = symmetry_function_lines(sfs[:2])
    assert all(line.startswith("symfunction_short ") for line in lines)


def test_standard_set_loads_in_the_core():
    s = Settings(("H", "O"), standard_symmetry_functions(["H", "O"], 6.0), scaling="none",
                 hidden_nodes=(3,), activations=("t", "l"))
    calc = DescriptorCalculator(s)
    assert {e: len(v) for e, v in calc.order.items()} == {"H": 72, "O": 72}
    assert sorted(calc.order["H"] + calc.order["O"]) == list(range(144))


@pytest.mark.parametrize("name", second_generation_potentials())
def test_published_potentials_read(name):
    s = read_settings(POTENTIALS / name)
    pot = bpfast.load(POTENTIALS / name)
    assert s.elements == pot.elements
    assert {e: len(s.symmetry_functions_of(e)) for e in s.elements} == pot.n_symmetry_functions
    assert {e: s.architecture(e) for e in s.elements} == pot.architecture
    assert s.normalization == (None if pot.normalization is None
                               else Normalization(**pot.normalization))


def test_shared_training_input_nn():
    path = SHARED / "train" / "H2O_RPBE-D3" / "input.nn"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    s = read_settings(path)
    t = s.training
    assert (t.epochs, t.random_seed, t.updater_type, t.force_weight) == (30, 1234567, 1, 10.0)
    assert (t.short_force_fraction, t.test_fraction) == (0.0041, 0.1)
    assert len(s.symmetry_functions) == 57 and s.normalization is None
    assert {"parallel_mode", "jacobian_mode", "write_trainpoints"} <= {
        i.keyword for i in s.ignored}
