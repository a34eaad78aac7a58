#include "bpfast/host_neighbors.hpp"

#include <limits>
#include <string>

#include "bpfast/errors.hpp"

namespace bpfast {
namespace {

std::string item(const char* array, int64_t k, int64_t value) {
    return std::string(array) + "[" + std::to_string(k) + "] = " + std::to_string(value);
}

/// offsets: n_centers + 1 non-decreasing entries from 0 .. n_neighbors, gaps < 2^31.
void check_offsets(int64_t n_centers, const int64_t* offsets, int64_t n_neighbors) {
    if (offsets[0] < 0) {
        throw InputError("offsets must start at 0 or more, got " + item("offsets", 0, offsets[0]));
    }
    for (int64_t c = 0; c < n_centers; ++c) {
        const int64_t count = offsets[c + 1] - offsets[c];
        if (count < 0) {
            throw InputError("offsets must be non-decreasing (centre " + std::to_string(c) +
                             " would have a negative neighbour count), got " +
                             item("offsets", c, offsets[c]) + " > " +
                             item("offsets", c + 1, offsets[c + 1]));
        }
        if (count > std::numeric_limits<int32_t>::max()) {
            throw InputError("centre " + std::to_string(c) + " has " + std::to_string(count) +
                             " neighbours in offsets; at most 2147483647 are supported");
        }
    }
    if (offsets[n_centers] > n_neighbors) {
        throw InputError("offsets must end at most at len(neighbors) = " +
                         std::to_string(n_neighbors) + ", got " +
                         item("offsets", n_centers, offsets[n_centers]));
    }
}

}  // namespace

void check_host_neighbors(const HostNeighbors& host) {
    if (host.n_total < 0 || host.n_centers < 0 || host.n_centers > host.n_total) {
        throw InputError("host neighbour list: " + std::to_string(host.n_centers) +
                         " centres among " + std::to_string(host.n_total) +
                         " atoms; expected 0 <= centres <= atoms");
    }
    std::vector<char> seen(static_cast<size_t>(host.n_total), 0);
    for (int64_t c = 0; c < host.n_centers; ++c) {
        const int64_t i = host.centers[c];
        if (i < 0 || i >= host.n_total) {
            throw InputError("centre index out of range: " + item("centers", c, i) +
                             ", expected 0 .. " + std::to_string(host.n_total - 1) +
                             " (atoms, ghosts included)");
        }
        if (seen[i]) {
            throw InputError("atom " + std::to_string(i) + " is listed twice in centers (" +
                             item("centers", c, i) + ")");
        }
        seen[i] = 1;
        const int64_t count = host.counts[i];
        if (count < 0) {
            throw InputError("centre " + std::to_string(i) + " has a negative neighbour count (" +
                             std::to_string(count) + ")");
        }
        const int32_t* row = host.neighbors[i];
        for (int64_t k = 0; k < count; ++k) {
            const int64_t j = row[k] & host.index_mask;
            if (j < 0 || j >= host.n_total) {
                throw InputError("neighbour index out of range: neighbour " + std::to_string(k) +
                                 " of centre " + std::to_string(i) + " is atom " +
                                 std::to_string(j) + ", expected 0 .. " +
                                 std::to_string(host.n_total - 1));
            }
            if (j == i) {
                throw InputError("centre " + std::to_string(i) +
                                 " lists itself as a neighbour (neighbour " + std::to_string(k) +
                                 "); periodic images must be separate ghost atoms");
            }
        }
    }
}

CompressedHostNeighbors::CompressedHostNeighbors(int64_t n_total, const double* positions,
                                                 const int32_t* numbers, int64_t n_centers,
                                                 const int32_t* centers, const int64_t* offsets,
                                                 int64_t n_neighbors, const int32_t* neighbors) {
    if (n_total < 0 || n_centers < 0 || n_neighbors < 0) {
        throw InputError("host neighbour list: negative array length");
    }
    check_offsets(n_centers, offsets, n_neighbors);
    counts_.assign(static_cast<size_t>(n_total), 0);
    rows_.assign(static_cast<size_t>(n_total), nullptr);
    for (int64_t c = 0; c < n_centers; ++c) {
        const int64_t i = centers[c];
        if (i < 0 || i >= n_total) continue;  // reported by check_host_neighbors below
        counts_[i] = static_cast<int32_t>(offsets[c + 1] - offsets[c]);
        rows_[i] = neighbors + offsets[c];
    }
    host_.n_total = n_total;
    host_.positions = positions;
    host_.numbers = numbers;
    host_.n_centers = n_centers;
    host_.centers = centers;
    host_.counts = counts_.data();
    host_.neighbors = rows_.data();
    check_host_neighbors(host_);
}

}  // namespace bpfast
