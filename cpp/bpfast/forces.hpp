// The last step of the pipeline with forces or stress: one pass over the centres that,
// per atom, computes the symmetry functions (recording per-pair data), the network's
// energy and dE/dG, and then replays the pairs to add dE/dd of every neighbour vector to
// the forces and the virial while the atom's data are in cache.
//
// E depends on the vectors d_m = r_j - r_i of centre i, so with g_m = dE/dd_m:
//   F_j -= g_m,  F_i += sum_m g_m,  virial_ab += sum_m (g_m)_a (d_m)_b.
//
// Reproducible: the centres are cut into fixed chunks of 16, dealt to the threads in a
// fixed round-robin order, and each thread adds into its own force and virial buffers,
// which are summed in thread order. Identical calls with the same thread count give
// bit-identical results; different thread counts agree to rounding.
#pragma once

#include <vector>

#include "bpfast/evaluation.hpp"

namespace bpfast {

/// Sets Result::energy (and Result::energies, sized n_total, if `per_atom`), adds the
/// forces into Result::forces (sized 3 n_total) if `forces` and the virial into
/// Result::virial if `stress`, adds to the extrapolation counts, and sets the
/// symmetry-function, network and force timings.
void evaluate_with_forces(const Evaluation& ev, bool forces, bool stress, bool per_atom,
                          ExtrapolationCounts& counts, Result& res);

/// evaluate_with_forces for the members of a committee whose models share ev.model's
/// symmetry functions and scaling: per centre the symmetry functions once, every member's
/// network, and one gradient sweep for all members (Descriptor::gradient_members).
/// Member m's energy, forces, virial and timings go to *res[m] as evaluate_with_forces
/// sets them; the extrapolation counts (the same for all members) are added to `counts`.
/// With `mean`, the sweep is for the gradient of mean_weight * (the sum of the members'
/// energies) only: its forces and virial are added to mean->forces and mean->virial, and
/// the members' results get their energies only.
void evaluate_members_with_forces(const Evaluation& ev, const std::vector<const Model*>& members,
                                  bool forces, bool stress, bool per_atom,
                                  ExtrapolationCounts& counts, const std::vector<Result*>& res,
                                  Result* mean = nullptr, double mean_weight = 0.0);

}  // namespace bpfast
