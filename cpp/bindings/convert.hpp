// Conversions from Python arguments to core types, shared by the binding files.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>

#include "bpfast/errors.hpp"
#include "bpfast/neighbors.hpp"

namespace bpfast_bindings {

/// Copies a (3, 3) cell argument into `c`; returns false (leaving `c` alone) when the
/// argument is None, i.e. the structure has no cell.
inline bool read_cell(const pybind11::object& cell, bpfast::Cell& c) {
    namespace py = pybind11;
    if (cell.is_none()) return false;
    auto arr = cell.cast<py::array_t<double, py::array::c_style | py::array::forcecast>>();
    if (arr.ndim() != 2 || arr.shape(0) != 3 || arr.shape(1) != 3) {
        throw bpfast::InputError("cell must have shape (3, 3)");
    }
    for (int a = 0; a < 3; ++a) {
        for (int b = 0; b < 3; ++b) c[a][b] = arr.at(a, b);
    }
    return true;
}

/// Checks the shapes of a structure's positions (n, 3) and atomic numbers (n,);
/// returns n.
inline int64_t check_structure(
        const pybind11::array_t<double, pybind11::array::c_style>& positions,
        const pybind11::array_t<int32_t, pybind11::array::c_style>& numbers) {
    if (positions.ndim() != 2 || positions.shape(1) != 3) {
        throw bpfast::InputError("positions must have shape (n, 3)");
    }
    const int64_t n = positions.shape(0);
    if (numbers.ndim() != 1 || numbers.shape(0) != n) {
        throw bpfast::InputError("numbers must have shape (n,)");
    }
    return n;
}

}  // namespace bpfast_bindings
