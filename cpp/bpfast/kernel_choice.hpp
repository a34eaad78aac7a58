// The automatic choice of the kernels' SIMD width (4 or 8 lanes) on this CPU, and why.
// A fixed rule on the CPU's vendor and family rather than a timing at start-up: the two
// widths sum in different orders (results agree to ~1e-13, not bit for bit), so a choice
// that could change from run to run with the machine's load would make results change.
#pragma once

#include <string>

namespace bpfast {

/// The CPU as cpuid reports it (x86-64; empty vendor elsewhere).
struct CpuId {
    std::string vendor;  ///< "GenuineIntel", "AuthenticAMD", ...
    int family = 0;      ///< display family (base + extended)
    int model = 0;       ///< display model (extended model in the high nibble)
    std::string brand;   ///< the brand string ("model name" of /proc/cpuinfo)
};

struct KernelChoice {
    int width = 4;        ///< lanes of the automatic choice for the angular kernels: 4 or 8
    int scan_width = 4;   ///< lanes of the automatic choice for the neighbour scan: 4 or 8
    int widest = 4;       ///< widest lanes this CPU and build can run: 4 or 8
    std::string reason;   ///< why `width`, in one line
    CpuId cpu;
    /// Non-empty when BPFAST_SIMD_WIDTH holds something other than 4, 8 or nothing: the
    /// variable is then ignored and this says what was expected.
    std::string env_error;
};

/// The CPU this process runs on.
CpuId cpu_id();
/// The rule: `widest` lanes available (4 or 8), `forced` the value of BPFAST_SIMD_WIDTH
/// (nullptr or empty: unset), which sets both widths. Otherwise both are the widest: 8
/// lanes were measured faster or as fast on Intel and on AMD Zen 4 (which runs 512-bit
/// operations as two 256-bit halves); the scan keeps the same pairs in the same order at
/// either width.
KernelChoice choose_kernel_width(const CpuId& cpu, int widest, const char* forced);
/// choose_kernel_width for this CPU, this build and BPFAST_SIMD_WIDTH as it was when
/// first called (the bindings call it when the module loads); decided once per process.
const KernelChoice& kernel_choice();

struct KernelOptions;
/// Lanes of the neighbour candidate scan with these options: 4 or 8 (simd_width 0: the
/// automatic scan_width). (kernel_choice.cpp)
int scan_lanes(const KernelOptions& options);

}  // namespace bpfast
