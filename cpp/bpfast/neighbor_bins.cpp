#include <algorithm>

#include "bpfast/neighbor_search.hpp"

namespace bpfast {
namespace neighbor_search {

BinnedAtoms bin_atoms(const Grid& g, const FramePositions& fp, int64_t n, int threads,
                      bool spread) {
    BinnedAtoms out;
    const int64_t nbins = static_cast<int64_t>(g.bins[0]) * g.bins[1] * g.bins[2];
    out.bin_of.resize(n);
#pragma omp parallel for num_threads(threads) if (spread) schedule(static)
    for (int64_t i = 0; i < n; ++i) {
        int64_t b[3];
        for (int k = 0; k < 3; ++k) {
            // frac >= lo, so truncation is floor here.
            const double t = (fp.frac[3 * i + k] - g.lo[k]) / g.width[k];
            b[k] = std::min<int64_t>(g.bins[k] - 1, std::max<int64_t>(0, static_cast<int64_t>(t)));
        }
        out.bin_of[i] = (b[0] * g.bins[1] + b[1]) * g.bins[2] + b[2];
    }
    // Counting sort.
    out.bin_start.assign(nbins + 1, 0);
    for (int64_t i = 0; i < n; ++i) ++out.bin_start[out.bin_of[i] + 1];
    for (int64_t b = 0; b < nbins; ++b) out.bin_start[b + 1] += out.bin_start[b];
    out.atom.resize(n);
    {
        std::vector<int64_t> fill(out.bin_start.begin(), out.bin_start.end() - 1);
        for (int64_t i = 0; i < n; ++i) out.atom[fill[out.bin_of[i]]++] = static_cast<int32_t>(i);
    }
    out.x.resize(n);
    out.y.resize(n);
    out.z.resize(n);
#pragma omp parallel for num_threads(threads) if (spread) schedule(static)
    for (int64_t q = 0; q < n; ++q) {
        const double* w = fp.wrapped.data() + 3 * static_cast<int64_t>(out.atom[q]);
        out.x[q] = w[0];
        out.y[q] = w[1];
        out.z[q] = w[2];
    }
    return out;
}

}  // namespace neighbor_search
}  // namespace bpfast
