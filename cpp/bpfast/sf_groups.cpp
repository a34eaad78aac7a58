#include "bpfast/sf_groups.hpp"

#include <algorithm>
#include <cmath>
#include <tuple>

namespace bpfast::sf {
namespace {

bool is_integer_zeta(double zeta) {
    return zeta >= 1.0 && std::fabs(zeta - std::round(zeta)) < 1e-12 && zeta < 1e6;
}

// Keys by (r_s, eta): a key's Gaussian can then be a power of an earlier one's, which
// costs a few multiplications instead of an exp. The power's relative error is about
// `power` ulp, so it is limited to small integers. Returns the new rank of each old key.
std::vector<int> sort_keys(std::vector<Key>& keys) {
    const int nk = static_cast<int>(keys.size());
    std::vector<int> order(nk), rank(nk);
    for (int k = 0; k < nk; ++k) order[k] = k;
    std::sort(order.begin(), order.end(), [&](int a, int b) {
        return std::tie(keys[a].rs, keys[a].eta) < std::tie(keys[b].rs, keys[b].eta);
    });
    std::vector<Key> sorted(nk);
    for (int k = 0; k < nk; ++k) {
        sorted[k] = keys[order[k]];
        rank[order[k]] = k;
    }
    for (int k = 0; k < nk; ++k) {
        sorted[k].base = k;
        sorted[k].power = 1;
        for (int b = 0; b < k; ++b) {
            if (sorted[b].base != b || sorted[b].rs != sorted[k].rs || !(sorted[b].eta > 0.0)) continue;
            const double ratio = sorted[k].eta / sorted[b].eta;
            const double n = std::round(ratio);
            if (n >= 2.0 && n <= 64.0 && std::fabs(ratio - n) <= 1e-12 * n) {
                sorted[k].base = b;
                sorted[k].power = static_cast<int>(n);
                break;
            }
        }
    }
    keys = sorted;
    return rank;
}

/// Index of the key (eta, r_s) in `keys`, added if new.
int key_of(std::vector<Key>& keys, double eta, double rs) {
    int key = -1;
    for (size_t k = 0; k < keys.size(); ++k) {
        if (keys[k].eta == eta && keys[k].rs == rs) key = int(k);
    }
    if (key < 0) {
        keys.push_back({eta, rs, 0, 1});
        key = static_cast<int>(keys.size() - 1);
    }
    return key;
}

void add_gaussian_radial(Groups& groups, const SymmetryFunctionSpec& sf, int index, int slot) {
    const int element = is_weighted_sf_type(sf.type) ? -1 : sf.e1;
    RadialGroup* rg = nullptr;
    for (auto& r : groups.radial) {
        if (r.type == sf.type && r.element == element && r.slot == slot) rg = &r;
    }
    if (rg == nullptr) {
        groups.radial.push_back({sf.type, element, slot, sf.rc, {}, {}, {}});
        rg = &groups.radial.back();
    }
    const int key = key_of(rg->keys, sf.eta, sf.rs);
    rg->sf_index.push_back(index);
    rg->sf_key.push_back(key);
}

/// The angular group of `sf` (type, elements and, for Gaussians, r_c), created if new.
AngularGroup& angular_group_of(Groups& groups, const SymmetryFunctionSpec& sf, int slot) {
    const bool compact = is_compact_sf_type(sf.type);
    for (auto& g : groups.angular) {
        if (g.type == sf.type && g.e1 == sf.e1 && g.e2 == sf.e2 && (compact || g.rc == sf.rc)) {
            return g;
        }
    }
    AngularGroup g{};
    g.type = sf.type;
    g.weighted = is_weighted_sf_type(sf.type);
    g.e1 = g.weighted ? -1 : sf.e1;
    g.e2 = g.weighted ? -1 : sf.e2;
    g.rc = sf.rc;
    g.rl = sf.rl;
    g.compact = compact;
    g.uses_jk = uses_rjk_sf_type(sf.type);
    g.slot = slot;
    groups.angular.push_back(g);
    return groups.angular.back();
}

/// Compact angular SF: its radial window and angle function, shared where equal.
void add_compact_angular(AngularGroup& group, const SymmetryFunctionSpec& sf, AngularSF& a) {
    auto& windows = group.windows;
    for (size_t w = 0; w < windows.size() && a.key < 0; ++w) {
        const CompactWindow& cw = windows[w];
        if (cw.rl == sf.rl && cw.rc == sf.rc && cw.subtype == sf.subtype) a.key = int(w);
    }
    if (a.key < 0) {
        windows.push_back({sf.rl, sf.rc, sf.subtype, CompactFunction(sf.rl, sf.rc, sf.subtype, true)});
        a.key = static_cast<int>(windows.size() - 1);
    }
    std::string core = sf.subtype;
    if (core.size() == 3 && core[2] == 'a') core.pop_back();
    auto& angles = group.angles;
    a.angle_key = -1;
    for (size_t k = 0; k < angles.size() && a.angle_key < 0; ++k) {
        const CompactAngle& ca = angles[k];
        if (ca.left == sf.angle_left && ca.right == sf.angle_right && ca.core == core) {
            a.angle_key = int(k);
        }
    }
    if (a.angle_key < 0) {
        angles.push_back({sf.angle_left, sf.angle_right, core,
                          CompactFunction(sf.angle_left, sf.angle_right, sf.subtype, false)});
        a.angle_key = static_cast<int>(angles.size() - 1);
    }
}

/// Gaussian angular SF: its (eta, r_s) key and (lambda, zeta) angle key.
void add_gaussian_angular(AngularGroup& group, const SymmetryFunctionSpec& sf, AngularSF& a) {
    a.key = key_of(group.keys, sf.eta, sf.rs);
    a.lambda = sf.lambda;
    a.zeta = sf.zeta;
    a.angle_key = -1;
    for (size_t k = 0; k < group.angle_keys.size(); ++k) {
        if (group.angle_keys[k].lambda == sf.lambda && group.angle_keys[k].zeta == sf.zeta) {
            a.angle_key = static_cast<int>(k);
        }
    }
    if (a.angle_key < 0) {
        group.angle_keys.push_back(
            {sf.lambda, sf.zeta, is_integer_zeta(sf.zeta) ? int(std::lround(sf.zeta)) : -1});
        a.angle_key = static_cast<int>(group.angle_keys.size() - 1);
    }
    a.prefactor = std::pow(2.0, 1.0 - sf.zeta);
}

/// After the last SF: a compact group's radial range (the union of its windows), the
/// sorted Gaussian keys, and the SFs sorted by key.
void finish_angular(AngularGroup& g) {
    size_t nkeys;
    if (g.compact) {
        // Triplets of the union of the radial windows; the windows are the keys.
        g.rl = g.windows.front().rl;
        g.rc = g.windows.front().rc;
        for (const CompactWindow& w : g.windows) {
            g.rl = std::min(g.rl, w.rl);
            g.rc = std::max(g.rc, w.rc);
        }
        nkeys = g.windows.size();
    } else {
        const std::vector<int> rank = sort_keys(g.keys);
        for (AngularSF& sf : g.sfs) sf.key = rank[sf.key];
        nkeys = g.keys.size();
    }
    // SFs sorted by key: key k owns sfs[key_start[k], key_start[k + 1]).
    std::stable_sort(g.sfs.begin(), g.sfs.end(),
                     [](const AngularSF& x, const AngularSF& y) { return x.key < y.key; });
    g.sf_angle.clear();
    for (const AngularSF& sf : g.sfs) g.sf_angle.push_back(sf.angle_key);
    g.key_start.assign(nkeys + 1, 0);
    for (const AngularSF& sf : g.sfs) ++g.key_start[sf.key + 1];
    for (size_t k = 0; k < nkeys; ++k) g.key_start[k + 1] += g.key_start[k];
}

}  // namespace

Groups group_symmetry_functions(const std::vector<SymmetryFunctionSpec>& sfs,
                                CutoffType cutoff_type, double cutoff_alpha) {
    Groups groups;
    groups.size = static_cast<int>(sfs.size());
    auto slot_of = [&](double rc) {
        for (size_t s = 0; s < groups.cutoffs.size(); ++s) {
            if (groups.cutoffs[s].rc() == rc) return static_cast<int>(s);
        }
        groups.cutoffs.emplace_back(cutoff_type, rc, cutoff_alpha);
        return static_cast<int>(groups.cutoffs.size() - 1);
    };
    for (int index = 0; index < groups.size; ++index) {
        const SymmetryFunctionSpec& sf = sfs[index];
        groups.max_cutoff = std::max(groups.max_cutoff, sf.rc);
        const bool compact = is_compact_sf_type(sf.type);
        if (!is_angular_sf_type(sf.type) && !compact) {
            add_gaussian_radial(groups, sf, index, slot_of(sf.rc));
        } else if (!is_angular_sf_type(sf.type)) {
            CompactRadial rad{};
            rad.index = index;
            rad.element = is_weighted_sf_type(sf.type) ? -1 : sf.e1;
            rad.rc = sf.rc;
            rad.rl = sf.rl;
            rad.compact = CompactFunction(sf.rl, sf.rc, sf.subtype, true);
            groups.compact_radial.push_back(rad);
        } else {
            AngularGroup& group = angular_group_of(groups, sf, compact ? -1 : slot_of(sf.rc));
            AngularSF a{};
            a.index = index;
            a.key = -1;
            if (compact) {
                add_compact_angular(group, sf, a);
            } else {
                add_gaussian_angular(group, sf, a);
            }
            group.sfs.push_back(a);
        }
    }
    for (AngularGroup& g : groups.angular) finish_angular(g);
    for (RadialGroup& rg : groups.radial) {
        const std::vector<int> rank = sort_keys(rg.keys);
        for (int& k : rg.sf_key) k = rank[k];
    }
    return groups;
}

}  // namespace bpfast::sf
