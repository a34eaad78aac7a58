#include "bpfast/evaluation.hpp"

#include "bpfast/potential.hpp"

namespace bpfast {

void set_energies(const Evaluation& ev, const double* nn_energy, bool per_atom, Result& res) {
    double total = 0.0;
    for (int64_t c = 0; c < ev.centres.count; ++c) {
        const int64_t i = ev.centres.atom(c);
        const double ei = ev.model.atomic_energy(ev.centres.element[i], nn_energy[i]);
        total += ei;
        if (per_atom) res.energies[i] = ei;
    }
    res.energy = total;
}

}  // namespace bpfast
