#include "bpfast/sf_tangents.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "bpfast/atom_elements.hpp"
#include "bpfast/errors.hpp"
#include "bpfast/evaluation.hpp"
#include "bpfast/threading.hpp"

namespace bpfast {

namespace {

/// One thread's memory, reused from atom to atom.
struct TangentScratch {
    EnvironmentBuffers environment;
    DescriptorWorkspace descriptor;
    std::vector<double> gx, gy, gz;  // one SF's gradient per neighbour entry
    // Per direction d, the entries whose displacement v_j - v_a is not zero:
    // entries[first[d] .. first[d + 1]) and their displacements (x, y, z) in
    // relative. Directions that move few atoms (single force components) touch few
    // entries of a centre, so the contraction costs what they touch.
    std::vector<int64_t> first;
    std::vector<int> entries;
    std::vector<double> relative;
};

void check_finite(const double* values, int64_t count, const char* what) {
    for (int64_t k = 0; k < count; ++k) {
        if (!std::isfinite(values[k])) {
            throw InputError(std::string(what) + " contain NaN or infinite values (entry " +
                             std::to_string(k) + ")");
        }
    }
}

/// Every SF of every element as a Descriptor of its own: its gradient pass then runs
/// only that SF's kernel.
std::vector<std::vector<Descriptor>> single_sf_descriptors(const PotentialSpec& spec) {
    std::vector<std::vector<Descriptor>> out(spec.symmetry_functions.size());
    for (size_t e = 0; e < out.size(); ++e) {
        for (const SymmetryFunctionSpec& sf : spec.symmetry_functions[e]) {
            out[e].emplace_back(std::vector<SymmetryFunctionSpec>{sf}, spec.cutoff_type,
                                spec.cutoff_alpha);
        }
    }
    return out;
}

/// Values of centre i into G and its tangents: u[d * stride + k] for direction d.
/// `single` holds the element's SFs one by one (single_sf_descriptors).
void tangents_of_atom(const Evaluation& ev, const std::vector<Descriptor>& single, int64_t i,
                      const double* directions, int64_t m, double* G, double* u,
                      int64_t stride, TangentScratch& ts) {
    const Descriptor& descriptor = ev.model.elements[ev.centres.element[i]].descriptor;
    const NeighborEnv env = ev.environment(i, ts.environment);
    const int count = env.count;
    const int64_t n = ev.centres.n_total;
    ts.descriptor.record = false;
    descriptor.values(env, G, ts.descriptor, ev.kernels);
    ts.gx.resize(count);
    ts.gy.resize(count);
    ts.gz.resize(count);
    const int64_t* neighbor = ts.environment.neighbor.data();
    ts.first.assign(1, 0);
    ts.entries.clear();
    ts.relative.clear();
    for (int64_t d = 0; d < m; ++d) {
        const double* v = directions + 3 * n * d;
        for (int c = 0; c < count; ++c) {
            const double* vj = v + 3 * neighbor[c];
            const double wx = vj[0] - v[3 * i], wy = vj[1] - v[3 * i + 1],
                         wz = vj[2] - v[3 * i + 2];
            if (wx == 0.0 && wy == 0.0 && wz == 0.0) continue;
            ts.entries.push_back(c);
            ts.relative.insert(ts.relative.end(), {wx, wy, wz});
        }
        ts.first.push_back(static_cast<int64_t>(ts.entries.size()));
    }
    if (ts.entries.empty()) return;  // no direction moves this centre's environment
    const double one = 1.0;
    for (size_t k = 0; k < single.size(); ++k) {
        std::fill(ts.gx.begin(), ts.gx.end(), 0.0);
        std::fill(ts.gy.begin(), ts.gy.end(), 0.0);
        std::fill(ts.gz.begin(), ts.gz.end(), 0.0);
        double value = 0.0;
        ts.descriptor.record = true;  // the gradient pass replays the SF's pair data
        single[k].values(env, &value, ts.descriptor, ev.kernels);
        ts.descriptor.record = false;
        single[k].gradient(env, &one, ts.gx.data(), ts.gy.data(), ts.gz.data(), ts.descriptor,
                           ev.kernels);
        for (int64_t d = 0; d < m; ++d) {
            double sum = 0.0;
            for (int64_t t = ts.first[d]; t < ts.first[d + 1]; ++t) {
                const int c = ts.entries[t];
                const double* w = ts.relative.data() + 3 * t;
                sum += ts.gx[c] * w[0] + ts.gy[c] * w[1] + ts.gz[c] * w[2];
            }
            u[d * stride + k] = sum;
        }
    }
}

}  // namespace

TangentTable symmetry_function_tangents(const Potential& potential, const double* positions,
                                        const int32_t* numbers, int64_t n, const Cell* cell,
                                        const std::array<bool, 3>& pbc,
                                        const double* directions, int64_t m, int threads,
                                        const KernelOptions& kernels) {
    if (m < 1) throw InputError("tangents must hold at least one direction");
    check_finite(positions, 3 * n, "positions");
    check_finite(directions, 3 * n * m, "tangents");
    check_kernel_options(kernels);
    const Model& model = potential.model();
    const std::vector<int> element = atom_elements(potential, numbers, n, nullptr);
    const int nel = model.element_count();
    TangentTable table;
    table.atoms.resize(nel);
    std::vector<int64_t> row(n);
    for (int64_t i = 0; i < n; ++i) {
        row[i] = static_cast<int64_t>(table.atoms[element[i]].size());
        table.atoms[element[i]].push_back(i);
    }
    table.values.resize(nel);
    table.tangents.resize(nel);
    for (int e = 0; e < nel; ++e) {
        const int64_t rows = static_cast<int64_t>(table.atoms[e].size());
        const int nsf = model.elements[e].descriptor.size();
        table.values[e].setZero(rows, nsf);
        table.tangents[e].setZero(m * rows, nsf);
    }
    if (n == 0) return table;
    const int nt = resolve_threads(threads, n, 8);
    NeighborList list;
    build_neighbor_list(positions, n, cell, pbc, model.cutoff, nt, list, kernels);
    std::vector<double> wrapped;
    wrapped_positions(list, positions, n, wrapped);
    const ListEnvironments environments(list, wrapped, numbers);
    const Evaluation ev{model, Centres{n, element.data(), n, nullptr}, environments, kernels, nt};
    const std::vector<std::vector<Descriptor>> single = single_sf_descriptors(potential.spec());
    std::vector<TangentScratch> scratch(nt);
#pragma omp parallel num_threads(nt)
    {
        TangentScratch& ts = scratch[thread_id()];
#pragma omp for schedule(dynamic, 4)
        for (int64_t i = 0; i < n; ++i) {
            const int e = element[i];
            const int64_t rows = static_cast<int64_t>(table.atoms[e].size());
            const int64_t nsf = table.values[e].cols();
            double* G = table.values[e].data() + row[i] * nsf;
            double* u = table.tangents[e].data() + row[i] * nsf;
            tangents_of_atom(ev, single[e], i, directions, m, G, u, rows * nsf, ts);
        }
    }
    return table;
}

}  // namespace bpfast
