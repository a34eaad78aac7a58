#include "bpfast/neighbors.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "bpfast/errors.hpp"
#include "bpfast/simd.hpp"
#include "bpfast/threading.hpp"

namespace bpfast {
namespace {

/// Most lattice translations a search may visit (a cell far smaller than the cutoff).
constexpr double kMaxTranslations = 1e6;

struct Vec3 {
    double x, y, z;
};

double det3(const Cell& h) {
    return h[0][0] * (h[1][1] * h[2][2] - h[1][2] * h[2][1]) -
           h[0][1] * (h[1][0] * h[2][2] - h[1][2] * h[2][0]) +
           h[0][2] * (h[1][0] * h[2][1] - h[1][1] * h[2][0]);
}

Vec3 cross(const std::array<double, 3>& a, const std::array<double, 3>& b) {
    return {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
}

double norm(const Vec3& v) { return std::sqrt(v.x * v.x + v.y * v.y + v.z * v.z); }

/// Geometry of the binning: fractional frame, bins and search ranges.
struct Grid {
    Cell h{};      // frame rows (lattice vectors, or identity for open systems)
    Cell hinv{};   // inverse: s = r hinv
    std::array<bool, 3> periodic{};
    std::array<int, 3> bins{};
    std::array<int, 3> reach{};  // bins to search on each side
    std::array<double, 3> lo{}, width{};  // fractional origin and bin width
};

std::array<double, 3> unit(const Vec3& v) {
    const double l = norm(v);
    return {v.x / l, v.y / l, v.z / l};
}

/// Replaces the vectors of non-periodic directions by unit vectors orthogonal to the
/// periodic ones: along open directions the cell only defines the binning frame, and
/// users often leave those vectors zero.
void complete_frame(Cell& h, const std::array<bool, 3>& pbc) {
    const int np = int(pbc[0]) + int(pbc[1]) + int(pbc[2]);
    if (np == 3) return;
    if (np == 2) {
        const int k = !pbc[0] ? 0 : (!pbc[1] ? 1 : 2);
        const Vec3 c = cross(h[(k + 1) % 3], h[(k + 2) % 3]);
        if (norm(c) > 0.0) h[k] = unit(c);
        return;
    }
    const int k = pbc[0] ? 0 : (pbc[1] ? 1 : 2);
    const std::array<double, 3>& a = h[k];
    // A helper axis least aligned with a, then two unit vectors orthogonal to a.
    std::array<double, 3> axis{0.0, 0.0, 0.0};
    const double ax = std::fabs(a[0]), ay = std::fabs(a[1]), az = std::fabs(a[2]);
    axis[ax <= ay && ax <= az ? 0 : (ay <= az ? 1 : 2)] = 1.0;
    const Vec3 u = cross(a, axis);
    if (norm(u) == 0.0) return;
    const std::array<double, 3> uu = unit(u);
    const std::array<double, 3> vv = unit(cross(a, uu));
    h[(k + 1) % 3] = uu;
    h[(k + 2) % 3] = vv;
}

/// Fractional coordinates s = r h^-1 of atoms [begin, end), wrapped into [0, 1) along
/// periodic directions by integer m; the wrapped positions w = r - m h, the removed
/// translations m h, and the running minimum and maximum of s per direction. A kernel
/// entry point (simd.hpp) so that floor() is one instruction where the CPU has it.
BPFAST_KERNEL void to_fractional(const Grid& g, const double* pos, int64_t begin, int64_t end,
                                 double* frac, double* wrapped, std::array<double, 3>* wrap,
                                 double* smin, double* smax) {
    for (int64_t i = begin; i < end; ++i) {
        const double* r = pos + 3 * i;
        double s[3], m[3];
        for (int k = 0; k < 3; ++k) {
            s[k] = r[0] * g.hinv[0][k] + r[1] * g.hinv[1][k] + r[2] * g.hinv[2][k];
            m[k] = g.periodic[k] ? std::floor(s[k]) : 0.0;
            s[k] -= m[k];
            smin[k] = std::min(smin[k], s[k]);
            smax[k] = std::max(smax[k], s[k]);
            frac[3 * i + k] = s[k];
        }
        for (int c = 0; c < 3; ++c) {
            wrap[i][c] = m[0] * g.h[0][c] + m[1] * g.h[1][c] + m[2] * g.h[2][c];
            wrapped[3 * i + c] = r[c] - wrap[i][c];
        }
    }
}

/// Atoms in bin order: wrapped positions (structure of arrays) and atom indices.
struct BinnedAtoms {
    simd::aligned_vector<double> x, y, z;
    simd::aligned_vector<int32_t> atom;
};

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
/// scan_run for eight candidates at a time (AVX-512: masked loads, compressing store of
/// the kept atom indices). The same arithmetic as scan_run (no fused multiply-add), so
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
        _mm256_mask_compressstoreu_epi32(out_j + used, keep, j);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out_s + used), vshift);
        used += static_cast<size_t>(__builtin_popcount(keep));
    }
    return used;
}
#endif

}  // namespace

