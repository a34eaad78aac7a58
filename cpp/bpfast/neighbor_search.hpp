// The steps of build_neighbor_list (neighbors.hpp), one concept per file:
//   neighbor_grid.cpp   the frame (cell completed along open directions), fractional and
//                       wrapped positions, the bins and how far to search
//   neighbor_bins.cpp   the atoms sorted into bins (counting sort)
//   neighbor_shifts.cpp the table of lattice translations the search can need
//   neighbor_scan.cpp   the candidate scan of each atom, in parallel, into the list's
//                       blocks
// Internal to the core.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "bpfast/neighbors.hpp"
#include "bpfast/simd.hpp"

namespace bpfast {
namespace neighbor_search {

/// Geometry of the binning: fractional frame, bins and search ranges.
struct Grid {
    Cell h{};      ///< frame rows (lattice vectors, or identity for open systems)
    Cell hinv{};   ///< inverse: s = r hinv
    double det = 0.0;                  ///< det h
    std::array<double, 3> height{};    ///< perpendicular heights |det| / |a_l x a_m|
    std::array<bool, 3> periodic{};
    std::array<int, 3> bins{};
    std::array<int, 3> reach{};           ///< bins to search on each side
    std::array<double, 3> lo{}, width{};  ///< fractional origin and bin width
};

/// Determinant of the cell matrix h (rows: lattice vectors), the signed volume.
double det3(const Cell& h);

/// The frame of a search at `cutoff` (bins not yet chosen). Throws InputError for a
/// periodic structure without a cell, a singular cell, or a cutoff that spans too many
/// periodic images.
Grid make_frame(const Cell* cell, const std::array<bool, 3>& pbc, double cutoff);

/// Positions in the frame: s = r h^-1 wrapped into [0, 1) along periodic directions by
/// integer m, and w = r - m h.
struct FramePositions {
    std::vector<double> frac, wrapped;  ///< n x 3 each
    std::array<double, 3> smin{}, smax{};  ///< range of s per direction
};

/// Fills `out` and list.wrap (the translations m h removed, per atom).
void frame_positions(const Grid& g, const double* pos, int64_t n, int threads, bool spread,
                     FramePositions& out, std::vector<std::array<double, 3>>& wrap);

/// Bins at least half the cutoff wide where possible, not many more than atoms, and the
/// bins within the cutoff on each side.
void choose_bins(Grid& g, int64_t n, double cutoff, const FramePositions& fp);

/// The atoms in bin order, with their wrapped positions as structure of arrays (the scan
/// reads memory in sequence).
struct BinnedAtoms {
    simd::aligned_vector<double> x, y, z;
    simd::aligned_vector<int32_t> atom;
    std::vector<int64_t> bin_of;     ///< per atom: its bin
    std::vector<int64_t> bin_start;  ///< per bin: its first entry (nbins + 1)
};

BinnedAtoms bin_atoms(const Grid& g, const FramePositions& fp, int64_t n, int threads,
                      bool spread);

/// Index of lattice translation (s0, s1, s2) in the list's shift_vectors.
struct ShiftTable {
    std::array<int, 3> tmax{}, tdim{};
    int index(int s0, int s1, int s2) const {
        return ((s0 + tmax[0]) * tdim[1] + (s1 + tmax[1])) * tdim[2] + (s2 + tmax[2]);
    }
};

/// Every translation S . h that the search can reach from any bin, into `vectors`.
ShiftTable make_shift_table(const Grid& g, std::vector<std::array<double, 3>>& vectors);

/// The candidate scan of every atom (8 candidates at a time if `wide`): fills
/// list.offsets (n + 1) and list.blocks, reusing the memory of `previous` blocks.
void scan_atoms(const Grid& g, const BinnedAtoms& binned, const FramePositions& fp,
                const ShiftTable& shifts, int64_t n, double cutoff, int threads, bool wide,
                std::vector<NeighborList::Block> previous, NeighborList& list);

}  // namespace neighbor_search
}  // namespace bpfast
