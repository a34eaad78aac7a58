#include "bpfast/neighbor_search.hpp"

namespace bpfast {
namespace neighbor_search {

ShiftTable make_shift_table(const Grid& g, std::vector<std::array<double, 3>>& vectors) {
    ShiftTable t;
    for (int k = 0; k < 3; ++k) {
        t.tmax[k] = g.periodic[k] ? (g.bins[k] - 1 + g.reach[k]) / g.bins[k] + 1 : 0;
        t.tdim[k] = 2 * t.tmax[k] + 1;
    }
    vectors.resize(static_cast<size_t>(t.tdim[0]) * t.tdim[1] * t.tdim[2]);
    const Cell& h = g.h;
    for (int a = 0; a < t.tdim[0]; ++a) {
        for (int b = 0; b < t.tdim[1]; ++b) {
            for (int c = 0; c < t.tdim[2]; ++c) {
                const double s0 = a - t.tmax[0], s1 = b - t.tmax[1], s2 = c - t.tmax[2];
                auto& v = vectors[(static_cast<size_t>(a) * t.tdim[1] + b) * t.tdim[2] + c];
                for (int x = 0; x < 3; ++x) v[x] = s0 * h[0][x] + s1 * h[1][x] + s2 * h[2][x];
            }
        }
    }
    return t;
}

}  // namespace neighbor_search
}  // namespace bpfast