void build_neighbor_list(const double* pos, int64_t n, const Cell* cell,
                         const std::array<bool, 3>& pbc, double cutoff, int threads,
                         NeighborList& out, const KernelOptions& kernels) {
    if (!(cutoff > 0.0) || !std::isfinite(cutoff)) {
        throw InputError("neighbour cutoff must be a positive finite number");
    }
    check_kernel_options(kernels);
    out.offsets.assign(n + 1, 0);
    // The blocks of a previous list lend their memory to the new one (see below).
    std::vector<NeighborList::Block> previous = std::move(out.blocks);
    out.blocks.clear();
    out.shift_vectors.clear();
    out.wrap.resize(n);  // every entry written below
    out.cutoff = cutoff;
    if (n == 0) return;

    Grid g;
    const bool any_periodic = pbc[0] || pbc[1] || pbc[2];
    if (any_periodic) {
        if (cell == nullptr) throw InputError("a periodic structure needs a cell");
        g.h = *cell;
        complete_frame(g.h, pbc);
    } else {
        g.h = {{{1.0, 0.0, 0.0}, {0.0, 1.0, 0.0}, {0.0, 0.0, 1.0}}};
    }
    g.periodic = pbc;
    const double det = det3(g.h);
    // Perpendicular heights h_k = |det| / |a_l x a_m|.
    std::array<double, 3> height{};
    for (int k = 0; k < 3; ++k) {
        const double area = norm(cross(g.h[(k + 1) % 3], g.h[(k + 2) % 3]));
        height[k] = area > 0.0 ? std::fabs(det) / area : 0.0;
    }
    const double scale = std::max({std::fabs(g.h[0][0]), std::fabs(g.h[0][1]), std::fabs(g.h[0][2]),
                                   std::fabs(g.h[1][0]), std::fabs(g.h[1][1]), std::fabs(g.h[1][2]),
                                   std::fabs(g.h[2][0]), std::fabs(g.h[2][1]), std::fabs(g.h[2][2])});
    if (!(std::fabs(det) > 1e-12 * scale * scale * scale) || !std::isfinite(det)) {
        throw InputError("the cell is singular (its lattice vectors are linearly dependent)");
    }
    // Periodic images: about 2 r_c / h_k + 3 lattice translations along each periodic
    // direction are searched; a cell so much smaller than the cutoff is refused.
    double translations = 1.0;
    for (int k = 0; k < 3; ++k) {
        if (pbc[k]) translations *= 2.0 * std::ceil(cutoff / height[k]) + 3.0;
    }
    if (!(translations <= kMaxTranslations)) {
        char text[256];
        std::snprintf(text, sizeof text,
                      "the cutoff %.6g spans too many periodic images of the cell (heights "
                      "%.6g, %.6g, %.6g; more than %.0f lattice translations to search): "
                      "use a supercell",
                      cutoff, height[0], height[1], height[2], kMaxTranslations);
        throw InputError(text);
    }
    const double inv = 1.0 / det;
    const Cell& h = g.h;
    g.hinv = {{{(h[1][1] * h[2][2] - h[1][2] * h[2][1]) * inv,
                (h[0][2] * h[2][1] - h[0][1] * h[2][2]) * inv,
                (h[0][1] * h[1][2] - h[0][2] * h[1][1]) * inv},
               {(h[1][2] * h[2][0] - h[1][0] * h[2][2]) * inv,
                (h[0][0] * h[2][2] - h[0][2] * h[2][0]) * inv,
                (h[0][2] * h[1][0] - h[0][0] * h[1][2]) * inv},
               {(h[1][0] * h[2][1] - h[1][1] * h[2][0]) * inv,
                (h[0][1] * h[2][0] - h[0][0] * h[2][1]) * inv,
                (h[0][0] * h[1][1] - h[0][1] * h[1][0]) * inv}}};

    // Fractional coordinates, wrapped along periodic directions; wrapped Cartesian
    // positions w = r - m h with integer m. These O(N) passes run on the threads too
    // (serial, they were a twentieth of the two-thread search).
    const int nt = std::max(1, std::min<int>(resolve_threads(threads), static_cast<int>(n)));
    const bool spread = n >= 4096;  // below, waking the threads costs more than it saves
    std::vector<double> frac(3 * n), wrapped(3 * n);
    double smin[3] = {std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity(),
                      std::numeric_limits<double>::infinity()};
    double smax[3] = {-smin[0], -smin[0], -smin[0]};
#pragma omp parallel num_threads(nt) if (spread) reduction(min : smin[:3]) reduction(max : smax[:3])
    {
        const int nthr = team_size(), t = thread_id();
        const int64_t begin = n * t / nthr, end = n * (t + 1) / nthr;
        to_fractional(g, pos, begin, end, frac.data(), wrapped.data(), out.wrap.data(), smin, smax);
    }
    // Bins: at least half the cutoff wide where possible (the 5 x 5 x 5 bins around an
    // atom cover 15.6 r_c^3 instead of the 27 r_c^3 of 3 x 3 x 3 bins of width r_c), and
    // not many more than atoms.
    for (int k = 0; k < 3; ++k) {
        const double extent = pbc[k] ? 1.0 : smax[k] - smin[k];
        g.lo[k] = pbc[k] ? 0.0 : smin[k];
        const double span = extent * height[k];  // perpendicular length covered
        const double nb = std::floor(span / (0.5 * cutoff));
        g.bins[k] = static_cast<int>(std::max(1.0, std::min(nb, 1.0e6)));
    }
    const double max_bins = 2.0 * static_cast<double>(n) + 64.0;
    while (static_cast<double>(g.bins[0]) * g.bins[1] * g.bins[2] > max_bins) {
        const int k = static_cast<int>(std::max_element(g.bins.begin(), g.bins.end()) - g.bins.begin());
        g.bins[k] = std::max(1, g.bins[k] / 2);
    }
    for (int k = 0; k < 3; ++k) {
        const double extent = pbc[k] ? 1.0 : smax[k] - smin[k];
        g.width[k] = extent > 0.0 ? extent / g.bins[k] : 1.0;
        const double bin_height = g.width[k] * height[k];
        // Bins within `cutoff` (at most bins * the translations checked above when
        // periodic); an open direction never beyond the grid, also when its atoms are so
        // nearly flat that cutoff / bin_height exceeds the range of int (or is infinite).
        const double reach = std::ceil(cutoff / bin_height);
        if (pbc[k]) {
            g.reach[k] = static_cast<int>(reach);
        } else {
            g.reach[k] = extent > 0.0 ? static_cast<int>(std::min<double>(g.bins[k], reach)) : 0;
        }
    }

    // Counting sort of atoms into bins.
    const int64_t nbins = static_cast<int64_t>(g.bins[0]) * g.bins[1] * g.bins[2];
    std::vector<int64_t> bin_of(n);
#pragma omp parallel for num_threads(nt) if (spread) schedule(static)
    for (int64_t i = 0; i < n; ++i) {
        int64_t b[3];
        for (int k = 0; k < 3; ++k) {
            // frac >= lo, so truncation is floor here.
            const double t = (frac[3 * i + k] - g.lo[k]) / g.width[k];
            b[k] = std::min<int64_t>(g.bins[k] - 1, std::max<int64_t>(0, static_cast<int64_t>(t)));
        }
        bin_of[i] = (b[0] * g.bins[1] + b[1]) * g.bins[2] + b[2];
    }
    std::vector<int64_t> bin_start(nbins + 1, 0);
    for (int64_t i = 0; i < n; ++i) ++bin_start[bin_of[i] + 1];
    for (int64_t b = 0; b < nbins; ++b) bin_start[b + 1] += bin_start[b];
    // The atoms in bin order, and their wrapped positions, so that the candidate scan
    // reads memory in sequence.
    BinnedAtoms binned;
    binned.atom.resize(n);
    {
        std::vector<int64_t> fill(bin_start.begin(), bin_start.end() - 1);
        for (int64_t i = 0; i < n; ++i) binned.atom[fill[bin_of[i]]++] = static_cast<int32_t>(i);
    }
    binned.x.resize(n);
    binned.y.resize(n);
    binned.z.resize(n);
#pragma omp parallel for num_threads(nt) if (spread) schedule(static)
    for (int64_t q = 0; q < n; ++q) {
        const double* w = wrapped.data() + 3 * static_cast<int64_t>(binned.atom[q]);
        binned.x[q] = w[0];
        binned.y[q] = w[1];
        binned.z[q] = w[2];
    }

    // Table of lattice translations S . h reachable from any bin.
    std::array<int, 3> tmax{}, tdim{};
    for (int k = 0; k < 3; ++k) {
        tmax[k] = pbc[k] ? (g.bins[k] - 1 + g.reach[k]) / g.bins[k] + 1 : 0;
        tdim[k] = 2 * tmax[k] + 1;
    }
    out.shift_vectors.resize(static_cast<size_t>(tdim[0]) * tdim[1] * tdim[2]);
    for (int a = 0; a < tdim[0]; ++a) {
        for (int b = 0; b < tdim[1]; ++b) {
            for (int c = 0; c < tdim[2]; ++c) {
                const double s0 = a - tmax[0], s1 = b - tmax[1], s2 = c - tmax[2];
                auto& v = out.shift_vectors[(static_cast<size_t>(a) * tdim[1] + b) * tdim[2] + c];
                for (int x = 0; x < 3; ++x) v[x] = s0 * h[0][x] + s1 * h[1][x] + s2 * h[2][x];
            }
        }
    }
    [[maybe_unused]] const bool wide = kernel_lanes(kernels) == 8;  // 8-lane candidate scan

    const double rc2 = cutoff * cutoff;
    using Buffer = NeighborList::Indices;
    // Appends every (j, S) within the cutoff of atom i to idx / sft from entry `used` on
    // (both vectors are used as buffers: their size is capacity, grown here when a run
    // of candidates may not fit; `used` counts the entries in use).
    auto visit = [&](int64_t i, Buffer& idx, Buffer& sft, size_t& used) {
        const int64_t b = bin_of[i];
        const int bi[3] = {static_cast<int>(b / (int64_t(g.bins[1]) * g.bins[2])),
                           static_cast<int>((b / g.bins[2]) % g.bins[1]),
                           static_cast<int>(b % g.bins[2])};
        const double wi[3] = {wrapped[3 * i], wrapped[3 * i + 1], wrapped[3 * i + 2]};
        for (int o0 = -g.reach[0]; o0 <= g.reach[0]; ++o0) {
            int t0 = bi[0] + o0, s0 = 0;
            if (pbc[0]) {
                s0 = static_cast<int>(std::floor(double(t0) / g.bins[0]));
                t0 -= s0 * g.bins[0];
            } else if (t0 < 0 || t0 >= g.bins[0]) {
                continue;
            }
            for (int o1 = -g.reach[1]; o1 <= g.reach[1]; ++o1) {
                int t1 = bi[1] + o1, s1 = 0;
                if (pbc[1]) {
                    s1 = static_cast<int>(std::floor(double(t1) / g.bins[1]));
                    t1 -= s1 * g.bins[1];
                } else if (t1 < 0 || t1 >= g.bins[1]) {
                    continue;
                }
                // The bins along the last axis are consecutive in bin order: one loop
                // over the atoms of each run of them that shares a lattice shift.
                int lo2 = bi[2] - g.reach[2], hi2 = bi[2] + g.reach[2];
                if (!pbc[2]) {
                    lo2 = std::max(lo2, 0);
                    hi2 = std::min(hi2, g.bins[2] - 1);
                }
                for (int t = lo2; t <= hi2;) {
                    const int s2 = pbc[2] ? static_cast<int>(std::floor(double(t) / g.bins[2])) : 0;
                    const int first = t - s2 * g.bins[2];
                    const int last = std::min(g.bins[2] - 1, first + (hi2 - t));
                    t += last - first + 1;
                    const int shift = ((s0 + tmax[0]) * tdim[1] + (s1 + tmax[1])) * tdim[2] +
                                      (s2 + tmax[2]);
                    const auto& sv = out.shift_vectors[shift];
                    const double sx = sv[0] - wi[0];
                    const double sy = sv[1] - wi[1];
                    const double sz = sv[2] - wi[2];
                    const bool self_image = s0 == 0 && s1 == 0 && s2 == 0;
                    const int64_t row = (int64_t(t0) * g.bins[1] + t1) * g.bins[2];
                    const int64_t q_begin = bin_start[row + first], q_end = bin_start[row + last + 1];
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
                        used = scan_run_wide(binned, q_begin, q_end, sx, sy, sz, rc2, skip, shift,
                                             idx.data(), sft.data(), used);
                        continue;
                    }
#endif
                    used = scan_run(binned, q_begin, q_end, sx, sy, sz, rc2, skip, shift, idx.data(),
                                    sft.data(), used);
                }
            }
        }
    };

    // One pass: each thread takes a contiguous run of atoms (static schedule) and
    // appends to its own buffers, which become the list's blocks.
    // Thread t fills the memory of the previous list's block t when there is one: those
    // pages are already mapped (first-touch page faults cost this search a third of its
    // time and scale badly over threads).
    std::vector<Buffer> idx(nt), sft(nt);
    for (size_t b = 0; b < previous.size() && b < static_cast<size_t>(nt); ++b) {
        idx[b] = std::move(previous[b].index);
        sft[b] = std::move(previous[b].shift);
    }
    previous.clear();
    std::vector<int64_t> first_atom(nt, n);
    // Expected pairs per atom if the atoms fill the box evenly (a capacity hint only).
    double expected = 0.0;
    if (pbc[0] && pbc[1] && pbc[2]) {
        expected = 1.1 * static_cast<double>(n) / std::fabs(det) * 4.18879 * cutoff * cutoff * cutoff;
    }
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
        my_idx.resize(std::max(hint, my_idx.capacity()));
        my_sft.resize(my_idx.size());
        size_t used = 0;
        bool first = true;
