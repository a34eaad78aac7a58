#include "bpfast/compact_function.hpp"

#include "bpfast/errors.hpp"

namespace bpfast {

CompactFunction::CompactFunction(double lo, double hi, const std::string& core,
                                 bool allow_asymmetric)
    : centre_(0.5 * (lo + hi)), inv_half_width_(2.0 / (hi - lo)) {
    std::string base = core;
    if (base.size() == 3 && base[2] == 'a') {
        asymmetric_ = allow_asymmetric;
        base = base.substr(0, 2);
    }
    if (base == "e") {
        order_ = 0;
    } else if (base.size() == 2 && base[0] == 'p' && base[1] >= '1' && base[1] <= '4') {
        order_ = base[1] - '0';
    } else {
        throw InputError("unknown compact function subtype '" + core +
                         "' (expected p1, p2, p3, p4, optionally with suffix a, or e)");
    }
}

}  // namespace bpfast
