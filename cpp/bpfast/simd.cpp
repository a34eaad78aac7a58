#include "bpfast/simd.hpp"

#include <string>

#include "bpfast/errors.hpp"
#include "bpfast/kernel_options.hpp"

namespace bpfast {

int best_simd_width() {
#if BPFAST_WIDE_KERNELS
    static const bool wide = __builtin_cpu_supports("x86-64-v4");
    return wide ? 8 : 4;
#else
    return 4;
#endif
}

void check_kernel_options(const KernelOptions& options) {
    const int lanes = options.simd_width;
    if (lanes != 0 && lanes != 4 && lanes != 8) {
        throw InputError("SIMD width must be 0 (automatic), 4 or 8, not " + std::to_string(lanes));
    }
}

int kernel_lanes(const KernelOptions& options) {
    return options.simd_width == 4 ? 4 : best_simd_width();
}

}  // namespace bpfast
