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
    int width = 4;          ///< lanes of the automatic choice for the Gaussian angular and
                            ///< radial kernels: 4 or 8
    int compact_width = 4;  ///< lanes of the automatic choice for the compact angular kernels
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
/// (nullptr or empty: unset), which sets every width. Gaussian angular and radial kernels,
/// and the neighbour scan: the widest (8 lanes measured faster on Intel and on Zen 4; the
/// scan keeps the same pairs in the same order at either width). Compact (polynomial)
/// angular kernels: 4 lanes where 8 are missing or measured slower (AMD family 0x19,
/// Zen 4: 512-bit operations run as two 256-bit halves, and the short partner ranges of
/// the radial windows leave more of 8 lanes empty), else the widest.
KernelChoice choose_kernel_width(const CpuId& cpu, int widest, const char* forced);
/// choose_kernel_width for this CPU, this build and BPFAST_SIMD_WIDTH as it was when
/// first called (the bindings call it when the module loads); decided once per process.
const KernelChoice& kernel_choice();

struct KernelOptions;
/// Lanes of the neighbour candidate scan with these options: 4 or 8 (simd_width 0: the
/// automatic scan_width). (kernel_choice.cpp)
int scan_lanes(const KernelOptions& options);

}  // namespace bpfast
