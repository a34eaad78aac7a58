#include "bpfast/potential.hpp"

#include <cmath>

#include "bpfast/atom_elements.hpp"
#include "bpfast/descriptors.hpp"
#include "bpfast/energies.hpp"
#include "bpfast/errors.hpp"
#include "bpfast/evaluation.hpp"
#include "bpfast/forces.hpp"
#include "bpfast/stopwatch.hpp"
#include "bpfast/threading.hpp"

namespace bpfast {

Potential::Potential(PotentialSpec spec) : spec_(std::move(spec)), model_(spec_) {}

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
    const NeighborList* list = own.list.get();
    std::vector<double> wrapped;
    if (n > 0) {
        const auto t0 = Clock::now();
        check_neighbor_density(n, cell, pbc, model_.cutoff);
        if (cache != nullptr) {
            lock = std::unique_lock<std::mutex>(cache->mutex());
            list = &cache->update(positions, n, cell, pbc, model_.cutoff, nt, options.kernels);
        } else {
            build_neighbor_list(positions, n, cell, pbc, model_.cutoff, nt, *own.list,
                                options.kernels);
        }
        check_neighbor_counts(*list, n);
        wrapped_positions(*list, positions, n, wrapped);
        res.neighbor_pairs = static_cast<int64_t>(list->pairs());
        res.closest_pair = closest_pair(*list, wrapped.data(), n, nt);
        res.timings.neighbors = seconds_since(t0);
    }
    const ListEnvironments environments(*list, wrapped, numbers);
    return evaluate(atom_elements(*this, numbers, n, nullptr), n, nullptr, nt, options,
                    environments, std::move(res));
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
    const HostEnvironments environments(host.positions, host.numbers, host.counts,
                                        host.neighbors, host.index_mask);
    return evaluate(atom_elements(*this, host.numbers, host.n_total, &host), host.n_centers,
                    host.centers, nt, options, environments, std::move(res));
}

Result Potential::evaluate(std::vector<int> element, int64_t n_centers,
                           const int32_t* centers, int nt, const ComputeOptions& options,
                           const Environments& environments, Result res) const {
    const auto n_total = static_cast<int64_t>(element.size());
    ExtrapolationCounts counts(model_);
    if (options.forces) res.forces.assign(3 * n_total, 0.0);
    if (options.energies) res.energies.assign(n_total, 0.0);
    res.has_virial = options.stress;

    const Evaluation ev{model_, Centres{n_total, element.data(), n_centers, centers},
                        environments, options.kernels, nt};
    if (n_centers == 0) {
        // nothing to evaluate
    } else if (options.descriptors_only) {
        const auto t0 = Clock::now();
        DescriptorTable table = compute_descriptors(ev, false, counts);
        res.timings.symmetry_functions = seconds_since(t0);
        res.descriptors = std::move(table.values);
        res.descriptor_atoms = std::move(table.atoms);
    } else if (options.forces || options.stress) {
        evaluate_with_forces(ev, options.forces, options.stress, options.energies, counts, res);
    } else {
        auto t0 = Clock::now();
        const DescriptorTable inputs = compute_descriptors(ev, true, counts);
        res.timings.symmetry_functions = seconds_since(t0);
        t0 = Clock::now();
        evaluate_energies(ev, inputs, options.energies, res);
        res.timings.network = seconds_since(t0);
    }
    res.extrapolations = std::move(counts.per_function);
    res.extrapolating_atoms = std::move(counts.atoms);
    res.excursions = std::move(counts.excursions);
    return res;
}

}  // namespace bpfast
