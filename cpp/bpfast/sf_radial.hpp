// Radial symmetry functions (types 2, 12, 20, 23) of one central atom; the formulas are
// in sf_radial.cpp.
#pragma once

#include <vector>

#include "bpfast/sf_groups.hpp"
#include "bpfast/simd.hpp"

namespace bpfast {

/// Scratch memory of the radial kernels (one thread; keeps capacity between atoms).
struct RadialScratch {
    std::vector<int> list;  // environment index of each neighbour of a Gaussian group
    // Per listed neighbour of a Gaussian group: r, w f_c(r), w f_c'(r) (w = Z or 1).
    simd::aligned_vector<double> r, wfc, wdfc;
    // Per key of a Gaussian group, a row of exp(-eta (r - r_s)^2) per listed neighbour.
    simd::aligned_vector<double> gauss;
    // Gradient: sum of dE/dG over the SFs of each key, and dE/dr per listed neighbour.
    simd::aligned_vector<double> key_dEdG, dE_dr_listed;
    // Compact SFs: C(r), C'(r) per environment neighbour.
    simd::aligned_vector<double> compact, dcompact;
    // Gradient: dE/dr per environment neighbour, summed over all radial SFs.
    simd::aligned_vector<double> dE_dr;
};

/// Adds the radial SFs of `groups` to io.G (values pass), or their gradient to io.g{x,y,z}
/// (gradient pass). Entry points per kernel width (simd.hpp): the narrow one is cloned per
/// instruction set, the wide one is for x86-64-v4 CPUs only.
void radial_sfs_narrow(bool gradient, const sf::Groups& groups, const sf::KernelIO& io,
                       RadialScratch& scratch);
void radial_sfs_wide(bool gradient, const sf::Groups& groups, const sf::KernelIO& io,
                     RadialScratch& scratch);

}  // namespace bpfast
