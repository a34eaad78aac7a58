// Short fixed-width vectors of doubles (GCC/Clang vector extensions) for kernels whose
// loop bodies are too branchy or too long for the auto-vectoriser: the angular
// symmetry-function kernels keep several partial sums per lane in registers. The
// compiler lowers `vd` to whatever the target has (one AVX register, two SSE ones).
#pragma once

#include <cstdint>
#include <type_traits>

#include "bpfast/fastmath.hpp"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"  // only inlined helpers take vectors by value
#endif

// Kernel entry points are compiled twice on x86-64 with GCC: for the baseline ISA and for
// x86-64-v3 (AVX2 + FMA), chosen at load time by the CPU. `flatten` inlines the kernels
// into each clone so that they are vectorised for its ISA. A build for the host CPU
// (-march=native with AVX2) needs no clones.
#if defined(BPFAST_KERNEL)
// set by the build (tests of the baseline code path)
#elif defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__AVX2__)
#define BPFAST_KERNEL __attribute__((target_clones("arch=x86-64-v3", "default"), flatten))
#else
#define BPFAST_KERNEL __attribute__((flatten))
#endif

namespace bpfast::simd {

namespace detail = bpfast::detail;

#ifndef BPFAST_SIMD_WIDTH
#define BPFAST_SIMD_WIDTH 4
#endif
constexpr int kWidth = BPFAST_SIMD_WIDTH;
using vd = double __attribute__((vector_size(8 * kWidth)));
using vl = std::int64_t __attribute__((vector_size(8 * kWidth)));

inline vd splat(double a) { return vd{} + a; }
/// m ? a : b per lane (m from a comparison: all bits set or none).
inline vd select(vl m, vd a, vd b) { return m ? a : b; }
/// a[i[0]], ..., a[i[kWidth - 1]].
inline vd gather(const double* a, const int* i) {
    vd v;
    for (int l = 0; l < kWidth; ++l) v[l] = a[i[l]];
    return v;
}
/// Unaligned load and store of kWidth consecutive doubles (typed as doubles, so that the
/// compiler knows they alias nothing else).
using vd_unaligned = double __attribute__((vector_size(8 * kWidth), aligned(8)));
inline vd load(const double* a) { return *reinterpret_cast<const vd_unaligned*>(a); }
inline void store(double* a, vd v) { *reinterpret_cast<vd_unaligned*>(a) = v; }
/// 0, 1, ..., kWidth - 1.
inline vd iota() {
    vd v;
    for (int l = 0; l < kWidth; ++l) v[l] = l;
    return v;
}
inline vd sqrt(vd a) {
    vd r;
    for (int l = 0; l < kWidth; ++l) r[l] = __builtin_sqrt(a[l]);
    return r;
}
inline double sum(vd a) {
    double s = 0.0;
    for (int l = 0; l < kWidth; ++l) s += a[l];
    return s;
}

/// Writes base + l for every lane l where m is set to out[0], out[1], ... and returns how
/// many; out needs room for kWidth entries. (A table of the 16 lane patterns for 4 lanes.)
inline int compress_indices(int* out, int base, vl m) {
    if constexpr (kWidth == 4) {
        alignas(16) static constexpr int kLanes[16][4] = {
            {0, 0, 0, 0}, {0, 0, 0, 0}, {1, 0, 0, 0}, {0, 1, 0, 0}, {2, 0, 0, 0}, {0, 2, 0, 0},
            {1, 2, 0, 0}, {0, 1, 2, 0}, {3, 0, 0, 0}, {0, 3, 0, 0}, {1, 3, 0, 0}, {0, 1, 3, 0},
            {2, 3, 0, 0}, {0, 2, 3, 0}, {1, 2, 3, 0}, {0, 1, 2, 3}};
        static constexpr int kCount[16] = {0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4};
        using vi = int __attribute__((vector_size(16)));
        using vi_unaligned = int __attribute__((vector_size(16), aligned(4)));
        const vl b = m & vl{1, 2, 4, 8};
        const int bits = static_cast<int>(b[0] | b[1] | b[2] | b[3]);
        *reinterpret_cast<vi_unaligned*>(out) =
            vi{base, base, base, base} + *reinterpret_cast<const vi*>(kLanes[bits]);
        return kCount[bits];
    } else {
        int n = 0;
        for (int l = 0; l < kWidth; ++l) {
            out[n] = base + l;
            n += m[l] != 0;
        }
        return n;
    }
}

/// Calls body(std::integral_constant<int, N>{}) with N = min(n, Max), 1 <= n, Max <= 8: a
/// runtime count turned into a compile-time one (for sums kept in registers).
template <int Max, class Body>
inline void with_count(int n, Body&& body) {
    static_assert(Max >= 1 && Max <= 8, "with_count dispatches 1 ... 8");
    const auto call = [&](auto k) {
        if constexpr (decltype(k)::value <= Max) body(k);
    };
    switch (n < Max ? n : Max) {
        case 1: call(std::integral_constant<int, 1>{}); break;
        case 2: call(std::integral_constant<int, 2>{}); break;
        case 3: call(std::integral_constant<int, 3>{}); break;
        case 4: call(std::integral_constant<int, 4>{}); break;
        case 5: call(std::integral_constant<int, 5>{}); break;
        case 6: call(std::integral_constant<int, 6>{}); break;
        case 7: call(std::integral_constant<int, 7>{}); break;
        default: call(std::integral_constant<int, 8>{}); break;
    }
}

/// exp(x) per lane, the same algorithm and accuracy (~1 ulp) as the scalar vexp.
inline vd vexp(vd x) {
    x = select(x < -708.0, splat(-708.0), x);
    x = select(x > 709.0, splat(709.0), x);
    const vd t = x * detail::kLog2e + detail::kExpShifter;
    const vd n = t - detail::kExpShifter;
    const vd r = (x - n * detail::kLn2Hi) - n * detail::kLn2Lo;
    const std::int64_t shifter_bits = __builtin_bit_cast(std::int64_t, detail::kExpShifter);
    const vl scale = ((vl)t - shifter_bits + 1023) << 52;  // 2^n, n from t's low bits
    return detail::exp_reduced(r) * (vd)scale;
}

/// b^n per lane for an integer n >= 0 (binary powering; straight-line code for n <= 8).
inline __attribute__((always_inline)) vd ipow(vd b, int n) {
    switch (n) {
        case 0: return splat(1.0);
        case 1: return b;
        case 2: return b * b;
        case 3: return b * b * b;
        case 4: { const vd b2 = b * b; return b2 * b2; }
        case 5: { const vd b2 = b * b; return b2 * b2 * b; }
        case 6: { const vd b3 = b * b * b; return b3 * b3; }
        case 7: { const vd b3 = b * b * b; return b3 * b3 * b; }
        case 8: { const vd b2 = b * b, b4 = b2 * b2; return b4 * b4; }
        default: break;
    }
    vd result = splat(1.0);
    while (n > 0) {
        if (n & 1) result *= b;
        n >>= 1;
        if (n > 0) b *= b;
    }
    return result;
}

}  // namespace bpfast::simd
