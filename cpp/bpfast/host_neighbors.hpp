// Checks of neighbour lists supplied by a host code (HostNeighbors), and their
// construction from compressed-row arrays. Front ends (the Python binding, the LAMMPS
// pair style) call these before Potential::compute(const HostNeighbors&, ...), which
// trusts its input.
#pragma once

#include <cstdint>
#include <vector>

#include "bpfast/potential.hpp"

namespace bpfast {

/// Throws InputError naming the first inconsistency of `host`: atom counts, a centre
/// out of range or listed twice, a negative neighbour count, a neighbour index (after
/// index_mask) out of range or equal to its centre. O(centres + pairs).
void check_host_neighbors(const HostNeighbors& host);

/// Host neighbours in compressed-row form: the neighbours of centers[c] are
/// neighbors[offsets[c] .. offsets[c+1]-1] (offsets has n_centers + 1 entries,
/// non-decreasing, within 0 .. n_neighbors). The constructor checks the offsets and
/// then the whole list (check_host_neighbors); errors name the arrays as `centers`,
/// `offsets` and `neighbors`. Holds the per-atom counts and row pointers that host()
/// refers to; the caller's arrays must outlive it.
class CompressedHostNeighbors {
  public:
    CompressedHostNeighbors(int64_t n_total, const double* positions, const int32_t* numbers,
                            int64_t n_centers, const int32_t* centers, const int64_t* offsets,
                            int64_t n_neighbors, const int32_t* neighbors);
    const HostNeighbors& host() const { return host_; }

  private:
    std::vector<int32_t> counts_;       // per atom: neighbour count (0 for non-centres)
    std::vector<const int32_t*> rows_;  // per atom: first neighbour (null for non-centres)
    HostNeighbors host_;
};

}  // namespace bpfast
