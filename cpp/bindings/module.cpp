// pybind11 module bpfast._core: converts arrays, releases the GIL and maps C++
// exceptions to Python ones. No physics here.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>

#include "bpfast/elements.hpp"
#include "bpfast/errors.hpp"
#include "bpfast/host_neighbors.hpp"
#include "bpfast/kernel_choice.hpp"
#include "bpfast/kernel_options.hpp"
#include "bpfast/n2p2_io.hpp"
#include "bpfast/potential.hpp"
#include "bpfast/threading.hpp"
#include "convert.hpp"

namespace py = pybind11;
using bpfast::Potential;

namespace {

/// numpy array that owns (moves) a std::vector.
template <typename T, typename Alloc>
py::array_t<T> to_numpy(std::vector<T, Alloc>&& v, std::vector<py::ssize_t> shape) {
    auto* owned = new std::vector<T, Alloc>(std::move(v));
    py::capsule free_when_done(owned, [](void* p) { delete static_cast<std::vector<T, Alloc>*>(p); });
    return py::array_t<T>(shape, owned->data(), free_when_done);
}

const char* scaling_name(bpfast::ScalingMode m) {
    switch (m) {
        case bpfast::ScalingMode::Scale: return "scale";
        case bpfast::ScalingMode::Center: return "center";
        case bpfast::ScalingMode::ScaleCenter: return "scalecenter";
        case bpfast::ScalingMode::Sigma: return "sigma";
        default: return "none";
    }
}

py::dict compute(const Potential& pot, py::array_t<double, py::array::c_style> positions,
                 py::array_t<int32_t, py::array::c_style> numbers, py::object cell,
                 std::array<bool, 3> pbc, bool forces, bool stress, bool energies, int threads,
                 bool descriptors_only, bpfast::NeighborCache* cache,
                 const bpfast::KernelOptions& kernels) {
    const int64_t n = bpfast_bindings::check_structure(positions, numbers);
    bpfast::Cell c{};
    const bool have_cell = bpfast_bindings::read_cell(cell, c);
    bpfast::ComputeOptions opt =
        bpfast_bindings::compute_options(forces, stress, energies, threads, kernels);
    opt.descriptors_only = descriptors_only;
    if (descriptors_only) opt.forces = opt.stress = opt.energies = false;
    bpfast::Result res;
    {
        py::gil_scoped_release release;
        res = pot.compute(positions.data(), numbers.data(), n, have_cell ? &c : nullptr, pbc, opt,
                          cache);
    }
    py::dict out;
    const bpfast::ClosestPair& pair = res.closest_pair;
    out["closest_pair"] = py::make_tuple(pair.i, pair.j, pair.distance,
                                         py::make_tuple(pair.shift[0], pair.shift[1], pair.shift[2]));
    if (descriptors_only) {
        py::list values, atoms;
        for (size_t e = 0; e < res.descriptors.size(); ++e) {
            values.append(py::array_t<double>({res.descriptors[e].rows(), res.descriptors[e].cols()},
                                              res.descriptors[e].data()));
            const py::ssize_t m = static_cast<py::ssize_t>(res.descriptor_atoms[e].size());
            atoms.append(to_numpy(std::move(res.descriptor_atoms[e]), {m}));
        }
        out["descriptors"] = values;
        out["descriptor_atoms"] = atoms;
        return out;
    }
    out["energy"] = res.energy;
    out["forces"] = forces ? py::object(to_numpy(std::move(res.forces), {n, 3})) : py::none();
    out["energies"] = energies ? py::object(to_numpy(std::move(res.energies), {n})) : py::none();
    if (res.has_virial) {
        std::vector<double> v(res.virial.begin(), res.virial.end());
        out["virial"] = to_numpy(std::move(v), {3, 3});
    } else {
        out["virial"] = py::none();
    }
    py::list extrapolations;
    for (auto& counts : res.extrapolations) {
        const py::ssize_t m = static_cast<py::ssize_t>(counts.size());
        extrapolations.append(to_numpy(std::move(counts), {m}));
    }
    out["extrapolations"] = extrapolations;
    py::list excursions;
    for (auto& worst : res.excursions) {
        const py::ssize_t m = static_cast<py::ssize_t>(worst.size());
        excursions.append(to_numpy(std::move(worst), {m}));
    }
    out["excursions"] = excursions;
    out["extrapolating_atoms"] = res.extrapolating_atoms;
    out["neighbor_pairs"] = res.neighbor_pairs;
    out["timings"] = bpfast_bindings::timings_dict(res.timings);
    return out;
}

/// Host-neighbour entry point (as used by the LAMMPS pair style), with the neighbour
/// lists of the centres in compressed-row form: neighbours of centres[c] are
/// neighbors[offsets[c] .. offsets[c+1]-1]. The core checks the lists.
py::dict compute_host(const Potential& pot, py::array_t<double, py::array::c_style> positions,
                      py::array_t<int32_t, py::array::c_style> numbers,
                      py::array_t<int32_t, py::array::c_style> centers,
                      py::array_t<int64_t, py::array::c_style> offsets,
                      py::array_t<int32_t, py::array::c_style> neighbors, bool energies,
                      int threads) {
    const int64_t n_total =
        bpfast_bindings::check_host_arrays(positions, numbers, centers, offsets, neighbors);
    const int64_t n_centers = centers.shape(0);
    const bpfast::ComputeOptions opt =
        bpfast_bindings::compute_options(true, true, energies, threads);
    bpfast::Result res;
    {
        py::gil_scoped_release release;
        const bpfast::CompressedHostNeighbors lists(n_total, positions.data(), numbers.data(),
                                                    n_centers, centers.data(), offsets.data(),
                                                    neighbors.shape(0), neighbors.data());
        res = pot.compute(lists.host(), opt);
    }
    py::dict out;
    out["energy"] = res.energy;
    out["forces"] = to_numpy(std::move(res.forces), {n_total, 3});
    out["energies"] = energies ? py::object(to_numpy(std::move(res.energies), {n_total})) : py::none();
    std::vector<double> v(res.virial.begin(), res.virial.end());
    out["virial"] = to_numpy(std::move(v), {3, 3});
    return out;
}

py::list symmetry_function_table(const Potential& pot) {
    const auto& spec = pot.spec();
    py::list out;
    for (size_t e = 0; e < spec.elements.size(); ++e) {
        py::list rows;
        for (size_t s = 0; s < spec.symmetry_functions[e].size(); ++s) {
            const auto& sf = spec.symmetry_functions[e][s];
            py::dict d;
            d["type"] = sf.type;
            d["e1"] = sf.e1 >= 0 ? py::object(py::str(spec.elements[sf.e1])) : py::none();
            d["e2"] = sf.e2 >= 0 ? py::object(py::str(spec.elements[sf.e2])) : py::none();
            d["eta"] = sf.eta;
            d["rs"] = sf.rs;
            d["lambda"] = sf.lambda;
            d["zeta"] = sf.zeta;
            d["rc"] = sf.rc;
            d["rl"] = sf.rl;
            d["angle_left"] = sf.angle_left;
            d["angle_right"] = sf.angle_right;
            d["subtype"] = sf.subtype;
            d["line"] = sf.line;
            d["min"] = spec.statistics[e][s].min;  // training range (scaling.data)
            d["max"] = spec.statistics[e][s].max;
            rows.append(d);
        }
        out.append(rows);
    }
    return out;
}

/// Full neighbour list as numpy arrays i, j (int64) and D = r_j + S - r_i (n_pairs x 3).
py::tuple neighbor_list(py::array_t<double, py::array::c_style> positions, py::object cell,
                        std::array<bool, 3> pbc, double cutoff, int threads,
                        const bpfast::KernelOptions& kernels) {
    if (positions.ndim() != 2 || positions.shape(1) != 3) {
        throw bpfast::InputError("positions must have shape (n, 3)");
    }
    const int64_t n = positions.shape(0);
    bpfast::Cell c{};
    const bool have_cell = bpfast_bindings::read_cell(cell, c);
    // Uninitialised output buffers, filled in parallel by the core.
    std::vector<int64_t, bpfast::DefaultInitAllocator<int64_t>> first, second;
    std::vector<double, bpfast::DefaultInitAllocator<double>> vectors;
    {
        py::gil_scoped_release release;
        bpfast::NeighborList list;
        const int nt = bpfast::resolve_threads(threads);
        bpfast::build_neighbor_list(positions.data(), n, have_cell ? &c : nullptr, pbc, cutoff, nt,
                                    list, kernels);
        const size_t np = list.pairs();
        first.resize(np);
        second.resize(np);
        vectors.resize(3 * np);
        bpfast::expand_pairs(list, positions.data(), n, nt, first.data(), second.data(),
                             vectors.data());
    }
    const py::ssize_t np = static_cast<py::ssize_t>(first.size());
    return py::make_tuple(to_numpy(std::move(first), {np}), to_numpy(std::move(second), {np}),
                          to_numpy(std::move(vectors), {np, 3}));
}

/// The kernel choice as a dict: width, widest, reason, vendor, family, model.
py::dict kernel_choice_dict(const bpfast::KernelChoice& k) {
    py::dict d;
    d["width"] = k.width;
    d["scan_width"] = k.scan_width;
    d["widest"] = k.widest;
    d["reason"] = k.reason;
    d["vendor"] = k.cpu.vendor;
    d["family"] = k.cpu.family;
    d["model"] = k.cpu.model;
    d["cpu"] = k.cpu.brand;
    return d;
}

/// Raises `bpfast.errors.<name>(*args)`.
void raise_bpfast(const char* name, py::tuple args) {
    py::object cls = py::module_::import("bpfast.errors").attr(name);
    PyErr_SetObject(cls.ptr(), args.ptr());
}

}  // namespace

