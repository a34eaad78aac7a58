"""The build's compiler check (cmake/CheckCompiler.cmake): a compiler that lacks what the
core needs stops CMake with a message naming what is missing and which compiler works.

Each case configures a two-line CMake project that includes the check, with a wrapper
around the C++ compiler that hides one feature (or poses as Clang)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

CHECK = Path(__file__).resolve().parents[1] / "cmake" / "CheckCompiler.cmake"
CMAKE = shutil.which("cmake")
GXX = shutil.which(os.environ.get("CXX", "g++"))

pytestmark = pytest.mark.skipif(CMAKE is None or GXX is None,
                                reason="needs cmake and the C++ compiler on PATH (as the build)")


def configure(tmp_path: Path, *flags: str) -> subprocess.CompletedProcess:
    """CMake configure of a project that includes the check, compiling with GXX plus
    `flags` (through a wrapper script, so that CMake identifies the compiler with them)."""
    (tmp_path / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.18)\nproject(probe LANGUAGES CXX)\n"
        f'include("{CHECK.as_posix()}")\n')
    wrapper = tmp_path / "cxx"
    wrapper.write_text(f'#!/bin/sh\nexec "{GXX}" {" ".join(flags)} "$@"\n')
    wrapper.chmod(0o755)
    env = {**os.environ, "CXX": str(wrapper)}
    return subprocess.run([CMAKE, "-S", str(tmp_path), "-B", str(tmp_path / "build")],
                          capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL,
                          timeout=300)


def message(proc: subprocess.CompletedProcess) -> str:
    return " ".join(proc.stderr.split())


def test_the_build_compiler_passes(tmp_path):
    proc = configure(tmp_path)
    assert proc.returncode == 0, proc.stderr


def test_a_compiler_without_bit_cast_is_named_with_what_it_lacks(tmp_path):
    proc = configure(tmp_path, "-D__builtin_bit_cast=missing_bit_cast")
    assert proc.returncode != 0
    text = message(proc)
    assert "bpfast needs a C++ compiler with __builtin_bit_cast;" in text
    assert "GCC 12 or newer builds bpfast" in text and "CXX=g++" in text


def test_clang_is_refused_with_the_reason(tmp_path):
    proc = configure(tmp_path, "-D__clang__=1", "-D__clang_major__=17", "-D__clang_minor__=0",
                     "-D__clang_patchlevel__=0")
    assert proc.returncode != 0
    text = message(proc)
    assert "bpfast does not support Clang 17.0.0 yet" in text
    assert "build with GCC 12 or newer" in text
