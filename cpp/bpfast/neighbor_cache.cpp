#include <cmath>
#include <cstdio>
#include <string>

#include "bpfast/errors.hpp"
#include "bpfast/neighbors.hpp"

namespace bpfast {

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
