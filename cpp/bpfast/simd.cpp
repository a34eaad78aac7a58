#include "bpfast/simd.hpp"

#include <atomic>
#include <string>

#include "bpfast/errors.hpp"

namespace bpfast {
namespace {
std::atomic<int> forced_width{0};

bool cpu_has_wide_kernels() {
#if BPFAST_WIDE_KERNELS
    static const bool has = __builtin_cpu_supports("x86-64-v4");
    return has;
#else
    return false;
#endif
}
}  // namespace

void set_simd_width(int lanes) {
    if (lanes != 0 && lanes != 4 && lanes != 8) {
        throw InputError("SIMD width must be 0 (automatic), 4 or 8, not " + std::to_string(lanes));
    }
    forced_width.store(lanes);
}

int simd_width() {
    const int forced = forced_width.load(std::memory_order_relaxed);
    if (!cpu_has_wide_kernels()) return 4;
    return forced == 4 ? 4 : 8;
}

}  // namespace bpfast
