// Atom-centred symmetry functions (SFs) of n2p2 for one element: values and gradients of
// one central atom. The types and their notation are in sf_types.hpp, the grouping in
// sf_groups.hpp, and each kernel family with its formulas in sf_radial.cpp,
// sf_gaussian_angular_kernel.hpp and sf_compact_angular.cpp.
#pragma once

#include <vector>

#include "bpfast/compact_function.hpp"
#include "bpfast/cutoff.hpp"
#include "bpfast/kernel_options.hpp"
#include "bpfast/pair_tape.hpp"
#include "bpfast/sf_compact_angular.hpp"
#include "bpfast/sf_gaussian_angular.hpp"
#include "bpfast/sf_groups.hpp"
#include "bpfast/sf_radial.hpp"
#include "bpfast/sf_types.hpp"
#include "bpfast/simd.hpp"

namespace bpfast {

/// Scratch memory of one thread; keeps capacity between atoms and calls.
struct DescriptorWorkspace {
    /// Set by the caller before values(): record per-pair data for the next gradient()
    /// call, which must then be for the same atom and environment.
    bool record = false;
    simd::aligned_vector<double> fc, dfc;  // f_c, f_c' per (cutoff slot, neighbour)
    PairTape tape;
    RadialScratch radial;
    GaussianAngularScratch gaussian;
    CompactAngularScratch compact;
};

/// All symmetry functions of one element, compiled into groups that share work.
class Descriptor {
  public:
    Descriptor() = default;
    /// `sfs` must already be in n2p2's order.
    Descriptor(const std::vector<SymmetryFunctionSpec>& sfs, CutoffType cutoff_type,
               double cutoff_alpha);

    int size() const { return groups_.size; }
    double cutoff() const { return groups_.max_cutoff; }

    /// G[0..size) = symmetry function values of the atom with environment `env`; with
    /// ws.record set, also records per-pair data for the next gradient() call.
    void values(const NeighborEnv& env, double* G, DescriptorWorkspace& ws,
                const KernelOptions& kernels) const;
    /// g{x,y,z}[n] += sum_s dEdG[s] * dG_s / d d_n for every neighbour n. Replays what the
    /// previous values() call recorded (same atom and environment), if it recorded.
    void gradient(const NeighborEnv& env, const double* dEdG, double* gx, double* gy,
                  double* gz, DescriptorWorkspace& ws, const KernelOptions& kernels) const;

    /// gradient() for the `members` networks of a committee that share these SFs, in one
    /// sweep: member m's dE/dG at dEdG + m * dEdG_stride, its gradient added to
    /// g{x,y,z}[m * g_stride + n].
    void gradient_members(const NeighborEnv& env, int members, const double* dEdG,
                          size_t dEdG_stride, double* gx, double* gy, double* gz,
                          size_t g_stride, DescriptorWorkspace& ws,
                          const KernelOptions& kernels) const;

  private:
    // Entry points per kernel width (simd.hpp): the cutoff functions of all slots, then
    // every kernel family's entry point of the same width.
    void run_narrow(bool gradient, const sf::KernelIO& io, DescriptorWorkspace& ws,
                    const KernelOptions& kernels) const;
    void run_wide(bool gradient, const sf::KernelIO& io, DescriptorWorkspace& ws,
                  const KernelOptions& kernels) const;
    template <int W>
    void run(bool gradient, const sf::KernelIO& io, DescriptorWorkspace& ws,
             const KernelOptions& kernels) const;

    sf::Groups groups_;
};

}  // namespace bpfast
