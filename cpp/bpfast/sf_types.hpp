// The symmetry-function (SF) types of n2p2 that bpfast implements, and the parameters of
// one SF as read from input.nn.
//
// Notation (used by the kernels' formulas): i is the central atom, j and k are
// neighbours (every periodic image is its own neighbour), d_j = r_j - r_i, r_ij = |d_j|,
// r_jk = |d_k - d_j|, cos(theta) = d_j . d_k / (r_ij r_ik), f_c = cutoff function
// (cutoff.hpp) of the SF's own r_c, Z_j = atomic number of j. Sums over j < k run over
// unordered pairs of distinct neighbours; the element condition of angular SFs is
// symmetric in (e1, e2). All distance conditions are strict.
//
//   type  kind                                   kernel (formula beside it)
//   2     Gaussian radial, element filter        sf_radial.cpp
//   12    Gaussian radial, weight Z_j            sf_radial.cpp
//   20    compact radial, element filter         sf_radial.cpp
//   23    compact radial, weight Z_j             sf_radial.cpp
//   3     Gaussian angular with r_jk ("narrow")  sf_gaussian_angular_kernel.hpp
//   9     Gaussian angular without r_jk ("wide") sf_gaussian_angular_kernel.hpp
//   13    as 3 with weight Z_j Z_k               sf_gaussian_angular_kernel.hpp
//   21    compact angular with r_jk              sf_compact_angular.cpp
//   22    compact angular without r_jk           sf_compact_angular.cpp
//   24    as 21 with weight Z_j Z_k              sf_compact_angular.cpp
//   25    as 22 with weight Z_j Z_k              sf_compact_angular.cpp
#pragma once

#include <string>

namespace bpfast {

/// One symmetry function as defined by a `symfunction_short` line.
struct SymmetryFunctionSpec {
    int type = 0;    ///< n2p2 type number (2, 3, 9, 12, 13, 20 ... 25)
    int center = 0;  ///< element index of the central atom
    int e1 = -1;     ///< element index of neighbour 1 (-1 for weighted types)
    int e2 = -1;     ///< element index of neighbour 2 (angular, e1 <= e2; -1 if unused)
    double eta = 0.0, rs = 0.0, lambda = 0.0, zeta = 0.0;  ///< Gaussian parameters
    double rc = 0.0;                                       ///< outer cutoff radius (length)
    double rl = 0.0;                                       ///< compact: lower radial bound
    double angle_left = 0.0, angle_right = 0.0;            ///< compact: window in radians
    std::string subtype;                                   ///< compact: "p1".."p4", "p2a", "e"
    int line = 0;                                          ///< 1-based line in input.nn
};

/// True if `type` is one of the SF types bpfast implements.
bool is_known_sf_type(int type);
/// True for the angular types (3, 9, 13, 21, 22, 24, 25).
bool is_angular_sf_type(int type);
/// True for the types weighted by atomic numbers instead of filtered by element
/// (12, 13, 23, 24, 25).
bool is_weighted_sf_type(int type);
/// True for the compact ("polynomial") types (20 ... 25).
bool is_compact_sf_type(int type);
/// True for the angular types with a factor of r_jk (3, 13, 21, 24).
bool uses_rjk_sf_type(int type);

/// n2p2's order of the SFs of one element (type, then a type-specific key).
bool sf_less(const SymmetryFunctionSpec& a, const SymmetryFunctionSpec& b);

}  // namespace bpfast
