#include "bpfast/potential.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "bpfast/elements.hpp"
#include "bpfast/errors.hpp"
#include "bpfast/threading.hpp"

namespace bpfast {

Potential::Potential(PotentialSpec spec) : spec_(std::move(spec)) {
    const size_t nel = spec_.elements.size();
    if (spec_.symmetry_functions.size() != nel || spec_.statistics.size() != nel ||
        spec_.networks.size() != nel || spec_.atom_energy.size() != nel) {
        throw InputError("inconsistent potential specification: per-element data missing");
    }
    for (size_t e = 0; e < nel; ++e) {
        descriptors_.emplace_back(spec_.symmetry_functions[e], spec_.cutoff_type,
                                  spec_.cutoff_alpha);
        cutoff_ = std::max(cutoff_, descriptors_.back().cutoff());
        scalings_.emplace_back(spec_.scaling_mode, spec_.scale_min, spec_.scale_max,
                               spec_.statistics[e]);
        const NetworkSpec& net = spec_.networks[e];
        networks_.emplace_back(net.sizes, net.activations, spec_.normalize_nodes, net.parameters);
    }
}

int Potential::element_index(int z) const {
    for (size_t e = 0; e < spec_.atomic_numbers.size(); ++e) {
        if (spec_.atomic_numbers[e] == z) return static_cast<int>(e);
    }
    return -1;
}

namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

/// Per-thread scratch memory.
struct ThreadScratch {
    DescriptorWorkspace descriptor;
    NetworkWorkspace network;
    std::vector<double> dx, dy, dz, r, weight, gx, gy, gz;
    std::vector<int> element;
    std::vector<int64_t> neighbor;  // atom index of each environment entry
    std::vector<double> forces;     // n x 3
    std::array<double, 9> virial{};
    std::vector<std::vector<int64_t>> extrapolations;
    std::vector<int64_t> extrapolating_atoms;
};

void reduce_extrapolations(const std::vector<ThreadScratch>& scratch, Result& res) {
    for (const auto& ts : scratch) {
        for (size_t e = 0; e < ts.extrapolations.size(); ++e) {
            res.extrapolating_atoms[e] += ts.extrapolating_atoms[e];
            for (size_t s = 0; s < ts.extrapolations[e].size(); ++s) {
                res.extrapolations[e][s] += ts.extrapolations[e][s];
            }
        }
    }
}
}  // namespace

