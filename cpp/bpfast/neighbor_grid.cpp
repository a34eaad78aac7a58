#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "bpfast/errors.hpp"
#include "bpfast/neighbor_search.hpp"
#include "bpfast/threading.hpp"

namespace bpfast {
namespace neighbor_search {
namespace {

/// Most lattice translations a search may visit (a cell far smaller than the cutoff).
constexpr double kMaxTranslations = 1e6;

using Vec3 = std::array<double, 3>;

Vec3 cross(const Vec3& a, const Vec3& b) {
    return {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
}

double norm(const Vec3& v) { return std::sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]); }

Vec3 unit(const Vec3& v) {
    const double l = norm(v);
    return {v[0] / l, v[1] / l, v[2] / l};
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
    const Vec3& a = h[k];
    // A helper axis least aligned with a, then two unit vectors orthogonal to a.
    Vec3 axis{0.0, 0.0, 0.0};
    const double ax = std::fabs(a[0]), ay = std::fabs(a[1]), az = std::fabs(a[2]);
    axis[ax <= ay && ax <= az ? 0 : (ay <= az ? 1 : 2)] = 1.0;
    const Vec3 u = cross(a, axis);
    if (norm(u) == 0.0) return;
    const Vec3 uu = unit(u);
    const Vec3 vv = unit(cross(a, uu));
    h[(k + 1) % 3] = uu;
    h[(k + 2) % 3] = vv;
}

/// Throws InputError when the periodic images within `cutoff` need more than
/// kMaxTranslations lattice translations (about 2 r_c / h_k + 3 per periodic direction).
void check_translations(const Grid& g, double cutoff) {
    double translations = 1.0;
    for (int k = 0; k < 3; ++k) {
        if (g.periodic[k]) translations *= 2.0 * std::ceil(cutoff / g.height[k]) + 3.0;
    }
    if (translations <= kMaxTranslations) return;
    char text[256];
    std::snprintf(text, sizeof text,
                  "the cutoff %.6g spans too many periodic images of the cell (heights "
                  "%.6g, %.6g, %.6g; more than %.0f lattice translations to search): "
                  "use a supercell",
                  cutoff, g.height[0], g.height[1], g.height[2], kMaxTranslations);
    throw InputError(text);
}

Cell inverse(const Cell& h, double det) {
    const double inv = 1.0 / det;
    return {{{(h[1][1] * h[2][2] - h[1][2] * h[2][1]) * inv,
              (h[0][2] * h[2][1] - h[0][1] * h[2][2]) * inv,
              (h[0][1] * h[1][2] - h[0][2] * h[1][1]) * inv},
             {(h[1][2] * h[2][0] - h[1][0] * h[2][2]) * inv,
              (h[0][0] * h[2][2] - h[0][2] * h[2][0]) * inv,
              (h[0][2] * h[1][0] - h[0][0] * h[1][2]) * inv},
             {(h[1][0] * h[2][1] - h[1][1] * h[2][0]) * inv,
              (h[0][1] * h[2][0] - h[0][0] * h[2][1]) * inv,
              (h[0][0] * h[1][1] - h[0][1] * h[1][0]) * inv}}};
}

/// Frame positions of atoms [begin, end), with the running minimum and maximum of s per
/// direction. A kernel entry point (simd.hpp) so that floor() is one instruction where
/// the CPU has it.
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

}  // namespace

double det3(const Cell& h) {
    return h[0][0] * (h[1][1] * h[2][2] - h[1][2] * h[2][1]) -
           h[0][1] * (h[1][0] * h[2][2] - h[1][2] * h[2][0]) +
           h[0][2] * (h[1][0] * h[2][1] - h[1][1] * h[2][0]);
}

Grid make_frame(const Cell* cell, const std::array<bool, 3>& pbc, double cutoff) {
    Grid g;
    if (pbc[0] || pbc[1] || pbc[2]) {
        if (cell == nullptr) throw InputError("a periodic structure needs a cell");
        g.h = *cell;
        complete_frame(g.h, pbc);
    } else {
        g.h = {{{1.0, 0.0, 0.0}, {0.0, 1.0, 0.0}, {0.0, 0.0, 1.0}}};
    }
    g.periodic = pbc;
    g.det = det3(g.h);
    for (int k = 0; k < 3; ++k) {
        const double area = norm(cross(g.h[(k + 1) % 3], g.h[(k + 2) % 3]));
        g.height[k] = area > 0.0 ? std::fabs(g.det) / area : 0.0;
    }
    double scale = 0.0;
    for (const auto& row : g.h) {
        for (double x : row) scale = std::max(scale, std::fabs(x));
    }
    if (!(std::fabs(g.det) > 1e-12 * scale * scale * scale) || !std::isfinite(g.det)) {
        throw InputError("the cell is singular (its lattice vectors are linearly dependent)");
    }
    check_translations(g, cutoff);
    g.hinv = inverse(g.h, g.det);
    return g;
}

void frame_positions(const Grid& g, const double* pos, int64_t n, int threads, bool spread,
                     FramePositions& out, std::vector<std::array<double, 3>>& wrap) {
    out.frac.resize(3 * n);
    out.wrapped.resize(3 * n);
    double smin[3] = {std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity(),
                      std::numeric_limits<double>::infinity()};
    double smax[3] = {-smin[0], -smin[0], -smin[0]};
    // On the threads too (serial, this was a twentieth of the two-thread search).
#pragma omp parallel num_threads(threads) if (spread) reduction(min : smin[:3]) reduction(max : smax[:3])
    {
        const int nthr = team_size(), t = thread_id();
        const int64_t begin = n * t / nthr, end = n * (t + 1) / nthr;
        to_fractional(g, pos, begin, end, out.frac.data(), out.wrapped.data(), wrap.data(), smin,
                      smax);
    }
    for (int k = 0; k < 3; ++k) {
        out.smin[k] = smin[k];
        out.smax[k] = smax[k];
    }
}

void choose_bins(Grid& g, int64_t n, double cutoff, const FramePositions& fp) {
    // At least half the cutoff wide where possible: the 5 x 5 x 5 bins around an atom
    // cover 15.6 r_c^3 instead of the 27 r_c^3 of 3 x 3 x 3 bins of width r_c.
    std::array<double, 3> extent{};
    for (int k = 0; k < 3; ++k) {
        extent[k] = g.periodic[k] ? 1.0 : fp.smax[k] - fp.smin[k];
        g.lo[k] = g.periodic[k] ? 0.0 : fp.smin[k];
        const double span = extent[k] * g.height[k];  // perpendicular length covered
        const double nb = std::floor(span / (0.5 * cutoff));
        g.bins[k] = static_cast<int>(std::max(1.0, std::min(nb, 1.0e6)));
    }
    const double max_bins = 2.0 * static_cast<double>(n) + 64.0;
    while (static_cast<double>(g.bins[0]) * g.bins[1] * g.bins[2] > max_bins) {
        const int k = static_cast<int>(std::max_element(g.bins.begin(), g.bins.end()) - g.bins.begin());
        g.bins[k] = std::max(1, g.bins[k] / 2);
    }
    for (int k = 0; k < 3; ++k) {
        g.width[k] = extent[k] > 0.0 ? extent[k] / g.bins[k] : 1.0;
        const double bin_height = g.width[k] * g.height[k];
        // Bins within `cutoff` (at most bins * the translations checked by make_frame when
        // periodic); an open direction never beyond the grid, also when its atoms are so
        // nearly flat that cutoff / bin_height exceeds the range of int (or is infinite).
        const double reach = std::ceil(cutoff / bin_height);
        if (g.periodic[k]) {
            g.reach[k] = static_cast<int>(reach);
        } else {
            g.reach[k] = extent[k] > 0.0 ? static_cast<int>(std::min<double>(g.bins[k], reach)) : 0;
        }
    }
}

}  // namespace neighbor_search
}  // namespace bpfast
