// Short fixed-width vectors of doubles (GCC/Clang vector extensions) for kernels whose
// loop bodies are too branchy or too long for the auto-vectoriser: the angular
// symmetry-function kernels keep several partial sums per lane in registers. The
// compiler lowers a vector to whatever the target has (4 lanes: one AVX register or two
// SSE ones; 8 lanes: one AVX-512 register). The helpers are templates on the vector type
// (default: 4 lanes), so that kernels written for W lanes pick theirs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

#include "bpfast/fastmath.hpp"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"  // only inlined helpers take vectors by value
#endif

// Wide (8-lane, AVX-512) variants of the angular kernels and of the neighbour scan, chosen
// at run time where the CPU is x86-64-v4. The lane count is a template parameter of those
// kernels, so the two widths are different functions and the wide code runs only inside
// the v4 entry points (BPFAST_WIDE_KERNEL; BPFAST_V4 marks their AVX-512 helpers).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(BPFAST_KERNEL) && \
    defined(__AVX512F__) && defined(__AVX512VL__) && defined(__AVX512BW__) && defined(__AVX512DQ__)
// The whole build targets an AVX-512 CPU (BPFAST_NATIVE on one): no target attributes,
// which would clash with the build's wider instruction set when intrinsics are inlined.
#define BPFAST_WIDE_KERNELS 1
#define BPFAST_V4
#define BPFAST_WIDE_KERNEL __attribute__((flatten))
#include <immintrin.h>
#elif defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(BPFAST_KERNEL) && \
    !defined(__AVX2__)
// A portable build: the wide entry points are compiled for x86-64-v4 by attribute.
#define BPFAST_WIDE_KERNELS 1
#define BPFAST_V4 __attribute__((target("arch=x86-64-v4")))
#define BPFAST_WIDE_KERNEL __attribute__((target("arch=x86-64-v4"), flatten))
#include <immintrin.h>
#else
// Built for a CPU without AVX-512 (or not GCC on x86-64): four lanes only.
#define BPFAST_WIDE_KERNELS 0
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

/// Allocator of memory aligned to a cache line (64 bytes). Buffers that kernels read and
/// write in whole vectors at multiples of the vector length (the recorded pair data, the
/// padded network weights) then never have a vector straddle two lines: with 16-byte
/// aligned blocks from malloc, 8-lane (64-byte) accesses always did, and the same run
/// became 13 % slower or faster depending on where malloc put the buffer.
template <class T>
struct CacheAligned {
    using value_type = T;
    static constexpr std::align_val_t kAlign{64};
    CacheAligned() = default;
    template <class U>
    CacheAligned(const CacheAligned<U>&) noexcept {}
    T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlign)); }
    void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, kAlign); }
    template <class U>
    bool operator==(const CacheAligned<U>&) const noexcept { return true; }
    template <class U>
    bool operator!=(const CacheAligned<U>&) const noexcept { return false; }
};
/// std::vector with cache-line aligned storage.
template <class T>
using aligned_vector = std::vector<T, CacheAligned<T>>;

/// Vectors of W doubles, their comparison masks (64-bit integers, all bits set or none)
/// and an unaligned variant for loads and stores.
template <int W>
struct Lanes;
template <>
struct Lanes<4> {
    using vd = double __attribute__((vector_size(32)));
    using vl = std::int64_t __attribute__((vector_size(32)));
    using unaligned = double __attribute__((vector_size(32), aligned(8)));
};
template <>
struct Lanes<8> {
    using vd = double __attribute__((vector_size(64)));
    using vl = std::int64_t __attribute__((vector_size(64)));
    using unaligned = double __attribute__((vector_size(64), aligned(8)));
};
/// Number of lanes of a vector (or mask) type.
template <class V>
constexpr int width_of = static_cast<int>(sizeof(V) / sizeof(double));

#ifndef BPFAST_SIMD_WIDTH
#define BPFAST_SIMD_WIDTH 4
#endif
/// The default width (network, cutoff batches, radial and compact kernels).
constexpr int kWidth = BPFAST_SIMD_WIDTH;
using vd = Lanes<kWidth>::vd;
using vl = Lanes<kWidth>::vl;

