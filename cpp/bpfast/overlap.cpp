#include "bpfast/overlap.hpp"

#include <cmath>
#include <vector>

#include "bpfast/threading.hpp"

namespace bpfast {
namespace {

struct Candidate {
    double r2 = std::numeric_limits<double>::infinity();
    int64_t i = -1, j = -1;
    int32_t shift = 0;  // index into list.shift_vectors

    bool before(const Candidate& o) const {
        if (r2 != o.r2) return r2 < o.r2;
        const int64_t a = std::min(i, j), b = std::max(i, j);
        const int64_t oa = std::min(o.i, o.j), ob = std::max(o.i, o.j);
        return a != oa ? a < oa : b < ob;
    }
};

}  // namespace

ClosestPair closest_pair(const NeighborList& list, const double* wrapped, int64_t n,
                         int threads) {
    std::vector<Candidate> best(static_cast<size_t>(threads > 0 ? threads : 1));
#pragma omp parallel num_threads(threads)
    {
        Candidate& mine = best[thread_id()];
#pragma omp for schedule(static)
        for (int64_t i = 0; i < n; ++i) {
            const NeighborList::Row row = list.row(i);
            const int64_t count = list.offsets[i + 1] - list.offsets[i];
            const double* wi = wrapped + 3 * i;
            for (int64_t p = 0; p < count; ++p) {
                const double* wj = wrapped + 3 * row.index[p];
                const auto& sv = list.shift_vectors[row.shift[p]];
                const double x = wj[0] + sv[0] - wi[0], y = wj[1] + sv[1] - wi[1],
                             z = wj[2] + sv[2] - wi[2];
                const double r2 = x * x + y * y + z * z;
                if (r2 <= mine.r2) {
                    const Candidate c{r2, i, row.index[p], row.shift[p]};
                    if (c.before(mine)) mine = c;
                }
            }
        }
    }
    Candidate found;
    for (const Candidate& c : best) {
        if (c.i >= 0 && (found.i < 0 || c.before(found))) found = c;
    }
    ClosestPair out;
    if (found.i < 0) return out;
    // r_j + T - r_i with T = S + wrap[i] - wrap[j] (w = r - wrap), as seen from min(i, j).
    const auto& sv = list.shift_vectors[found.shift];
    const double sign = found.i <= found.j ? 1.0 : -1.0;
    for (int a = 0; a < 3; ++a) {
        out.shift[a] = sign * (sv[a] + list.wrap[found.i][a] - list.wrap[found.j][a]);
    }
    out.i = std::min(found.i, found.j);
    out.j = std::max(found.i, found.j);
    out.distance = std::sqrt(found.r2);
    return out;
}

}  // namespace bpfast
