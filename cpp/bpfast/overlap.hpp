// The closest pair of atoms of a structure, found in its neighbour list: front ends
// report overlapping atoms (a typo in a coordinate, atoms placed twice), which the
// potential would otherwise evaluate silently with huge or undefined forces.
#pragma once

#include <array>
#include <cstdint>
#include <limits>

#include "bpfast/neighbors.hpp"

namespace bpfast {

/// Atoms i <= j at distance |r_j + shift - r_i|, shift a lattice translation (Cartesian;
/// zero unless j's closest image is a periodic one; i == j: an atom and its own image).
struct ClosestPair {
    int64_t i = -1, j = -1;  ///< -1: the list holds no pair
    double distance = std::numeric_limits<double>::infinity();
    std::array<double, 3> shift{};
};

/// The closest pair among the pairs of `list` (built for the n atoms whose wrapped
/// positions, see wrapped_positions, are `wrapped`). One pass over the stored pairs;
/// ties go to the smallest (i, j).
ClosestPair closest_pair(const NeighborList& list, const double* wrapped, int64_t n,
                         int threads);

}  // namespace bpfast
