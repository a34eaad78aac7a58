// Binding of bpfast::symmetry_function_tangents as the method
// _core.Potential.symmetry_function_tangents: converts arrays and releases the GIL.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>

#include "bpfast/errors.hpp"
#include "bpfast/sf_tangents.hpp"
#include "convert.hpp"

namespace py = pybind11;

namespace {

py::array_t<double> copy_matrix(const bpfast::RowMatrix& a, std::vector<py::ssize_t> shape) {
    py::array_t<double> out(shape);
    std::copy(a.data(), a.data() + a.size(), out.mutable_data());
    return out;
}

py::dict tangents(const bpfast::Potential& pot, py::array_t<double, py::array::c_style> positions,
                  py::array_t<int32_t, py::array::c_style> numbers, py::object cell,
                  std::array<bool, 3> pbc, py::array_t<double, py::array::c_style> directions,
                  int threads, const bpfast::KernelOptions& kernels) {
    const int64_t n = bpfast_bindings::check_structure(positions, numbers);
    if (directions.ndim() != 3 || directions.shape(0) < 1 || directions.shape(1) != n ||
        directions.shape(2) != 3) {
        std::string got;
        for (py::ssize_t a = 0; a < directions.ndim(); ++a) {
            got += (a ? ", " : "") + std::to_string(directions.shape(a));
        }
        throw bpfast::InputError("tangents must have shape (m, " + std::to_string(n) +
                                 ", 3) with m >= 1, got (" + got + ")");
    }
    const int64_t m = directions.shape(0);
    bpfast::Cell c{};
    const bool have_cell = bpfast_bindings::read_cell(cell, c);
    bpfast::TangentTable table;
    {
        py::gil_scoped_release release;
        table = bpfast::symmetry_function_tangents(pot, positions.data(), numbers.data(), n,
                                                   have_cell ? &c : nullptr, pbc,
                                                   directions.data(), m, threads, kernels);
    }
    py::list values, derivatives, atoms;
    for (size_t e = 0; e < table.values.size(); ++e) {
        const py::ssize_t rows = table.values[e].rows(), cols = table.values[e].cols();
        values.append(copy_matrix(table.values[e], {rows, cols}));
        derivatives.append(copy_matrix(table.tangents[e], {m, rows, cols}));
        py::array_t<int64_t> a(rows);
        std::copy(table.atoms[e].begin(), table.atoms[e].end(), a.mutable_data());
        atoms.append(a);
    }
    py::dict out;
    out["descriptors"] = values;
    out["tangents"] = derivatives;
    out["descriptor_atoms"] = atoms;
    return out;
}

}  // namespace

void bind_tangents(py::module_& m) {
    py::object cls = m.attr("Potential");
    cls.attr("symmetry_function_tangents") = py::cpp_function(
        &tangents, py::name("symmetry_function_tangents"), py::is_method(cls),
        py::sibling(py::getattr(cls, "symmetry_function_tangents", py::none())),
        py::arg("positions"), py::arg("numbers"), py::arg("cell"), py::arg("pbc"),
        py::arg("tangents"), py::arg("threads") = 0,
        py::arg("kernels") = bpfast::KernelOptions{},
        "Raw SF values and their derivatives along the directions `tangents` (m, n, 3): "
        "dict of per-element 'descriptors' (n_e, n_sf), 'tangents' (m, n_e, n_sf) and "
        "'descriptor_atoms'.");
}
