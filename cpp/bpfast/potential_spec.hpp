// The plain data that define a potential, as the n2p2 reader produces them and
// Potential is built from (no evaluator code here).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "bpfast/activation.hpp"
#include "bpfast/cutoff.hpp"
#include "bpfast/scaling.hpp"
#include "bpfast/symmetry_functions.hpp"

namespace bpfast {

/// Network architecture and parameters of one element, as read from the files.
struct NetworkSpec {
    std::vector<int> sizes;                ///< input (n_SF), hidden..., output (1)
    std::vector<Activation> activations;   ///< one per non-input layer
    std::vector<double> parameters;        ///< n2p2 order
};

/// Weights and biases of a network with these neurons per layer (input to output).
inline size_t parameter_count(const std::vector<int>& sizes) {
    size_t count = 0;
    for (size_t l = 1; l < sizes.size(); ++l) {
        count += static_cast<size_t>(sizes[l - 1]) * sizes[l] + sizes[l];
    }
    return count;
}

/// Everything that defines a potential; plain data produced by n2p2_io.
struct PotentialSpec {
    std::string directory;
    std::vector<std::string> elements;  ///< sorted by atomic number (element index order)
    std::vector<int> atomic_numbers;
    CutoffType cutoff_type = CutoffType::Hard;
    double cutoff_alpha = 0.0;
    std::vector<std::vector<SymmetryFunctionSpec>> symmetry_functions;  ///< per element, sorted
    ScalingMode scaling_mode = ScalingMode::None;
    double scale_min = 0.0, scale_max = 1.0;
    std::vector<std::vector<SFStatistics>> statistics;  ///< per element, per SF
    bool normalize_nodes = false;
    std::vector<NetworkSpec> networks;  ///< per element
    bool normalized = false;            ///< mean_energy / conv_energy / conv_length given
    double mean_energy = 0.0, conv_energy = 1.0, conv_length = 1.0;
    std::vector<double> atom_energy;  ///< per element offset (physical units)
};

}  // namespace bpfast
