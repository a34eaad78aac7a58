// Radial cutoff functions f_c(r) of n2p2 (`cutoff_type <n> [alpha]`).
//
// With the inner cutoff r_i = alpha * r_c and x = (r - r_i) / (r_c - r_i):
//   0 HARD   f = 1
//   1 COS    f = (cos(pi x) + 1) / 2
//   2 TANHU  f = tanh^3(1 - r/r_c)                (alpha ignored)
//   3 TANH   f = tanh^3(1 - r/r_c) / tanh^3(1)    (alpha ignored)
//   4 EXP    f = exp(1 - 1/(1 - x^2))
//   5 POLY1  f = (2x - 3) x^2 + 1
//   6 POLY2  f = ((15 - 6x) x - 10) x^3 + 1
//   7 POLY3  f = (x (x (20x - 70) + 84) - 35) x^4 + 1
//   8 POLY4  f = (x (x ((315 - 70x) x - 540) + 420) - 126) x^5 + 1
// For r < r_i: f = 1, f' = 0. Callers evaluate only for r < r_c.
#pragma once

#include <cmath>

#include "bpfast/fastmath.hpp"
#include "bpfast/simd.hpp"

namespace bpfast {

/// Polynomial cores p1..p4 on x in [0, 1]: value 1 at x = 0 and 0 at x = 1, with
/// vanishing derivatives of increasing order at both ends; df = d f / d x.
///   p1 (2x - 3) x^2 + 1
///   p2 ((15 - 6x) x - 10) x^3 + 1
///   p3 (x (x (20x - 70) + 84) - 35) x^4 + 1
///   p4 (x (x ((315 - 70x) x - 540) + 420) - 126) x^5 + 1
template <int Order, class T>
inline void polynomial_core_n(T x, T& f, T& df) {
    const T x2 = x * x;
    if (Order == 1) {
        f = (2.0 * x - 3.0) * x2 + 1.0;
        df = (6.0 * x - 6.0) * x;
    } else if (Order == 2) {
        f = ((15.0 - 6.0 * x) * x - 10.0) * x2 * x + 1.0;
        df = ((60.0 - 30.0 * x) * x - 30.0) * x2;
    } else if (Order == 3) {
        f = (x * (x * (20.0 * x - 70.0) + 84.0) - 35.0) * x2 * x2 + 1.0;
        df = (x * (x * (140.0 * x - 420.0) + 420.0) - 140.0) * x2 * x;
    } else {
        f = (x * (x * ((315.0 - 70.0 * x) * x - 540.0) + 420.0) - 126.0) * x2 * x2 * x + 1.0;
        df = (x * (x * ((2520.0 - 630.0 * x) * x - 3780.0) + 2520.0) - 630.0) * x2 * x2;
    }
}

inline void polynomial_core(int order, double x, double& f, double& df) {
    switch (order) {
        case 1: polynomial_core_n<1>(x, f, df); return;
        case 2: polynomial_core_n<2>(x, f, df); return;
        case 3: polynomial_core_n<3>(x, f, df); return;
        default: polynomial_core_n<4>(x, f, df); return;
    }
}

/// Exponential core exp(1 - 1/(1 - x^2)) on x in [0, 1); 0 for |x| >= 1.
inline void exp_core(double x, double& f, double& df) {
    const double q = 1.0 - x * x;
    if (q <= 0.0) {
        f = 0.0;
        df = 0.0;
        return;
    }
    f = std::exp(1.0 - 1.0 / q);
    df = -f * 2.0 * x / (q * q);
}

enum class CutoffType : int {
    Hard = 0,
    Cos = 1,
    TanhU = 2,
    Tanh = 3,
    Exp = 4,
    Poly1 = 5,
    Poly2 = 6,
    Poly3 = 7,
    Poly4 = 8,
};

/// One cutoff function with its radius; cheap to copy.
class CutoffFunction {
  public:
    CutoffFunction() = default;
    CutoffFunction(CutoffType type, double rc, double alpha)
        : type_(type), rc_(rc), ri_(alpha * rc), inv_width_(1.0 / (rc - alpha * rc)) {
        if (type == CutoffType::TanhU || type == CutoffType::Tanh) ri_ = 0.0;
        if (type == CutoffType::Tanh) {
            const double t1 = std::tanh(1.0);
            tanh_norm_ = t1 * t1 * t1;
        }
        inv_rc_ = 1.0 / rc_;
        inv_tanh_norm_ = 1.0 / tanh_norm_;
    }

    double rc() const { return rc_; }

