// The spread of a committee of potentials for pair style bpfast: population standard
// deviations over the members (ddof = 0, as numpy.std), as bpfast.Committee defines them.
#pragma once

#include <cmath>
#include <cstddef>

namespace bpfast_lammps {

/// Standard deviation (ddof = 0) of values[0], values[stride], ... (`members` values).
inline double member_std(const double* values, size_t members, size_t stride = 1) {
    double sum = 0.0;
    for (size_t m = 0; m < members; ++m) sum += values[m * stride];
    const double mean = sum / static_cast<double>(members);
    double squares = 0.0;
    for (size_t m = 0; m < members; ++m) {
        const double d = values[m * stride] - mean;
        squares += d * d;
    }
    return std::sqrt(squares / static_cast<double>(members));
}

/// The force spread of one atom: the norm of its per-component standard deviations over the
/// members, sqrt(sum_c std_m(F_mc)^2), from `member_forces` (members x 3, row-major).
inline double force_spread(const double* member_forces, size_t members) {
    double sum = 0.0;
    for (size_t c = 0; c < 3; ++c) {
        const double s = member_std(member_forces + c, members, 3);
        sum += s * s;
    }
    return std::sqrt(sum);
}

}  // namespace bpfast_lammps
