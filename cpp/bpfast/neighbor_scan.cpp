#include <algorithm>
#include <atomic>
#include <cmath>
#include <new>

#include "bpfast/neighbor_search.hpp"
#include "bpfast/threading.hpp"

namespace bpfast {
namespace neighbor_search {
namespace {

using Buffer = NeighborList::Indices;

/// Appends to out_j / out_s, from entry `used` on, every atom q in [q0, q1) of `b` with
/// |p_q + o|^2 < rc2 (o = S - w_i: the candidate's vector from atom i) other than `skip`,
/// with shift index `shift`; returns the new count. Candidates are written
/// unconditionally and kept by advancing the count (no hard-to-predict branch).
inline size_t scan_run(const BinnedAtoms& b, int64_t q0, int64_t q1, double ox, double oy,
                       double oz, double rc2, int32_t skip, int32_t shift, int32_t* out_j,
                       int32_t* out_s, size_t used) {
    for (int64_t q = q0; q < q1; ++q) {
        const double dx = b.x[q] + ox;
        const double dy = b.y[q] + oy;
        const double dz = b.z[q] + oz;
        const int32_t j = b.atom[q];
        out_j[used] = j;
        out_s[used] = shift;
        used += (dx * dx + dy * dy + dz * dz < rc2) & (j != skip);
    }
    return used;
}

#if BPFAST_WIDE_KERNELS
/// scan_run for eight candidates at a time (AVX-512: masked loads, the kept atom indices
/// compressed and stored whole). The same arithmetic as scan_run (no fused multiply-add), so
/// both keep the same pairs. Needs room for 8 entries past the last candidate.
BPFAST_WIDE_KERNEL size_t scan_run_wide(const BinnedAtoms& b, int64_t q0, int64_t q1, double ox,
                                        double oy, double oz, double rc2, int32_t skip,
                                        int32_t shift, int32_t* out_j, int32_t* out_s,
                                        size_t used) {
    const __m512d vox = _mm512_set1_pd(ox), voy = _mm512_set1_pd(oy), voz = _mm512_set1_pd(oz);
    const __m512d vrc2 = _mm512_set1_pd(rc2);
    const __m256i vskip = _mm256_set1_epi32(skip), vshift = _mm256_set1_epi32(shift);
    for (int64_t q = q0; q < q1; q += 8) {
        const int64_t left = q1 - q;
        const __mmask8 live = left >= 8 ? __mmask8(0xFF) : __mmask8((1u << left) - 1u);
        const __m512d dx = _mm512_add_pd(_mm512_maskz_loadu_pd(live, b.x.data() + q), vox);
        const __m512d dy = _mm512_add_pd(_mm512_maskz_loadu_pd(live, b.y.data() + q), voy);
        const __m512d dz = _mm512_add_pd(_mm512_maskz_loadu_pd(live, b.z.data() + q), voz);
        const __m512d d2 = _mm512_add_pd(_mm512_add_pd(_mm512_mul_pd(dx, dx), _mm512_mul_pd(dy, dy)),
                                         _mm512_mul_pd(dz, dz));
        const __m256i j = _mm256_maskz_loadu_epi32(live, b.atom.data() + q);
        const __mmask8 keep = _mm512_mask_cmp_pd_mask(live, d2, vrc2, _CMP_LT_OQ) &
                              _mm256_cmpneq_epi32_mask(j, vskip);
        simd::store_compressed(out_j + used, keep, j);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out_s + used), vshift);
        used += static_cast<size_t>(__builtin_popcount(keep));
    }
    return used;
}
#endif

/// Bin coordinate t (possibly outside the grid) along direction k: false if outside an
/// open direction; else t is brought into the grid and s is the lattice translation.
inline bool into_grid(const Grid& g, int k, int& t, int& s) {
    s = 0;
    if (g.periodic[k]) {
        s = static_cast<int>(std::floor(double(t) / g.bins[k]));
        t -= s * g.bins[k];
        return true;
    }
    return t >= 0 && t < g.bins[k];
}

/// The scan of one atom's candidates.
struct Scanner {
    const Grid& g;
    const BinnedAtoms& binned;
    const double* wrapped;
    const ShiftTable& shifts;
    const std::vector<std::array<double, 3>>& shift_vectors;
    double rc2;
    bool wide;  // 8-lane candidate scan

    /// Appends the candidates of bins [first, last] of row (t0, t1) along the last axis,
    /// translated by `shift`, to idx / sft from entry `used` on (grown when a run might
    /// not fit: both are used as buffers whose size is their capacity).
    void scan_bins(int64_t i, const double* wi, int t0, int t1, int first, int last,
                   int shift, bool self_image, Buffer& idx, Buffer& sft, size_t& used) const {
        const auto& sv = shift_vectors[shift];
        const double sx = sv[0] - wi[0];
        const double sy = sv[1] - wi[1];
        const double sz = sv[2] - wi[2];
        const int64_t row = (int64_t(t0) * g.bins[1] + t1) * g.bins[2];
        const int64_t q_begin = binned.bin_start[row + first];
        const int64_t q_end = binned.bin_start[row + last + 1];
        // Room for every candidate and a vector's worth past them.
        const size_t need = used + static_cast<size_t>(q_end - q_begin) + 8;
        if (need > idx.size()) {
            const size_t grown = std::max(need, 2 * idx.size() + 4096);
            idx.resize(grown);
            sft.resize(grown);
        }
        const int32_t skip = self_image ? static_cast<int32_t>(i) : -1;
#if BPFAST_WIDE_KERNELS
        if (wide) {
            used = scan_run_wide(binned, q_begin, q_end, sx, sy, sz, rc2, skip, shift, idx.data(),
                                 sft.data(), used);
            return;
        }
#endif
        used = scan_run(binned, q_begin, q_end, sx, sy, sz, rc2, skip, shift, idx.data(),
                        sft.data(), used);
    }

