// Gaussian angular symmetry functions (types 3, 9, 13) of one central atom; the formulas
// are in sf_gaussian_angular_kernel.hpp, the gradient's in sf_gaussian_angular_gradient.hpp.
#pragma once

#include <cstddef>
#include <vector>

#include "bpfast/cutoff.hpp"
#include "bpfast/kernel_options.hpp"
#include "bpfast/pair_tape.hpp"
#include "bpfast/sf_group_neighbors.hpp"
#include "bpfast/sf_groups.hpp"
#include "bpfast/simd.hpp"

namespace bpfast {

/// Scratch memory of the Gaussian angular kernel (one thread; keeps capacity).
struct GaussianAngularScratch {
    sf::GroupNeighbors nb;
    // Per listed neighbour (and W entries of padding): w f_c(r), w f_c'(r).
    simd::aligned_vector<double> wfc, wdfc;
    // Groups with r_jk: per listed neighbour (and W entries of padding) a row x, y, z,
    // 1/r, r, w f_c(r), w f_c'(r), 0 (a lane's data in two loads).
    simd::aligned_vector<double> partner_rows;
    // The same groups, one member: dE/dd per listed neighbour as rows x, y, z, 0.
    simd::aligned_vector<double> gradient_rows;
    // Groups without r_jk: per key, a row of exp(-eta (r - r_s)^2) per listed neighbour.
    simd::aligned_vector<double> gauss;
    // Gradient, per SF of the group: U_s = dE/dG_s 2^(1-zeta) and U_s zeta lambda
    // (a committee's members one after another).
    simd::aligned_vector<double> sf_weight, sf_weight_dcos;
    // A committee's gradient: dE/dd per member and listed neighbour (rows of nl + W), and
    // per member the W-lane sums of the current j's dE/dd_j.
    simd::aligned_vector<double> member_gx, member_gy, member_gz, member_j;
    // A committee's gradient, per member and SF: U_s eta_k and U_s eta_k r_s,k (k: the
    // SF's key); per block of pairs and SF, E_k P^zeta and E_k P^(zeta-1) (W lanes each).
    simd::aligned_vector<double> sf_weight_eta, sf_weight_rs, sf_terms;
    // Groups with r_jk: list indices of the partners inside r_c of the j whose blocks are
    // queued (values pass) or of one j (gradient pass).
    std::vector<int> partners;
    // Groups with r_jk: the blocks of pairs whose data are still to be computed, in order.
    struct QueuedBlock {
        int j;      // list index of j
        int first;  // where the block's W partner indices begin (tape or `partners`)
        int lanes;  // partners in the block (the rest is padding)
    };
    std::vector<QueuedBlock> queued;
    // Per queued block: cos theta and r_ik (W lanes each), while it is computed.
    simd::aligned_vector<double> block_geometry;
    // Per-pair blocks (see the kernel) that are not on the pair tape.
    simd::aligned_vector<double> blocks;
};

/// Adds the SFs of Gaussian angular group `g` (index `group` among the angular groups,
/// cutoff function `cutoff`) to io.G (values pass), or their gradient to io.g{x,y,z}
/// (gradient pass); records or replays per-pair data on `tape`. Entry points per kernel
/// width (simd.hpp): 4 lanes, cloned per instruction set; 8 lanes for x86-64-v4 CPUs.
void gaussian_angular_narrow(bool gradient, const sf::AngularGroup& g, size_t group,
                             const CutoffFunction& cutoff, const sf::KernelIO& io,
                             GaussianAngularScratch& scratch, PairTape& tape,
                             const KernelOptions& kernels);
void gaussian_angular_wide(bool gradient, const sf::AngularGroup& g, size_t group,
                           const CutoffFunction& cutoff, const sf::KernelIO& io,
                           GaussianAngularScratch& scratch, PairTape& tape,
                           const KernelOptions& kernels);

}  // namespace bpfast
