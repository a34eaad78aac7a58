#include <string>

#include "bpfast/errors.hpp"
#include "bpfast/kernel_choice.hpp"
#include "bpfast/kernel_options.hpp"

namespace bpfast {

int best_simd_width() { return kernel_choice().width; }

void check_kernel_options(const KernelOptions& options) {
    const int lanes = options.simd_width;
    if (lanes != 0 && lanes != 4 && lanes != 8) {
        throw InputError("SIMD width must be 0 (automatic), 4 or 8, not " + std::to_string(lanes));
    }
}

int kernel_lanes(const KernelOptions& options) {
    switch (options.simd_width) {
        case 4: return 4;
        case 8: return kernel_choice().widest;
        default: return kernel_choice().width;
    }
}

}  // namespace bpfast