void bind_tangents(py::module_& m);  // bind_tangents.cpp

PYBIND11_MODULE(_core, m) {
    // BPFAST_SIMD_WIDTH is read here, once: a value other than 4 or 8 stops the import.
    if (!bpfast::kernel_choice().env_error.empty()) {
        throw py::value_error(bpfast::kernel_choice().env_error);
    }
    m.doc() = "bpfast native core (internal; use the bpfast package)";

    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const bpfast::FormatError& e) {
            raise_bpfast("FormatError", py::make_tuple(e.what(), e.file(), e.line(), e.detail()));
        } catch (const bpfast::FileNotFoundError& e) {
            py::object cls = py::module_::import("builtins").attr("FileNotFoundError");
            PyErr_SetObject(cls.ptr(), py::make_tuple(2, "No such file", e.path()).ptr());
        } catch (const bpfast::UnsupportedError& e) {
            raise_bpfast("UnsupportedPotentialError", py::make_tuple(e.what()));
        } catch (const bpfast::UnknownElementError& e) {
            PyErr_SetString(PyExc_KeyError, e.what());
        } catch (const bpfast::InputError& e) {
            PyErr_SetString(PyExc_ValueError, e.what());
        } catch (const bpfast::Error& e) {
            PyErr_SetString(PyExc_RuntimeError, e.what());
        }
    });

    py::class_<bpfast::KernelOptions>(m, "KernelOptions",
        R"doc(Code paths of the kernels for one call (internal: for tests of every path).

simd_width: lanes of the angular kernels and the neighbour scan, 0 = best for this
CPU, 4, or 8 (4 where the CPU lacks AVX-512). pair_tape_limit: doubles per thread of
per-pair data recorded for the gradient pass (0 = recompute every group).
angular_sum_run: doubles per thread of Gaussian angular pair data summed at a time.)doc")
        .def(py::init([](int simd_width, size_t pair_tape_limit, size_t angular_sum_run) {
                 bpfast::KernelOptions k;
                 k.simd_width = simd_width;
                 k.pair_tape_limit = pair_tape_limit;
                 k.angular_sum_run = angular_sum_run;
                 bpfast::check_kernel_options(k);
                 return k;
             }),
             py::kw_only(), py::arg("simd_width") = bpfast::KernelOptions{}.simd_width,
             py::arg("pair_tape_limit") = bpfast::KernelOptions{}.pair_tape_limit,
             py::arg("angular_sum_run") = bpfast::KernelOptions{}.angular_sum_run)
        .def_readonly("simd_width", &bpfast::KernelOptions::simd_width)
        .def_readonly("pair_tape_limit", &bpfast::KernelOptions::pair_tape_limit)
        .def_readonly("angular_sum_run", &bpfast::KernelOptions::angular_sum_run)
        .def_property_readonly("lanes", &bpfast::kernel_lanes,
                               "Lanes the two-width kernels run with these options.")
        .def("__repr__", [](const bpfast::KernelOptions& k) {
            return "KernelOptions(simd_width=" + std::to_string(k.simd_width) +
                   ", pair_tape_limit=" + std::to_string(k.pair_tape_limit) +
                   ", angular_sum_run=" + std::to_string(k.angular_sum_run) + ")";
        });

    py::class_<Potential, std::shared_ptr<Potential>>(m, "Potential")
        .def_property_readonly("directory", [](const Potential& p) { return p.spec().directory; })
        .def_property_readonly("files", [](const Potential& p) { return p.spec().files; })
        .def_property_readonly("elements", [](const Potential& p) { return p.spec().elements; })
        .def_property_readonly("atomic_numbers",
                               [](const Potential& p) { return p.spec().atomic_numbers; })
        .def_property_readonly("cutoff", &Potential::cutoff)
        .def_property_readonly("cutoff_type",
                               [](const Potential& p) { return int(p.spec().cutoff_type); })
        .def_property_readonly("cutoff_alpha", [](const Potential& p) { return p.spec().cutoff_alpha; })
        .def_property_readonly("scaling",
                               [](const Potential& p) { return scaling_name(p.spec().scaling_mode); })
        .def_property_readonly("normalized", [](const Potential& p) { return p.spec().normalized; })
        .def_property_readonly("mean_energy", [](const Potential& p) { return p.spec().mean_energy; })
        .def_property_readonly("conv_energy", [](const Potential& p) { return p.spec().conv_energy; })
        .def_property_readonly("conv_length", [](const Potential& p) { return p.spec().conv_length; })
        .def_property_readonly("atom_energy", [](const Potential& p) { return p.spec().atom_energy; })
        .def_property_readonly("normalize_nodes",
                               [](const Potential& p) { return p.spec().normalize_nodes; })
        .def_property_readonly("architectures",
                               [](const Potential& p) {
                                   std::vector<std::vector<int>> out;
                                   for (const auto& n : p.spec().networks) out.push_back(n.sizes);
                                   return out;
                               })
        .def_property_readonly("activations",
                               [](const Potential& p) {
                                   std::vector<std::string> out;
                                   for (const auto& n : p.spec().networks) {
                                       std::string s;
                                       for (auto a : n.activations) s += static_cast<char>(a);
                                       out.push_back(s);
                                   }
                                   return out;
                               })
        .def_property_readonly("symmetry_functions", &symmetry_function_table)
        .def("compute", &compute, py::arg("positions"), py::arg("numbers"), py::arg("cell"),
             py::arg("pbc"), py::arg("forces"), py::arg("stress"), py::arg("energies"),
             py::arg("threads"), py::arg("descriptors_only") = false,
             py::arg("cache") = nullptr, py::arg("kernels") = bpfast::KernelOptions{})
        .def("compute_host", &compute_host, py::arg("positions"), py::arg("numbers"),
             py::arg("centers"), py::arg("offsets"), py::arg("neighbors"),
             py::arg("energies") = true, py::arg("threads") = 0);

    bind_tangents(m);

    py::class_<bpfast::NeighborCache, std::shared_ptr<bpfast::NeighborCache>>(m, "NeighborCache",
        R"doc(A neighbour list kept between calls of Potential.compute (a Verlet list).

The list is built with cutoff + skin and reused while the cell and the periodic
boundary conditions are unchanged and no atom moved more than skin / 2 since it was
built; results are the same as with a fresh list. skin = 0 rebuilds on every call.
The skin is in the potential's length unit. One cache serves one structure (one
trajectory); calls that share a cache are serialised.)doc")
        .def(py::init<double>(), py::arg("skin") = 1.0)
        .def_property_readonly("skin", &bpfast::NeighborCache::skin)
        .def_property_readonly("rebuilds", &bpfast::NeighborCache::rebuilds,
                               "Number of neighbour-list builds so far.")
        .def("reset", &bpfast::NeighborCache::reset, "Forget the kept list.")
        .def("__repr__", [](const bpfast::NeighborCache& c) {
            return "NeighborCache(skin=" + py::repr(py::float_(c.skin())).cast<std::string>() +
                   ", rebuilds=" + std::to_string(c.rebuilds()) + ")";
        });

    void bind_training(py::module_&); bind_training(m);  // NetworkGradients (bind_training.cpp)
    void bind_committee(py::module_&); bind_committee(m);  // Committee (bind_committee.cpp)
    m.def(
        "load",
        [](const std::string& directory) {
            py::gil_scoped_release release;
            return std::make_shared<Potential>(bpfast::read_n2p2_potential(directory));
        },
        py::arg("directory"));
    m.def("neighbor_list", &neighbor_list, py::arg("positions"), py::arg("cell"), py::arg("pbc"),
          py::arg("cutoff"), py::arg("threads") = 0, py::arg("kernels") = bpfast::KernelOptions{});
    m.def("atomic_number", &bpfast::atomic_number, py::arg("symbol"));
    m.def("element_symbol", &bpfast::element_symbol, py::arg("atomic_number"));
    m.def("have_openmp", &bpfast::have_openmp);
    m.def("default_threads", [] { return bpfast::resolve_threads(0); });
    m.attr("max_threads") = bpfast::kMaxThreads;
    m.def("_best_simd_width", &bpfast::best_simd_width,
          "Lanes of the two-width kernels on this CPU by default: 4 or 8 (kernel_choice).");
    m.def("kernel_choice", [] { return kernel_choice_dict(bpfast::kernel_choice()); },
          R"doc(The automatic SIMD width of the two-width kernels (angular symmetry functions,
neighbour scan) in this process, and why: a dict with width (angular kernels: 4 or 8),
scan_width (neighbour candidate scan), widest (lanes the CPU and build can run), reason, the CPU's cpuid vendor, family and model, and cpu (its
brand string, the "model name" of /proc/cpuinfo).
BPFAST_SIMD_WIDTH=4|8 in the environment when bpfast is imported forces a width.)doc");
    m.def("_choose_kernel_width",
          [](const std::string& vendor, int family, int model, int widest, const std::string& env) {
              bpfast::CpuId cpu{vendor, family, model};
              const auto k = bpfast::choose_kernel_width(cpu, widest, env.c_str());
              py::dict d = kernel_choice_dict(k);
              d["env_error"] = k.env_error;
              return d;
          },
          py::arg("vendor"), py::arg("family"), py::arg("model"), py::arg("widest"),
          py::arg("env") = "",
          "The kernel-width rule for a given CPU (tests of the rule on other CPUs).");
}
