// What the evaluation passes of one call share: the model, the atoms and their centres,
// where environments come from, and the thread count. Potential::evaluate builds it and
// runs one of the passes: forces.hpp (energy with forces and/or virial, atom by atom),
// energies.hpp (energies only, batched networks) or descriptors.hpp (SF values only).
#pragma once

#include <cstdint>

#include "bpfast/environment.hpp"
#include "bpfast/kernel_options.hpp"
#include "bpfast/model.hpp"

namespace bpfast {

struct Result;

/// Atoms 0 .. n_total-1 with their element indices; the centres are the atoms whose
/// energies are computed (all atoms, or a host code's list).
struct Centres {
    int64_t n_total = 0;
    const int* element = nullptr;      ///< element index of every atom, n_total
    int64_t count = 0;                 ///< number of centres
    const int32_t* index = nullptr;    ///< centre atom indices; null: 0 .. count-1
    int64_t atom(int64_t c) const { return index ? index[c] : c; }
};

struct Evaluation {
    const Model& model;
    Centres centres;
    const Environments& environments;
    const KernelOptions& kernels;
    int threads = 1;

    /// The environment of centre atom i, within its element's cutoff.
    NeighborEnv environment(int64_t i, EnvironmentBuffers& buffers) const {
        const double rc = model.elements[centres.element[i]].descriptor.cutoff();
        return environments.fill(i, rc, centres.element, buffers);
    }
};

/// Result::energy (summed in centre order) and, if per_atom, Result::energies from the
/// network outputs nn_energy (indexed by atom).
void set_energies(const Evaluation& ev, const double* nn_energy, bool per_atom, Result& res);

}  // namespace bpfast
