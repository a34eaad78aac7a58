// Symmetry-function values of all centres, as one matrix per element: the first step of
// the energy-only path (scaled, as network inputs) and the whole of a descriptors-only
// call (raw values).
#pragma once

#include <cstdint>
#include <vector>

#include "bpfast/evaluation.hpp"
#include "bpfast/network.hpp"

namespace bpfast {

struct DescriptorTable {
    /// values[e]: one row per centre of element e (rows in centre order), one column per SF.
    std::vector<RowMatrix> values;
    /// atoms[e][r]: the atom of row r of values[e].
    std::vector<std::vector<int64_t>> atoms;
};

/// The SF values of every centre, raw or (`scaled`) mapped to network inputs; adds the
/// extrapolation counts of the raw values.
DescriptorTable compute_descriptors(const Evaluation& ev, bool scaled,
                                    ExtrapolationCounts& counts);

}  // namespace bpfast
