// Bindings of the training derivatives (bpfast/network_gradients.hpp): convert arrays,
// check their shapes and release the GIL. Registered by module.cpp.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "bpfast/errors.hpp"
#include "bpfast/network_gradients.hpp"
#include "bpfast/potential.hpp"
#include "convert.hpp"

namespace py = pybind11;

namespace {

using bpfast::InputError;
using bpfast::NetworkGradients;
using bpfast_bindings::shape_text;
using Doubles = py::array_t<double, py::array::c_style | py::array::forcecast>;
using Indices = py::array_t<int64_t, py::array::c_style | py::array::forcecast>;

/// `obj` as a C-contiguous float64 array of `ndim` dimensions whose last has `cols`
/// entries (-1: any), or an InputError naming the argument.
Doubles as_doubles(py::handle obj, const char* name, int ndim, py::ssize_t cols,
                   const char* expected) {
    py::array raw = py::array::ensure(obj);
    if (!raw || raw.dtype().kind() == 'O' || raw.dtype().kind() == 'U' ||
        raw.dtype().kind() == 'S' || raw.dtype().kind() == 'c') {
        throw InputError(std::string(name) + " must be an array of real numbers");
    }
    if (raw.ndim() != ndim || (cols >= 0 && raw.shape(ndim - 1) != cols)) {
        throw InputError(std::string(name) + " must have shape " + expected + ", got " +
                         shape_text(raw));
    }
    return Doubles::ensure(raw);
}

/// Element index of `element` (a symbol) in the potential, or UnknownElementError.
size_t element_index(const bpfast::Potential& pot, const std::string& element) {
    const auto& names = pot.spec().elements;
    for (size_t e = 0; e < names.size(); ++e) {
        if (names[e] == element) return e;
    }
    std::string known;
    for (const auto& n : names) known += (known.empty() ? "" : " ") + n;
    throw bpfast::UnknownElementError("element '" + element +
                                      "' is not in the potential (elements: " + known + ")");
}

std::vector<bpfast::Activation> activations_from_letters(const std::string& letters) {
    std::vector<bpfast::Activation> out;
    for (char c : letters) {
        if (c != ' ') out.push_back(bpfast::activation_from_letter(std::string(1, c)));
    }
    return out;
}

py::dict compute(const NetworkGradients& net, py::handle parameters, py::handle inputs,
                 py::handle tangents, py::handle groups, py::object n_groups,
                 bool input_gradient, bool energy_gradient, int threads) {
    const py::ssize_t n_in = net.inputs();
    const py::ssize_t np = static_cast<py::ssize_t>(net.parameter_count());
    const std::string row_shape = "(n, " + std::to_string(n_in) + ")";
    Doubles p = as_doubles(parameters, "parameters", 1, np,
                           ("(" + std::to_string(np) + ",)").c_str());
    Doubles x = as_doubles(inputs, "inputs", 2, n_in, row_shape.c_str());
    const py::ssize_t rows = x.shape(0);
    Doubles u;
    const bool have_tangents = !tangents.is_none();
    if (have_tangents) {
        u = as_doubles(tangents, "tangents", 2, n_in, row_shape.c_str());
        if (u.shape(0) != rows) {
            throw InputError("tangents must have the shape of inputs " + shape_text(x) +
                             ", got " + shape_text(u));
        }
    }
    Indices g;
    const bool have_groups = !groups.is_none();
    int64_t group_count = 1;
    if (have_groups) {
        py::array raw = py::array::ensure(groups);
        if (!raw || (raw.dtype().kind() != 'i' && raw.dtype().kind() != 'u') || raw.ndim() != 1 ||
            raw.shape(0) != rows) {
            throw InputError("groups must be integers of shape (" + std::to_string(rows) +
                             ",) (one group index per row of inputs)");
        }
        g = Indices::ensure(raw);
        if (n_groups.is_none()) {
            group_count = 0;
            for (py::ssize_t r = 0; r < rows; ++r) group_count = std::max(group_count, g.at(r) + 1);
        } else {
            group_count = n_groups.cast<int64_t>();
            if (group_count < 0) throw InputError("n_groups must not be negative");
        }
    } else if (!n_groups.is_none()) {
        throw InputError("n_groups needs groups");
    }
    if (threads < 0) throw InputError("threads must be 0 (default) or positive");

    // Outputs: per-group sums as (n_groups, P), or (P,) without groups.
    auto sums_shape = [&]() -> std::vector<py::ssize_t> {
        if (have_groups) return {static_cast<py::ssize_t>(group_count), np};
        return {np};
    };
    py::array_t<double> energies(std::vector<py::ssize_t>{rows});
    py::object dx = py::none(), e_dot = py::none(), de = py::none(), dt = py::none();
    bpfast::GradientInputs in;
    in.parameters = p.data();
    in.inputs = x.data();
    in.tangents = have_tangents ? u.data() : nullptr;
    in.groups = have_groups ? g.data() : nullptr;
    in.rows = rows;
    in.n_groups = group_count;
    bpfast::GradientOutputs out;
    out.energies = energies.mutable_data();
    if (input_gradient) {
        py::array_t<double> a(std::vector<py::ssize_t>{rows, n_in});
        out.input_gradient = a.mutable_data();
        dx = a;
    }
    if (energy_gradient) {
        py::array_t<double> a(sums_shape());
        out.energy_gradient = a.mutable_data();
        de = a;
    }
    if (have_tangents) {
        py::array_t<double> a(std::vector<py::ssize_t>{rows}), b(sums_shape());
        out.tangent_energies = a.mutable_data();
        out.tangent_gradient = b.mutable_data();
        e_dot = a;
        dt = b;
    }
    {
        py::gil_scoped_release release;
        net.compute(in, out, threads);
    }
    py::dict result;
    result["energies"] = energies;
    result["input_gradient"] = dx;
    result["energy_gradient"] = de;
    result["tangent_energies"] = e_dot;
    result["tangent_gradient"] = dt;
    return result;
}

}  // namespace

