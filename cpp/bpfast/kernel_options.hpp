// Choices of the kernels' code paths, per call. The defaults are what every normal call
// uses; the other values exist so that tests can run each code path (both kernel widths,
// recorded or recomputed pair data, sums in short runs) and check that they agree.
#pragma once

#include <cstddef>

namespace bpfast {

struct KernelOptions {
    /// Lanes (doubles per vector) of the kernels that come in two widths (angular
    /// symmetry functions, neighbour scan): 0 = the automatic choice for this CPU, per
    /// kernel (kernel_choice.hpp: 8 where the CPU is x86-64-v4 and the build has the wide
    /// kernels; BPFAST_SIMD_WIDTH overrides),
    /// 4 forces four lanes, 8 asks for eight (four where the CPU or the build lacks them).
    int simd_width = 0;
    /// Doubles per thread of per-pair data that the values pass of the angular symmetry
    /// functions records for the gradient pass of the same atom (default 2^21, 16 MB);
    /// a group whose data could take more, or that comes after the tape is full, is
    /// recomputed by the gradient pass instead. 0 records nothing.
    std::size_t pair_tape_limit = std::size_t{1} << 21;
    /// Doubles per thread of per-pair data of a Gaussian angular group that the values
    /// pass keeps before adding them into the symmetry-function sums (default 2^21,
    /// 16 MB); at least one central pair partner's at a time. Bounds the scratch memory
    /// however many neighbours an atom has. The runs do not depend on whether the data
    /// are recorded.
    std::size_t angular_sum_run = std::size_t{1} << 21;
};

/// Throws InputError unless simd_width is 0, 4 or 8. (simd.cpp)
void check_kernel_options(const KernelOptions& options);
/// Lanes that the angular kernels run with these options: 4 or 8 (the neighbour scan's:
/// scan_lanes in kernel_choice.hpp). (simd.cpp)
int kernel_lanes(const KernelOptions& options);
/// The lanes of the automatic choice for the angular kernels on this CPU:
/// kernel_choice().width. (simd.cpp)
int best_simd_width();

}  // namespace bpfast
