#include "bpfast/symmetry_functions.hpp"

#include <algorithm>

namespace bpfast {

Descriptor::Descriptor(const std::vector<SymmetryFunctionSpec>& sfs, CutoffType cutoff_type,
                       double cutoff_alpha)
    : groups_(sf::group_symmetry_functions(sfs, cutoff_type, cutoff_alpha)) {}

// Both passes choose the kernels' width; the gradient replays with the width that
// recorded. The narrow entry points are BPFAST_KERNELs (simd.hpp): one clone per
// instruction set.

void Descriptor::values(const NeighborEnv& env, double* G, DescriptorWorkspace& ws,
                        const KernelOptions& kernels) const {
    std::fill(G, G + groups_.size, 0.0);
    const int lanes = kernel_lanes(kernels);
    ws.tape.begin_values(groups_.angular.size(), lanes, ws.record);
    const size_t rows = groups_.cutoffs.size() * static_cast<size_t>(env.count);
    ws.fc.resize(rows);
    ws.dfc.resize(rows);
    const sf::KernelIO io{env, ws.fc.data(), ws.dfc.data(), G, nullptr, nullptr, nullptr, nullptr};
    if (lanes == 8) {
        run_wide(false, io, ws, kernels);
    } else {
        run_narrow(false, io, ws, kernels);
    }
    ws.tape.end_values();
}

void Descriptor::gradient(const NeighborEnv& env, const double* dEdG, double* gx, double* gy,
                          double* gz, DescriptorWorkspace& ws,
                          const KernelOptions& kernels) const {
    const size_t rows = groups_.cutoffs.size() * static_cast<size_t>(env.count);
    ws.fc.resize(rows);
    ws.dfc.resize(rows);
    const sf::KernelIO io{env, ws.fc.data(), ws.dfc.data(), nullptr, dEdG, gx, gy, gz};
    if (ws.tape.gradient_lanes(kernel_lanes(kernels)) == 8) {
        run_wide(true, io, ws, kernels);
    } else {
        run_narrow(true, io, ws, kernels);
    }
    ws.tape.end_gradient();
}

void Descriptor::gradient_members(const NeighborEnv& env, int members, const double* dEdG,
                                  size_t dEdG_stride, double* gx, double* gy, double* gz,
                                  size_t g_stride, DescriptorWorkspace& ws,
                                  const KernelOptions& kernels) const {
    const size_t rows = groups_.cutoffs.size() * static_cast<size_t>(env.count);
    ws.fc.resize(rows);
    ws.dfc.resize(rows);
    const sf::KernelIO io{env,  ws.fc.data(), ws.dfc.data(), nullptr,    dEdG,
                          gx,   gy,           gz,            members,    dEdG_stride,
                          g_stride};
    if (ws.tape.gradient_lanes(kernel_lanes(kernels)) == 8) {
        run_wide(true, io, ws, kernels);
    } else {
        run_narrow(true, io, ws, kernels);
    }
    ws.tape.end_gradient();
}

template <int W>
void Descriptor::run(bool gradient, const sf::KernelIO& io, DescriptorWorkspace& ws,
                     const KernelOptions& kernels) const {
    const NeighborEnv& env = io.env;
    const int m = env.count;
    // Cutoff function values for every distinct r_c, shared by all Gaussian SFs; 0 at and
    // beyond r_c.
    for (size_t s = 0; s < groups_.cutoffs.size(); ++s) {
        const CutoffFunction& cutoff = groups_.cutoffs[s];
        const double rc = cutoff.rc();
        double* fc = ws.fc.data() + s * m;
        double* dfc = ws.dfc.data() + s * m;
        cutoff.evaluate_batch(env.r, m, fc, dfc);
        for (int n = 0; n < m; ++n) {
            const bool inside = env.r[n] < rc;
            fc[n] = inside ? fc[n] : 0.0;
            dfc[n] = inside ? dfc[n] : 0.0;
        }
    }
    if (W == 8) {
        radial_sfs_wide(gradient, groups_, io, ws.radial);
    } else {
        radial_sfs_narrow(gradient, groups_, io, ws.radial);
    }
    for (size_t a = 0; a < groups_.angular.size(); ++a) {
        const sf::AngularGroup& g = groups_.angular[a];
        if (g.compact && W == 8) {
            compact_angular_wide(gradient, g, a, io, ws.compact, ws.tape, kernels);
        } else if (g.compact) {
            compact_angular_narrow(gradient, g, a, io, ws.compact, ws.tape, kernels);
        } else if (W == 8) {
            gaussian_angular_wide(gradient, g, a, groups_.cutoffs[g.slot], io, ws.gaussian, ws.tape,
                                  kernels);
        } else {
            gaussian_angular_narrow(gradient, g, a, groups_.cutoffs[g.slot], io, ws.gaussian,
                                    ws.tape, kernels);
        }
    }
}

BPFAST_KERNEL void Descriptor::run_narrow(bool gradient, const sf::KernelIO& io,
                                          DescriptorWorkspace& ws,
                                          const KernelOptions& kernels) const {
    run<4>(gradient, io, ws, kernels);
}

#if BPFAST_WIDE_KERNELS
BPFAST_WIDE_KERNEL void Descriptor::run_wide(bool gradient, const sf::KernelIO& io,
                                             DescriptorWorkspace& ws,
                                             const KernelOptions& kernels) const {
    run<8>(gradient, io, ws, kernels);
}
#else
void Descriptor::run_wide(bool gradient, const sf::KernelIO& io, DescriptorWorkspace& ws,
                          const KernelOptions& kernels) const {
    run_narrow(gradient, io, ws, kernels);  // never chosen: kernel_lanes() is 4 here
}
#endif

}  // namespace bpfast
