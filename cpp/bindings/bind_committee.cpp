// Binding of bpfast::Committee as _core.Committee: converts arrays, releases the GIL and
// returns the members' results stacked (member axis first).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>
#include <vector>

#include "bpfast/committee.hpp"
#include "bpfast/errors.hpp"
#include "bpfast/host_neighbors.hpp"
#include "convert.hpp"

namespace py = pybind11;
using bpfast::Committee;

namespace {

/// Rows `get(result)` of every member, each of `row` doubles, as one array of `shape`.
template <typename Get>
py::array_t<double> stacked(const bpfast::CommitteeResult& res, std::vector<py::ssize_t> shape,
                            size_t row, Get get) {
    py::array_t<double> out(shape);
    double* to = out.mutable_data();
    for (const bpfast::Result& r : res.members) {
        const double* from = get(r);
        std::copy(from, from + row, to);
        to += row;
    }
    return out;
}

py::list counts_list(const std::vector<std::vector<int64_t>>& counts) {
    py::list out;
    for (const auto& c : counts) out.append(py::array_t<int64_t>(c.size(), c.data()));
    return out;
}

py::list excursions_list(const std::vector<std::vector<double>>& excursions) {
    py::list out;
    for (const auto& c : excursions) out.append(py::array_t<double>(c.size(), c.data()));
    return out;
}

/// The per-member results (forces and virial only with member gradients) and, without
/// them, the mean's forces and virial.
py::dict to_dict(const bpfast::CommitteeResult& res, int64_t n, bool forces, bool stress,
                 bool energies, bool member_gradients) {
    const py::ssize_t nm = static_cast<py::ssize_t>(res.members.size());
    py::dict out;
    const bpfast::ClosestPair& pair = res.closest_pair;
    out["closest_pair"] = py::make_tuple(pair.i, pair.j, pair.distance,
                                         py::make_tuple(pair.shift[0], pair.shift[1], pair.shift[2]));
    out["energy"] = stacked(res, {nm}, 1, [](const bpfast::Result& r) { return &r.energy; });
    const bpfast::Result& mean = res.mean;
    out["mean_forces"] = forces && !member_gradients
                             ? py::object(py::array_t<double>({n, int64_t{3}}, mean.forces.data()))
                             : py::none();
    out["mean_virial"] = stress && !member_gradients
                             ? py::object(py::array_t<double>({3, 3}, mean.virial.data()))
                             : py::none();
    forces = forces && member_gradients;
    stress = stress && member_gradients;
    out["forces"] = forces ? py::object(stacked(res, {nm, n, 3}, 3 * n,
                                                [](const bpfast::Result& r) { return r.forces.data(); }))
                           : py::none();
    out["energies"] = energies ? py::object(stacked(res, {nm, n}, n,
                                                    [](const bpfast::Result& r) { return r.energies.data(); }))
                               : py::none();
    out["virial"] = stress ? py::object(stacked(res, {nm, 3, 3}, 9,
                                                [](const bpfast::Result& r) { return r.virial.data(); }))
                           : py::none();
    py::list extrapolations, excursions, atoms;
    for (const bpfast::Result& r : res.members) {
        extrapolations.append(counts_list(r.extrapolations));
        excursions.append(excursions_list(r.excursions));
        atoms.append(r.extrapolating_atoms);
    }
    out["extrapolations"] = extrapolations;  // per member, per element
    out["excursions"] = excursions;
    out["extrapolating_atoms"] = atoms;
    out["neighbor_pairs"] = res.neighbor_pairs;
    out["timings"] = bpfast_bindings::timings_dict(res.timings);
    return out;
}

py::dict compute(const Committee& committee, py::array_t<double, py::array::c_style> positions,
                 py::array_t<int32_t, py::array::c_style> numbers, py::object cell,
                 std::array<bool, 3> pbc, bool forces, bool stress, bool energies, int threads,
                 bpfast::NeighborCache* cache, const bpfast::KernelOptions& kernels,
                 bool member_gradients) {
    const int64_t n = bpfast_bindings::check_structure(positions, numbers);
    bpfast::Cell c{};
    const bool have_cell = bpfast_bindings::read_cell(cell, c);
    const bpfast::ComputeOptions opt =
        bpfast_bindings::compute_options(forces, stress, energies, threads, kernels);
    bpfast::CommitteeResult res;
    {
        py::gil_scoped_release release;
        res = committee.compute(positions.data(), numbers.data(), n, have_cell ? &c : nullptr, pbc,
                                opt, cache, member_gradients);
    }
    return to_dict(res, n, forces, stress, energies, member_gradients);
}

py::dict compute_host(const Committee& committee, py::array_t<double, py::array::c_style> positions,
                      py::array_t<int32_t, py::array::c_style> numbers,
                      py::array_t<int32_t, py::array::c_style> centers,
                      py::array_t<int64_t, py::array::c_style> offsets,
                      py::array_t<int32_t, py::array::c_style> neighbors, bool energies,
                      int threads, bool member_gradients) {
    const int64_t n_total =
        bpfast_bindings::check_host_arrays(positions, numbers, centers, offsets, neighbors);
    const bpfast::ComputeOptions opt =
        bpfast_bindings::compute_options(true, true, energies, threads);
    bpfast::CommitteeResult res;
    {
        py::gil_scoped_release release;
        const bpfast::CompressedHostNeighbors lists(n_total, positions.data(), numbers.data(),
                                                    centers.shape(0), centers.data(),
                                                    offsets.data(), neighbors.shape(0),
                                                    neighbors.data());
        res = committee.compute(lists.host(), opt, member_gradients);
    }
    return to_dict(res, n_total, true, true, energies, member_gradients);
}

}  // namespace

void bind_committee(py::module_& m) {
    py::class_<Committee, std::shared_ptr<Committee>>(m, "Committee")
        .def(py::init([](const std::vector<std::shared_ptr<bpfast::Potential>>& members) {
                 return std::make_shared<Committee>(
                     std::vector<std::shared_ptr<const bpfast::Potential>>(members.begin(),
                                                                           members.end()));
             }),
             py::arg("members"))
        .def("__len__", &Committee::size)
        .def_property_readonly("cutoff", &Committee::cutoff)
        .def_property_readonly("groups", &Committee::groups,
                               "Member indices of the groups that share symmetry functions "
                               "and scaling.")
        .def("compute", &compute, py::arg("positions"), py::arg("numbers"), py::arg("cell"),
             py::arg("pbc"), py::arg("forces"), py::arg("stress"), py::arg("energies"),
             py::arg("threads"), py::arg("cache") = nullptr,
             py::arg("kernels") = bpfast::KernelOptions{}, py::arg("member_gradients") = true)
        .def("compute_host", &compute_host, py::arg("positions"), py::arg("numbers"),
             py::arg("centers"), py::arg("offsets"), py::arg("neighbors"),
             py::arg("energies") = true, py::arg("threads") = 0,
             py::arg("member_gradients") = true);
}