    /// f(r) and df/dr for 0 <= r < r_c.
    void evaluate(double r, double& f, double& df) const {
        constexpr double kPi = 3.14159265358979323846;
        if (type_ == CutoffType::TanhU || type_ == CutoffType::Tanh) {
            const double t = std::tanh(1.0 - r / rc_);
            f = t * t * t / tanh_norm_;
            df = -3.0 * t * t * (1.0 - t * t) / (rc_ * tanh_norm_);
            return;
        }
        if (type_ == CutoffType::Hard || r < ri_) {
            f = 1.0;
            df = 0.0;
            return;
        }
        const double x = (r - ri_) * inv_width_;
        switch (type_) {
            case CutoffType::Cos:
                f = 0.5 * (std::cos(kPi * x) + 1.0);
                df = -0.5 * kPi * std::sin(kPi * x) * inv_width_;
                return;
            case CutoffType::Exp:
                exp_core(x, f, df);
                df *= inv_width_;
                return;
            case CutoffType::Poly1:
            case CutoffType::Poly2:
            case CutoffType::Poly3:
            case CutoffType::Poly4:
                polynomial_core(static_cast<int>(type_) - static_cast<int>(CutoffType::Poly1) + 1, x,
                                f, df);
                df *= inv_width_;
                return;
            default:
                f = 1.0;
                df = 0.0;
                return;
        }
    }

    /// f and df/dr for m distances at once (vectorisable). Entries with r >= r_c get
    /// meaningless values: callers mask them.
    void evaluate_batch(const double* r, int m, double* f, double* df) const {
        switch (type_) {
            case CutoffType::TanhU:
            case CutoffType::Tanh: {
                const double inv_rc = inv_rc_, inv_norm = inv_tanh_norm_;
#pragma omp simd
                for (int i = 0; i < m; ++i) {
                    const double x = 1.0 - r[i] * inv_rc;
                    const double t = tanh_unit(x < 0.0 ? 0.0 : (x > 1.0 ? 1.0 : x));
                    f[i] = t * t * t * inv_norm;
                    df[i] = -3.0 * t * t * (1.0 - t * t) * inv_rc * inv_norm;
                }
                return;
            }
            case CutoffType::Poly1:
            case CutoffType::Poly2:
            case CutoffType::Poly3:
            case CutoffType::Poly4: {
                const int order = static_cast<int>(type_) - static_cast<int>(CutoffType::Poly1) + 1;
                for (int i = 0; i < m; ++i) {
                    const double x = (r[i] - ri_) * inv_width_;
                    double fi, dfi;
                    polynomial_core(order, x, fi, dfi);
                    const bool inner = r[i] < ri_;
                    f[i] = inner ? 1.0 : fi;
                    df[i] = inner ? 0.0 : dfi * inv_width_;
                }
                return;
            }
            default:
                for (int i = 0; i < m; ++i) {
                    if (r[i] < rc_) {
                        evaluate(r[i], f[i], df[i]);
                    } else {
                        f[i] = 0.0;
                        df[i] = 0.0;
                    }
                }
                return;
        }
    }

    /// f and df/dr for a vector of distances 0 <= r <= r_c (the tanh types rely on it:
    /// their polynomial tanh is fitted on [0, 1]); lanes with r >= r_c get meaningless
    /// values: callers mask them.
    template <class vd>
    void evaluate(vd r, vd& f, vd& df) const {
        switch (type_) {
            case CutoffType::Hard:
                f = simd::splat<vd>(1.0);
                df = vd{};
                return;
            case CutoffType::TanhU:
            case CutoffType::Tanh: {
                // the reciprocals are members: the kernels' stores through double* could
                // alias rc_, so 1 / rc_ here would be divided anew for every vector
                const double inv_rc = inv_rc_, inv_norm = inv_tanh_norm_;
                const vd t = tanh_unit(1.0 - r * inv_rc);  // 0 <= r < r_c here
                f = t * t * t * inv_norm;
                df = -3.0 * t * t * (1.0 - t * t) * inv_rc * inv_norm;
                return;
            }
            case CutoffType::Poly1:
            case CutoffType::Poly2:
            case CutoffType::Poly3:
            case CutoffType::Poly4: {
                const vd x = (r - ri_) * inv_width_;
                vd fx, dfx;
                switch (type_) {
                    case CutoffType::Poly1: polynomial_core_n<1>(x, fx, dfx); break;
                    case CutoffType::Poly2: polynomial_core_n<2>(x, fx, dfx); break;
                    case CutoffType::Poly3: polynomial_core_n<3>(x, fx, dfx); break;
                    default: polynomial_core_n<4>(x, fx, dfx); break;
                }
                const auto inner = r < ri_;
                f = simd::select(inner, simd::splat<vd>(1.0), fx);
                df = simd::select(inner, vd{}, dfx * inv_width_);
                return;
            }
            default:
                for (int l = 0; l < simd::width_of<vd>; ++l) {
                    double fl = 0.0, dfl = 0.0;
                    if (r[l] < rc_) evaluate(r[l], fl, dfl);
                    f[l] = fl;
                    df[l] = dfl;
                }
                return;
        }
    }

  private:
    CutoffType type_ = CutoffType::Hard;
    double rc_ = 0.0;
    double ri_ = 0.0;
    double inv_width_ = 0.0;
    double tanh_norm_ = 1.0;  // tanh^3(1) for TANH, 1 otherwise
    double inv_rc_ = 0.0, inv_tanh_norm_ = 1.0;
};

}  // namespace bpfast
