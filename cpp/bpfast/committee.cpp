#include "bpfast/committee.hpp"

#include <algorithm>
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

namespace {

bool same_function(const SymmetryFunctionSpec& a, const SymmetryFunctionSpec& b) {
    return a.type == b.type && a.center == b.center && a.e1 == b.e1 && a.e2 == b.e2 &&
           a.eta == b.eta && a.rs == b.rs && a.lambda == b.lambda && a.zeta == b.zeta &&
           a.rc == b.rc && a.rl == b.rl && a.angle_left == b.angle_left &&
           a.angle_right == b.angle_right && a.subtype == b.subtype;
}

bool same_statistics(const SFStatistics& a, const SFStatistics& b) {
    return a.min == b.min && a.max == b.max && a.mean == b.mean && a.sigma == b.sigma;
}

template <typename T, typename Same>
bool all_same(const std::vector<std::vector<T>>& a, const std::vector<std::vector<T>>& b,
              Same same) {
    if (a.size() != b.size()) return false;
    for (size_t e = 0; e < a.size(); ++e) {
        if (!std::equal(a[e].begin(), a[e].end(), b[e].begin(), b[e].end(), same)) return false;
    }
    return true;
}

void check_finite(const double* positions, int64_t n) {
    for (int64_t k = 0; k < 3 * n; ++k) {
        if (!std::isfinite(positions[k])) {
            throw InputError("position of atom " + std::to_string(k / 3) + " is not finite");
        }
    }
}

/// Every member's network energy of every centre (nn[m * n_total + i]) from the scaled
/// SFs `inputs`, atom by atom: cheaper than the batched products for a few networks on
/// the same rows.
std::vector<double> member_network_energies(const Evaluation& ev,
                                            const std::vector<const Model*>& models,
                                            const DescriptorTable& inputs) {
    const size_t nm = models.size();
    const int nel = ev.model.element_count();
    const int64_t n_total = ev.centres.n_total;
    std::vector<double> nn(nm * n_total, 0.0);
    std::vector<std::vector<NetworkWorkspace>> workspaces(
        ev.threads, std::vector<NetworkWorkspace>(nm * nel));
#pragma omp parallel num_threads(ev.threads)
    {
        std::vector<NetworkWorkspace>& ws = workspaces[thread_id()];
        for (int e = 0; e < nel; ++e) {
            const RowMatrix& x = inputs.values[e];
            const std::vector<int64_t>& atoms = inputs.atoms[e];
#pragma omp for schedule(static, 16)
            for (int64_t r = 0; r < static_cast<int64_t>(atoms.size()); ++r) {
                for (size_t m = 0; m < nm; ++m) {
                    const Network& net = models[m]->elements[e].network;
                    nn[m * n_total + atoms[r]] =
                        net.evaluate_atom(x.data() + r * x.cols(), nullptr, ws[m * nel + e]);
                }
            }
        }
    }
    return nn;
}

/// Energies only: the group's scaled SFs once, then every member's networks (a group of
/// one: the batched networks of Potential::compute).
void group_energies(const Evaluation& ev, const std::vector<const Model*>& models,
                    bool per_atom, ExtrapolationCounts& counts, const std::vector<Result*>& res) {
    auto t0 = Clock::now();
    const DescriptorTable inputs = compute_descriptors(ev, true, counts);
    const double t_sf = seconds_since(t0);
    t0 = Clock::now();
    if (models.size() == 1) {
        evaluate_energies(ev, inputs, per_atom, *res[0]);
    } else {
        const std::vector<double> nn = member_network_energies(ev, models, inputs);
        for (size_t m = 0; m < models.size(); ++m) {
            const Evaluation member_ev{*models[m], ev.centres, ev.environments, ev.kernels,
                                       ev.threads};
            set_energies(member_ev, nn.data() + m * ev.centres.n_total, per_atom, *res[m]);
        }
    }
    const double t_nn = seconds_since(t0);
    for (Result* r : res) {
        r->timings.symmetry_functions = t_sf;
        r->timings.network = t_nn;  // the group's
    }
}

/// A group of one member when only the mean's gradient is wanted: the member's forces
/// and virial, times `weight`, added to mean's; the member keeps its energies.
void single_into_mean(const Evaluation& ev, const ComputeOptions& options, double weight,
                      ExtrapolationCounts& counts, Result& member, Result& mean) {
    if (options.forces) member.forces.assign(mean.forces.size(), 0.0);
    evaluate_with_forces(ev, options.forces, options.stress, options.energies, counts, member);
    for (size_t k = 0; k < member.forces.size(); ++k) mean.forces[k] += weight * member.forces[k];
    for (int k = 0; k < 9; ++k) mean.virial[k] += weight * member.virial[k];
    member.forces = {};
    member.virial = {};
}

}  // namespace