Result Potential::compute(const double* positions, const int32_t* numbers, int64_t n,
                          const Cell* cell, const std::array<bool, 3>& pbc,
                          const ComputeOptions& options, NeighborCache* cache) const {
    Result res;
    const int nel = static_cast<int>(spec_.elements.size());
    res.extrapolations.resize(nel);
    for (int e = 0; e < nel; ++e) res.extrapolations[e].assign(descriptors_[e].size(), 0);
    res.extrapolating_atoms.assign(nel, 0);
    if (options.forces) res.forces.assign(3 * n, 0.0);
    if (options.energies) res.energies.assign(n, 0.0);
    res.has_virial = options.stress;
    if (options.stress && cell == nullptr) {
        throw InputError("stress needs a cell");
    }

    // Element of every atom; atoms of each element in a contiguous block of rows.
    std::vector<int> element(n);
    std::vector<int64_t> row(n);
    std::vector<std::vector<int64_t>> members(nel);
    for (int64_t i = 0; i < n; ++i) {
        const int e = element_index(numbers[i]);
        if (e < 0) {
            std::string known;
            for (const auto& s : spec_.elements) known += (known.empty() ? "" : ", ") + s;
            std::string name = numbers[i] >= 1 && numbers[i] <= kMaxAtomicNumber
                                   ? element_symbol(numbers[i])
                                   : "?";
            throw UnknownElementError("atom " + std::to_string(i) + " is " + name +
                                      " (Z=" + std::to_string(numbers[i]) +
                                      "), which the potential does not describe (elements: " +
                                      known + ")");
        }
        for (int c = 0; c < 3; ++c) {
            if (!std::isfinite(positions[3 * i + c])) {
                throw InputError("position of atom " + std::to_string(i) + " is not finite");
            }
        }
        element[i] = e;
        row[i] = static_cast<int64_t>(members[e].size());
        members[e].push_back(i);
    }
    if (n == 0) return res;

    // Default threads: at least ~32 atoms per thread.
    const int nt = resolve_threads(options.threads, n, 32);
    auto t0 = Clock::now();
    NeighborList own_list;
    std::unique_lock<std::mutex> lock;
    const NeighborList* list_ptr = &own_list;
    if (cache != nullptr) {
        lock = std::unique_lock<std::mutex>(cache->mutex());
        list_ptr = &cache->update(positions, n, cell, pbc, cutoff_, nt);
    } else {
        build_neighbor_list(positions, n, cell, pbc, cutoff_, nt, own_list);
    }
    const NeighborList& list = *list_ptr;
    std::vector<double> wrapped;
    wrapped_positions(list, positions, n, wrapped);
    res.neighbor_pairs = static_cast<int64_t>(list.pairs());
    res.timings[0] = seconds_since(t0);

    std::vector<ThreadScratch> scratch(nt);
    for (auto& ts : scratch) {
        ts.extrapolations.resize(nel);
        for (int e = 0; e < nel; ++e) ts.extrapolations[e].assign(descriptors_[e].size(), 0);
        ts.extrapolating_atoms.assign(nel, 0);
    }
    // Environment of atom i within its element's cutoff.
    auto environment = [&](int64_t i, ThreadScratch& ts) {
        const double rc = descriptors_[element[i]].cutoff();
        const double rc2 = rc * rc;
        const int64_t begin = list.offsets[i], end = list.offsets[i + 1];
        const size_t cap = static_cast<size_t>(end - begin);
        if (ts.dx.size() < cap) {
            for (auto* v : {&ts.dx, &ts.dy, &ts.dz, &ts.r, &ts.weight, &ts.gx, &ts.gy, &ts.gz}) {
                v->resize(cap);
            }
            ts.element.resize(cap);
            ts.neighbor.resize(cap);
        }
        int m = 0;
        const double* wi = wrapped.data() + 3 * i;
        for (int64_t p = begin; p < end; ++p) {
            const int64_t j = list.index[p];
            const auto& sv = list.shift_vectors[list.shift[p]];
            const double* wj = wrapped.data() + 3 * j;
            const double x = wj[0] + sv[0] - wi[0];
            const double y = wj[1] + sv[1] - wi[1];
            const double z = wj[2] + sv[2] - wi[2];
            const double r2 = x * x + y * y + z * z;
            if (!(r2 < rc2)) continue;
            const double r = std::sqrt(r2);
            ts.dx[m] = x;
            ts.dy[m] = y;
            ts.dz[m] = z;
            ts.r[m] = r;
            ts.element[m] = element[j];
            ts.weight[m] = static_cast<double>(numbers[j]);
            ts.neighbor[m] = j;
            ++m;
        }
        NeighborEnv env;
        env.count = m;
        env.dx = ts.dx.data();
        env.dy = ts.dy.data();
        env.dz = ts.dz.data();
        env.r = ts.r.data();
        env.element = ts.element.data();
        env.weight = ts.weight.data();
        return env;
    };

    // Pass 1: symmetry functions, extrapolation statistics, scaling (in place).
    t0 = Clock::now();
    std::vector<RowMatrix> x(nel);
    for (int e = 0; e < nel; ++e) x[e].resize(members[e].size(), descriptors_[e].size());
#pragma omp parallel num_threads(nt)
    {
        ThreadScratch& ts = scratch[thread_id()];
#pragma omp for schedule(dynamic, 16)
        for (int64_t i = 0; i < n; ++i) {
            const int e = element[i];
            double* g = x[e].data() + row[i] * x[e].cols();
            const NeighborEnv env = environment(i, ts);
            descriptors_[e].values(env, g, ts.descriptor);
            const Scaling& sc = scalings_[e];
            bool outside = false;
            for (int s = 0; s < sc.size(); ++s) {
                if (sc.extrapolates(s, g[s])) {
                    ++ts.extrapolations[e][s];
                    outside = true;
                }
            }
            if (outside) ++ts.extrapolating_atoms[e];
            if (!options.descriptors_only) sc.apply(g, g);
        }
    }
    res.timings[1] = seconds_since(t0);
    if (options.descriptors_only) {
        res.descriptors = std::move(x);
        res.descriptor_atoms = std::move(members);
        reduce_extrapolations(scratch, res);
        return res;
    }

    // Networks: atomic energies and dE/dx, overwritten onto x, in batches per element.
    t0 = Clock::now();
    constexpr int64_t kBatch = 256;
    std::vector<double> nn_energy(n);
    struct Chunk {
        int element;
        int64_t begin, end;
    };
    std::vector<Chunk> chunks;
    for (int e = 0; e < nel; ++e) {
        const int64_t ne = static_cast<int64_t>(members[e].size());
        for (int64_t b = 0; b < ne; b += kBatch) chunks.push_back({e, b, std::min(ne, b + kBatch)});
    }
    const bool need_gradient = options.forces || options.stress;
#pragma omp parallel num_threads(nt)
    {
        ThreadScratch& ts = scratch[thread_id()];
        std::vector<double> energy(kBatch);
#pragma omp for schedule(dynamic, 1)
        for (int64_t c = 0; c < static_cast<int64_t>(chunks.size()); ++c) {
            const Chunk& ch = chunks[c];
            const int e = ch.element;
            const int64_t cols = x[e].cols();
            double* block = x[e].data() + ch.begin * cols;
            const int batch = static_cast<int>(ch.end - ch.begin);
            networks_[e].evaluate(block, batch, energy.data(), need_gradient ? block : nullptr,
                                  ts.network);
            for (int b = 0; b < batch; ++b) nn_energy[members[e][ch.begin + b]] = energy[b];
            if (need_gradient) {
                // dE/dG_raw = dNN/dx * scaling factor / conv_energy
                const Scaling& sc = scalings_[e];
                for (int b = 0; b < batch; ++b) {
                    double* d = block + b * cols;
                    for (int s = 0; s < cols; ++s) d[s] *= sc.factor(s) / spec_.conv_energy;
                }
            }
        }
    }
    double total = 0.0;
    for (int64_t i = 0; i < n; ++i) {
        const double ei = nn_energy[i] / spec_.conv_energy + spec_.mean_energy +
                          spec_.atom_energy[element[i]];
        total += ei;
        if (options.energies) res.energies[i] = ei;
    }
    res.energy = total;
    res.timings[2] = seconds_since(t0);

    // Pass 2: forces and virial from dE/dG, accumulated per thread, reduced in order.
    t0 = Clock::now();
    if (need_gradient) {
#pragma omp parallel num_threads(nt)
        {
            ThreadScratch& ts = scratch[thread_id()];
            if (options.forces) ts.forces.assign(3 * n, 0.0);
#pragma omp for schedule(dynamic, 16)
            for (int64_t i = 0; i < n; ++i) {
                const int e = element[i];
                const double* dEdG = x[e].data() + row[i] * x[e].cols();
                const NeighborEnv env = environment(i, ts);
                std::fill(ts.gx.begin(), ts.gx.begin() + env.count, 0.0);
                std::fill(ts.gy.begin(), ts.gy.begin() + env.count, 0.0);
                std::fill(ts.gz.begin(), ts.gz.begin() + env.count, 0.0);
                descriptors_[e].gradient(env, dEdG, ts.gx.data(), ts.gy.data(), ts.gz.data(),
                                         ts.descriptor);
                double fx = 0.0, fy = 0.0, fz = 0.0;
                for (int m = 0; m < env.count; ++m) {
                    const double gx = ts.gx[m], gy = ts.gy[m], gz = ts.gz[m];
                    // E depends on d_m = r_j - r_i: dE/dr_j = g, dE/dr_i = -g.
                    if (options.forces) {
                        const int64_t j = ts.neighbor[m];
                        ts.forces[3 * j] -= gx;
                        ts.forces[3 * j + 1] -= gy;
                        ts.forces[3 * j + 2] -= gz;
                        fx += gx;
                        fy += gy;
                        fz += gz;
                    }
                    if (options.stress) {
                        const double d[3] = {env.dx[m], env.dy[m], env.dz[m]};
                        const double g[3] = {gx, gy, gz};
                        for (int a = 0; a < 3; ++a) {
                            for (int b = 0; b < 3; ++b) ts.virial[3 * a + b] += g[a] * d[b];
                        }
                    }
                }
                if (options.forces) {
                    ts.forces[3 * i] += fx;
                    ts.forces[3 * i + 1] += fy;
                    ts.forces[3 * i + 2] += fz;
                }
            }
        }
        for (const auto& ts : scratch) {
            if (options.forces) {
                for (int64_t k = 0; k < 3 * n; ++k) res.forces[k] += ts.forces[k];
            }
            for (int k = 0; k < 9; ++k) res.virial[k] += ts.virial[k];
        }
    }
    res.timings[3] = seconds_since(t0);
    reduce_extrapolations(scratch, res);
    return res;
}

}  // namespace bpfast