void bind_training(py::module_& m) {
    py::class_<NetworkGradients, std::shared_ptr<NetworkGradients>>(m, "NetworkGradients", R"doc(
Derivatives of one element's network with respect to its weights and biases (n2p2
weights-file order), for training. See bpfast/network_gradients.hpp for the maths.)doc")
        .def(py::init([](std::vector<int> sizes, const std::string& activations,
                         bool normalize_nodes) {
                 return std::make_shared<NetworkGradients>(
                     std::move(sizes), activations_from_letters(activations), normalize_nodes);
             }),
             py::arg("sizes"), py::arg("activations"), py::arg("normalize_nodes") = false)
        .def_static(
            "from_potential",
            [](const bpfast::Potential& pot, const std::string& element) {
                const auto& spec = pot.spec();
                const auto& net = spec.networks[element_index(pot, element)];
                return std::make_shared<NetworkGradients>(net.sizes, net.activations,
                                                          spec.normalize_nodes);
            },
            py::arg("potential"), py::arg("element"))
        .def_property_readonly("sizes", &NetworkGradients::sizes)
        .def_property_readonly("activations",
                               [](const NetworkGradients& n) {
                                   std::string s;
                                   for (auto a : n.activations()) s += static_cast<char>(a);
                                   return s;
                               })
        .def_property_readonly("normalize_nodes", &NetworkGradients::normalize_nodes)
        .def_property_readonly("parameter_count", &NetworkGradients::parameter_count)
        .def("compute", &compute, py::arg("parameters"), py::arg("inputs"),
             py::arg("tangents") = py::none(), py::arg("groups") = py::none(),
             py::arg("n_groups") = py::none(), py::arg("input_gradient") = false,
             py::arg("energy_gradient") = true, py::arg("threads") = 0,
             R"doc(Energies and derivatives of the network for the rows of `inputs`.

parameters (P,): weights and biases, n2p2 order. inputs (n, n_sf): scaled symmetry
functions G, one row per atom. tangents (n, n_sf), optional: u per row. groups (n,),
optional: non-decreasing integers in [0, n_groups) (default n_groups: largest + 1).
Returns a dict: energies (n,) network outputs E; input_gradient (n, n_sf) dE/dG if
requested; energy_gradient sum of dE/dw, (P,) or per group (n_groups, P), if requested;
with tangents, tangent_energies (n,) u . dE/dG and tangent_gradient the sum of
d(u . dE/dG)/dw, (P,) or (n_groups, P). Absent outputs are None. Units: those of the
network (normalised energies).)doc");

    m.def(
        "network_parameters",
        [](const bpfast::Potential& pot, const std::string& element) {
            const auto& values = pot.spec().networks[element_index(pot, element)].parameters;
            py::array_t<double> out(static_cast<py::ssize_t>(values.size()));
            std::copy(values.begin(), values.end(), out.mutable_data());
            return out;
        },
        py::arg("potential"), py::arg("element"),
        "The weights and biases of an element's network as loaded (n2p2 order), a copy.");
}
