#include "bpfast/atom_elements.hpp"

#include <string>

#include "bpfast/elements.hpp"
#include "bpfast/errors.hpp"

namespace bpfast {
namespace {

[[noreturn]] void throw_unknown(const Potential& potential, const int32_t* numbers, int64_t i,
                                const char* model, const std::string& role) {
    std::string known;
    for (const auto& s : potential.spec().elements) known += (known.empty() ? "" : ", ") + s;
    const int z = numbers[i];
    const std::string name = z >= 1 && z <= kMaxAtomicNumber ? element_symbol(z) : "?";
    throw UnknownElementError("atom " + std::to_string(i) + role + " is " + name + " (Z=" +
                              std::to_string(z) + "), which " + model +
                              " does not describe (elements: " + known + ")");
}

}  // namespace

std::vector<int> atom_elements(const Potential& potential, const int32_t* numbers,
                               int64_t n_total, const HostNeighbors* host, const char* model) {
    std::vector<int> element(n_total);
    bool all_known = true;
    for (int64_t i = 0; i < n_total; ++i) {
        element[i] = potential.element_index(numbers[i]);
        all_known = all_known && element[i] >= 0;
    }
    if (all_known) return element;
    if (host == nullptr) {
        for (int64_t i = 0; i < n_total; ++i) {
            if (element[i] < 0) throw_unknown(potential, numbers, i, model, "");
        }
    }
    for (int64_t c = 0; c < host->n_centers; ++c) {
        const int64_t i = host->centers[c];
        if (element[i] < 0) throw_unknown(potential, numbers, i, model, " (a centre)");
        const int32_t* row = host->neighbors[i];
        for (int32_t k = 0; k < host->counts[i]; ++k) {
            const int64_t j = row[k] & host->index_mask;
            if (element[j] < 0) {
                throw_unknown(potential, numbers, j, model,
                              " (a neighbour of centre " + std::to_string(i) + ")");
            }
        }
    }
    return element;
}

}  // namespace bpfast
