#include "bpfast/model.hpp"

#include <algorithm>

#include "bpfast/errors.hpp"

namespace bpfast {

Model::Model(const PotentialSpec& spec)
    : mean_energy(spec.mean_energy), conv_energy(spec.conv_energy) {
    const size_t nel = spec.elements.size();
    if (spec.symmetry_functions.size() != nel || spec.statistics.size() != nel ||
        spec.networks.size() != nel || spec.atom_energy.size() != nel) {
        throw InputError("inconsistent potential specification: per-element data missing");
    }
    elements.reserve(nel);
    for (size_t e = 0; e < nel; ++e) {
        const NetworkSpec& net = spec.networks[e];
        elements.push_back(ElementModel{
            Descriptor(spec.symmetry_functions[e], spec.cutoff_type, spec.cutoff_alpha),
            Scaling(spec.scaling_mode, spec.scale_min, spec.scale_max, spec.statistics[e]),
            Network(net.sizes, net.activations, spec.normalize_nodes, net.parameters),
            {},
            spec.atom_energy[e]});
        ElementModel& em = elements.back();
        cutoff = std::max(cutoff, em.descriptor.cutoff());
        em.input_gradient_scale.resize(em.scaling.size());
        for (int s = 0; s < em.scaling.size(); ++s) {
            em.input_gradient_scale[s] = em.scaling.factor(s) / spec.conv_energy;
        }
    }
}

ExtrapolationCounts::ExtrapolationCounts(const Model& model)
    : per_function(model.element_count()), atoms(model.element_count(), 0) {
    for (int e = 0; e < model.element_count(); ++e) {
        per_function[e].assign(model.elements[e].descriptor.size(), 0);
    }
}

void ExtrapolationCounts::count(const Model& model, int e, const double* g) {
    const Scaling& sc = model.elements[e].scaling;
    bool outside = false;
    for (int s = 0; s < sc.size(); ++s) {
        if (sc.extrapolates(s, g[s])) {
            ++per_function[e][s];
            outside = true;
        }
    }
    if (outside) ++atoms[e];
}

void ExtrapolationCounts::add(const ExtrapolationCounts& other) {
    for (size_t e = 0; e < per_function.size(); ++e) {
        atoms[e] += other.atoms[e];
        for (size_t s = 0; s < per_function[e].size(); ++s) {
            per_function[e][s] += other.per_function[e][s];
        }
    }
}

}  // namespace bpfast