template <class V = vd>
inline V splat(double a) { return V{} + a; }
/// m ? a : b per lane (m from a comparison: all bits set or none).
template <class M, class V>
inline V select(M m, V a, V b) { return m ? a : b; }
/// Unaligned load and store of W consecutive doubles (typed as doubles, so that the
/// compiler knows they alias nothing else).
template <class V = vd>
inline V load(const double* a) {
    return *reinterpret_cast<const typename Lanes<width_of<V>>::unaligned*>(a);
}
template <class V>
inline void store(double* a, V v) {
    *reinterpret_cast<typename Lanes<width_of<V>>::unaligned*>(a) = v;
}
/// Lanes 0-3 from lo[0 ... 3] and, with 8 lanes, lanes 4-7 from hi[0 ... 3]: rows of two
/// partners side by side, each half then transposed on its own.
template <class V>
inline V load_halves(const double* lo, const double* hi) {
    if constexpr (width_of<V> == 4) {
        return load<V>(lo);
    } else {
        V v;
        for (int l = 0; l < 4; ++l) {
            v[l] = lo[l];
            v[4 + l] = hi[l];
        }
        return v;
    }
}
/// Adds lanes 4h ... 4h + 3 of v to a[0 ... 3].
template <int H, class V>
inline void add_half(double* a, V v) {
    for (int l = 0; l < 4; ++l) a[l] += v[4 * H + l];
}
#if BPFAST_WIDE_KERNELS
template <>
BPFAST_V4 inline Lanes<8>::vd load_halves<Lanes<8>::vd>(const double* lo, const double* hi) {
    return reinterpret_cast<Lanes<8>::vd>(
        _mm512_insertf64x4(_mm512_castpd256_pd512(_mm256_loadu_pd(lo)), _mm256_loadu_pd(hi), 1));
}
template <>
BPFAST_V4 inline void add_half<0, Lanes<8>::vd>(double* a, Lanes<8>::vd v) {
    const __m256d low = _mm512_castpd512_pd256(reinterpret_cast<__m512d>(v));
    _mm256_storeu_pd(a, _mm256_add_pd(_mm256_loadu_pd(a), low));
}
template <>
BPFAST_V4 inline void add_half<1, Lanes<8>::vd>(double* a, Lanes<8>::vd v) {
    const __m256d high = _mm512_extractf64x4_pd(reinterpret_cast<__m512d>(v), 1);
    _mm256_storeu_pd(a, _mm256_add_pd(_mm256_loadu_pd(a), high));
}
#endif
/// 0, 1, ..., W - 1.
template <class V = vd>
inline V iota() {
    V v;
    for (int l = 0; l < width_of<V>; ++l) v[l] = l;
    return v;
}
template <class V>
inline V sqrt(V a) {
    V r;
    for (int l = 0; l < width_of<V>; ++l) r[l] = __builtin_sqrt(a[l]);
    return r;
}
template <class V>
inline double sum(V a) {
    double s = 0.0;
    for (int l = 0; l < width_of<V>; ++l) s += a[l];
    return s;
}

#if BPFAST_WIDE_KERNELS
/// Writes the lanes of v where k is set to out[0], out[1], ... (in order); out needs room
/// for 8 entries, all of which may be overwritten. The lanes are compressed in a register
/// and stored whole: the compressing store to memory (vpcompressd with a memory operand)
/// is microcoded on AMD Zen 4 and made the 8-lane neighbour scan twice as slow as the
/// 4-lane one there; the register form is fast on Intel and AMD alike.
BPFAST_V4 inline void store_compressed(std::int32_t* out, __mmask8 k, __m256i v) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), _mm256_maskz_compress_epi32(k, v));
}
#endif

