#include "bpfast/energies.hpp"

#include <algorithm>
#include <vector>

#include "bpfast/threading.hpp"

namespace bpfast {

void evaluate_energies(const Evaluation& ev, const DescriptorTable& inputs, bool per_atom,
                       Result& res) {
    constexpr int64_t kBatch = 256;
    const int nel = ev.model.element_count();
    struct Batch {
        int element;
        int64_t begin, end;  // rows
    };
    std::vector<Batch> batches;
    for (int e = 0; e < nel; ++e) {
        const int64_t rows = static_cast<int64_t>(inputs.atoms[e].size());
        for (int64_t b = 0; b < rows; b += kBatch) {
            batches.push_back({e, b, std::min(rows, b + kBatch)});
        }
    }
    std::vector<double> nn_energy(ev.centres.n_total, 0.0);
    // One workspace per thread and element (Network::evaluate keeps its matrices there).
    std::vector<std::vector<NetworkWorkspace>> workspaces(ev.threads,
                                                          std::vector<NetworkWorkspace>(nel));
#pragma omp parallel num_threads(ev.threads)
    {
        std::vector<NetworkWorkspace>& ws = workspaces[thread_id()];
        std::vector<double> energy(kBatch);
#pragma omp for schedule(dynamic, 1)
        for (int64_t k = 0; k < static_cast<int64_t>(batches.size()); ++k) {
            const Batch& b = batches[k];
            const RowMatrix& x = inputs.values[b.element];
            const int rows = static_cast<int>(b.end - b.begin);
            ev.model.elements[b.element].network.evaluate(x.data() + b.begin * x.cols(), rows,
                                                          energy.data(), ws[b.element]);
            const std::vector<int64_t>& atoms = inputs.atoms[b.element];
            for (int r = 0; r < rows; ++r) nn_energy[atoms[b.begin + r]] = energy[r];
        }
    }
    set_energies(ev, nn_energy.data(), per_atom, res);
}

}  // namespace bpfast