#pragma omp for schedule(static)
        for (int64_t i = 0; i < n; ++i) {
            if (first) {
                first_atom[t] = i;
                first = false;
            }
            const size_t before = used;
            visit(i, my_idx, my_sft, used);
            out.offsets[i + 1] = static_cast<int64_t>(used - before);
        }
        my_idx.resize(used);
        my_sft.resize(used);
        idx[t] = std::move(my_idx);
        sft[t] = std::move(my_sft);
    }
    for (int64_t i = 0; i < n; ++i) out.offsets[i + 1] += out.offsets[i];
    // Each thread's pairs become one block, already in atom order: a static schedule
    // without a chunk size gives each thread at most one run of consecutive atoms, in
    // thread order (OpenMP). No second copy of the list.
    for (int t = 0; t < nt; ++t) {
        if (first_atom[t] < n) out.blocks.push_back({first_atom[t], std::move(idx[t]), std::move(sft[t])});
    }
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

NeighborCache::NeighborCache(double skin) : skin_(skin) {
    if (!(skin >= 0.0) || !std::isfinite(skin)) {
        throw InputError("the neighbour-list skin must be a finite number >= 0");
    }
}

void NeighborCache::reset() { valid_ = false; }

const NeighborList& NeighborCache::update(const double* positions, int64_t n, const Cell* cell,
                                          const std::array<bool, 3>& pbc, double cutoff,
                                          int threads, const KernelOptions& kernels) {
    bool valid = valid_ && skin_ > 0.0 && static_cast<int64_t>(reference_.size()) == 3 * n &&
                 pbc == pbc_ && cutoff == cutoff_ && (cell != nullptr) == have_cell_ &&
                 (cell == nullptr || *cell == cell_);
    if (valid) {
        const double limit = 0.25 * skin_ * skin_;  // (skin / 2)^2
        for (int64_t i = 0; i < n && valid; ++i) {
            const double dx = positions[3 * i] - reference_[3 * i];
            const double dy = positions[3 * i + 1] - reference_[3 * i + 1];
            const double dz = positions[3 * i + 2] - reference_[3 * i + 2];
            valid = dx * dx + dy * dy + dz * dz < limit;
        }
    }
    if (!valid) {
        valid_ = false;
        try {
            build_neighbor_list(positions, n, cell, pbc, cutoff + skin_, threads, list_, kernels);
        } catch (const InputError& e) {
            char text[96];
            std::snprintf(text, sizeof text, " (the list's cutoff is %.6g + a skin of %.6g)",
                          cutoff, skin_);
            throw InputError(e.what() + std::string(text));
        }
        reference_.assign(positions, positions + 3 * n);
        have_cell_ = cell != nullptr;
        if (cell != nullptr) cell_ = *cell;
        pbc_ = pbc;
        cutoff_ = cutoff;
        valid_ = true;
        ++rebuilds_;
    }
    return list_;
}

}  // namespace bpfast
