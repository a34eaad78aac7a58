#include "bpfast/scaling.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace bpfast {

Scaling::Scaling(ScalingMode mode, double smin, double smax,
                 const std::vector<SFStatistics>& stats) {
    const size_t n = stats.size();
    factor_.assign(n, 1.0);
    reference_.assign(n, 0.0);
    smin_.assign(n, 0.0);
    for (size_t s = 0; s < n; ++s) {
        const SFStatistics& st = stats[s];
        const double range = st.max - st.min;
        const double slack = 1e-10 * std::max({std::fabs(st.min), std::fabs(st.max), range});
        lower_.push_back(st.min - slack);
        upper_.push_back(st.max + slack);
        min_.push_back(st.min);
        max_.push_back(st.max);
        // An SF that never varied in training carries no information: factor 0.
        const double by_range = range != 0.0 ? (smax - smin) / range : 0.0;
        switch (mode) {
            case ScalingMode::None:
                break;
            case ScalingMode::Scale:
                smin_[s] = smin;
                factor_[s] = by_range;
                reference_[s] = st.min;
                break;
            case ScalingMode::Center:
                reference_[s] = st.mean;
                break;
            case ScalingMode::ScaleCenter:
                smin_[s] = smin;
                factor_[s] = by_range;
                reference_[s] = st.mean;
                break;
            case ScalingMode::Sigma:
                smin_[s] = smin;
                factor_[s] = st.sigma != 0.0 ? (smax - smin) / st.sigma : 0.0;
                reference_[s] = st.mean;
                break;
        }
    }
}

}  // namespace bpfast
