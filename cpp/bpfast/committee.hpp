// A committee of potentials of the same elements, evaluated together. Members whose
// symmetry functions (definitions, cutoff function) and scaling agree form a group that
// shares the neighbour list, the symmetry functions and one force/virial sweep: the
// gradient kernels contract the recorded per-pair data with the dE/dG of all the group's
// members at once. Groups of one member run the single-potential code path. Every
// member's result equals that of Potential::compute up to rounding.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "bpfast/potential.hpp"

namespace bpfast {

/// Per-member results of one committee call, in the members' order. Each Result is as
/// Potential::compute's (the same fields, sizes and units); closest_pair, neighbor_pairs
/// and the neighbour timing are those of the shared neighbour list (the largest cutoff).
struct CommitteeResult {
    std::vector<Result> members;
    /// With member_gradients off: the forces (n_total x 3) and virial of the members'
    /// mean energy, from one force sweep per group (its other fields are unused); the
    /// members' results then hold no forces or virial.
    Result mean;
    ClosestPair closest_pair;
    int64_t neighbor_pairs = 0;
    PhaseTimings timings;  ///< of the whole call (phases summed over the groups)
};

class Committee {
  public:
    /// Throws InputError when `members` is empty or the members describe different
    /// elements. The potentials are shared, not copied.
    explicit Committee(std::vector<std::shared_ptr<const Potential>> members);

    size_t size() const { return members_.size(); }
    const Potential& member(size_t m) const { return *members_[m]; }
    /// The largest member cutoff (that of the shared neighbour list).
    double cutoff() const { return cutoff_; }
    /// Groups of members that share symmetry functions and scaling: member indices,
    /// ascending, groups in order of their first member.
    const std::vector<std::vector<int>>& groups() const { return groups_; }

    /// As Potential::compute, for every member. Thread-safe (const). With
    /// `member_gradients` false, forces and virial are those of the members' mean energy
    /// only (CommitteeResult::mean): one sweep with the members' mean dE/dG, the cost
    /// of one potential's forces plus the members' networks.
    CommitteeResult compute(const double* positions, const int32_t* numbers, int64_t n,
                            const Cell* cell, const std::array<bool, 3>& pbc,
                            const ComputeOptions& options, NeighborCache* cache = nullptr,
                            bool member_gradients = true) const;

    /// As Potential::compute(const HostNeighbors&, ...), for every member: the host's
    /// neighbour lists must hold every neighbour within cutoff() (the largest member
    /// cutoff); each member takes those within its own. Per member, Result::forces has
    /// n_total x 3 entries (ghosts included), Result::energies n_total entries and
    /// Result::virial the centres' total virial contribution.
    /// `member_gradients` as for the other entry point.
    CommitteeResult compute(const HostNeighbors& host, const ComputeOptions& options,
                            bool member_gradients = true) const;

  private:
    /// Every member's evaluation of the centres; `element` per atom (atom_elements).
    CommitteeResult evaluate(std::vector<int> element, int64_t n_centers,
                             const int32_t* centers, int threads, const ComputeOptions& options,
                             bool member_gradients, const Environments& environments,
                             CommitteeResult res) const;

    /// A neighbour list whose memory the next compute() reuses (as Potential's), and back.
    std::unique_ptr<NeighborList> take_list() const;
    void return_list(std::unique_ptr<NeighborList> list) const;

    std::vector<std::shared_ptr<const Potential>> members_;
    std::vector<std::vector<int>> groups_;
    double cutoff_ = 0.0;
    mutable std::mutex spare_mutex_;
    mutable std::unique_ptr<NeighborList> spare_list_;
};

/// True if two potentials compute the same network inputs: same elements, symmetry
/// functions (all parameters), cutoff function and scaling (mode, range, statistics).
bool same_inputs(const PotentialSpec& a, const PotentialSpec& b);

}  // namespace bpfast
