#include "bpfast/environment.hpp"

#include <cmath>

namespace bpfast {

void EnvironmentBuffers::reserve(size_t capacity) {
    if (dx.size() >= capacity) return;
    for (auto* v : {&dx, &dy, &dz, &r, &weight}) v->resize(capacity);
    element.resize(capacity);
    neighbor.resize(capacity);
}

namespace {
/// Keeps the candidates that for_each_pair(emit) offers as emit(j, dx, dy, dz) when they
/// are closer than rc.
template <class ForEachPair>
NeighborEnv keep_within(double rc, const int* element, const int32_t* numbers,
                        EnvironmentBuffers& b, ForEachPair&& for_each_pair) {
    const double rc2 = rc * rc;
    int m = 0;
    for_each_pair([&](int64_t j, double x, double y, double z) {
        const double r2 = x * x + y * y + z * z;
        if (!(r2 < rc2)) return;
        b.dx[m] = x;
        b.dy[m] = y;
        b.dz[m] = z;
        b.r[m] = std::sqrt(r2);
        b.element[m] = element[j];
        b.weight[m] = static_cast<double>(numbers[j]);
        b.neighbor[m] = j;
        ++m;
    });
    NeighborEnv env;
    env.count = m;
    env.dx = b.dx.data();
    env.dy = b.dy.data();
    env.dz = b.dz.data();
    env.r = b.r.data();
    env.element = b.element.data();
    env.weight = b.weight.data();
    return env;
}
}  // namespace

NeighborEnv ListEnvironments::fill(int64_t i, double rc, const int* element,
                                   EnvironmentBuffers& buffers) const {
    const int64_t count = list_.offsets[i + 1] - list_.offsets[i];
    buffers.reserve(static_cast<size_t>(count));
    const double* w = wrapped_.data();
    const double* wi = w + 3 * i;
    const NeighborList::Row nb = list_.row(i);
    return keep_within(rc, element, numbers_, buffers, [&](auto&& emit) {
        for (int64_t p = 0; p < count; ++p) {
            const int64_t j = nb.index[p];
            const auto& sv = list_.shift_vectors[nb.shift[p]];
            const double* wj = w + 3 * j;
            emit(j, wj[0] + sv[0] - wi[0], wj[1] + sv[1] - wi[1], wj[2] + sv[2] - wi[2]);
        }
    });
}

NeighborEnv HostEnvironments::fill(int64_t i, double rc, const int* element,
                                   EnvironmentBuffers& buffers) const {
    const int32_t* nb = neighbors_[i];
    const int count = counts_[i];
    buffers.reserve(static_cast<size_t>(count));
    const double* pos = positions_;
    return keep_within(rc, element, numbers_, buffers, [&](auto&& emit) {
        for (int k = 0; k < count; ++k) {
            const int64_t j = nb[k] & index_mask_;
            emit(j, pos[3 * j] - pos[3 * i], pos[3 * j + 1] - pos[3 * i + 1],
                 pos[3 * j + 2] - pos[3 * i + 2]);
        }
    });
}

}  // namespace bpfast
