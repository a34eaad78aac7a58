// Directional derivatives (Jacobian-vector products) of the raw symmetry functions:
// for displacement directions v (one 3-vector per atom), u_ak = sum_i v_i . dG_ak/dr_i
// for every centre a and SF k. A neighbour entry n of centre a (atom j, possibly a
// periodic image: images move with their atom) contributes dG_ak/dd_n . (v_j - v_a).
//
// Exact: each SF's gradient with respect to the neighbour vectors comes from the same
// kernels as the forces, run for that SF alone (a one-SF Descriptor, values then
// gradient with dE/dG = 1), and is contracted with all directions at once; nothing is
// stored per (SF, neighbour) beyond one SF's gradient of the current atom.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "bpfast/network.hpp"
#include "bpfast/potential.hpp"

namespace bpfast {

struct TangentTable {
    /// values[e]: raw SFs, one row per atom of element e (rows in atom order).
    std::vector<RowMatrix> values;
    /// tangents[e]: m blocks of rows (direction-major), block d row r = u of atom
    /// atoms[e][r] along direction d; shape (m * n_e, n_sf).
    std::vector<RowMatrix> tangents;
    /// atoms[e][r]: the atom of row r.
    std::vector<std::vector<int64_t>> atoms;
};

/// SF values and their derivatives along `m` directions `directions` (m x n x 3,
/// row-major) of the `n` atoms at `positions` (n x 3). `cell` may be null for open
/// boundaries. Throws InputError for non-finite positions or directions,
/// UnknownElementError for an atom the potential does not describe.
TangentTable symmetry_function_tangents(const Potential& potential, const double* positions,
                                        const int32_t* numbers, int64_t n, const Cell* cell,
                                        const std::array<bool, 3>& pbc,
                                        const double* directions, int64_t m, int threads,
                                        const KernelOptions& kernels);

}  // namespace bpfast
