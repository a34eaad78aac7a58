// Compact angular symmetry functions (types 21, 22, 24, 25) of one central atom; the
// formulas are in sf_compact_angular.cpp.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

#include "bpfast/kernel_options.hpp"
#include "bpfast/pair_tape.hpp"
#include "bpfast/sf_group_neighbors.hpp"
#include "bpfast/sf_groups.hpp"
#include "bpfast/simd.hpp"

namespace bpfast {

/// Scratch memory of the compact angular kernel (one thread; keeps capacity).
struct CompactAngularScratch {
    sf::GroupNeighbors nb;
    std::vector<std::pair<double, int>> by_distance;  // (r, index) of the listed neighbours
    // Per radial window w, a row of w_n C_w(r_n) and one of w_n C_w'(r_n) per listed
    // neighbour n (w_n = Z_n or 1).
    simd::aligned_vector<double> window, dwindow;
    std::vector<int> active;  // the windows that contain the current j (first entries)
    // Per radial window, the list indices [lo, hi) of the neighbours inside it among the
    // k candidates' part of the list (sorted by distance).
    std::vector<int> window_lo, window_hi;
    // Gradient pass, per committee member: dE/dG of the group's SFs (in the group's
    // order) and, per window, whether any of its SFs has a nonzero dE/dG.
    std::vector<double> sf_dEdG;
    // Values pass: the group's G (in the group's order) while the triplets add to them.
    std::vector<double> sf_G;
    std::vector<char> window_live;
    // Partners k of the current j: offsets from the first candidate (packed), and per
    // packed partner cos theta, r_jk, theta, and (only when some candidate is left out:
    // otherwise the neighbour rows serve) d_k, 1/r_ik, r_ik.
    std::vector<int> partners;
    simd::aligned_vector<double> cos_t, r_jk, theta, px, py, pz, p_inv_r, p_r;
    // Per angle function a, a row of A_a(theta) and one of A_a'(theta) per packed partner.
    simd::aligned_vector<double> angle, dangle;
    // One window's radial factor per packed partner: R = w_k C(r_ik) [C(r_jk)] and its
    // derivatives dR/dr_ik, dR/dr_jk; C(r_jk) and C'(r_jk) themselves.
    simd::aligned_vector<double> radial, dradial_ik, dradial_jk, c_jk, dc_jk;
    // Gradient, per packed partner: dE/dtheta, dE/dcos theta, dE/dr_ij, dE/dr_ik,
    // dE/dr_jk, and dE/dd_k.
    // A committee's gradient pass: dE/dtheta, dE/dr_ij, dE/dr_ik, dE/dr_jk in one row
    // per member (rows of the partner stride), so these four are sized members x stride.
    simd::aligned_vector<double> dE_dtheta, dE_dcos, dE_drij, dE_drik, dE_drjk, pgx, pgy, pgz;
    // A committee's gradient pass: dE/dd per member and listed neighbour (rows of the
    // partner stride).
    simd::aligned_vector<double> member_gx, member_gy, member_gz;
};

/// Adds the SFs of compact angular group `g` (index `group` among the angular groups) to
/// io.G (values pass), or their gradient to io.g{x,y,z} (gradient pass); records or
/// replays per-pair data on `tape`. Entry points per kernel width (simd.hpp).
void compact_angular_narrow(bool gradient, const sf::AngularGroup& g, size_t group,
                            const sf::KernelIO& io, CompactAngularScratch& scratch,
                            PairTape& tape, const KernelOptions& kernels);
void compact_angular_wide(bool gradient, const sf::AngularGroup& g, size_t group,
                          const sf::KernelIO& io, CompactAngularScratch& scratch, PairTape& tape,
                          const KernelOptions& kernels);

}  // namespace bpfast
