// The per-element parts of a potential that an evaluation uses: symmetry functions,
// scaling and network of each element, and the conversion of network outputs to
// physical energies. Built once from a PotentialSpec; immutable.
#pragma once

#include <cstdint>
#include <vector>

#include "bpfast/network.hpp"
#include "bpfast/potential_spec.hpp"
#include "bpfast/scaling.hpp"
#include "bpfast/symmetry_functions.hpp"

namespace bpfast {

struct ElementModel {
    Descriptor descriptor;
    Scaling scaling;
    Network network;
    /// Per SF: scaling factor / conv_energy, which turns the network's gradient dE_nn/dx
    /// into dE/dG of the raw SFs (a product instead of a division).
    std::vector<double> input_gradient_scale;
    double atom_energy = 0.0;  ///< offset of the element (physical units)
};

struct Model {
    explicit Model(const PotentialSpec& spec);

    std::vector<ElementModel> elements;  ///< by element index
    double mean_energy = 0.0, conv_energy = 1.0;
    double cutoff = 0.0;  ///< largest symmetry-function cutoff

    int element_count() const { return static_cast<int>(elements.size()); }
    /// Physical energy of an atom of element e whose network returned `nn`.
    double atomic_energy(int e, double nn) const {
        return nn / conv_energy + mean_energy + elements[e].atom_energy;
    }
};

/// Atoms of element e whose raw SF s left the training range (per element and SF), and
/// atoms with any such SF (per element).
struct ExtrapolationCounts {
    std::vector<std::vector<int64_t>> per_function;
    std::vector<int64_t> atoms;

    explicit ExtrapolationCounts(const Model& model);
    /// Counts one atom of element e with raw SF values g.
    void count(const Model& model, int e, const double* g);
    /// Adds another's counts to these.
    void add(const ExtrapolationCounts& other);
};

}  // namespace bpfast
