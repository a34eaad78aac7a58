#include "bpfast/sf_types.hpp"

#include <tuple>

namespace bpfast {

bool is_known_sf_type(int type) {
    switch (type) {
        case 2: case 3: case 9: case 12: case 13:
        case 20: case 21: case 22: case 23: case 24: case 25:
            return true;
        default:
            return false;
    }
}

bool is_angular_sf_type(int type) {
    return type == 3 || type == 9 || type == 13 || type == 21 || type == 22 || type == 24 ||
           type == 25;
}

bool is_weighted_sf_type(int type) { return type == 12 || type == 13 || type >= 23; }

bool is_compact_sf_type(int type) { return type >= 20; }

bool uses_rjk_sf_type(int type) { return type == 3 || type == 13 || type == 21 || type == 24; }

bool sf_less(const SymmetryFunctionSpec& a, const SymmetryFunctionSpec& b) {
    if (a.type != b.type) return a.type < b.type;
    switch (a.type) {
        case 2:
            return std::tie(a.rc, a.eta, a.rs, a.e1) < std::tie(b.rc, b.eta, b.rs, b.e1);
        case 3:
        case 9:
            return std::tie(a.rc, a.eta, a.rs, a.zeta, a.lambda, a.e1, a.e2) <
                   std::tie(b.rc, b.eta, b.rs, b.zeta, b.lambda, b.e1, b.e2);
        case 12:
            return std::tie(a.rc, a.eta, a.rs) < std::tie(b.rc, b.eta, b.rs);
        case 13:
            return std::tie(a.rc, a.eta, a.rs, a.zeta, a.lambda) <
                   std::tie(b.rc, b.eta, b.rs, b.zeta, b.lambda);
        case 20:
            return std::tie(a.subtype, a.e1, a.rc, a.rl) < std::tie(b.subtype, b.e1, b.rc, b.rl);
        case 21:
        case 22:
            return std::tie(a.subtype, a.e1, a.e2, a.rc, a.rl, a.angle_left, a.angle_right) <
                   std::tie(b.subtype, b.e1, b.e2, b.rc, b.rl, b.angle_left, b.angle_right);
        case 23:
            return std::tie(a.subtype, a.rc, a.rl) < std::tie(b.subtype, b.rc, b.rl);
        default:  // 24, 25
            return std::tie(a.subtype, a.rc, a.rl, a.angle_left, a.angle_right) <
                   std::tie(b.subtype, b.rc, b.rl, b.angle_left, b.angle_right);
    }
}

}  // namespace bpfast
