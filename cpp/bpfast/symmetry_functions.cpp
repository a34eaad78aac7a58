#include "bpfast/symmetry_functions.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <tuple>

#include "bpfast/errors.hpp"
#include "bpfast/fastmath.hpp"
#include "bpfast/simd.hpp"

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

// ---------------------------------------------------------------------------------------
// Compact functions

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

template <int Order, bool Asymmetric, bool Derivative>
void CompactFunction::batch(const double* x, int m, double* f, double* df) const {
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

void CompactFunction::evaluate_batch(const double* x, int m, double* f, double* df) const {
    // One instantiation per (core, asymmetry, derivative wanted): the loops stay simple.
#define BPFAST_COMPACT_CASE(order, asym)                       \
    if (order_ == order && asymmetric_ == asym) {              \
        if (df) {                                              \
            batch<order, asym, true>(x, m, f, df);             \
        } else {                                               \
            batch<order, asym, false>(x, m, f, df);            \
        }                                                      \
        return;                                                \
    }
    BPFAST_COMPACT_CASE(0, false)
    BPFAST_COMPACT_CASE(0, true)
    BPFAST_COMPACT_CASE(1, false)
    BPFAST_COMPACT_CASE(1, true)
    BPFAST_COMPACT_CASE(2, false)
    BPFAST_COMPACT_CASE(2, true)
    BPFAST_COMPACT_CASE(3, false)
    BPFAST_COMPACT_CASE(3, true)
    BPFAST_COMPACT_CASE(4, false)
    BPFAST_COMPACT_CASE(4, true)
#undef BPFAST_COMPACT_CASE
}

// ---------------------------------------------------------------------------------------
// Descriptor set-up

namespace {
bool is_integer_zeta(double zeta) {
    return zeta >= 1.0 && std::fabs(zeta - std::round(zeta)) < 1e-12 && zeta < 1e6;
}

bool is_weighted(int type) { return type == 12 || type == 13 || type >= 23; }
bool is_compact(int type) { return type >= 20; }
}  // namespace

// Keys by (r_s, eta): a key's Gaussian can then be a power of an earlier one's, which
// costs a few multiplications instead of an exp. The power's relative error is about
// `power` ulp, so it is limited to small integers. Returns the new rank of each old key.
std::vector<int> Descriptor::sort_keys(std::vector<Key>& keys) {
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

Descriptor::Descriptor(const std::vector<SymmetryFunctionSpec>& sfs, CutoffType cutoff_type,
                       double cutoff_alpha)
    : n_(static_cast<int>(sfs.size())) {
    auto slot_of = [&](double rc) {
        for (size_t s = 0; s < cutoffs_.size(); ++s) {
            if (cutoffs_[s].rc() == rc) return static_cast<int>(s);
        }
        cutoffs_.emplace_back(cutoff_type, rc, cutoff_alpha);
        return static_cast<int>(cutoffs_.size() - 1);
    };
    for (int index = 0; index < n_; ++index) {
        const SymmetryFunctionSpec& sf = sfs[index];
        max_cutoff_ = std::max(max_cutoff_, sf.rc);
        const bool compact = is_compact(sf.type);
        if (!is_angular_sf_type(sf.type) && !compact) {
            const int element = is_weighted(sf.type) ? -1 : sf.e1;
            const int slot = slot_of(sf.rc);
            RadialGroup* rg = nullptr;
            for (auto& r : radial_groups_) {
                if (r.type == sf.type && r.element == element && r.slot == slot) rg = &r;
            }
            if (rg == nullptr) {
                radial_groups_.push_back({sf.type, element, slot, sf.rc, {}, {}, {}});
                rg = &radial_groups_.back();
            }
            int key = -1;
            for (size_t k = 0; k < rg->keys.size(); ++k) {
                if (rg->keys[k].eta == sf.eta && rg->keys[k].rs == sf.rs) key = int(k);
            }
            if (key < 0) {
                rg->keys.push_back({sf.eta, sf.rs, 0, 1});
                key = static_cast<int>(rg->keys.size() - 1);
            }
            rg->sf_index.push_back(index);
            rg->sf_key.push_back(key);
            continue;
        }
        if (!is_angular_sf_type(sf.type)) {  // compact radial
            Radial rad{};
            rad.index = index;
            rad.element = is_weighted(sf.type) ? -1 : sf.e1;
            rad.rc = sf.rc;
            rad.rl = sf.rl;
            rad.compact = CompactFunction(sf.rl, sf.rc, sf.subtype, true);
            radial_.push_back(rad);
            continue;
        }
        // Angular: find or create the group sharing type, elements and radial part.
        AngularGroup* group = nullptr;
        for (auto& g : angular_) {
            if (g.type == sf.type && g.e1 == sf.e1 && g.e2 == sf.e2 && (compact || g.rc == sf.rc)) {
                group = &g;
                break;
            }
        }
        if (group == nullptr) {
            AngularGroup g{};
            g.type = sf.type;
            g.weighted = is_weighted(sf.type);
            g.e1 = g.weighted ? -1 : sf.e1;
            g.e2 = g.weighted ? -1 : sf.e2;
            g.rc = sf.rc;
            g.rl = sf.rl;
            g.compact = compact;
            g.uses_jk = sf.type == 3 || sf.type == 13 || sf.type == 21 || sf.type == 24;
            g.slot = compact ? -1 : slot_of(sf.rc);
            angular_.push_back(g);
            group = &angular_.back();
        }
        AngularSF a{};
        a.index = index;
        a.key = -1;
        if (compact) {
            auto& windows = group->windows;
            for (size_t w = 0; w < windows.size() && a.key < 0; ++w) {
                const CompactWindow& cw = windows[w];
                if (cw.rl == sf.rl && cw.rc == sf.rc && cw.subtype == sf.subtype) a.key = int(w);
            }
            if (a.key < 0) {
                windows.push_back({sf.rl, sf.rc, sf.subtype,
                                   CompactFunction(sf.rl, sf.rc, sf.subtype, true)});
                a.key = static_cast<int>(windows.size() - 1);
            }
            std::string core = sf.subtype;
            if (core.size() == 3 && core[2] == 'a') core.pop_back();
            auto& angles = group->angles;
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
        } else {
            for (size_t k = 0; k < group->keys.size(); ++k) {
                if (group->keys[k].eta == sf.eta && group->keys[k].rs == sf.rs) a.key = int(k);
            }
            if (a.key < 0) {
                group->keys.push_back({sf.eta, sf.rs, 0, 1});
                a.key = static_cast<int>(group->keys.size() - 1);
            }
            a.lambda = sf.lambda;
            a.zeta = sf.zeta;
            a.angle_key = -1;
            for (size_t k = 0; k < group->angle_keys.size(); ++k) {
                if (group->angle_keys[k].lambda == sf.lambda && group->angle_keys[k].zeta == sf.zeta) {
                    a.angle_key = static_cast<int>(k);
                }
            }
            if (a.angle_key < 0) {
                group->angle_keys.push_back({sf.lambda, sf.zeta,
                                             is_integer_zeta(sf.zeta) ? int(std::lround(sf.zeta)) : -1});
                a.angle_key = static_cast<int>(group->angle_keys.size() - 1);
            }
            a.prefactor = std::pow(2.0, 1.0 - sf.zeta);
        }
        group->sfs.push_back(a);
    }
    for (auto& g : angular_) {
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
    for (auto& rg : radial_groups_) {
        const std::vector<int> rank = sort_keys(rg.keys);
        for (int& k : rg.sf_key) k = rank[k];
    }
}

// ---------------------------------------------------------------------------------------
// Evaluation

namespace {
constexpr size_t kNotRecorded = static_cast<size_t>(-1);

/// Where angular group `group` records (values pass with ws.record) or replays (gradient
/// pass after a recording values pass) its per-pair data; neither when the tape is full,
/// when the group's data could take more than the whole limit (`bound`: doubles for all
/// its pairs, an upper bound; the tape stays below twice the limit, however dense the
/// structure), or when nothing was recorded for the group.
struct TapeCursor {
    bool record = false, replay = false;
    size_t tpos = 0, ipos = 0;  // replay: next entries of ws.tape and ws.tape_idx
};

TapeCursor open_tape(DescriptorWorkspace& ws, size_t group, bool gradient, size_t bound,
                     size_t limit) {
    TapeCursor cur;
    if (!gradient && ws.record && ws.tape_len < limit && bound <= limit) {
        cur.record = true;
        ws.tape_group[group] = {ws.tape_len, ws.tape_idx_len};
    }
    if (gradient && ws.recorded && ws.tape_group[group].first != kNotRecorded) {
        cur.replay = true;
        cur.tpos = ws.tape_group[group].first;
        cur.ipos = ws.tape_group[group].second;
    }
    return cur;
}

/// Room for `extra` more indices after ws.tape_idx_len (amortised growth); where they go.
int* grow_tape_idx(DescriptorWorkspace& ws, size_t extra) {
    const size_t need = ws.tape_idx_len + extra;
    if (ws.tape_idx.size() < need) ws.tape_idx.resize(std::max(need, 2 * ws.tape_idx.size()));
    return ws.tape_idx.data() + ws.tape_idx_len;
}

/// Appends n indices to the tape.
void append_tape_idx(DescriptorWorkspace& ws, const int* v, size_t n) {
    std::copy(v, v + n, grow_tape_idx(ws, n));
    ws.tape_idx_len += n;
}

/// Room for `extra` more doubles after ws.tape_len (amortised growth).
void grow_tape(DescriptorWorkspace& ws, size_t extra) {
    const size_t need = ws.tape_len + extra;
    if (ws.tape.size() < need) ws.tape.resize(std::max(need, 2 * ws.tape.size()));
}
}  // namespace

// Both entry points choose the kernels' width; the gradient replays with the width that
// recorded. The narrow ones are BPFAST_KERNELs (simd.hpp): one clone per instruction set.

void Descriptor::values(const NeighborEnv& env, double* G, DescriptorWorkspace& ws,
                        const KernelOptions& kernels) const {
    std::fill(G, G + n_, 0.0);
    ws.tape_len = 0;
    ws.tape_idx_len = 0;
    ws.tape_group.assign(angular_.size(), {kNotRecorded, 0});
    ws.recorded_width = kernel_lanes(kernels);
    if (ws.recorded_width == 8) {
        values_wide(env, G, ws, kernels);
    } else {
        values_narrow(env, G, ws, kernels);
    }
    ws.recorded = ws.record;
}

void Descriptor::gradient(const NeighborEnv& env, const double* dEdG, double* gx, double* gy,
                          double* gz, DescriptorWorkspace& ws,
                          const KernelOptions& kernels) const {
    const int width = ws.recorded ? ws.recorded_width : kernel_lanes(kernels);
    if (width == 8) {
        gradient_wide(env, dEdG, gx, gy, gz, ws, kernels);
    } else {
        gradient_narrow(env, dEdG, gx, gy, gz, ws, kernels);
    }
    ws.recorded = false;
}

BPFAST_KERNEL void Descriptor::values_narrow(const NeighborEnv& env, double* G,
                                             DescriptorWorkspace& ws,
                                             const KernelOptions& kernels) const {
    evaluate<false, 4>(env, G, nullptr, nullptr, nullptr, nullptr, ws, kernels);
}

BPFAST_KERNEL void Descriptor::gradient_narrow(const NeighborEnv& env, const double* dEdG,
                                               double* gx, double* gy, double* gz,
                                               DescriptorWorkspace& ws,
                                               const KernelOptions& kernels) const {
    evaluate<true, 4>(env, nullptr, dEdG, gx, gy, gz, ws, kernels);
}

#if BPFAST_WIDE_KERNELS
BPFAST_WIDE_KERNEL void Descriptor::values_wide(const NeighborEnv& env, double* G,
                                                DescriptorWorkspace& ws,
                                                const KernelOptions& kernels) const {
    evaluate<false, 8>(env, G, nullptr, nullptr, nullptr, nullptr, ws, kernels);
}

BPFAST_WIDE_KERNEL void Descriptor::gradient_wide(const NeighborEnv& env, const double* dEdG,
                                                  double* gx, double* gy, double* gz,
                                                  DescriptorWorkspace& ws,
                                                  const KernelOptions& kernels) const {
    evaluate<true, 8>(env, nullptr, dEdG, gx, gy, gz, ws, kernels);
}
#else
void Descriptor::values_wide(const NeighborEnv& env, double* G, DescriptorWorkspace& ws,
                             const KernelOptions& kernels) const {
    values_narrow(env, G, ws, kernels);  // never chosen: kernel_lanes() is 4 here
}

void Descriptor::gradient_wide(const NeighborEnv& env, const double* dEdG, double* gx,
                               double* gy, double* gz, DescriptorWorkspace& ws,
                               const KernelOptions& kernels) const {
    gradient_narrow(env, dEdG, gx, gy, gz, ws, kernels);
}
#endif

template <bool Gradient, int W>
void Descriptor::evaluate(const NeighborEnv& env, double* G, const double* dEdG, double* gx,
                          double* gy, double* gz, DescriptorWorkspace& ws,
                          const KernelOptions& kernels) const {
    const int m = env.count;
    // Cutoff function values for every distinct r_c, shared by all Gaussian SFs.
    ws.fc.resize(cutoffs_.size() * m);
    ws.dfc.resize(cutoffs_.size() * m);
    for (size_t s = 0; s < cutoffs_.size(); ++s) {
        const double rc = cutoffs_[s].rc();
        double* fc = ws.fc.data() + s * m;
        double* dfc = ws.dfc.data() + s * m;
        cutoffs_[s].evaluate_batch(env.r, m, fc, dfc);
        for (int n = 0; n < m; ++n) {
            const bool inside = env.r[n] < rc;
            fc[n] = inside ? fc[n] : 0.0;
            dfc[n] = inside ? dfc[n] : 0.0;
        }
    }

    // Radial functions. The gradient is collected as one scalar per neighbour (dE/dr) and
    // turned into a vector at the end.
    if (!radial_.empty() || !radial_groups_.empty()) {
        for (auto* v : {&ws.fa, &ws.dfa, &ws.base}) {
            if (static_cast<int>(v->size()) < m) v->resize(m);
        }
        double* coef = ws.base.data();
        if (Gradient) std::fill(coef, coef + m, 0.0);
        for (const RadialGroup& rg : radial_groups_) radial_group<Gradient>(rg, env, G, dEdG, coef, ws);
        // Compact radial SFs: masked SIMD loops over all neighbours.
        for (const Radial& rad : radial_) {
            const double u = Gradient ? dEdG[rad.index] : 0.0;
            if (Gradient && u == 0.0) continue;
            const double rc = rad.rc, rl = rad.rl;
            const int element = rad.element;
            const double* r = env.r;
            const int* el = env.element;
            const double* weight = env.weight;
            double sum = 0.0;
            double* f = ws.fa.data();
            double* df = ws.dfa.data();
            rad.compact.evaluate_batch(r, m, f, Gradient ? df : nullptr);
#pragma omp simd reduction(+ : sum)
            for (int n = 0; n < m; ++n) {
                // Unconditional loads and bitwise conditions: no masked loads.
                const double wn = element < 0 ? weight[n] : 1.0;
                const bool take = (r[n] < rc) & (r[n] > rl) & ((element < 0) | (el[n] == element));
                const double w = take ? wn : 0.0;
                if (Gradient) {
                    coef[n] += u * w * df[n];
                } else {
                    sum += w * f[n];
                }
            }
            if (!Gradient) G[rad.index] += sum;
        }
        if (Gradient) {
#pragma omp simd
            for (int n = 0; n < m; ++n) {
                const double c = env.r[n] > 0.0 ? coef[n] / env.r[n] : 0.0;
                gx[n] += c * env.dx[n];
                gy[n] += c * env.dy[n];
                gz[n] += c * env.dz[n];
            }
        }
    }

    for (const AngularGroup& g : angular_) {
        if (g.compact) {
            compact_group<Gradient, W>(g, env, G, dEdG, gx, gy, gz, ws, kernels);
        } else {
            gaussian_group<Gradient, W>(g, env, G, dEdG, gx, gy, gz, ws, kernels);
        }
    }
}

namespace {
/// For j = p and its partners k = q0 ... q0 + mk - 1 of a group's list: cos(theta_jk)
/// and r_jk into ws.cos_t and ws.rjk (indexed from 0).
inline void pair_geometry(DescriptorWorkspace& ws, int p, int q0, int mk) {
    const double xj = ws.x[p], yj = ws.y[p], zj = ws.z[p], inv_rj = ws.inv_r[p];
    const double* xk = ws.x.data() + q0;
    const double* yk = ws.y.data() + q0;
    const double* zk = ws.z.data() + q0;
    const double* inv_rk = ws.inv_r.data() + q0;
    double* cos_t = ws.cos_t.data();
    double* rjk = ws.rjk.data();
#pragma omp simd
    for (int q = 0; q < mk; ++q) {
        const double jx = xk[q] - xj, jy = yk[q] - yj, jz = zk[q] - zj;
        cos_t[q] = (xj * xk[q] + yj * yk[q] + zj * zk[q]) * inv_rj * inv_rk[q];
        rjk[q] = std::sqrt(jx * jx + jy * jy + jz * jz);
    }
}

/// Chain rule for the packed partners k = q0 + sel[c] (c < mc) of j = p: turns the
/// partial derivatives acc_c (cos theta), acc_ij, acc_ik, acc_jk (distances) into
/// gradients with respect to d_j and d_k, added to ws.gx/gy/gz of the listed neighbours.
inline void pair_chain_rule(DescriptorWorkspace& ws, int p, int q0, int mc, const int* sel,
                            const double* cos_t, const double* rjk, double xj, double yj,
                            double zj, double inv_rj, const double* xk, const double* yk,
                            const double* zk, const double* inv_rk) {
    const double* acc_c = ws.acc_c.data();
    const double* acc_ij = ws.acc_ij.data();
    const double* acc_ik = ws.acc_ik.data();
    const double* acc_jk = ws.acc_jk.data();
    double* gxk = ws.pgx.data();
    double* gyk = ws.pgy.data();
    double* gzk = ws.pgz.data();
    double sx = 0.0, sy = 0.0, sz = 0.0;
#pragma omp simd reduction(+ : sx, sy, sz)
    for (int c = 0; c < mc; ++c) {
        const double jx = xk[c] - xj, jy = yk[c] - yj, jz = zk[c] - zj;
        const double inv_rk2 = inv_rk[c] * inv_rk[c];
        const double cc = acc_c[c] * inv_rj * inv_rk[c];
        const double ca = acc_ij[c] * inv_rj - acc_c[c] * cos_t[c] * inv_rj * inv_rj;
        const double cb = acc_ik[c] * inv_rk[c] - acc_c[c] * cos_t[c] * inv_rk2;
        const double cj = rjk[c] > 0.0 ? acc_jk[c] / rjk[c] : 0.0;
        sx += ca * xj + cc * xk[c] - cj * jx;
        sy += ca * yj + cc * yk[c] - cj * jy;
        sz += ca * zj + cc * zk[c] - cj * jz;
        gxk[c] = cb * xk[c] + cc * xj + cj * jx;
        gyk[c] = cb * yk[c] + cc * yj + cj * jy;
        gzk[c] = cb * zk[c] + cc * zj + cj * jz;
    }
    ws.gx[p] += sx;
    ws.gy[p] += sy;
    ws.gz[p] += sz;
    for (int c = 0; c < mc; ++c) {
        const int o = q0 + sel[c];
        ws.gx[o] += gxk[c];
        ws.gy[o] += gyk[c];
        ws.gz[o] += gzk[c];
    }
}

/// Neighbours of an angular group, r in (lo, hi) and r > 0: for two different
/// elements those of e1 first, then those of e2 (returns the count of the first
/// part); otherwise all matching ones (returns the total).
int collect_group_neighbors(const NeighborEnv& env, double lo, double hi, bool weighted, int e1,
                            int e2, std::vector<int>& list) {
    const bool distinct = !weighted && e1 != e2;
    list.resize(static_cast<size_t>(env.count) * (distinct ? 2 : 1));
    int count = 0, first = 0;
    for (int pass = 0; pass < (distinct ? 2 : 1); ++pass) {
        const int want = pass == 0 ? e1 : e2;
        for (int n = 0; n < env.count; ++n) {  // branch-free: element order is random
            const double r = env.r[n];
            list[count] = n;
            count += (r < hi) & (r > lo) & (r != 0.0) & (weighted | (env.element[n] == want));
        }
        if (pass == 0) first = count;
    }
    list.resize(count);
    return distinct ? first : count;
}

/// Copies the listed neighbours into structure-of-arrays form (d, r, 1/r, weight Z or
/// 1) and, for a gradient, zeroes their gradient accumulators.
void gather_group(const NeighborEnv& env, const std::vector<int>& list, bool weighted,
                  bool gradient, DescriptorWorkspace& ws) {
    const int nl = static_cast<int>(list.size());
    for (int p = 0; p < nl; ++p) {
        const int n = list[p];
        ws.x[p] = env.dx[n];
        ws.y[p] = env.dy[n];
        ws.z[p] = env.dz[n];
        ws.r[p] = env.r[n];
        ws.inv_r[p] = 1.0 / env.r[n];
        ws.w[p] = weighted ? env.weight[n] : 1.0;
    }
    if (gradient) {
        std::fill(ws.gx.begin(), ws.gx.begin() + nl, 0.0);
        std::fill(ws.gy.begin(), ws.gy.begin() + nl, 0.0);
        std::fill(ws.gz.begin(), ws.gz.begin() + nl, 0.0);
    }
}

/// Adds the gradients accumulated per listed neighbour to the environment's.
void scatter_group_gradient(const std::vector<int>& list, const DescriptorWorkspace& ws,
                            double* gx, double* gy, double* gz) {
    for (size_t p = 0; p < list.size(); ++p) {
        const int n = list[p];
        gx[n] += ws.gx[p];
        gy[n] += ws.gy[p];
        gz[n] += ws.gz[p];
    }
}

/// Grows every scratch vector that the angular kernels index per listed neighbour.
void reserve_group(DescriptorWorkspace& ws, int nl, int rows) {
    for (auto* v : {&ws.x, &ws.y, &ws.z, &ws.r, &ws.inv_r, &ws.w, &ws.cos_t, &ws.rjk, &ws.fjk,
                    &ws.dfjk, &ws.acc_c, &ws.acc_ij, &ws.acc_ik,
                    &ws.acc_jk, &ws.base, &ws.gx, &ws.gy, &ws.gz, &ws.px, &ws.py, &ws.pz,
                    &ws.pinv, &ws.pr, &ws.pw, &ws.pgx, &ws.pgy, &ws.pgz, &ws.theta, &ws.fa, &ws.dfa}) {
        if (static_cast<int>(v->size()) < nl) v->resize(nl);
    }
    if (static_cast<int>(ws.sel.size()) < nl) ws.sel.resize(nl);
    const size_t n = static_cast<size_t>(rows) * nl;
    for (auto* v : {&ws.h, &ws.dh, &ws.hjk, &ws.dhjk, &ws.ph, &ws.pdh}) {
        if (v->size() < n) v->resize(n);
    }
}
}  // namespace

// Gaussian radial group: the neighbours of the group's element inside r_c, then one row
// of Gaussians exp(-eta (r - r_s)^2) per key (an exp, or a power of an earlier row).
template <bool Gradient>
void Descriptor::radial_group(const RadialGroup& rg, const NeighborEnv& env, double* G,
                              const double* dEdG, double* coef, DescriptorWorkspace& ws) const {
    const int nk = static_cast<int>(rg.keys.size());
    const int nsf = static_cast<int>(rg.sf_index.size());
    // Gradient: U_k = sum of dE/dG over the SFs of key k.
    double* U = nullptr;
    if (Gradient) {
        ws.coef_a.assign(nk, 0.0);
        U = ws.coef_a.data();
        bool any = false;
        for (int s = 0; s < nsf; ++s) {
            U[rg.sf_key[s]] += dEdG[rg.sf_index[s]];
            any = any || dEdG[rg.sf_index[s]] != 0.0;
        }
        if (!any) return;
    }
    const int m = env.count;
    std::vector<int>& list = ws.list;
    list.resize(m);
    int nl = 0;
    for (int n = 0; n < m; ++n) {
        list[nl] = n;
        nl += (env.r[n] < rg.rc) & ((rg.element < 0) | (env.element[n] == rg.element));
    }
    const int stride = (nl + simd::kWidth - 1) / simd::kWidth * simd::kWidth;  // of the rows
    for (auto* v : {&ws.r, &ws.rad_f, &ws.rad_df, &ws.rad_acc}) {
        if (static_cast<int>(v->size()) < stride) v->resize(stride);
    }
    if (ws.h.size() < static_cast<size_t>(nk) * stride) ws.h.resize(static_cast<size_t>(nk) * stride);
    const double* fc = ws.fc.data() + rg.slot * m;
    const double* dfc = ws.dfc.data() + rg.slot * m;
    double* r = ws.r.data();
    double* f = ws.rad_f.data();
    double* df = ws.rad_df.data();
    for (int p = 0; p < nl; ++p) {
        const int n = list[p];
        const double w = rg.element < 0 ? env.weight[n] : 1.0;
        r[p] = env.r[n];
        f[p] = w * fc[n];
        df[p] = w * dfc[n];
    }
    double* acc = ws.rad_acc.data();
    if (Gradient) std::fill(acc, acc + nl, 0.0);
    for (int k = 0; k < nk; ++k) {
        const Key& key = rg.keys[k];
        double* h = ws.h.data() + static_cast<size_t>(k) * stride;
        const double eta = key.eta, rs = key.rs;
        if (key.base == k) {
#pragma omp simd
            for (int p = 0; p < nl; ++p) h[p] = vexp(-eta * (r[p] - rs) * (r[p] - rs));
        } else {
            const double* hb = ws.h.data() + static_cast<size_t>(key.base) * stride;
            const int power = key.power;
            for (int p = 0; p < nl; p += simd::kWidth) {
                simd::store(h + p, simd::ipow(simd::load(hb + p), power));
            }
        }
        if (Gradient) {
            const double u = U[k];
            if (u == 0.0) continue;
#pragma omp simd
            for (int p = 0; p < nl; ++p) acc[p] += u * h[p] * (df[p] - 2.0 * eta * (r[p] - rs) * f[p]);
        }
    }
    if (Gradient) {
        for (int p = 0; p < nl; ++p) coef[list[p]] += acc[p];
        return;
    }
    for (int s = 0; s < nsf; ++s) {
        const double* h = ws.h.data() + static_cast<size_t>(rg.sf_key[s]) * stride;
        double sum = 0.0;
#pragma omp simd reduction(+ : sum)
        for (int p = 0; p < nl; ++p) sum += h[p] * f[p];
        G[rg.sf_index[s]] += sum;
    }
}

template <bool Gradient, int W>
void Descriptor::gaussian_group(const AngularGroup& g, const NeighborEnv& env, double* G,
                                const double* dEdG, double* gx, double* gy, double* gz,
                                DescriptorWorkspace& ws, const KernelOptions& kernels) const {
    if (g.uses_jk) {
        gaussian_kernel<Gradient, true, W>(g, env, G, dEdG, gx, gy, gz, ws, kernels);
    } else {
        gaussian_kernel<Gradient, false, W>(g, env, G, dEdG, gx, gy, gz, ws, kernels);
    }
}

// Gaussian angular group, one central atom. The pairs (j, k) that count are listed per
// j (packed indices), then processed kWidth at a time with every per-pair quantity in
// vector registers. A term factorises into angular powers, one Gaussian per radial key
// and one cutoff product shared by all keys:
//   (1 + lambda cos)^zeta * E_key * F,  E_key = exp(-eta [t_ij^2 + t_ik^2 (+ t_jk^2)]),
//   t = r - r_s,  F = w_j f_c(r_ij) w_k f_c(r_ik) (f_c(r_jk)),
// so E_key is one exp of a sum per pair (or a power of another key's E, or, without r_jk,
// a product of per-neighbour Gaussians), and the gradient needs only four sums over keys
// per pair (S0 = sum A E, S1 = sum eta A E, S3 = sum eta r_s A E, S2 = sum B E).
template <bool Gradient, bool UsesJk, int W>
void Descriptor::gaussian_kernel(const AngularGroup& g, const NeighborEnv& env, double* G,
                                 const double* dEdG, double* gx, double* gy, double* gz,
                                 DescriptorWorkspace& ws, const KernelOptions& kernels) const {
    using vd = typename simd::Lanes<W>::vd;
    const int nsf = static_cast<int>(g.sfs.size());
    // Gradient: U_s = dE/dG_s * 2^(1-zeta) and U_s zeta lambda, per SF of the group.
    ws.coef_a.resize(nsf);
    ws.coef_b.resize(nsf);
    if (Gradient) {
        bool any = false;
        for (int s = 0; s < nsf; ++s) {
            const AngularSF& sf = g.sfs[s];
            ws.coef_a[s] = dEdG[sf.index] * sf.prefactor;
            ws.coef_b[s] = ws.coef_a[s] * sf.zeta * sf.lambda;
            any = any || ws.coef_a[s] != 0.0;
        }
        if (!any) return;
    }
    const int m = env.count;
    std::vector<int>& list = ws.list;
    const int n_first = collect_group_neighbors(env, 0.0, g.rc, g.weighted, g.e1, g.e2, list);
    const bool distinct = !g.weighted && g.e1 != g.e2;
    const int nl = static_cast<int>(list.size());
    if (nl < 2) return;
    const int nk = static_cast<int>(g.keys.size());
    const int na = static_cast<int>(g.angle_keys.size());
    reserve_group(ws, nl + W, nk);
    gather_group(env, list, g.weighted, Gradient, ws);
    // Per listed neighbour: w f_c(r) and w f_c'(r) (w = Z or 1); without r_jk also the
    // Gaussian exp(-eta (r - r_s)^2) of every key that is not a power of another.
    {
        const double* fc = ws.fc.data() + g.slot * m;
        const double* dfc = ws.dfc.data() + g.slot * m;
        for (int p = 0; p < nl; ++p) {
            ws.fa[p] = ws.w[p] * fc[list[p]];
            ws.dfa[p] = ws.w[p] * dfc[list[p]];
        }
        // W entries of padding: far away (outside every r_jk cutoff), cos theta = 0 and no
        // weight, so that whole vectors can be read past the end of the list.
        for (int p = nl; p < nl + W; ++p) {
            ws.x[p] = ws.y[p] = ws.z[p] = 3.0 * g.rc + 1.0;
            ws.fa[p] = ws.dfa[p] = ws.r[p] = ws.inv_r[p] = 0.0;
        }
        for (int k = 0; k < nk && !UsesJk; ++k) {
            if (g.keys[k].base != k) continue;
            const double eta = g.keys[k].eta, rs = g.keys[k].rs;
            double* h = ws.h.data() + k * nl;
            for (int p = 0; p < nl; ++p) {
                const double t = ws.r[p] - rs;
                h[p] = vexp(-eta * t * t);
            }
        }
    }
    // Recording (values pass) or replay (gradient pass of the same atom) of the per-pair
    // data that cost most: the partner lists, r_jk, f_c(r_jk) and its derivative, the
    // angular powers and the Gaussians per key.
    const int block_doubles = W * (1 + 2 * na + nk + (UsesJk ? 3 : 0));
    const int j_end = distinct ? n_first : nl - 1;
    size_t bound = 0;  // blocks of all pairs (j, k) before the r_jk test (values pass)
    for (int p = 0; p < j_end && !Gradient; ++p) {
        bound += (nl - (distinct ? n_first : p + 1) + W - 1) / W;
    }
    TapeCursor cur = open_tape(ws, static_cast<size_t>(&g - angular_.data()), Gradient,
                               bound * block_doubles, kernels.pair_tape_limit);
    const bool record = cur.record, replay = cur.replay;
    size_t& tpos = cur.tpos;
    size_t& ipos = cur.ipos;
    const CutoffFunction& cutoff = cutoffs_[g.slot];
    const double rc2 = g.rc * g.rc;
    // Raw pointers for the hot loops (the compiler cannot always hoist vector loads).
    const double* X = ws.x.data();
    const double* Y = ws.y.data();
    const double* Z = ws.z.data();
    const double* IR = ws.inv_r.data();
    const double* R = ws.r.data();
    const double* FW = ws.fa.data();
    const double* DFW = ws.dfa.data();
    const double* hrows = ws.h.data();
    int* sel_buffer = ws.sel.data();
    const double* coef_a = ws.coef_a.data();
    const double* coef_b = ws.coef_b.data();
    double* GX = ws.gx.data();
    double* GY = ws.gy.data();
    double* GZ = ws.gz.data();
    const int* key_start = g.key_start.data();
    const Key* keys = g.keys.data();
    const AngleKey* angle_keys = g.angle_keys.data();
    const int* sf_angle = g.sf_angle.data();
    double* tape = ws.tape.data();
    const int F_at = UsesJk ? 3 * W : 0, pw_at = F_at + W, ek_at = pw_at + 2 * na * W;
    const size_t group_start = record ? ws.tape_len : 0;  // where this group's blocks begin
    int group_blocks = 0;  // blocks of W pairs so far, over all j
    // Values pass: the SF sums over the blocks (sum_blocks, below) are taken in runs of at
    // most kernels.angular_sum_run doubles of blocks (at least one j's), the same runs whether
    // the blocks are on the tape or in scratch memory, which then stays bounded however
    // many pairs an atom has. The gradient pass needs only the current j's blocks.
    const size_t sum_run = kernels.angular_sum_run;
    int summed = 0;  // blocks already summed into G
    // G_s += prefactor_s * sum over blocks [summed, end) of P^zeta E_key F, per key with
    // up to 4 SF sums in registers.
    const auto sum_blocks = [&](int end) {
        const double* first = record ? ws.tape.data() + group_start + size_t(summed) * block_doubles
                                     : ws.vpow.data();
        for (int k = 0; k < nk; ++k) {
            for (int s0 = key_start[k]; s0 < key_start[k + 1]; s0 += 4) {
                simd::with_count<4>(key_start[k + 1] - s0, [&](auto count) {
                    constexpr int NS = decltype(count)::value;
                    vd acc[NS] = {};
                    int at[NS];
                    for (int i = 0; i < NS; ++i) at[i] = pw_at + W * sf_angle[s0 + i];
                    const double* b = first;
                    for (int blk = summed; blk < end; ++blk, b += block_doubles) {
                        const vd EF = simd::load<vd>(b + ek_at + W * k) * simd::load<vd>(b + F_at);
                        for (int i = 0; i < NS; ++i) acc[i] += simd::load<vd>(b + at[i]) * EF;
                    }
                    for (int i = 0; i < NS; ++i) {
                        const AngularSF& sf = g.sfs[s0 + i];
                        G[sf.index] += sf.prefactor * simd::sum(acc[i]);
                    }
                });
            }
        }
        summed = end;
    };
    for (int p = 0; p < j_end; ++p) {
        const int q0 = distinct ? n_first : p + 1;
        const int mk = nl - q0;
        if (mk <= 0) continue;
        const double xj = X[p], yj = Y[p], zj = Z[p], inv_rj = IR[p], r_ij = R[p];
        const double f_ij = FW[p], df_ij = DFW[p];
        // Partners that count: without an r_jk factor all of [q0, nl) (contiguous);
        // otherwise list indices in sel[0, mc), padded to a multiple of W with a valid
        // index (padded lanes get a zero factor).
        int mc = 0;
        const int* sel = sel_buffer;
        if (!UsesJk) {
            mc = mk;
        } else if (replay) {
            mc = ws.tape_idx[ipos++];
            if (mc == 0) continue;
            sel = ws.tape_idx.data() + ipos;
            ipos += (mc + W - 1) / W * W;
        } else {
            // Vector compare, then the indices of the lanes inside r_c appended in order
            // (the padding past nl is outside r_c); when recording, straight onto the
            // tape after their count (each compress may write W entries).
            int* out = sel_buffer;
            if (record) out = grow_tape_idx(ws, 1 + static_cast<size_t>(mk) + W) + 1;
            for (int q = 0; q < mk; q += W) {
                const vd ax = simd::load<vd>(X + q0 + q) - xj, ay = simd::load<vd>(Y + q0 + q) - yj,
                         az = simd::load<vd>(Z + q0 + q) - zj;
                mc += simd::compress_indices(out + mc, q0 + q, ax * ax + ay * ay + az * az < rc2);
            }
            const int mpad = (mc + W - 1) / W * W;
            if (record) {
                out[-1] = mc;
                ws.tape_idx_len += 1 + static_cast<size_t>(mpad);
            }
            if (mc == 0) continue;
            for (int c = mc; c < mpad; ++c) out[c] = out[0];
            sel = out;
        }
        const int mpad = (mc + W - 1) / W * W;
        const size_t j_doubles = static_cast<size_t>(mpad / W) * block_doubles;
        // This j's blocks of per-pair data: on the tape (recording or replaying) or in
        // scratch memory, after the previous j's not yet summed (values pass) or alone
        // (gradient pass). Block layout: [r_jk, f_jk, df_jk,] F, powers[2 na], E[nk].
        double* blocks;
        if (!Gradient && group_blocks > summed &&
            size_t(group_blocks - summed + mpad / W) * block_doubles > sum_run) {
            sum_blocks(group_blocks);
        }
        if (record) {
            grow_tape(ws, j_doubles);
            tape = ws.tape.data();
            blocks = tape + ws.tape_len;
            ws.tape_len += j_doubles;
        } else if (replay) {
            blocks = tape + tpos;
            tpos += j_doubles;
        } else {
            const size_t used = Gradient ? 0 : size_t(group_blocks - summed) * block_doubles;
            if (ws.vpow.size() < used + j_doubles) ws.vpow.resize(2 * (used + j_doubles));
            blocks = ws.vpow.data() + used;
        }
        group_blocks += mpad / W;
        // Partner data of lanes c ... c + W - 1 (arrays hold W spare entries past nl).
        const auto fetch = [&](const double* a, int c) {
            return UsesJk ? simd::gather<vd>(a, sel + c) : simd::load<vd>(a + q0 + c);
        };
        // Fill the blocks (unless replaying): geometry, cutoff of r_jk, angular powers and
        // the Gaussians of every key. One loop over the blocks: its inner loops over the
        // keys have the same trip counts for every block, so only its exit is unpredictable.
        for (int c = 0; c < mpad && !replay; c += W) {
            double* slot = blocks + (c / W) * block_doubles;
            const vd xk = fetch(X, c), yk = fetch(Y, c), zk = fetch(Z, c);
            const vd inv_rk = fetch(IR, c), r_ik = fetch(R, c);
            const vd cos_t = (xj * xk + yj * yk + zj * zk) * inv_rj * inv_rk;
            const auto valid = simd::iota<vd>() < static_cast<double>(mc - c);
            vd f_jk = simd::select(valid, simd::splat<vd>(1.0), vd{}), r_jk{};
            if (UsesJk) {
                const vd jx = xk - xj, jy = yk - yj, jz = zk - zj;
                r_jk = simd::sqrt(jx * jx + jy * jy + jz * jz);
                vd df_jk;
                cutoff.evaluate(r_jk, f_jk, df_jk);
                f_jk = simd::select(valid, f_jk, vd{});
                simd::store(slot, r_jk);
                simd::store(slot + W, f_jk);
                simd::store(slot + 2 * W, simd::select(valid, df_jk, vd{}));
            }
            simd::store(slot + F_at, f_ij * fetch(FW, c) * f_jk);
            // Angular factors per angle key: pw[a] = P^zeta, pw[na + a] = P^(zeta - 1).
            double* pw = slot + pw_at;
            for (int a = 0; a < na; ++a) {
                const AngleKey& ak = angle_keys[a];
                const vd P = 1.0 + ak.lambda * cos_t;
                vd P1;
                if (ak.int_zeta > 0) {
                    P1 = simd::ipow(P, ak.int_zeta - 1);
                } else {
                    for (int l = 0; l < W; ++l) P1[l] = P[l] > 0.0 ? std::pow(P[l], ak.zeta - 1.0) : 0.0;
                }
                P1 = simd::select(P > 0.0, P1, vd{});
                simd::store(pw + W * a, P1 * P);
                simd::store(pw + W * (na + a), P1);
            }
            // Gaussians per key: exp(-eta sum t^2) (keys sorted by r_s: one sum of squares
            // per r_s), a power of an earlier key's, or (no r_jk) the product of
            // per-neighbour Gaussians.
            double* ek = slot + ek_at;
            double rs_done = 0.0;
            vd sum_t2{};
            for (int k = 0; k < nk; ++k) {
                const Key& key = keys[k];
                vd e;
                if (key.base != k) {
                    e = simd::ipow(simd::load<vd>(ek + W * key.base), key.power);
                } else if (UsesJk) {
                    if (k == 0 || key.rs != rs_done) {
                        const double rs = key.rs;
                        const vd t_ik = r_ik - rs, t_jk = r_jk - rs;
                        sum_t2 = (r_ij - rs) * (r_ij - rs) + t_ik * t_ik + t_jk * t_jk;
                        rs_done = rs;
                    }
                    e = simd::vexp(-key.eta * sum_t2);
                } else {
                    const double* h = hrows + k * nl;
                    e = h[p] * fetch(h, c);
                }
                simd::store(ek + W * k, e);
            }
        }
        if (!Gradient) continue;  // the SF sums come after the last j
        vd sx{}, sy{}, sz{};  // gradient with respect to d_j
        for (int c = 0; c < mpad; c += W) {
            const double* slot = blocks + (c / W) * block_doubles;
            const double* pw = slot + pw_at;
            const double* ek = slot + ek_at;
            const vd F = simd::load<vd>(slot + F_at);
            vd S0{}, S1{}, S2{}, S3{};
            for (int k = 0; k < nk; ++k) {
                vd A{}, B{};
                for (int s = key_start[k]; s < key_start[k + 1]; ++s) {
                    const int a = sf_angle[s];
                    A += coef_a[s] * simd::load<vd>(pw + W * a);
                    B += coef_b[s] * simd::load<vd>(pw + W * (na + a));
                }
                const vd E = simd::load<vd>(ek + W * k);
                const vd AE = A * E, etaAE = keys[k].eta * AE;
                S0 += AE;
                S1 += etaAE;
                S3 += keys[k].rs * etaAE;
                S2 += B * E;
            }
            const vd xk = fetch(X, c), yk = fetch(Y, c), zk = fetch(Z, c);
            const vd inv_rk = fetch(IR, c), r_ik = fetch(R, c);
            const vd f_ik = fetch(FW, c), df_ik = fetch(DFW, c);
            const vd cos_t = (xj * xk + yj * yk + zj * zk) * inv_rj * inv_rk;
            vd f_jk, r_jk{}, df_jk{};
            if (UsesJk) {
                r_jk = simd::load<vd>(slot);
                f_jk = simd::load<vd>(slot + W);
                df_jk = simd::load<vd>(slot + 2 * W);
            } else {
                f_jk = simd::select(simd::iota<vd>() < static_cast<double>(mc - c), simd::splat<vd>(1.0), vd{});
            }
            // Partial derivatives of the pair's terms (cos theta and the three distances).
            const vd acc_c = F * S2;
            const vd G_ = -2.0 * F;
            const vd acc_ij = S0 * (df_ij * f_ik * f_jk) + G_ * (r_ij * S1 - S3);
            const vd acc_ik = S0 * (f_ij * df_ik * f_jk) + G_ * (r_ik * S1 - S3);
            // Chain rule: cos = d_j.d_k / (r_ij r_ik), r_jk = |d_k - d_j|.
            const vd cc = acc_c * inv_rj * inv_rk;
            const vd ca = acc_ij * inv_rj - acc_c * cos_t * (inv_rj * inv_rj);
            const vd cb = acc_ik * inv_rk - acc_c * cos_t * inv_rk * inv_rk;
            vd gkx = cb * xk + cc * xj, gky = cb * yk + cc * yj, gkz = cb * zk + cc * zj;
            sx += ca * xj + cc * xk;
            sy += ca * yj + cc * yk;
            sz += ca * zj + cc * zk;
            if (UsesJk) {
                const vd jx = xk - xj, jy = yk - yj, jz = zk - zj;
                const vd acc_jk = S0 * (f_ij * f_ik * df_jk) + G_ * (r_jk * S1 - S3);
                const vd cj = simd::select(r_jk > 0.0, acc_jk / r_jk, vd{});
                gkx += cj * jx;
                gky += cj * jy;
                gkz += cj * jz;
                sx -= cj * jx;
                sy -= cj * jy;
                sz -= cj * jz;
            }
            // Only the lanes that hold a partner (padded lanes repeat one index, whose
            // updates would form a chain through memory).
            const int lanes = std::min(W, mc - c);
            for (int l = 0; l < lanes; ++l) {
                const int o = UsesJk ? sel[c + l] : q0 + c + l;
                GX[o] += gkx[l];
                GY[o] += gky[l];
                GZ[o] += gkz[l];
            }
        }
        GX[p] += simd::sum(sx);
        GY[p] += simd::sum(sy);
        GZ[p] += simd::sum(sz);
    }
    if (Gradient) {
        scatter_group_gradient(list, ws, gx, gy, gz);
        return;
    }
    if (group_blocks > summed) sum_blocks(group_blocks);
}

namespace {
/// out[s] = sum_{c0 <= c < c1} A[angle[s] * stride + c] * R[c] for NS functions at once,
/// W partners at a time with the NS sums in registers (R is read in whole vectors;
/// lanes past c1 count zero).
template <int NS, int W>
void window_sums(const double* A, int stride, const int* angle, const double* R, int c0, int c1,
                 double* out) {
    using vd = typename simd::Lanes<W>::vd;
    vd acc[NS] = {};
    for (int c = c0; c < c1; c += W) {
        const auto inside = simd::iota<vd>() < static_cast<double>(c1 - c);
        const vd r = simd::select(inside, simd::load<vd>(R + c), vd{});
#pragma GCC unroll 8
        for (int s = 0; s < NS; ++s) acc[s] += simd::load<vd>(A + angle[s] * stride + c) * r;
    }
    for (int s = 0; s < NS; ++s) out[s] = simd::sum(acc[s]);
}
}  // namespace

template <bool Gradient, int W>
void Descriptor::compact_group(const AngularGroup& g, const NeighborEnv& env, double* G,
                               const double* dEdG, double* gx, double* gy, double* gz,
                               DescriptorWorkspace& ws, const KernelOptions& kernels) const {
    if (Gradient) {
        bool any = false;
        for (const AngularSF& sf : g.sfs) any = any || dEdG[sf.index] != 0.0;
        if (!any) return;
    }
    // Neighbours in the union of the radial windows, each part sorted by distance: the
    // partners inside one window are then a contiguous range.
    std::vector<int>& list = ws.list;
    const int n_first = collect_group_neighbors(env, g.rl, g.rc, g.weighted, g.e1, g.e2, list);
    const auto closer = [&env](int a, int b) {
        return env.r[a] < env.r[b] || (env.r[a] == env.r[b] && a < b);
    };
    std::sort(list.begin(), list.begin() + n_first, closer);
    std::sort(list.begin() + n_first, list.end(), closer);
    const bool distinct = !g.weighted && g.e1 != g.e2;
    const int nl = static_cast<int>(list.size());
    if (nl < 2) return;
    const int nw = static_cast<int>(g.windows.size());
    const int na = static_cast<int>(g.angles.size());
    using vd = typename simd::Lanes<W>::vd;
    const int stride = nl + W;  // of the per-partner rows (room for whole vectors)
    reserve_group(ws, stride, std::max(nw, na));
    gather_group(env, list, g.weighted, Gradient, ws);
    // Recording (values pass) or replay (gradient pass of the same atom) of each j's
    // partner list, cos theta, r_jk and theta.
    const int j_end = distinct ? n_first : nl - 1;
    size_t bound = 0;  // cos theta, r_jk, theta of all pairs (j, k) (values pass)
    for (int p = 0; p < j_end && !Gradient; ++p) {
        bound += 3 * static_cast<size_t>(nl - (distinct ? n_first : p + 1));
    }
    TapeCursor cur = open_tape(ws, static_cast<size_t>(&g - angular_.data()), Gradient, bound,
                               kernels.pair_tape_limit);
    const bool record = cur.record, replay = cur.replay;
    size_t& tpos = cur.tpos;
    size_t& ipos = cur.ipos;
    const bool derivatives = Gradient || record;  // both passes then pick the same j
    // w_p C_w(r_p) and w_p C_w'(r_p) per window w and listed neighbour p.
    double* cw = ws.h.data();
    double* dcw = ws.dh.data();
    for (int w = 0; w < nw; ++w) {
        double* c = cw + w * nl;
        double* dc = dcw + w * nl;
        g.windows[w].radial.evaluate_batch(ws.r.data(), nl, c, derivatives ? dc : nullptr);
        for (int p = 0; p < nl; ++p) {
            c[p] *= ws.w[p];
            if (derivatives) dc[p] *= ws.w[p];
        }
    }
    const double jk_lo = std::max(g.rl, 0.0), jk_hi = g.rc;
    double* A = ws.ph.data();   // angle function a of partner c at A[a * stride + c]
    double* dA = ws.pdh.data();
    double* R = ws.pw.data();        // w_k C_w(r_ik) [C_w(r_jk)] over a window's partners
    double* dRik = ws.hjk.data();    // w_k C_w'(r_ik) [C_w(r_jk)]
    double* dRjk = ws.dhjk.data();   // w_k C_w(r_ik) C_w'(r_jk)
    double* cjk = ws.fjk.data();
    double* dcjk = ws.dfjk.data();
    double* acc_t = ws.base.data();  // dE / dtheta
    for (int p = 0; p < j_end; ++p) {
        const int q0 = distinct ? n_first : p + 1;
        const int mk = nl - q0;
        if (mk <= 0) continue;
        // Windows that contain j.
        std::vector<int>& active = ws.active;
        active.clear();
        for (int w = 0; w < nw; ++w) {
            if (cw[w * nl + p] != 0.0 || (derivatives && dcw[w * nl + p] != 0.0)) active.push_back(w);
        }
        if (active.empty()) continue;
        const double xj = ws.x[p], yj = ws.y[p], zj = ws.z[p], inv_rj = ws.inv_r[p];
        int mc = 0;
        const int* sel = ws.sel.data();
        double* cos_t = ws.cos_t.data();
        double* rjk = ws.rjk.data();
        double* theta = ws.theta.data();
        if (replay) {
            mc = ws.tape_idx[ipos++];
            if (mc == 0) continue;
            sel = ws.tape_idx.data() + ipos;
            ipos += mc;
            cos_t = ws.tape.data() + tpos;
            rjk = cos_t + mc;
            theta = rjk + mc;
            tpos += 3 * static_cast<size_t>(mc);
        } else {
            pair_geometry(ws, p, q0, mk);
            // Partners that count, packed (in distance order): not collinear (cos theta
            // strictly inside (-1, 1)) and, for types with an r_jk factor, r_jk inside
            // the union of the windows (each window's own C(r_jk) is zero outside it).
            int* packed = ws.sel.data();
            for (int q = 0; q < mk; ++q) {
                packed[mc] = q;
                const bool ok = cos_t[q] > -1.0 && cos_t[q] < 1.0 &&
                                (!g.uses_jk || (rjk[q] > jk_lo && rjk[q] < jk_hi));
                mc += ok;
            }
            if (record) append_tape_idx(ws, &mc, 1);
            if (mc == 0) continue;
            for (int c = 0; c < mc; ++c) {
                cos_t[c] = cos_t[packed[c]];
                rjk[c] = rjk[packed[c]];
            }
#pragma omp simd
            for (int c = 0; c < mc; ++c) theta[c] = vacos(cos_t[c]);
            if (record) {
                append_tape_idx(ws, packed, static_cast<size_t>(mc));
                grow_tape(ws, 3 * static_cast<size_t>(mc));
                double* t = ws.tape.data() + ws.tape_len;
                std::copy(cos_t, cos_t + mc, t);
                std::copy(rjk, rjk + mc, t + mc);
                std::copy(theta, theta + mc, t + 2 * mc);
                ws.tape_len += 3 * static_cast<size_t>(mc);
            }
        }
        double* px = ws.px.data();
        double* py = ws.py.data();
        double* pz = ws.pz.data();
        double* pinv = ws.pinv.data();
        double* pr = ws.pr.data();
        for (int c = 0; c < mc; ++c) {
            const int o = q0 + sel[c];
            px[c] = ws.x[o];
            py[c] = ws.y[o];
            pz[c] = ws.z[o];
            pinv[c] = ws.inv_r[o];
            pr[c] = ws.r[o];
        }
        // Every angle function once for all windows.
        for (int a = 0; a < na; ++a) {
            g.angles[a].fn.evaluate_batch(theta, mc, A + a * stride, Gradient ? dA + a * stride : nullptr);
        }
        if (Gradient) {
            std::fill(acc_t, acc_t + mc, 0.0);
            std::fill(ws.acc_ij.begin(), ws.acc_ij.begin() + mc, 0.0);
            std::fill(ws.acc_ik.begin(), ws.acc_ik.begin() + mc, 0.0);
            std::fill(ws.acc_jk.begin(), ws.acc_jk.begin() + mc, 0.0);
        }
        double* acc_ij = ws.acc_ij.data();
        double* acc_ik = ws.acc_ik.data();
        double* acc_jk = ws.acc_jk.data();
        for (const int w : active) {
            const CompactWindow& win = g.windows[w];
            // Partners with r_l < r_ik < r_c: [c0, c1) of the packed, sorted partners.
            const int c0 = static_cast<int>(std::upper_bound(pr, pr + mc, win.rl) - pr);
            const int c1 = static_cast<int>(std::lower_bound(pr, pr + mc, win.rc) - pr);
            const int len = c1 - c0;
            if (len <= 0) continue;
            const double cij = cw[w * nl + p], dcij = dcw[w * nl + p];
            const double* ck = cw + w * nl + q0;
            const double* dck = dcw + w * nl + q0;
            // R and dRik: without an r_jk factor and with no partner left out (packed
            // partner c is list entry q0 + c) the window's rows themselves.
            const double* Rw = ck;
            const double* dRw = dck;
            if (g.uses_jk || mc != mk) {
                for (int c = c0; c < c1; ++c) {
                    R[c] = ck[sel[c]];
                    if (Gradient) dRik[c] = dck[sel[c]];
                }
                Rw = R;
                dRw = dRik;
            }
            if (g.uses_jk) {
                win.radial.evaluate_batch(rjk + c0, len, cjk + c0, Gradient ? dcjk + c0 : nullptr);
#pragma omp simd
                for (int c = c0; c < c1; ++c) {
                    if (Gradient) {
                        dRjk[c] = R[c] * dcjk[c];
                        dRik[c] *= cjk[c];
                    }
                    R[c] *= cjk[c];
                }
            }
            const int s_begin = g.key_start[w], s_end = g.key_start[w + 1];
            if (!Gradient) {
                const int ns = s_end - s_begin;
                const int* angle = g.sf_angle.data() + s_begin;
                double sums[8];
                switch (ns) {
#define BPFAST_WINDOW_CASE(n) \
    case n: window_sums<n, W>(A, stride, angle, Rw, c0, c1, sums); break;
                    BPFAST_WINDOW_CASE(1)
                    BPFAST_WINDOW_CASE(2)
                    BPFAST_WINDOW_CASE(3)
                    BPFAST_WINDOW_CASE(4)
                    BPFAST_WINDOW_CASE(5)
                    BPFAST_WINDOW_CASE(6)
                    BPFAST_WINDOW_CASE(7)
                    BPFAST_WINDOW_CASE(8)
#undef BPFAST_WINDOW_CASE
                    default:
                        for (int s = s_begin; s < s_end; ++s) {
                            const double* As = A + g.sf_angle[s] * stride;
                            double sum = 0.0;
#pragma omp simd reduction(+ : sum)
                            for (int c = c0; c < c1; ++c) sum += As[c] * Rw[c];
                            G[g.sfs[s].index] += cij * sum;
                        }
                        continue;
                }
                for (int s = s_begin; s < s_end; ++s) G[g.sfs[s].index] += cij * sums[s - s_begin];
                continue;
            }
            // V = sum_s u_s A_s and D = sum_s u_s dA_s / dtheta over the window's SFs, W
            // partners at a time in registers, and straight into the partial derivatives
            // (lanes past c1 add zero).
            bool any = false;
            for (int s = s_begin; s < s_end; ++s) any = any || dEdG[g.sfs[s].index] != 0.0;
            if (!any) continue;
            for (int c = c0; c < c1; c += W) {
                vd v{}, d{};
                for (int s = s_begin; s < s_end; ++s) {
                    const double u = dEdG[g.sfs[s].index];
                    const int row = g.sf_angle[s] * stride + c;
                    v += u * simd::load<vd>(A + row);
                    d += u * simd::load<vd>(dA + row);
                }
                const auto inside = simd::iota<vd>() < static_cast<double>(c1 - c);
                v = simd::select(inside, v, vd{});
                d = simd::select(inside, d, vd{});
                const vd r = simd::load<vd>(Rw + c);
                simd::store(acc_t + c, simd::load<vd>(acc_t + c) + cij * r * d);
                simd::store(acc_ij + c, simd::load<vd>(acc_ij + c) + dcij * r * v);
                simd::store(acc_ik + c, simd::load<vd>(acc_ik + c) + cij * simd::load<vd>(dRw + c) * v);
                if (g.uses_jk) {
                    simd::store(acc_jk + c, simd::load<vd>(acc_jk + c) + cij * simd::load<vd>(dRjk + c) * v);
                }
            }
        }
        if (Gradient) {
            double* acc_c = ws.acc_c.data();
#pragma omp simd
            for (int c = 0; c < mc; ++c) {
                // d theta / d cos = -1 / sin(theta)
                acc_c[c] = -acc_t[c] / std::sqrt(1.0 - cos_t[c] * cos_t[c]);
            }
            pair_chain_rule(ws, p, q0, mc, sel, cos_t, rjk, xj, yj, zj, inv_rj, px, py, pz, pinv);
        }
    }
    if (Gradient) scatter_group_gradient(list, ws, gx, gy, gz);
}

}  // namespace bpfast
