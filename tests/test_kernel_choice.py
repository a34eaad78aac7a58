"""The automatic choice of the kernels' SIMD width (4 or 8 lanes), BPFAST_SIMD_WIDTH, and
the agreement of the widths."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import bpfast
from bpfast import _core
from synthetic import random_structure, write_potential

pytestmark = pytest.mark.filterwarnings("ignore::bpfast.ExtrapolationWarning")


def cpu_flags() -> set:
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    return set()


AVX512 = {"avx512f", "avx512vl", "avx512bw", "avx512dq"}
needs_eight = pytest.mark.skipif(_core.kernel_choice()["widest"] < 8,
                                 reason="no 8-lane (AVX-512) kernels on this CPU or build: "
                                        "only the 4-lane width can run")


def test_rule_per_cpu():
    """8 lanes on AVX-512 CPUs, Intel and AMD Zen 4 alike (measured faster or as fast
    with them on both), 4 wherever 8 lanes are missing."""
    rule = _core._choose_kernel_width
    for vendor, family, model in (("GenuineIntel", 6, 143),   # Sapphire Rapids
                                  ("GenuineIntel", 6, 106),   # Ice Lake server
                                  ("AuthenticAMD", 0x19, 17)):  # Zen 4
        k = rule(vendor, family, model, 8)
        assert k["width"] == k["scan_width"] == 8 and "AVX-512" in k["reason"]
    for vendor, family in (("GenuineIntel", 6), ("AuthenticAMD", 0x19), ("AuthenticAMD", 0x1A), ("", 0)):
        k = rule(vendor, family, 1, 4)
        assert k["width"] == k["scan_width"] == k["widest"] == 4
        assert "no 8-lane kernels" in k["reason"]


def test_rule_follows_the_environment_variable():
    rule = _core._choose_kernel_width
    assert rule("AuthenticAMD", 0x19, 17, 8, "8")["width"] == 8
    for vendor, family in (("GenuineIntel", 6), ("AuthenticAMD", 0x19)):
        k = rule(vendor, family, 1, 8, "4")
        assert k["width"] == k["scan_width"] == 4
    assert "BPFAST_SIMD_WIDTH=4" in rule("GenuineIntel", 6, 143, 8, "4")["reason"]
    lacking = rule("GenuineIntel", 6, 143, 4, "8")
    assert lacking["width"] == 4 and "no 8-lane kernels" in lacking["reason"]
    for bad in ("6", "eight", "0", " 8"):
        k = rule("GenuineIntel", 6, 143, 8, bad)
        assert k["width"] == 8 and f"not '{bad}'" in k["env_error"]
    assert rule("GenuineIntel", 6, 143, 8, "")["env_error"] == ""


def test_automatic_choice_is_a_width_this_cpu_has():
    k = _core.kernel_choice()
    assert k["width"] in (4, 8) and k["width"] <= k["widest"]
    assert k["scan_width"] in (4, 8) and k["scan_width"] <= k["widest"]
    assert k["reason"]
    if not AVX512 <= cpu_flags():
        assert k["widest"] == 4 and k["width"] == 4
    assert _core.KernelOptions().lanes == k["width"] == _core._best_simd_width()
    assert _core.KernelOptions(simd_width=4).lanes == 4
    assert _core.KernelOptions(simd_width=8).lanes == k["widest"]


def test_cpu_identity_matches_proc_cpuinfo():
    fields = {}
    with open("/proc/cpuinfo") as f:
        for line in f:
            key, _, value = (s.strip() for s in line.partition(":"))
            fields.setdefault(key, value)
    if "vendor_id" not in fields:
        pytest.skip("no x86 vendor in /proc/cpuinfo")
    k = _core.kernel_choice()
    assert (k["vendor"], k["family"], k["model"], k["cpu"]) == (
        fields["vendor_id"], int(fields["cpu family"]), int(fields["model"]),
        fields["model name"])


def run_with_width(env_value, code):
    env = {**os.environ, "BPFAST_SIMD_WIDTH": env_value}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=300)


CHOICE = "import json; from bpfast import _core; print(json.dumps(_core.kernel_choice()))"


@pytest.mark.parametrize("value", ["4", "8"])
def test_environment_variable_forces_the_width(value):
    out = run_with_width(value, CHOICE)
    assert out.returncode == 0, out.stderr
    k = json.loads(out.stdout)
    assert k["width"] == k["scan_width"] == min(int(value), _core.kernel_choice()["widest"])
    assert f"BPFAST_SIMD_WIDTH={value}" in k["reason"]


def test_environment_variable_with_another_value_stops_the_import():
    out = run_with_width("16", CHOICE)
    assert out.returncode != 0
    assert "BPFAST_SIMD_WIDTH must be 4 or 8" in out.stderr and "'16'" in out.stderr


@pytest.fixture(scope="module")
def potential_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("widths")
    write_potential(directory, seed=3)
    return directory


@pytest.fixture(scope="module")
def water_like():
    return random_structure(np.random.default_rng(11), ("H", "O"), 80, cell="triclinic",
                            min_height=4.5)


@pytest.mark.parametrize("value", ["4", pytest.param("8", marks=needs_eight)])
def test_forced_width_runs_those_kernels(value, potential_dir, water_like, tmp_path):
    """The automatic choice under BPFAST_SIMD_WIDTH=N gives, bit for bit, the numbers of
    simd_width=N asked for per call."""
    positions, numbers, cell, pbc = water_like
    np.savez(tmp_path / "s.npz", positions=positions, numbers=numbers, cell=cell, pbc=pbc)
    code = (
        "import sys, warnings, numpy as np, bpfast\n"
        "warnings.simplefilter('ignore')\n"
        f"s = np.load({str(tmp_path / 's.npz')!r})\n"
        f"r = bpfast.load({str(potential_dir)!r}).compute(s['positions'], s['numbers'], "
        "s['cell'], s['pbc'].tolist(), threads=1)\n"
        f"np.save({str(tmp_path / 'f.npy')!r}, r.forces)\n"
        "print(repr(r.energy))\n")
    out = run_with_width(value, code)
    assert out.returncode == 0, out.stderr
    pot = bpfast.load(potential_dir)
    forced = pot.compute(positions, numbers, cell, pbc, threads=1,
                         _kernels=_core.KernelOptions(simd_width=int(value)))
    assert float(out.stdout) == forced.energy
    np.testing.assert_array_equal(np.load(tmp_path / "f.npy"), forced.forces)


@needs_eight
def test_both_widths_agree(potential_dir, water_like):
    """4 and 8 lanes sum the angular terms in different orders: equal to round-off; the
    neighbour lists (same arithmetic) are equal bit for bit."""
    positions, numbers, cell, pbc = water_like
    pot = bpfast.load(potential_dir)
    narrow, wide = (pot.compute(positions, numbers, cell, pbc, threads=1, stress=True,
                                _kernels=_core.KernelOptions(simd_width=w)) for w in (4, 8))
    assert wide.energy == pytest.approx(narrow.energy, rel=1e-13, abs=0)
    np.testing.assert_allclose(wide.forces, narrow.forces, rtol=0,
                               atol=1e-12 * np.max(np.abs(narrow.forces)))
    lists = [bpfast.neighbor_list(positions, 4.0, cell, pbc, threads=1,
                                  _kernels=_core.KernelOptions(simd_width=w)) for w in (4, 8, 0)]
    for a, b, automatic in zip(*lists):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(automatic, a)


def test_bench_prints_the_kernels_and_calibrates(potential_dir, water_like, tmp_path, capsys):
    """`bpfast bench` says which kernels run and why; --calibrate times both widths
    (or says that only 4 lanes run here)."""
    from ase import Atoms

    import ase.io
    from bpfast import cli

    positions, numbers, cell, _ = water_like
    ase.io.write(tmp_path / "box.extxyz", Atoms(numbers=numbers, positions=positions, cell=cell,
                                                pbc=True))
    assert cli.main(["bench", str(potential_dir), "--structure", str(tmp_path / "box.extxyz"),
                     "--atoms", "80", "--steps", "1", "--threads", "1", "--calibrate"]) == 0
    out = capsys.readouterr().out
    k = _core.kernel_choice()
    assert (f"kernels: angular {k['width']} lanes, neighbour scan {k['scan_width']} lanes "
            f"({k['reason']})") in out
    if k["widest"] == 8:
        assert "4 lanes" in out and "8 lanes" in out and "faster here:" in out
    else:
        assert "calibration: only 4 lanes run here" in out