bool same_inputs(const PotentialSpec& a, const PotentialSpec& b) {
    return a.atomic_numbers == b.atomic_numbers && a.cutoff_type == b.cutoff_type &&
           a.cutoff_alpha == b.cutoff_alpha && a.scaling_mode == b.scaling_mode &&
           a.scale_min == b.scale_min && a.scale_max == b.scale_max &&
           all_same(a.symmetry_functions, b.symmetry_functions, same_function) &&
           all_same(a.statistics, b.statistics, same_statistics);
}

Committee::Committee(std::vector<std::shared_ptr<const Potential>> members)
    : members_(std::move(members)) {
    if (members_.empty()) throw InputError("a committee needs at least one member");
    for (size_t m = 0; m < members_.size(); ++m) {
        if (!members_[m]) throw InputError("committee member " + std::to_string(m) + " is null");
        if (members_[m]->spec().atomic_numbers != members_[0]->spec().atomic_numbers) {
            throw InputError("committee members describe different elements: " +
                             members_[0]->spec().directory + " and " +
                             members_[m]->spec().directory);
        }
        cutoff_ = std::max(cutoff_, members_[m]->cutoff());
        auto group = std::find_if(groups_.begin(), groups_.end(), [&](const std::vector<int>& g) {
            return same_inputs(members_[g[0]]->spec(), members_[m]->spec());
        });
        if (group == groups_.end()) {
            groups_.push_back({static_cast<int>(m)});
        } else {
            group->push_back(static_cast<int>(m));
        }
    }
}

std::unique_ptr<NeighborList> Committee::take_list() const {
    std::lock_guard<std::mutex> guard(spare_mutex_);
    if (spare_list_) return std::move(spare_list_);
    return std::make_unique<NeighborList>();
}

void Committee::return_list(std::unique_ptr<NeighborList> list) const {
    if (!list) return;
    size_t capacity = 0;  // kept only if not far larger than what it held
    for (const auto& b : list->blocks) capacity += b.index.capacity();
    if (capacity > 2 * list->pairs() + (size_t{1} << 20)) return;
    std::lock_guard<std::mutex> guard(spare_mutex_);
    if (!spare_list_) spare_list_ = std::move(list);
}

CommitteeResult Committee::compute(const double* positions, const int32_t* numbers, int64_t n,
                                   const Cell* cell, const std::array<bool, 3>& pbc,
                                   const ComputeOptions& options, NeighborCache* cache,
                                   bool member_gradients) const {
    if (options.stress && cell == nullptr) throw InputError("stress needs a cell");
    if (options.descriptors_only) throw InputError("a committee computes no descriptors");
    check_finite(positions, n);
    check_kernel_options(options.kernels);
    CommitteeResult res;
    const int nt = resolve_threads(options.threads, n, 32);
    // Own list (unless the cache's is used): on loan from the spare, returned at the end.
    struct Lease {
        const Committee* owner;
        std::unique_ptr<NeighborList> list;
        ~Lease() { owner->return_list(std::move(list)); }
    } own{this, cache != nullptr && n > 0 ? nullptr : take_list()};
    const NeighborList* list = own.list.get();
    std::unique_lock<std::mutex> lock;
    std::vector<double> wrapped;
    if (n > 0) {
        const auto t0 = Clock::now();
        check_neighbor_density(n, cell, pbc, cutoff_);
        if (cache != nullptr) {
            lock = std::unique_lock<std::mutex>(cache->mutex());
            list = &cache->update(positions, n, cell, pbc, cutoff_, nt, options.kernels);
        } else {
            build_neighbor_list(positions, n, cell, pbc, cutoff_, nt, *own.list, options.kernels);
        }
        check_neighbor_counts(*list, n);
        wrapped_positions(*list, positions, n, wrapped);
        res.neighbor_pairs = static_cast<int64_t>(list->pairs());
        res.closest_pair = closest_pair(*list, wrapped.data(), n, nt);
        res.timings.neighbors = seconds_since(t0);
    }
    const ListEnvironments environments(*list, wrapped, numbers);
    return evaluate(atom_elements(*members_[0], numbers, n, nullptr, "the committee"), n,
                    nullptr, nt, options, member_gradients, environments, std::move(res));
}

