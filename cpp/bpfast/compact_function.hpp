// The compact function of the polynomial SF types (Bircher et al.): for x in (lo, hi),
//   C(x; lo, hi) = core(u),  u = |x - centre| / half-width,  centre = (lo + hi) / 2,
// with core = the polynomial p1 ... p4 or the exponential "e" (cutoff.hpp, fastmath.hpp),
// and 0 outside (lo, hi). Asymmetric radial cores ("p2a" ...) replace u by (2 - u) u
// before the core. The batch evaluation is defined here so that every kernel entry point
// (simd.hpp) compiles it for its own instruction set.
#pragma once

#include <string>
#include <type_traits>

#include "bpfast/cutoff.hpp"
#include "bpfast/fastmath.hpp"
#include "bpfast/simd.hpp"

namespace bpfast {

class CompactFunction {
  public:
    CompactFunction() = default;
    /// core: "p1".."p4" or "e", optionally followed by "a" (asymmetric) when allowed.
    /// (compact_function.cpp)
    CompactFunction(double lo, double hi, const std::string& core, bool allow_asymmetric);
    /// f, df for m arguments at once (vectorisable); 0 outside (lo, hi). df may be null
    /// when only values are needed.
    void evaluate_batch(const double* x, int m, double* f, double* df) const;
    /// As evaluate_batch (the same numbers), W arguments at a time in whole vectors: f
    /// and df (when not null) have room for m rounded up to a multiple of W, and the
    /// entries past m may get values of no meaning (finite). x is read up to m only.
    template <int W>
    void evaluate_lanes(const double* x, int m, double* f, double* df) const;

  private:
    /// Calls body(order, asymmetric, derivative) with this function's core as
    /// compile-time constants (std::integral_constant, std::bool_constant), orders 1-4
    /// and, if `exponential`, 0 (the exponential core); false when none matched.
    template <class Body>
    bool dispatch(bool derivative, bool exponential, Body&& body) const;
    template <int Order, bool Asymmetric, bool Derivative>
    void batch(const double* x, int m, double* f, double* df) const;
    template <int Order, bool Asymmetric, bool Derivative, int W>
    void lanes(const double* x, int m, double* f, double* df) const;
    double centre_ = 0.0, inv_half_width_ = 0.0;
    int order_ = 2;  ///< 1..4 polynomial, 0 exponential
    bool asymmetric_ = false;
};

template <int Order, bool Asymmetric, bool Derivative>
inline void CompactFunction::batch(const double* x, int m, double* f, double* df) const {
    const double centre = centre_, inv_w = inv_half_width_;
#pragma omp simd
    for (int i = 0; i < m; ++i) {
        const double t = x[i] - centre;
        double u = (t < 0.0 ? -t : t) * inv_w;
        const bool inside = u < 1.0;
        u = inside ? u : 0.0;
        double du = (t < 0.0 ? -inv_w : inv_w);
        if (Asymmetric) {
            du *= 2.0 - 2.0 * u;
            u = (2.0 - u) * u;
        }
        double g, dg;
        if (Order == 0) {
            exp_core_v(u, g, dg);
        } else {
            polynomial_core_n<Order>(u, g, dg);
        }
        f[i] = inside ? g : 0.0;
        if (Derivative) df[i] = inside ? dg * du : 0.0;
    }
}

template <int Order, bool Asymmetric, bool Derivative, int W>
inline void CompactFunction::lanes(const double* x, int m, double* f, double* df) const {
    using vd = typename simd::Lanes<W>::vd;
    const double centre = centre_, inv_w = inv_half_width_;
    const auto at = [&](int i, vd xi) {
        const vd t = xi - centre;
        const auto negative = t < 0.0;
        vd u = simd::select(negative, -t, t) * inv_w;
        const auto inside = u < 1.0;
        u = simd::select(inside, u, vd{});
        vd du = simd::select(negative, simd::splat<vd>(-inv_w), simd::splat<vd>(inv_w));
        if (Asymmetric) {
            du *= 2.0 - 2.0 * u;
            u = (2.0 - u) * u;
        }
        vd g, dg;
        polynomial_core_n<Order>(u, g, dg);
        simd::store(f + i, simd::select(inside, g, vd{}));
        if (Derivative) simd::store(df + i, simd::select(inside, dg * du, vd{}));
    };
    const int whole = m - m % W;
    for (int i = 0; i < whole; i += W) at(i, simd::load<vd>(x + i));
    if (whole == m) return;
    if (m >= W) {  // the last W arguments again (the same numbers where they overlap)
        at(m - W, simd::load<vd>(x + m - W));
        return;
    }
    vd tail{};
    for (int i = 0; i < m; ++i) tail[i] = x[i];
    at(0, tail);
}

template <class Body>
inline bool CompactFunction::dispatch(bool derivative, bool exponential, Body&& body) const {
    bool done = false;
    const auto core = [&](auto order, auto asymmetric) {
        constexpr int kOrder = decltype(order)::value;
        if (done || order_ != kOrder || asymmetric_ != decltype(asymmetric)::value) return;
        if (kOrder == 0 && !exponential) return;
        done = true;
        if (derivative) {
            body(order, asymmetric, std::true_type{});
        } else {
            body(order, asymmetric, std::false_type{});
        }
    };
    const auto both = [&](auto order) {
        core(order, std::false_type{});
        core(order, std::true_type{});
    };
    both(std::integral_constant<int, 0>{});
    both(std::integral_constant<int, 1>{});
    both(std::integral_constant<int, 2>{});
    both(std::integral_constant<int, 3>{});
    both(std::integral_constant<int, 4>{});
    return done;
}

template <int W>
inline void CompactFunction::evaluate_lanes(const double* x, int m, double* f, double* df) const {
    // The exponential core keeps the loop of evaluate_batch (its exp per lane).
    const bool done = dispatch(df != nullptr, false, [&](auto order, auto asymmetric, auto derivative) {
        lanes<decltype(order)::value, decltype(asymmetric)::value, decltype(derivative)::value, W>(
            x, m, f, df);
    });
    if (!done) evaluate_batch(x, m, f, df);
}

inline void CompactFunction::evaluate_batch(const double* x, int m, double* f, double* df) const {
    // One instantiation per (core, asymmetry, derivative wanted): the loops stay simple.
    dispatch(df != nullptr, true, [&](auto order, auto asymmetric, auto derivative) {
        batch<decltype(order)::value, decltype(asymmetric)::value, decltype(derivative)::value>(
            x, m, f, df);
    });
}

}  // namespace bpfast
