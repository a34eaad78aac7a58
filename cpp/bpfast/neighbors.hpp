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
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "bpfast/kernel_options.hpp"

namespace bpfast {

/// Cell matrix, rows are the lattice vectors a, b, c.
using Cell = std::array<std::array<double, 3>, 3>;

/// Allocator that leaves new elements of trivial types uninitialised (resize() of a
/// large neighbour list would otherwise zero it in one thread before it is filled).
template <class T>
struct DefaultInitAllocator : std::allocator<T> {
    template <class U>
    struct rebind {
        using other = DefaultInitAllocator<U>;
    };
    DefaultInitAllocator() = default;
    template <class U>
    DefaultInitAllocator(const DefaultInitAllocator<U>&) noexcept {}
    template <class U>
    void construct(U* p) noexcept {
        ::new (static_cast<void*>(p)) U;
    }
    template <class U, class... Args>
    void construct(U* p, Args&&... args) {
        ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
    }
};

/// Neighbour list in compressed-row form. Atom i has offsets[i+1] - offsets[i]
/// neighbours, whose atom indices and shift indices are row(i).index[k] and row(i).shift[k].
/// They are stored in blocks of consecutive atoms as the threads built them (no copy into
/// one array). Displacements are not stored: with the wrapped positions w = r - wrap .
/// cell (see wrapped_positions) the vector to neighbour j of atom i is w[j] +
/// shift_vectors[shift] - w[i], so a list stays valid while atoms move (Verlet lists) as
/// long as the cell is unchanged.
struct NeighborList {
    using Indices = std::vector<int32_t, DefaultInitAllocator<int32_t>>;
    struct Block {
        int64_t first_atom = 0;  ///< the block's atoms: first_atom up to the next block's
        Indices index;           ///< neighbour atom j, per pair
        Indices shift;           ///< index into shift_vectors, per pair
    };
    std::vector<int64_t> offsets;  ///< size n_atoms + 1
    std::vector<Block> blocks;     ///< in atom order
    std::vector<std::array<double, 3>> shift_vectors;  ///< lattice translations S . cell
    std::vector<std::array<double, 3>> wrap;  ///< per atom: translation removed by wrapping
    double cutoff = 0.0;                      ///< list cutoff

    size_t pairs() const { return offsets.empty() ? 0 : static_cast<size_t>(offsets.back()); }
    /// The neighbours of atom i: offsets[i+1] - offsets[i] entries from each pointer.
    struct Row {
        const int32_t* index;
        const int32_t* shift;
    };
    Row row(int64_t i) const {
        size_t b = 0;  // last block starting at or before i (a few blocks: one per thread)
        while (b + 1 < blocks.size() && blocks[b + 1].first_atom <= i) ++b;
        const size_t at = static_cast<size_t>(offsets[i] - offsets[blocks[b].first_atom]);
        return {blocks[b].index.data() + at, blocks[b].shift.data() + at};
    }
};

/// w[i] = r[i] - wrap[i] for positions (n x 3, row-major) into out (n x 3).
void wrapped_positions(const NeighborList& list, const double* positions, int64_t n,
                       std::vector<double>& out);

/// The list as explicit pairs: first[p] = i, second[p] = j and vectors[3p..3p+2] = the
/// vector from i to neighbour p, for every pair p (arrays of list.pairs() entries).
void expand_pairs(const NeighborList& list, const double* positions, int64_t n, int threads,
                  int64_t* first, int64_t* second, double* vectors);

/// Builds the full neighbour list of `n` atoms (positions row-major n x 3).
/// `cell` may be null when no direction is periodic. Throws InputError for a
/// singular cell along periodic directions or a non-positive cutoff. `kernels` chooses
/// the width of the candidate scan (the same pairs either way).
void build_neighbor_list(const double* positions, int64_t n, const Cell* cell,
                         const std::array<bool, 3>& pbc, double cutoff, int threads,
                         NeighborList& out, const KernelOptions& kernels);

/// Most neighbours an atom may have for a potential to evaluate it: the angular functions
/// work grows with the square of the count (about a second per atom at this limit), and
/// no structure of realistic density comes near it at the cutoffs of HDNNPs.
constexpr int64_t kMaxNeighborsPerAtom = 10000;

/// Throws InputError naming the first of the n atoms with more than kMaxNeighborsPerAtom
/// neighbours in `list` (a cell far smaller than the cutoff, or atoms piled up).
void check_neighbor_counts(const NeighborList& list, int64_t n);

/// Before the list is built: throws InputError when n atoms in a cell periodic in all
/// three directions average more than kMaxNeighborsPerAtom neighbours within `cutoff`
/// (their list would exhaust the memory before check_neighbor_counts could see it).
void check_neighbor_density(int64_t n, const Cell* cell, const std::array<bool, 3>& pbc,
                            double cutoff);

/// A neighbour list kept between calls: a Verlet list built at cutoff + skin and
/// reused while the cell and boundary conditions are unchanged and no atom has moved
/// more than skin / 2 since the list was built. A skin of 0 rebuilds every call.
class NeighborCache {
  public:
    explicit NeighborCache(double skin);

    double skin() const { return skin_; }
    /// Number of list builds so far.
    int64_t rebuilds() const { return rebuilds_; }
    /// Forgets the kept list; the next call builds a new one.
    void reset();

    /// A list holding every pair within `cutoff` at these positions: the kept list if
    /// still valid, else a new one. Callers hold mutex() while they use the list.
    const NeighborList& update(const double* positions, int64_t n, const Cell* cell,
                               const std::array<bool, 3>& pbc, double cutoff, int threads,
                               const KernelOptions& kernels);
    std::mutex& mutex() { return mutex_; }

  private:
    double skin_;
    int64_t rebuilds_ = 0;
    bool valid_ = false;
    NeighborList list_;
    std::vector<double> reference_;  // positions at the last build
    Cell cell_{};
    bool have_cell_ = false;
    std::array<bool, 3> pbc_{};
    double cutoff_ = 0.0;
    std::mutex mutex_;
};

}  // namespace bpfast
