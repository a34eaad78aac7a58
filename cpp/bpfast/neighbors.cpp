#include "bpfast/neighbors.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "bpfast/errors.hpp"
#include "bpfast/kernel_choice.hpp"
#include "bpfast/neighbor_search.hpp"
#include "bpfast/threading.hpp"

namespace bpfast {

void build_neighbor_list(const double* pos, int64_t n, const Cell* cell,
                         const std::array<bool, 3>& pbc, double cutoff, int threads,
                         NeighborList& out, const KernelOptions& kernels) {
    using namespace neighbor_search;
    if (!(cutoff > 0.0) || !std::isfinite(cutoff)) {
        throw InputError("neighbour cutoff must be a positive finite number");
    }
    check_kernel_options(kernels);
    out.offsets.assign(n + 1, 0);
    // The blocks of a previous list lend their memory to the new one (scan_atoms).
    std::vector<NeighborList::Block> previous = std::move(out.blocks);
    out.blocks.clear();
    out.shift_vectors.clear();
    out.wrap.resize(n);  // every entry written below
    out.cutoff = cutoff;
    if (n == 0) return;

    Grid grid = make_frame(cell, pbc, cutoff);
    const int nt = std::max(1, std::min<int>(resolve_threads(threads), static_cast<int>(n)));
    const bool spread = n >= 4096;  // below, waking the threads costs more than it saves
    FramePositions fp;
    frame_positions(grid, pos, n, nt, spread, fp, out.wrap);
    choose_bins(grid, n, cutoff, fp);
    const BinnedAtoms binned = bin_atoms(grid, fp, n, nt, spread);
    const ShiftTable shifts = make_shift_table(grid, out.shift_vectors);
    scan_atoms(grid, binned, fp, shifts, n, cutoff, nt, scan_lanes(kernels) == 8, std::move(previous),
               out);
}

void check_neighbor_counts(const NeighborList& list, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        const int64_t count = list.offsets[i + 1] - list.offsets[i];
        if (count <= kMaxNeighborsPerAtom) continue;
        char text[320];
        std::snprintf(text, sizeof text,
                      "atom %lld has %lld neighbours within %.6g (more than %lld, the most "
                      "bpfast evaluates): the cell is far smaller than the cutoff or the atoms "
                      "are piled up; check the cell and the units",
                      static_cast<long long>(i), static_cast<long long>(count), list.cutoff,
                      static_cast<long long>(kMaxNeighborsPerAtom));
        throw InputError(text);
    }
}

void check_neighbor_density(int64_t n, const Cell* cell, const std::array<bool, 3>& pbc,
                            double cutoff) {
    if (cell == nullptr || !(pbc[0] && pbc[1] && pbc[2])) return;
    const double volume = std::fabs(neighbor_search::det3(*cell));
    if (!(volume > 0.0)) return;  // the list builder reports the singular cell
    const double sphere = 4.0 / 3.0 * 3.14159265358979323846 * cutoff * cutoff * cutoff;
    const double mean = static_cast<double>(n) * sphere / volume;
    if (mean <= static_cast<double>(kMaxNeighborsPerAtom)) return;
    char text[320];
    std::snprintf(text, sizeof text,
                  "%lld atoms in a cell of volume %.6g have about %.0f neighbours each within "
                  "%.6g on average (more than %lld, the most bpfast evaluates): the cell is far "
                  "smaller than the cutoff or the atoms are piled up; check the cell and the "
                  "units",
                  static_cast<long long>(n), volume, mean, cutoff,
                  static_cast<long long>(kMaxNeighborsPerAtom));
    throw InputError(text);
}

void wrapped_positions(const NeighborList& list, const double* positions, int64_t n,
                       std::vector<double>& out) {
    out.resize(3 * n);
    for (int64_t i = 0; i < n; ++i) {
        for (int c = 0; c < 3; ++c) out[3 * i + c] = positions[3 * i + c] - list.wrap[i][c];
    }
}

void expand_pairs(const NeighborList& list, const double* positions, int64_t n, int threads,
                  int64_t* first, int64_t* second, double* vectors) {
    std::vector<double> w;
    wrapped_positions(list, positions, n, w);
    const int nt = resolve_threads(threads, n, 1024);
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t i = 0; i < n; ++i) {
        const double* wi = w.data() + 3 * i;
        const NeighborList::Row nb = list.row(i);
        const int32_t* index = nb.index;
        const int32_t* shift = nb.shift;
        for (int64_t p = list.offsets[i]; p < list.offsets[i + 1]; ++p) {
            const int64_t j = *index++;
            const auto& sv = list.shift_vectors[*shift++];
            first[p] = i;
            second[p] = j;
            for (int x = 0; x < 3; ++x) vectors[3 * p + x] = w[3 * j + x] + sv[x] - wi[x];
        }
    }
}

}  // namespace bpfast
