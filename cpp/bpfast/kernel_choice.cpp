#include "bpfast/kernel_choice.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "bpfast/kernel_options.hpp"
#include "bpfast/simd.hpp"

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#endif

namespace bpfast {

namespace {

std::string describe(const CpuId& cpu) {
    if (cpu.vendor.empty()) return "CPU not identified";
    char text[96];
    std::snprintf(text, sizeof text, "%s family 0x%x model %d", cpu.vendor.c_str(), cpu.family,
                  cpu.model);
    return text;
}

/// 8 where this build has the wide kernels and the CPU is x86-64-v4, else 4.
int widest_lanes() {
#if BPFAST_WIDE_KERNELS
    return __builtin_cpu_supports("x86-64-v4") ? 8 : 4;
#else
    return 4;
#endif
}

}  // namespace

CpuId cpu_id() {
    CpuId cpu;
#if defined(__x86_64__) && defined(__GNUC__)
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (!__get_cpuid(0, &a, &b, &c, &d)) return cpu;
    char vendor[13] = {};
    std::memcpy(vendor, &b, 4);
    std::memcpy(vendor + 4, &d, 4);
    std::memcpy(vendor + 8, &c, 4);
    cpu.vendor = vendor;
    if (__get_cpuid(0x80000000, &a, &b, &c, &d) && a >= 0x80000004) {
        char brand[49] = {};
        for (unsigned leaf = 0; leaf < 3; ++leaf) {
            __get_cpuid(0x80000002 + leaf, &a, &b, &c, &d);
            const unsigned regs[4] = {a, b, c, d};
            std::memcpy(brand + 16 * leaf, regs, 16);
        }
        cpu.brand = brand;
        cpu.brand.erase(0, cpu.brand.find_first_not_of(' '));
        cpu.brand.erase(cpu.brand.find_last_not_of(' ') + 1);
    }
    if (!__get_cpuid(1, &a, &b, &c, &d)) return cpu;
    const int base_family = (a >> 8) & 0xF, base_model = (a >> 4) & 0xF;
    cpu.family = base_family == 0xF ? base_family + static_cast<int>((a >> 20) & 0xFF) : base_family;
    cpu.model = (base_family == 0x6 || base_family == 0xF)
                    ? base_model + static_cast<int>(((a >> 16) & 0xF) << 4)
                    : base_model;
#endif
    return cpu;
}

KernelChoice choose_kernel_width(const CpuId& cpu, int widest, const char* forced) {
    KernelChoice k;
    k.cpu = cpu;
    k.widest = widest == 8 ? 8 : 4;
    const std::string env = forced ? forced : "";
    if (env == "4" || env == "8") {
        k.width = k.scan_width = env == "8" ? k.widest : 4;
        k.reason = "BPFAST_SIMD_WIDTH=" + env;
        if (env == "8" && k.widest < 8) k.reason += ", but this CPU or build has no 8-lane kernels";
        return k;
    }
    if (!env.empty()) {
        k.env_error = "BPFAST_SIMD_WIDTH must be 4 or 8 (or unset for the automatic choice), not '" +
                      env + "'";
    }
    k.scan_width = k.widest;
    if (k.widest < 8) {
        k.width = 4;
        k.reason = "no 8-lane kernels: the CPU (" + describe(cpu) +
                   ") or the build lacks AVX-512 (x86-64-v4)";
    } else {
        k.width = 8;
        k.reason = describe(cpu) + " has AVX-512 (x86-64-v4): 8 lanes";
    }
    return k;
}

const KernelChoice& kernel_choice() {
    static const KernelChoice choice =
        choose_kernel_width(cpu_id(), widest_lanes(), std::getenv("BPFAST_SIMD_WIDTH"));
    return choice;
}

int scan_lanes(const KernelOptions& options) {
    switch (options.simd_width) {
        case 4: return 4;
        case 8: return kernel_choice().widest;
        default: return kernel_choice().scan_width;
    }
}

}  // namespace bpfast
