// Scaling of raw symmetry-function values into network inputs (n2p2's scaling modes).
//
//   none          x = G
//   scale         x = S_min + (S_max - S_min) (G - G_min)  / (G_max - G_min)
//   center        x = G - G_mean
//   scalecenter   x = S_min + (S_max - S_min) (G - G_mean) / (G_max - G_min)
//   sigma         x = S_min + (S_max - S_min) (G - G_mean) / G_sigma
// A raw value outside [G_min, G_max] is an extrapolation (counted, result unchanged).
// Values that exceed a bound by round-off only (1e-10 of the bound's magnitude or of
// the range) are not counted: training structures reproduce their own extreme values
// with a different summation order here than in n2p2.
#pragma once

#include <cmath>
#include <vector>

namespace bpfast {

enum class ScalingMode { None, Scale, Center, ScaleCenter, Sigma };

/// Statistics of one symmetry function over the training set (a row of scaling.data).
struct SFStatistics {
    double min = 0.0, max = 0.0, mean = 0.0, sigma = 0.0;
};

/// Affine map G -> x = offset + factor * G for each SF of one element.
class Scaling {
  public:
    Scaling() = default;
    Scaling(ScalingMode mode, double smin, double smax, const std::vector<SFStatistics>& stats);

    int size() const { return static_cast<int>(factor_.size()); }
    double factor(int s) const { return factor_[s]; }
    /// True if the raw value G of SF s is outside the training range.
    bool extrapolates(int s, double G) const { return G < lower_[s] || G > upper_[s]; }
    /// How far the raw value G of SF s lies beyond the training range: G - G_max above
    /// it (positive), G - G_min below it (negative), 0 inside.
    double excursion(int s, double G) const {
        return G > max_[s] ? G - max_[s] : (G < min_[s] ? G - min_[s] : 0.0);
    }

    /// x[s] = scaled value of G[s].
    void apply(const double* G, double* x) const {
        for (int s = 0; s < size(); ++s) x[s] = smin_[s] + factor_[s] * (G[s] - reference_[s]);
    }

  private:
    std::vector<double> factor_, reference_, smin_, lower_, upper_, min_, max_;
};

/// Keeps in `worst` the excursion of larger magnitude (of `worst` and `x`).
inline void keep_wider(double& worst, double x) {
    if (std::fabs(x) > std::fabs(worst)) worst = x;
}

}  // namespace bpfast
