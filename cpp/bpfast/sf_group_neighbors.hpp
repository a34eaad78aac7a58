// The neighbours of one angular group of one central atom, copied into structure-of-
// arrays form for the angular kernels, with a gradient accumulator per neighbour. Inline:
// every kernel entry point compiles them for its instruction set.
#pragma once

#include <algorithm>
#include <vector>

#include "bpfast/sf_groups.hpp"
#include "bpfast/simd.hpp"

namespace bpfast::sf {

struct GroupNeighbors {
    std::vector<int> list;  // environment index of each listed neighbour
    // Per listed neighbour: d, |d|, 1/|d|, weight (Z or 1), and dE/dd (gradient pass).
    simd::aligned_vector<double> x, y, z, r, inv_r, weight;
    simd::aligned_vector<double> gx, gy, gz;

    /// Room for n entries in every per-neighbour array.
    void reserve(int n) {
        for (auto* v : {&x, &y, &z, &r, &inv_r, &weight, &gx, &gy, &gz}) {
            if (static_cast<int>(v->size()) < n) v->resize(n);
        }
    }
};

/// Neighbours of an angular group into `list`, r in (lo, hi) and r > 0: for two different
/// elements those of e1 first, then those of e2 (returns the count of the first part);
/// otherwise all matching ones (returns the total).
inline int collect_group_neighbors(const NeighborEnv& env, double lo, double hi, bool weighted,
                                   int e1, int e2, std::vector<int>& list) {
    const bool distinct = !weighted && e1 != e2;
    list.resize(static_cast<size_t>(env.count) * (distinct ? 2 : 1));
    int count = 0, first = 0;
    for (int pass = 0; pass < (distinct ? 2 : 1); ++pass) {
        const int want = pass == 0 ? e1 : e2;
        for (int n = 0; n < env.count; ++n) {  // branch-free: element order is random
            const double r = env.r[n];
            list[count] = n;
            count += (r < hi) & (r > lo) & (r != 0.0) & (weighted | (env.element[n] == want));
        }
        if (pass == 0) first = count;
    }
    list.resize(count);
    return distinct ? first : count;
}

/// Copies the listed neighbours into nb's arrays (d, r, 1/r, weight Z or 1) and, for a
/// gradient, zeroes their gradient accumulators. nb.reserve must cover the list.
inline void gather_group_neighbors(const NeighborEnv& env, bool weighted, bool gradient,
                                   GroupNeighbors& nb) {
    const int nl = static_cast<int>(nb.list.size());
    for (int p = 0; p < nl; ++p) {
        const int n = nb.list[p];
        nb.x[p] = env.dx[n];
        nb.y[p] = env.dy[n];
        nb.z[p] = env.dz[n];
        nb.r[p] = env.r[n];
        nb.inv_r[p] = 1.0 / env.r[n];
        nb.weight[p] = weighted ? env.weight[n] : 1.0;
    }
    if (gradient) {
        std::fill(nb.gx.begin(), nb.gx.begin() + nl, 0.0);
        std::fill(nb.gy.begin(), nb.gy.begin() + nl, 0.0);
        std::fill(nb.gz.begin(), nb.gz.begin() + nl, 0.0);
    }
}

/// Adds the gradients accumulated per listed neighbour to the environment's.
inline void scatter_group_gradient(const GroupNeighbors& nb, double* gx, double* gy, double* gz) {
    for (size_t p = 0; p < nb.list.size(); ++p) {
        const int n = nb.list[p];
        gx[n] += nb.gx[p];
        gy[n] += nb.gy[p];
        gz[n] += nb.gz[p];
    }
}

/// Adds each committee member's gradient per listed neighbour (member m's rows at
/// gx + m * row, ...) to its rows of io.g{x,y,z} (member m's at io.gx + m * io.g_stride).
inline void scatter_member_gradients(const KernelIO& io, const std::vector<int>& list, int nl,
                                     const double* gx, const double* gy, const double* gz,
                                     size_t row) {
    for (int m = 0; m < io.members; ++m) {
        const double* mx = gx + m * row;
        const double* my = gy + m * row;
        const double* mz = gz + m * row;
        double* ox = io.gx + m * io.g_stride;
        double* oy = io.gy + m * io.g_stride;
        double* oz = io.gz + m * io.g_stride;
        for (int p = 0; p < nl; ++p) {
            const int n = list[p];
            ox[n] += mx[p];
            oy[n] += my[p];
            oz[n] += mz[p];
        }
    }
}

}  // namespace bpfast::sf
