#include "bpfast/potential.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "bpfast/elements.hpp"
#include "bpfast/errors.hpp"
#include "bpfast/simd.hpp"
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
        const Scaling& sc = scalings_.back();
        input_gradient_scale_.emplace_back(sc.size());
        for (int s = 0; s < sc.size(); ++s) {
            input_gradient_scale_.back()[s] = sc.factor(s) / spec_.conv_energy;
        }
        const NetworkSpec& net = spec_.networks[e];
        networks_.emplace_back(net.sizes, net.activations, spec_.normalize_nodes, net.parameters);
    }
}

std::unique_ptr<NeighborList> Potential::take_list() const {
    std::lock_guard<std::mutex> guard(spare_mutex_);
    if (spare_list_) return std::move(spare_list_);
    return std::make_unique<NeighborList>();
}

void Potential::return_list(std::unique_ptr<NeighborList> list) const {
    if (!list) return;
    // Keep it only if its memory is not far beyond what it held (a call on a large system
    // followed by small ones should not pin the large list).
    size_t capacity = 0;
    for (const auto& b : list->blocks) capacity += b.index.capacity();
    if (capacity > 2 * list->pairs() + (size_t{1} << 20)) return;
    std::lock_guard<std::mutex> guard(spare_mutex_);
    if (!spare_list_) spare_list_ = std::move(list);
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
    std::vector<NetworkWorkspace> network;  // per element
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

namespace {
/// Copies the neighbours of one centre into the thread's environment arrays; `emit`
/// is called as emit(j, dx, dy, dz) for candidate pairs; those within rc are kept.
template <class ForEachPair>
NeighborEnv fill_environment(ThreadScratch& ts, size_t capacity, double rc, const int* element,
                             const int32_t* numbers, ForEachPair&& for_each_pair) {
    if (ts.dx.size() < capacity) {
        for (auto* v : {&ts.dx, &ts.dy, &ts.dz, &ts.r, &ts.weight, &ts.gx, &ts.gy, &ts.gz}) {
            v->resize(capacity);
        }
        ts.element.resize(capacity);
        ts.neighbor.resize(capacity);
    }
    const double rc2 = rc * rc;
    int m = 0;
    for_each_pair([&](int64_t j, double x, double y, double z) {
        const double r2 = x * x + y * y + z * z;
        if (!(r2 < rc2)) return;
        ts.dx[m] = x;
        ts.dy[m] = y;
        ts.dz[m] = z;
        ts.r[m] = std::sqrt(r2);
        ts.element[m] = element[j];
        ts.weight[m] = static_cast<double>(numbers[j]);
        ts.neighbor[m] = j;
        ++m;
    });
    NeighborEnv env;
    env.count = m;
    env.dx = ts.dx.data();
    env.dy = ts.dy.data();
    env.dz = ts.dz.data();
    env.r = ts.r.data();
    env.element = ts.element.data();
    env.weight = ts.weight.data();
    return env;
}

void check_finite(const double* positions, int64_t n) {
    for (int64_t k = 0; k < 3 * n; ++k) {
        if (!std::isfinite(positions[k])) {
            throw InputError("position of atom " + std::to_string(k / 3) + " is not finite");
        }
    }
}
}  // namespace

Result Potential::compute(const double* positions, const int32_t* numbers, int64_t n,
                          const Cell* cell, const std::array<bool, 3>& pbc,
                          const ComputeOptions& options, NeighborCache* cache) const {
    if (options.stress && cell == nullptr) {
        throw InputError("stress needs a cell");
    }
    check_finite(positions, n);
    check_kernel_options(options.kernels);
    Result res;
    const int nt = resolve_threads(options.threads, n, 32);  // ~32 atoms per thread at least
    // Own list (unless the cache's is used): on loan from the spare, returned when the
    // call ends.
    struct Lease {
        const Potential* owner;
        std::unique_ptr<NeighborList> list;
        ~Lease() { owner->return_list(std::move(list)); }
    } own{this, cache != nullptr && n > 0 ? nullptr : take_list()};
    std::unique_lock<std::mutex> lock;
    const NeighborList* list_ptr = own.list.get();
    std::vector<double> wrapped;
    if (n > 0) {
        const auto t0 = Clock::now();
        if (cache != nullptr) {
            lock = std::unique_lock<std::mutex>(cache->mutex());
            list_ptr = &cache->update(positions, n, cell, pbc, cutoff_, nt, options.kernels);
        } else {
            build_neighbor_list(positions, n, cell, pbc, cutoff_, nt, *own.list, options.kernels);
        }
        wrapped_positions(*list_ptr, positions, n, wrapped);
        res.neighbor_pairs = static_cast<int64_t>(list_ptr->pairs());
        res.timings[0] = seconds_since(t0);
    }
    const NeighborList& list = *list_ptr;
    auto environment = [&](int64_t i, ThreadScratch& ts, const int* element) {
        const int64_t begin = list.offsets[i], end = list.offsets[i + 1];
        const double* wi = wrapped.data() + 3 * i;
        return fill_environment(
            ts, static_cast<size_t>(end - begin), descriptors_[element[i]].cutoff(), element,
            numbers, [&](auto&& emit) {
                const NeighborList::Row nb = list.row(i);
                for (int64_t p = 0; p < end - begin; ++p) {
                    const int64_t j = nb.index[p];
                    const auto& sv = list.shift_vectors[nb.shift[p]];
                    const double* wj = wrapped.data() + 3 * j;
                    emit(j, wj[0] + sv[0] - wi[0], wj[1] + sv[1] - wi[1], wj[2] + sv[2] - wi[2]);
                }
            });
    };
    return evaluate(n, numbers, n, nullptr, nt, options, environment, std::move(res));
}

Result Potential::compute(const HostNeighbors& host, const ComputeOptions& options) const {
    if (host.n_total < 0 || host.n_centers < 0 || host.n_centers > host.n_total) {
        throw InputError("host neighbour list: inconsistent atom counts");
    }
    check_finite(host.positions, host.n_total);
    check_kernel_options(options.kernels);
    Result res;
    const int nt = resolve_threads(options.threads, host.n_centers, 32);
    for (int64_t c = 0; c < host.n_centers; ++c) {
        res.neighbor_pairs += host.counts[host.centers[c]];
    }
    const double* pos = host.positions;
    auto environment = [&](int64_t i, ThreadScratch& ts, const int* element) {
        const int32_t* nb = host.neighbors[i];
        const int count = host.counts[i];
        return fill_environment(ts, static_cast<size_t>(count), descriptors_[element[i]].cutoff(),
                                element, host.numbers, [&](auto&& emit) {
                                    for (int k = 0; k < count; ++k) {
                                        const int64_t j = nb[k] & host.index_mask;
                                        emit(j, pos[3 * j] - pos[3 * i],
                                             pos[3 * j + 1] - pos[3 * i + 1],
                                             pos[3 * j + 2] - pos[3 * i + 2]);
                                    }
                                });
    };
    return evaluate(host.n_total, host.numbers, host.n_centers, host.centers, nt, options,
                    environment, std::move(res));
}

int Potential::element_of_atom(const int32_t* numbers, int64_t i) const {
    const int e = element_index(numbers[i]);
    if (e >= 0) return e;
    std::string known;
    for (const auto& s : spec_.elements) known += (known.empty() ? "" : ", ") + s;
    const std::string name =
        numbers[i] >= 1 && numbers[i] <= kMaxAtomicNumber ? element_symbol(numbers[i]) : "?";
    throw UnknownElementError("atom " + std::to_string(i) + " is " + name + " (Z=" +
                              std::to_string(numbers[i]) +
                              "), which the potential does not describe (elements: " + known +
                              ")");
}

template <class Environment>
Result Potential::evaluate(int64_t n_total, const int32_t* numbers, int64_t n_centers,
                           const int32_t* centers, int nt, const ComputeOptions& options,
                           Environment&& environment, Result res) const {
    const int nel = static_cast<int>(spec_.elements.size());
    res.extrapolations.resize(nel);
    for (int e = 0; e < nel; ++e) res.extrapolations[e].assign(descriptors_[e].size(), 0);
    res.extrapolating_atoms.assign(nel, 0);
    if (options.forces) res.forces.assign(3 * n_total, 0.0);
    if (options.energies) res.energies.assign(n_total, 0.0);
    res.has_virial = options.stress;

    // Element of every atom.
    std::vector<int> element(n_total);
    for (int64_t i = 0; i < n_total; ++i) element[i] = element_of_atom(numbers, i);
    if (n_centers == 0) return res;

    std::vector<ThreadScratch> scratch(nt);
    for (auto& ts : scratch) {
        ts.network.resize(nel);
        ts.extrapolations.resize(nel);
        for (int e = 0; e < nel; ++e) ts.extrapolations[e].assign(descriptors_[e].size(), 0);
        ts.extrapolating_atoms.assign(nel, 0);
    }

    // Extrapolation statistics of one atom's raw SFs.
    auto count_extrapolations = [&](int e, const double* g, ThreadScratch& ts) {
        const Scaling& sc = scalings_[e];
        bool outside = false;
        for (int s = 0; s < sc.size(); ++s) {
            if (sc.extrapolates(s, g[s])) {
                ++ts.extrapolations[e][s];
                outside = true;
            }
        }
        if (outside) ++ts.extrapolating_atoms[e];
    };
    // Atomic energies from the networks' outputs, and their sum in atom order.
    auto sum_energies = [&](const auto& nn_energy) {
        double total = 0.0;
        for (int64_t c = 0; c < n_centers; ++c) {
            const int64_t i = centers ? centers[c] : c;
            const int e = element[i];
            const double ei = nn_energy[i] / spec_.conv_energy + spec_.mean_energy + spec_.atom_energy[e];
            total += ei;
            if (options.energies) res.energies[i] = ei;
        }
        res.energy = total;
    };

    // Forces and virial of one centre from dE/dG (raw SFs): E depends on d_m = r_j - r_i,
    // so dE/dr_j = g_m and dE/dr_i = -sum_m g_m; per-thread buffers, reduced in order.
    auto accumulate_gradient = [&](int64_t i, int e, const NeighborEnv& env, const double* dEdG,
                                   ThreadScratch& ts) {
        std::fill(ts.gx.begin(), ts.gx.begin() + env.count, 0.0);
        std::fill(ts.gy.begin(), ts.gy.begin() + env.count, 0.0);
        std::fill(ts.gz.begin(), ts.gz.begin() + env.count, 0.0);
        descriptors_[e].gradient(env, dEdG, ts.gx.data(), ts.gy.data(), ts.gz.data(),
                                 ts.descriptor, options.kernels);
        double fx = 0.0, fy = 0.0, fz = 0.0;
        for (int m = 0; m < env.count; ++m) {
            const double gx = ts.gx[m], gy = ts.gy[m], gz = ts.gz[m];
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
    };

    const bool need_gradient = (options.forces || options.stress) && !options.descriptors_only;
    if (need_gradient) {
        // One pass per atom: symmetry functions, network (energy and dE/dG), then forces
        // and virial, while the atom's data are in cache; the gradient replays the
        // per-pair data that the values pass recorded (DescriptorWorkspace::tape).
        // Phase timings are summed over threads and divided by the thread count.
        // Cache-line aligned: chunks of 16 consecutive atoms (the schedule below) then
        // write whole lines, and no two threads write into one line.
        simd::aligned_vector<double> nn_energy(n_total, 0.0);
#pragma omp parallel num_threads(nt)
        {
            ThreadScratch& ts = scratch[thread_id()];
            if (options.forces) ts.forces.assign(3 * n_total, 0.0);
            std::vector<double> g;
            double t_sf = 0.0, t_nn = 0.0, t_forces = 0.0;
#pragma omp for schedule(dynamic, 16)
            for (int64_t c = 0; c < n_centers; ++c) {
                const int64_t i = centers ? centers[c] : c;
                const int e = element[i];
                const auto t0 = Clock::now();
                const NeighborEnv env = environment(i, ts, element.data());
                const int nsf = descriptors_[e].size();
                if (static_cast<int>(g.size()) < nsf) g.resize(nsf);
                ts.descriptor.record = true;
                descriptors_[e].values(env, g.data(), ts.descriptor, options.kernels);
                ts.descriptor.record = false;
                count_extrapolations(e, g.data(), ts);
                const Scaling& sc = scalings_[e];
                sc.apply(g.data(), g.data());
                const auto t1 = Clock::now();
                nn_energy[i] = networks_[e].evaluate_atom(g.data(), g.data(), ts.network[e]);
                // dE/dG_raw = dNN/dx * scaling factor / conv_energy
                const double* to_raw = input_gradient_scale_[e].data();
                for (int s = 0; s < nsf; ++s) g[s] *= to_raw[s];
                const auto t2 = Clock::now();
                accumulate_gradient(i, e, env, g.data(), ts);
                const auto t3 = Clock::now();
                t_sf += std::chrono::duration<double>(t1 - t0).count();
                t_nn += std::chrono::duration<double>(t2 - t1).count();
                t_forces += std::chrono::duration<double>(t3 - t2).count();
            }
#pragma omp critical(bpfast_timings)
            {
                res.timings[1] += t_sf / nt;
                res.timings[2] += t_nn / nt;
                res.timings[3] += t_forces / nt;
            }
        }
        sum_energies(nn_energy);
        for (const auto& ts : scratch) {
            if (options.forces) {
                for (int64_t k = 0; k < 3 * n_total; ++k) res.forces[k] += ts.forces[k];
            }
            for (int k = 0; k < 9; ++k) res.virial[k] += ts.virial[k];
        }
        reduce_extrapolations(scratch, res);
        return res;
    }

    // Energies only (or descriptors only): symmetry functions, extrapolation statistics,
    // scaling (in place), then the networks in batches per element. The centres of each
    // element take a contiguous block of rows.
    std::vector<int64_t> row(n_total, -1);
    std::vector<std::vector<int64_t>> members(nel);
    for (int64_t c = 0; c < n_centers; ++c) {
        const int64_t i = centers ? centers[c] : c;
        row[i] = static_cast<int64_t>(members[element[i]].size());
        members[element[i]].push_back(i);
    }
    auto t0 = Clock::now();
    std::vector<RowMatrix> x(nel);
    for (int e = 0; e < nel; ++e) x[e].resize(members[e].size(), descriptors_[e].size());
#pragma omp parallel num_threads(nt)
    {
        ThreadScratch& ts = scratch[thread_id()];
#pragma omp for schedule(dynamic, 16)
        for (int64_t c = 0; c < n_centers; ++c) {
            const int64_t i = centers ? centers[c] : c;
            const int e = element[i];
            double* g = x[e].data() + row[i] * x[e].cols();
            const NeighborEnv env = environment(i, ts, element.data());
            descriptors_[e].values(env, g, ts.descriptor, options.kernels);
            count_extrapolations(e, g, ts);
            if (!options.descriptors_only) scalings_[e].apply(g, g);
        }
    }
    res.timings[1] = seconds_since(t0);
    if (options.descriptors_only) {
        res.descriptors = std::move(x);
        res.descriptor_atoms = std::move(members);
        reduce_extrapolations(scratch, res);
        return res;
    }

    t0 = Clock::now();
    constexpr int64_t kBatch = 256;
    std::vector<double> nn_energy(n_total, 0.0);
    struct Chunk {
        int element;
        int64_t begin, end;
    };
    std::vector<Chunk> chunks;
    for (int e = 0; e < nel; ++e) {
        const int64_t ne = static_cast<int64_t>(members[e].size());
        for (int64_t b = 0; b < ne; b += kBatch) chunks.push_back({e, b, std::min(ne, b + kBatch)});
    }
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
            networks_[e].evaluate(block, batch, energy.data(), nullptr, ts.network[e]);
            for (int b = 0; b < batch; ++b) nn_energy[members[e][ch.begin + b]] = energy[b];
        }
    }
    sum_energies(nn_energy);
    res.timings[2] = seconds_since(t0);
    reduce_extrapolations(scratch, res);
    return res;
}

}  // namespace bpfast
