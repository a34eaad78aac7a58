// Energies without forces: the networks of each element evaluated on batches of
// descriptor rows (matrix products), in parallel over the batches.
#pragma once

#include "bpfast/descriptors.hpp"

namespace bpfast {

/// Sets Result::energy (and Result::energies, sized n_total, if `per_atom`) from the
/// scaled descriptors of all centres.
void evaluate_energies(const Evaluation& ev, const DescriptorTable& inputs, bool per_atom,
                       Result& res);

}  // namespace bpfast
