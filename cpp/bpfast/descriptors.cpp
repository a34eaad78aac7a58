#include "bpfast/descriptors.hpp"

#include "bpfast/threading.hpp"

namespace bpfast {

namespace {
struct DescriptorScratch {
    EnvironmentBuffers environment;
    DescriptorWorkspace descriptor;
    ExtrapolationCounts counts;
    explicit DescriptorScratch(const Model& model) : counts(model) {}
};
}  // namespace

DescriptorTable compute_descriptors(const Evaluation& ev, bool scaled,
                                    ExtrapolationCounts& counts) {
    const Centres& centres = ev.centres;
    const int nel = ev.model.element_count();
    // The centres of each element take a contiguous block of rows.
    DescriptorTable table;
    table.atoms.resize(nel);
    std::vector<int64_t> row(centres.n_total, -1);
    for (int64_t c = 0; c < centres.count; ++c) {
        const int64_t i = centres.atom(c);
        std::vector<int64_t>& members = table.atoms[centres.element[i]];
        row[i] = static_cast<int64_t>(members.size());
        members.push_back(i);
    }
    table.values.resize(nel);
    for (int e = 0; e < nel; ++e) {
        table.values[e].resize(table.atoms[e].size(), ev.model.elements[e].descriptor.size());
    }
    std::vector<DescriptorScratch> scratch(ev.threads, DescriptorScratch(ev.model));
#pragma omp parallel num_threads(ev.threads)
    {
        DescriptorScratch& ts = scratch[thread_id()];
#pragma omp for schedule(dynamic, 16)
        for (int64_t c = 0; c < centres.count; ++c) {
            const int64_t i = centres.atom(c);
            const int e = centres.element[i];
            const ElementModel& em = ev.model.elements[e];
            double* g = table.values[e].data() + row[i] * table.values[e].cols();
            const NeighborEnv env = ev.environment(i, ts.environment);
            em.descriptor.values(env, g, ts.descriptor, ev.kernels);
            ts.counts.count(ev.model, e, g);
            if (scaled) em.scaling.apply(g, g);
        }
    }
    for (const DescriptorScratch& ts : scratch) counts.add(ts.counts);
    return table;
}

}  // namespace bpfast
