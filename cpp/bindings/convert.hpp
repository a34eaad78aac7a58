// Conversions from Python arguments to core types, shared by the binding files.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>

#include "bpfast/errors.hpp"
#include "bpfast/neighbors.hpp"
#include "bpfast/potential.hpp"

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

/// The core's options of one compute call.
inline bpfast::ComputeOptions compute_options(bool forces, bool stress, bool energies,
                                              int threads,
                                              const bpfast::KernelOptions& kernels = {}) {
    bpfast::ComputeOptions opt;
    opt.forces = forces;
    opt.stress = stress;
    opt.energies = energies;
    opt.threads = threads;
    opt.kernels = kernels;
    return opt;
}

/// Seconds per phase of a call, as the dict Result.timings holds.
inline pybind11::dict timings_dict(const bpfast::PhaseTimings& t) {
    pybind11::dict d;
    d["neighbors"] = t.neighbors;
    d["symmetry_functions"] = t.symmetry_functions;
    d["network"] = t.network;
    d["forces"] = t.forces;
    return d;
}

/// "(n, 3)"-style text of an array's shape.
inline std::string shape_text(const pybind11::array& a) {
    std::string s = "(";
    for (pybind11::ssize_t d = 0; d < a.ndim(); ++d) {
        s += (d ? ", " : "") + std::to_string(a.shape(d));
    }
    return s + (a.ndim() == 1 ? ",)" : ")");
}

/// Throws InputError unless `a` is 1-D with `expected` entries (any length if < 0).
inline void check_host_vector(const char* name, const pybind11::array& a, int64_t expected,
                              const char* why) {
    if (a.ndim() == 1 && (expected < 0 || a.shape(0) == expected)) return;
    const std::string want =
        expected < 0 ? "a 1-D array" : "shape (" + std::to_string(expected) + ",)";
    throw bpfast::InputError(std::string("compute_host: ") + name + " must have " + want + why +
                             ", got shape " + shape_text(a));
}

/// Checks the shapes of the arrays of a host-neighbour call (compute_host of a potential
/// or a committee): positions (n, 3), numbers (n,), centers (c,), offsets (c + 1,),
/// neighbors 1-D; the core checks their values. Returns n.
inline int64_t check_host_arrays(const pybind11::array& positions, const pybind11::array& numbers,
                                 const pybind11::array& centers, const pybind11::array& offsets,
                                 const pybind11::array& neighbors) {
    if (positions.ndim() != 2 || positions.shape(1) != 3) {
        throw bpfast::InputError("compute_host: positions must have shape (n, 3), got shape " +
                                 shape_text(positions));
    }
    const int64_t n = positions.shape(0);
    check_host_vector("numbers", numbers, n, " (one atomic number per row of positions)");
    check_host_vector("centers", centers, -1, "");
    check_host_vector("offsets", offsets, centers.shape(0) + 1, " (len(centers) + 1)");
    check_host_vector("neighbors", neighbors, -1, "");
    return n;
}

}  // namespace bpfast_bindings