    /// Appends every (j, S) within the cutoff of atom i.
    void visit(int64_t i, Buffer& idx, Buffer& sft, size_t& used) const {
        const int64_t b = binned.bin_of[i];
        const int bi[3] = {static_cast<int>(b / (int64_t(g.bins[1]) * g.bins[2])),
                           static_cast<int>((b / g.bins[2]) % g.bins[1]),
                           static_cast<int>(b % g.bins[2])};
        const double* wi = wrapped + 3 * i;
        for (int o0 = -g.reach[0]; o0 <= g.reach[0]; ++o0) {
            int t0 = bi[0] + o0, s0;
            if (!into_grid(g, 0, t0, s0)) continue;
            for (int o1 = -g.reach[1]; o1 <= g.reach[1]; ++o1) {
                int t1 = bi[1] + o1, s1;
                if (!into_grid(g, 1, t1, s1)) continue;
                // The bins along the last axis are consecutive in bin order: one scan of
                // the atoms of each run of them that shares a lattice shift.
                int lo2 = bi[2] - g.reach[2], hi2 = bi[2] + g.reach[2];
                if (!g.periodic[2]) {
                    lo2 = std::max(lo2, 0);
                    hi2 = std::min(hi2, g.bins[2] - 1);
                }
                for (int t = lo2; t <= hi2;) {
                    const int s2 =
                        g.periodic[2] ? static_cast<int>(std::floor(double(t) / g.bins[2])) : 0;
                    const int first = t - s2 * g.bins[2];
                    const int last = std::min(g.bins[2] - 1, first + (hi2 - t));
                    t += last - first + 1;
                    scan_bins(i, wi, t0, t1, first, last, shifts.index(s0, s1, s2),
                              s0 == 0 && s1 == 0 && s2 == 0, idx, sft, used);
                }
            }
        }
    }
};

}  // namespace

void scan_atoms(const Grid& g, const BinnedAtoms& binned, const FramePositions& fp,
                const ShiftTable& shifts, int64_t n, double cutoff, int threads, bool wide,
                std::vector<NeighborList::Block> previous, NeighborList& list) {
    const Scanner scanner{g,      binned, fp.wrapped.data(), shifts, list.shift_vectors,
                          cutoff * cutoff, wide};
    const int nt = threads;
    // One pass: each thread takes a contiguous run of atoms (static schedule) and
    // appends to its own buffers, which become the list's blocks. Thread t fills the
    // memory of the previous list's block t when there is one: those pages are already
    // mapped (first-touch page faults cost this search a third of its time and scale
    // badly over threads).
    std::vector<Buffer> idx(nt), sft(nt);
    for (size_t b = 0; b < previous.size() && b < static_cast<size_t>(nt); ++b) {
        idx[b] = std::move(previous[b].index);
        sft[b] = std::move(previous[b].shift);
    }
    previous.clear();
    std::vector<int64_t> first_atom(nt, n);
    // Expected pairs per atom if the atoms fill the box evenly (a capacity hint only).
    double expected = 0.0;
    if (g.periodic[0] && g.periodic[1] && g.periodic[2]) {
        expected = 1.1 * static_cast<double>(n) / std::fabs(g.det) * 4.18879 * cutoff * cutoff * cutoff;
    }
    // An allocation failing inside the parallel region must not leave it as an exception
    // (std::terminate): it is noted, the threads skip their remaining atoms, and it is
    // thrown after the region (Python: MemoryError).
    std::atomic<bool> out_of_memory{false};
#pragma omp parallel num_threads(nt)
    {
        const int t = thread_id();
        // Thread-local vectors: idx[0] and idx[1] share a cache line, and growing a
        // vector writes its end pointer, so filling them in place would false-share.
        Buffer my_idx = std::move(idx[t]), my_sft = std::move(sft[t]);
        const double block = static_cast<double>(n) / nt + 1.0;
        const size_t hint = static_cast<size_t>(std::min(expected * block, 4.0e9));
        // As buffers: all of the capacity (uninitialised; no copy of old entries).
        my_idx.clear();
        my_sft.clear();
        try {
            my_idx.resize(std::max(hint, my_idx.capacity()));
            my_sft.resize(my_idx.size());
        } catch (const std::bad_alloc&) {
            out_of_memory = true;
        }
        size_t used = 0;
        bool first = true;
#pragma omp for schedule(static)
        for (int64_t i = 0; i < n; ++i) {
            if (first) {
                first_atom[t] = i;
                first = false;
            }
            const size_t before = used;
            if (!out_of_memory.load(std::memory_order_relaxed)) {
                try {
                    scanner.visit(i, my_idx, my_sft, used);
                } catch (const std::bad_alloc&) {
                    out_of_memory = true;
                }
            }
            list.offsets[i + 1] = static_cast<int64_t>(used - before);
        }
        if (!out_of_memory) {
            my_idx.resize(used);
            my_sft.resize(used);
            idx[t] = std::move(my_idx);
            sft[t] = std::move(my_sft);
        }
    }
    if (out_of_memory) throw std::bad_alloc();
    for (int64_t i = 0; i < n; ++i) list.offsets[i + 1] += list.offsets[i];
    // Each thread's pairs become one block, already in atom order: a static schedule
    // without a chunk size gives each thread at most one run of consecutive atoms, in
    // thread order (OpenMP). No second copy of the list.
    for (int t = 0; t < nt; ++t) {
        if (first_atom[t] < n) list.blocks.push_back({first_atom[t], std::move(idx[t]), std::move(sft[t])});
    }
}

}  // namespace neighbor_search
}  // namespace bpfast