CommitteeResult Committee::compute(const HostNeighbors& host, const ComputeOptions& options,
                                   bool member_gradients) const {
    if (host.n_total < 0 || host.n_centers < 0 || host.n_centers > host.n_total) {
        throw InputError("host neighbour list: inconsistent atom counts");
    }
    if (options.descriptors_only) throw InputError("a committee computes no descriptors");
    check_finite(host.positions, host.n_total);
    check_kernel_options(options.kernels);
    CommitteeResult res;
    const int nt = resolve_threads(options.threads, host.n_centers, 32);
    for (int64_t c = 0; c < host.n_centers; ++c) res.neighbor_pairs += host.counts[host.centers[c]];
    const HostEnvironments environments(host.positions, host.numbers, host.counts, host.neighbors,
                                        host.index_mask);
    return evaluate(atom_elements(*members_[0], host.numbers, host.n_total, &host,
                                  "the committee"),
                    host.n_centers, host.centers, nt, options, member_gradients, environments,
                    std::move(res));
}

CommitteeResult Committee::evaluate(std::vector<int> element, int64_t n_centers,
                                    const int32_t* centers, int nt, const ComputeOptions& options,
                                    bool member_gradients, const Environments& environments,
                                    CommitteeResult res) const {
    const auto n_total = static_cast<int64_t>(element.size());
    const bool gradient = options.forces || options.stress;
    const bool mean_only = gradient && !member_gradients;
    const double weight = 1.0 / static_cast<double>(members_.size());
    if (mean_only) {
        if (options.forces) res.mean.forces.assign(3 * n_total, 0.0);
        res.mean.has_virial = options.stress;
    }
    res.members.resize(members_.size());
    for (Result& r : res.members) {
        if (options.forces && !mean_only) r.forces.assign(3 * n_total, 0.0);
        if (options.energies) r.energies.assign(n_total, 0.0);
        r.has_virial = options.stress;
        r.closest_pair = res.closest_pair;
        r.neighbor_pairs = res.neighbor_pairs;
        r.timings.neighbors = res.timings.neighbors;
    }
    const Centres atoms{n_total, element.data(), n_centers, centers};
    for (const std::vector<int>& group : groups_) {
        std::vector<const Model*> models;
        std::vector<Result*> out;
        for (int m : group) {
            models.push_back(&members_[m]->model());
            out.push_back(&res.members[m]);
        }
        ExtrapolationCounts counts(*models[0]);
        const Evaluation ev{*models[0], atoms, environments, options.kernels, nt};
        if (n_centers == 0) {
            // nothing to evaluate
        } else if (gradient && models.size() == 1 && mean_only) {
            single_into_mean(ev, options, weight, counts, *out[0], res.mean);
        } else if (gradient && models.size() == 1) {
            evaluate_with_forces(ev, options.forces, options.stress, options.energies, counts,
                                 *out[0]);
        } else if (gradient) {
            evaluate_members_with_forces(ev, models, options.forces, options.stress,
                                         options.energies, counts, out,
                                         mean_only ? &res.mean : nullptr, weight);
        } else {
            group_energies(ev, models, options.energies, counts, out);
        }
        for (Result* r : out) {
            r->extrapolations = counts.per_function;
            r->extrapolating_atoms = counts.atoms;
            r->excursions = counts.excursions;
        }
        // The members' timings are the group's.
        const PhaseTimings& t = out[0]->timings;
        res.timings.symmetry_functions += t.symmetry_functions;
        res.timings.forces += t.forces;
        res.timings.network += t.network;
    }
    return res;
}

}  // namespace bpfast
