// Entry points of the Gaussian angular kernel (types 3, 9, 13): the kernel and its
// formulas are in sf_gaussian_angular_kernel.hpp, its gradient pass in
// sf_gaussian_angular_gradient.hpp; each entry point compiles them for its instruction
// set.
#include "bpfast/sf_gaussian_angular.hpp"

#include "bpfast/sf_gaussian_angular_gradient.hpp"

namespace bpfast {
namespace {

using gaussian_kernel::GaussianAngularKernel;

template <int W>
inline void gaussian_angular(bool gradient, const sf::AngularGroup& g, size_t group,
                             const CutoffFunction& cutoff, const sf::KernelIO& io,
                             GaussianAngularScratch& s, PairTape& tape, const KernelOptions& k) {
    if (gradient) {
        if (g.uses_jk) {
            GaussianAngularKernel<true, true, W>(g, group, cutoff, io, s, tape, k).run();
        } else {
            GaussianAngularKernel<true, false, W>(g, group, cutoff, io, s, tape, k).run();
        }
    } else if (g.uses_jk) {
        GaussianAngularKernel<false, true, W>(g, group, cutoff, io, s, tape, k).run();
    } else {
        GaussianAngularKernel<false, false, W>(g, group, cutoff, io, s, tape, k).run();
    }
}

}  // namespace

BPFAST_KERNEL void gaussian_angular_narrow(bool gradient, const sf::AngularGroup& g, size_t group,
                                           const CutoffFunction& cutoff, const sf::KernelIO& io,
                                           GaussianAngularScratch& scratch, PairTape& tape,
                                           const KernelOptions& kernels) {
    gaussian_angular<4>(gradient, g, group, cutoff, io, scratch, tape, kernels);
}

#if BPFAST_WIDE_KERNELS
BPFAST_WIDE_KERNEL void gaussian_angular_wide(bool gradient, const sf::AngularGroup& g,
                                              size_t group, const CutoffFunction& cutoff,
                                              const sf::KernelIO& io,
                                              GaussianAngularScratch& scratch, PairTape& tape,
                                              const KernelOptions& kernels) {
    gaussian_angular<8>(gradient, g, group, cutoff, io, scratch, tape, kernels);
}
#else
void gaussian_angular_wide(bool gradient, const sf::AngularGroup& g, size_t group,
                           const CutoffFunction& cutoff, const sf::KernelIO& io,
                           GaussianAngularScratch& scratch, PairTape& tape,
                           const KernelOptions& kernels) {
    // never chosen: kernel_lanes() is 4 without wide kernels
    gaussian_angular_narrow(gradient, g, group, cutoff, io, scratch, tape, kernels);
}
#endif

}  // namespace bpfast
