// Elementary functions written so that the compiler can vectorise loops that call
// them (no library calls, no branches; needs -fno-trapping-math to if-convert): exp with a relative error of about 1 ulp,
// tanh and log built on the same tricks. Used in the symmetry-function and network kernels.
#pragma once

#include <cmath>
#include <cstdint>

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"  // exp_reduced is also instantiated for simd::vd
#endif

namespace bpfast {

namespace detail {
constexpr double kExpShifter = 6755399441055744.0;  // 1.5 * 2^52: x + it rounds x to an integer
constexpr double kLog2e = 1.4426950408889634074;
constexpr double kLn2Hi = 6.93147180369123816490e-01;  // Cody-Waite split of ln 2
constexpr double kLn2Lo = 1.90821492927058770002e-10;

/// exp(r) for |r| <= ln2 / 2: Taylor series to r^13 (truncation error < 1e-17). T is
/// double or a vector of doubles. Evaluated in Estrin's scheme (pairs of terms, then
/// powers r^2, r^4, r^8): a chain of 4 dependent multiply-adds instead of Horner's 13, so
/// that the kernels' long loop bodies do not wait on it.
template <class T>
inline T exp_reduced(T r) {
    const T r2 = r * r;
    const T r4 = r2 * r2;
    const T r8 = r4 * r4;
    const T a01 = 1.0 + r;
    const T a23 = 0.5 + r * (1.0 / 6.0);
    const T a45 = 1.0 / 24.0 + r * (1.0 / 120.0);
    const T a67 = 1.0 / 720.0 + r * (1.0 / 5040.0);
    const T a89 = 1.0 / 40320.0 + r * (1.0 / 362880.0);
    const T a1011 = 1.0 / 3628800.0 + r * (1.0 / 39916800.0);
    const T a1213 = 1.0 / 479001600.0 + r * (1.0 / 6227020800.0);
    const T b0 = a01 + r2 * a23;
    const T b1 = a45 + r2 * a67;
    const T b2 = a89 + r2 * a1011;
    const T c0 = b0 + r4 * b1;
    const T c1 = b2 + r4 * a1213;
    return c0 + r8 * c1;
}
}  // namespace detail

/// exp(x) for x in [-708, 709] (arguments outside are clamped), ~1 ulp.
inline double vexp(double x) {
    x = x < -708.0 ? -708.0 : x;
    x = x > 709.0 ? 709.0 : x;
    // x = n ln2 + r with n integer and |r| <= ln2 / 2 (Cody-Waite reduction).
    const double t = x * detail::kLog2e + detail::kExpShifter;
    const double n = t - detail::kExpShifter;
    const double r = (x - n * detail::kLn2Hi) - n * detail::kLn2Lo;
    // 2^n from the integer that the shifter left in the low bits of t.
    const int64_t bits = __builtin_bit_cast(int64_t, t);
    const int64_t shifter_bits = __builtin_bit_cast(int64_t, detail::kExpShifter);
    const double scale = __builtin_bit_cast(double, (bits - shifter_bits + 1023) << 52);
    return detail::exp_reduced(r) * scale;
}

/// log(v) for finite normal v > 0, vectorisable: v = 2^k m with m in [sqrt(1/2), sqrt(2)),
/// log m = 2 atanh(s), s = (m - 1) / (m + 1), |s| <= 0.1716, by its odd series to s^23
/// (truncation < 1e-19 relative); k ln 2 in two parts. Error <= 1.2 ulp (20 million
/// arguments from 2^-1000 to 2^1000 and near 1, against long double).
inline double vlog(double v) {
    const int64_t bits = __builtin_bit_cast(int64_t, v);
    // Mantissa with exponent 0 (m in [1, 2)); halved when above sqrt(2).
    const int64_t mant_bits = (bits & 0x000FFFFFFFFFFFFFLL) | 0x3FF0000000000000LL;
    const double m1 = __builtin_bit_cast(double, mant_bits);
    const bool high = m1 > 1.4142135623730951;
    const double m = high ? 0.5 * m1 : m1;
    // The biased exponent as a double without an integer conversion (AVX2 has none for
    // 64-bit integers): its bits under 2^52's.
    const double biased = __builtin_bit_cast(double, (bits >> 52) | 0x4330000000000000LL) - 4503599627370496.0;
    const double k = biased - 1023.0 + (high ? 1.0 : 0.0);
    // log m = 2 atanh(s) = 2s + 2T, T = sum_{n>=1} s^(2n+1) / (2n+1), and 2s = f - s f,
    // so log m = f - s (f - 2T / s): the exact f first, a small correction after.
    const double f = m - 1.0;
    const double s = f / (2.0 + f);
    const double z = s * s;
    const double z2 = z * z;
    const double z4 = z2 * z2;
    const double z8 = z4 * z4;
    // P = sum_{n=1}^{11} z^(n-1) / (2n + 1), Estrin's scheme; T / s = z P.
    const double a0 = 1.0 / 3.0 + z * (1.0 / 5.0);
    const double a1 = 1.0 / 7.0 + z * (1.0 / 9.0);
    const double a2 = 1.0 / 11.0 + z * (1.0 / 13.0);
    const double a3 = 1.0 / 15.0 + z * (1.0 / 17.0);
    const double a4 = 1.0 / 19.0 + z * (1.0 / 21.0);
    const double b0 = a0 + z2 * a1, b1 = a2 + z2 * a3, b2 = a4 + z2 * (1.0 / 23.0);
    const double p = (b0 + z4 * b1) + z8 * b2;
    const double log_m = f - s * (f - 2.0 * z * p);
    return k * detail::kLn2Hi + (k * detail::kLn2Lo + log_m);
}

/// tanh(x) for 0 <= x <= 1 (the argument of the tanh cutoff functions): x P(x^2) with P
/// of degree 15 fitted to tanh(x)/x on [0, 1] (Chebyshev fit, 50 digits, rounded);
/// error <= 2.3e-16 absolute, 4e-16 relative. No exp and no division; Estrin's scheme.
template <class T>
inline T tanh_unit(T x) {
    const T u = x * x;
    const T u2 = u * u;
    const T u4 = u2 * u2;
    const T u8 = u4 * u4;
    const T a0 = 1.0 + u * -0.33333333333332732;
    const T a1 = 0.13333333333282113 + u * -0.053968253950917727;
    const T a2 = 0.021869488226930838 + u * -0.0088632321811302744;
    const T a3 = 0.0035921041152302811 + u * -0.0014557155907792801;
    const T a4 = 0.00058960289508561657 + u * -0.00023801236323479905;
    const T a5 = 9.4722560757320656e-05 + u * -3.6039185369973818e-05;
    const T a6 = 1.2306805295349983e-05 + u * -3.402993826979274e-06;
    const T a7 = 6.4968576378625306e-07 + u * -6.2067533054536505e-08;
    const T b0 = a0 + u2 * a1, b1 = a2 + u2 * a3, b2 = a4 + u2 * a5, b3 = a6 + u2 * a7;
    return x * ((b0 + u4 * b1) + u8 * (b2 + u4 * b3));
}

/// exp(1 - 1/(1 - u^2)) and its derivative for 0 <= u < 1 (0 at u >= 1); vectorisable.
inline void exp_core_v(double u, double& f, double& df) {
    const double q = 1.0 - u * u;
    const bool inside = q > 0.0;
    const double qs = inside ? q : 1.0;
    const double e = vexp(1.0 - 1.0 / qs);
    f = inside ? e : 0.0;
    df = inside ? -e * 2.0 * u / (qs * qs) : 0.0;
}

namespace detail {
/// Taylor coefficients of asin: asin(y) = sum_n c_n y^(2n+1), c_n = (2n)! / (4^n (n!)^2 (2n+1)).
struct AsinSeries {
    static constexpr int kTerms = 22;
    double c[kTerms]{};
    constexpr AsinSeries() {
        double binom = 1.0;  // (2n)! / (4^n (n!)^2)
        for (int n = 0; n < kTerms; ++n) {
            c[n] = binom / (2 * n + 1);
            binom *= (2.0 * n + 1.0) / (2.0 * n + 2.0);
        }
    }
};
inline constexpr AsinSeries kAsin{};
}  // namespace detail

/// acos(x) for x in [-1, 1], ~1e-16 absolute; vectorisable.
inline double vacos(double x) {
    constexpr double kPi = 3.14159265358979323846;
    const double ax = x < 0.0 ? -x : x;
    const bool small = ax <= 0.5;
    // |s| <= 0.5 in both branches: asin by its Taylor series in s^2 <= 0.25.
    const double half = 0.5 * (1.0 - ax);
    const double s = small ? x : std::sqrt(half > 0.0 ? half : 0.0);
    const double s2 = s * s;
    double p = detail::kAsin.c[detail::AsinSeries::kTerms - 1];
#pragma GCC unroll 32
    for (int n = detail::AsinSeries::kTerms - 2; n >= 0; --n) p = p * s2 + detail::kAsin.c[n];
    const double a = p * s;  // asin(s)
    const double large = x > 0.0 ? 2.0 * a : kPi - 2.0 * a;
    return small ? 0.5 * kPi - a : large;
}

}  // namespace bpfast
