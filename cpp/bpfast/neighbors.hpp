// Full neighbour lists with O(N) cell lists, for periodic, mixed and open boundaries.
//
// Every atom j (including periodic images of the central atom itself) with
// |r_j + S - r_i| < cutoff, S a lattice translation along periodic directions, is
// listed for atom i with the vector d = r_j + S - r_i. Works for any non-singular
// (triclinic, left- or right-handed) cell and for cells thinner than the cutoff.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace bpfast {

/// Cell matrix, rows are the lattice vectors a, b, c.
using Cell = std::array<std::array<double, 3>, 3>;

/// Neighbour list in compressed-row form: the neighbours of atom i are the entries
/// offsets[i] .. offsets[i+1]-1 of `index` and of the displacement arrays.
struct NeighborList {
    std::vector<int64_t> offsets;  ///< size n_atoms + 1
    std::vector<int32_t> index;    ///< neighbour atom index j
    std::vector<double> dx, dy, dz;  ///< d = r_j + S - r_i

    size_t pairs() const { return index.size(); }
};

/// Builds the full neighbour list of `n` atoms (positions row-major n x 3).
/// `cell` may be null when no direction is periodic. Throws InputError for a
/// singular cell along periodic directions or a non-positive cutoff.
void build_neighbor_list(const double* positions, int64_t n, const Cell* cell,
                         const std::array<bool, 3>& pbc, double cutoff, int threads,
                         NeighborList& out);

}  // namespace bpfast