/// Writes base + l for every lane l where m is set to out[0], out[1], ... and returns how
/// many; out needs room for W entries. (A table of the 16 lane patterns for 4 lanes;
/// AVX-512's compress and a plain store for 8.)
template <class M>
inline int compress_indices(int* out, int base, M m) {
    if constexpr (width_of<M> == 4) {
        alignas(16) static constexpr int kLanes[16][4] = {
            {0, 0, 0, 0}, {0, 0, 0, 0}, {1, 0, 0, 0}, {0, 1, 0, 0}, {2, 0, 0, 0}, {0, 2, 0, 0},
            {1, 2, 0, 0}, {0, 1, 2, 0}, {3, 0, 0, 0}, {0, 3, 0, 0}, {1, 3, 0, 0}, {0, 1, 3, 0},
            {2, 3, 0, 0}, {0, 2, 3, 0}, {1, 2, 3, 0}, {0, 1, 2, 3}};
        static constexpr int kCount[16] = {0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4};
        using vi = int __attribute__((vector_size(16)));
        using vi_unaligned = int __attribute__((vector_size(16), aligned(4)));
        const M b = m & M{1, 2, 4, 8};
        const int bits = static_cast<int>(b[0] | b[1] | b[2] | b[3]);
        *reinterpret_cast<vi_unaligned*>(out) =
            vi{base, base, base, base} + *reinterpret_cast<const vi*>(kLanes[bits]);
        return kCount[bits];
    } else {
        int n = 0;
        for (int l = 0; l < width_of<M>; ++l) {
            out[n] = base + l;
            n += m[l] != 0;
        }
        return n;
    }
}
#if BPFAST_WIDE_KERNELS
template <>
BPFAST_V4 inline int compress_indices<Lanes<8>::vl>(int* out, int base, Lanes<8>::vl m) {
    const __mmask8 k = _mm512_movepi64_mask(reinterpret_cast<__m512i>(m));
    const __m256i lanes = _mm256_add_epi32(_mm256_set1_epi32(base),
                                           _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    store_compressed(out, k, lanes);
    return __builtin_popcount(k);
}
#endif

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
template <class V>
inline V vexp(V x) {
    using M = decltype(x < x);
    x = select(x < -708.0, splat<V>(-708.0), x);
    x = select(x > 709.0, splat<V>(709.0), x);
    const V t = x * detail::kLog2e + detail::kExpShifter;
    const V n = t - detail::kExpShifter;
    const V r = (x - n * detail::kLn2Hi) - n * detail::kLn2Lo;
    const std::int64_t shifter_bits = __builtin_bit_cast(std::int64_t, detail::kExpShifter);
    const M scale = ((M)t - shifter_bits + 1023) << 52;  // 2^n, n from t's low bits
    return detail::exp_reduced(r) * (V)scale;
}

/// b^n per lane for an integer n >= 0 (binary powering; straight-line code for n <= 8).
template <class V>
inline __attribute__((always_inline)) V ipow(V b, int n) {
    switch (n) {
        case 0: return splat<V>(1.0);
        case 1: return b;
        case 2: return b * b;
        case 3: return b * b * b;
        case 4: { const V b2 = b * b; return b2 * b2; }
        case 5: { const V b2 = b * b; return b2 * b2 * b; }
        case 6: { const V b3 = b * b * b; return b3 * b3; }
        case 7: { const V b3 = b * b * b; return b3 * b3 * b; }
        case 8: { const V b2 = b * b, b4 = b2 * b2; return b4 * b4; }
        default: break;
    }
    V result = splat<V>(1.0);
    while (n > 0) {
        if (n & 1) result *= b;
        n >>= 1;
        if (n > 0) b *= b;
    }
    return result;
}

namespace powers {
/// The steps of ipow's binary powering for the bits of N, unrolled.
template <int N, class V>
inline __attribute__((always_inline)) void power_steps(V& result, V& b) {
    if constexpr ((N & 1) != 0) result *= b;
    if constexpr ((N >> 1) > 0) {
        b *= b;
        power_steps<(N >> 1)>(result, b);
    }
}
}  // namespace powers

/// ipow(b, N) for an exponent known at compile time: the same multiplications in the same
/// order (so the same result, bit for bit), without the dispatch on n.
template <class V, int N>
inline __attribute__((always_inline)) V ipow(V b, std::integral_constant<int, N>) {
    static_assert(N >= 0, "ipow takes n >= 0");
    if constexpr (N <= 8) {
        return ipow(b, N);
    } else {
        V result = splat<V>(1.0);
        powers::power_steps<N>(result, b);
        return result;
    }
}

namespace powers {
template <class Body, int... I>
inline void with_exponent(int n, Body& body, std::integer_sequence<int, I...>) {
    const bool known = ((n == I ? (body(std::integral_constant<int, I>{}), true) : false) || ...);
    if (!known) body(n);
}
}  // namespace powers

/// Calls body(std::integral_constant<int, n>{}) for 0 <= n <= Max, else body(n): a loop
/// over many values that all take the same integer power (ipow(b, n) in the body) then
/// does no dispatch on n per value.
template <int Max, class Body>
inline void with_exponent(int n, Body&& body) {
    powers::with_exponent(n, body, std::make_integer_sequence<int, Max + 1>{});
}

}  // namespace bpfast::simd
