#include "bpfast/symmetry_functions.hpp"

#include <algorithm>
#include <cmath>
#include <tuple>

#include "bpfast/errors.hpp"

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

void CompactFunction::evaluate(double x, double& f, double& df) const {
    const double t = x - centre_;
    double u = std::fabs(t) * inv_half_width_;
    if (u >= 1.0) {
        f = 0.0;
        df = 0.0;
        return;
    }
    double du = (t < 0.0 ? -1.0 : 1.0) * inv_half_width_;  // du/dx
    if (asymmetric_) {
        du *= 2.0 - 2.0 * u;
        u = (2.0 - u) * u;
    }
    double g, dg;
    if (order_ == 0) {
        exp_core(u, g, dg);
    } else {
        polynomial_core(order_, u, g, dg);
    }
    f = g;
    df = dg * du;
}

// ---------------------------------------------------------------------------------------
// Descriptor set-up

namespace {
bool is_integer_zeta(double zeta) {
    return zeta >= 1.0 && std::fabs(zeta - std::round(zeta)) < 1e-12 && zeta < 1e6;
}

/// p^n for integer n >= 1 by repeated multiplication.
inline double ipow(double p, int n) {
    double r = p;
    for (int i = 1; i < n; ++i) r *= p;
    return r;
}

bool is_weighted(int type) { return type == 12 || type == 13 || type >= 23; }
bool is_compact(int type) { return type >= 20; }
}  // namespace

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
        if (!is_angular_sf_type(sf.type)) {
            Radial rad{};
            rad.index = index;
            rad.type = sf.type;
            rad.element = is_weighted(sf.type) ? -1 : sf.e1;
            rad.eta = sf.eta;
            rad.rs = sf.rs;
            rad.rc = sf.rc;
            rad.rl = sf.rl;
            rad.slot = compact ? -1 : slot_of(sf.rc);
            if (compact) rad.compact = CompactFunction(sf.rl, sf.rc, sf.subtype, true);
            radial_.push_back(rad);
            continue;
        }
        // Angular: find or create the group sharing type, elements and radial part.
        AngularGroup* group = nullptr;
        for (auto& g : angular_) {
            if (g.type == sf.type && g.e1 == sf.e1 && g.e2 == sf.e2 && g.rc == sf.rc &&
                (!compact || (g.rl == sf.rl && g.subtype == sf.subtype))) {
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
            g.subtype = sf.subtype;
            g.slot = compact ? -1 : slot_of(sf.rc);
            if (compact) g.radial = CompactFunction(sf.rl, sf.rc, sf.subtype, true);
            angular_.push_back(g);
            group = &angular_.back();
        }
        AngularSF a{};
        a.index = index;
        a.key = -1;
        if (compact) {
            a.angle = CompactFunction(sf.angle_left, sf.angle_right, sf.subtype, false);
            a.angle_left = sf.angle_left;
            a.angle_right = sf.angle_right;
        } else {
            for (size_t k = 0; k < group->keys.size(); ++k) {
                if (group->keys[k].eta == sf.eta && group->keys[k].rs == sf.rs) a.key = int(k);
            }
            if (a.key < 0) {
                group->keys.push_back({sf.eta, sf.rs});
                a.key = static_cast<int>(group->keys.size() - 1);
            }
            a.lambda = sf.lambda;
            a.zeta = sf.zeta;
            a.prefactor = std::pow(2.0, 1.0 - sf.zeta);
            a.int_zeta = is_integer_zeta(sf.zeta) ? static_cast<int>(std::lround(sf.zeta)) : -1;
        }
        group->sfs.push_back(a);
    }
}

// ---------------------------------------------------------------------------------------
// Evaluation

void Descriptor::values(const NeighborEnv& env, double* G, DescriptorWorkspace& ws) const {
    std::fill(G, G + n_, 0.0);
    evaluate<false>(env, G, nullptr, nullptr, nullptr, nullptr, ws);
}

void Descriptor::gradient(const NeighborEnv& env, const double* dEdG, double* gx, double* gy,
                          double* gz, DescriptorWorkspace& ws) const {
    evaluate<true>(env, nullptr, dEdG, gx, gy, gz, ws);
}

template <bool Gradient>
void Descriptor::evaluate(const NeighborEnv& env, double* G, const double* dEdG, double* gx,
                          double* gy, double* gz, DescriptorWorkspace& ws) const {
    const int m = env.count;
    // Cutoff function values for every distinct r_c, shared by all Gaussian SFs.
    ws.fc.resize(cutoffs_.size() * m);
    ws.dfc.resize(cutoffs_.size() * m);
    for (size_t s = 0; s < cutoffs_.size(); ++s) {
        const double rc = cutoffs_[s].rc();
        double* fc = ws.fc.data() + s * m;
        double* dfc = ws.dfc.data() + s * m;
        for (int n = 0; n < m; ++n) {
            if (env.r[n] < rc) {
                cutoffs_[s].evaluate(env.r[n], fc[n], dfc[n]);
            } else {
                fc[n] = 0.0;
                dfc[n] = 0.0;
            }
        }
    }

    for (const Radial& rad : radial_) {
        const bool compact = rad.type >= 20;
        const double* fc = compact ? nullptr : ws.fc.data() + rad.slot * m;
        const double* dfc = compact ? nullptr : ws.dfc.data() + rad.slot * m;
        const double u = Gradient ? dEdG[rad.index] : 0.0;
        if (Gradient && u == 0.0) continue;
        double sum = 0.0;
        for (int n = 0; n < m; ++n) {
            const double r = env.r[n];
            if (r >= rad.rc) continue;
            if (rad.element >= 0 && env.element[n] != rad.element) continue;
            const double w = rad.element >= 0 ? 1.0 : env.weight[n];
            double f, df;
            if (compact) {
                if (r <= rad.rl) continue;
                rad.compact.evaluate(r, f, df);
            } else {
                const double t = r - rad.rs;
                const double e = std::exp(-rad.eta * t * t);
                f = e * fc[n];
                df = e * (dfc[n] - 2.0 * rad.eta * t * fc[n]);
            }
            if (!Gradient) {
                sum += w * f;
            } else if (r > 0.0) {
                const double c = u * w * df / r;
                gx[n] += c * env.dx[n];
                gy[n] += c * env.dy[n];
                gz[n] += c * env.dz[n];
            }
        }
        if (!Gradient) G[rad.index] += sum;
    }

    for (const AngularGroup& g : angular_) {
        if (g.compact) {
            compact_group<Gradient>(g, env, G, dEdG, gx, gy, gz, ws);
        } else {
            gaussian_group<Gradient>(g, env, G, dEdG, gx, gy, gz, ws);
        }
    }
}

namespace {
/// Neighbours usable in an angular group: inside (lo, hi), non-zero distance and of a
/// matching element.
void filter_neighbors(const NeighborEnv& env, double lo, double hi, int e1, int e2,
                      std::vector<int>& list) {
    list.clear();
    for (int n = 0; n < env.count; ++n) {
        const double r = env.r[n];
        if (!(r < hi) || !(r > lo) || r == 0.0) continue;
        if (e1 >= 0 && env.element[n] != e1 && env.element[n] != e2) continue;
        list.push_back(n);
    }
}

/// Adds the chain rule of one triplet (i; a, b) to the neighbour gradients, given the
/// accumulated partial derivatives with respect to cos(theta), r_ij, r_ik and r_jk.
inline void add_triplet_gradient(const NeighborEnv& env, int a, int b, double cos_t, double acc_c,
                                 double acc_ij, double acc_ik, double acc_jk, double jx, double jy,
                                 double jz, double rjk, double* gx, double* gy, double* gz) {
    const double ria = env.r[a], rib = env.r[b];
    const double inv_ab = 1.0 / (ria * rib);
    const double ca = acc_ij / ria - acc_c * cos_t / (ria * ria);
    const double cb = acc_ik / rib - acc_c * cos_t / (rib * rib);
    const double cc = acc_c * inv_ab;
    const double cj = rjk > 0.0 ? acc_jk / rjk : 0.0;
    // d_a gets ca d_a + cc d_b - cj (d_b - d_a); d_b gets cb d_b + cc d_a + cj (d_b - d_a)
    gx[a] += ca * env.dx[a] + cc * env.dx[b] - cj * jx;
    gy[a] += ca * env.dy[a] + cc * env.dy[b] - cj * jy;
    gz[a] += ca * env.dz[a] + cc * env.dz[b] - cj * jz;
    gx[b] += cb * env.dx[b] + cc * env.dx[a] + cj * jx;
    gy[b] += cb * env.dy[b] + cc * env.dy[a] + cj * jy;
    gz[b] += cb * env.dz[b] + cc * env.dz[a] + cj * jz;
}
}  // namespace

template <bool Gradient>
void Descriptor::gaussian_group(const AngularGroup& g, const NeighborEnv& env, double* G,
                                const double* dEdG, double* gx, double* gy, double* gz,
                                DescriptorWorkspace& ws) const {
    if (Gradient) {
        bool any = false;
        for (const AngularSF& sf : g.sfs) any = any || dEdG[sf.index] != 0.0;
        if (!any) return;
    }
    const int m = env.count;
    std::vector<int>& list = ws.list;
    filter_neighbors(env, 0.0, g.rc, g.e1, g.e2, list);
    const int nl = static_cast<int>(list.size());
    const int nk = static_cast<int>(g.keys.size());
    const double* fc = ws.fc.data() + g.slot * m;
    const double* dfc = ws.dfc.data() + g.slot * m;
    // h = exp(-eta (r - r_s)^2) f_c(r) and its derivative, per key and listed neighbour.
    ws.h.resize(static_cast<size_t>(nk) * nl);
    ws.dh.resize(static_cast<size_t>(nk) * nl);
    ws.hjk.resize(nk);
    ws.dhjk.resize(nk);
    for (int k = 0; k < nk; ++k) {
        const double eta = g.keys[k].eta, rs = g.keys[k].rs;
        for (int p = 0; p < nl; ++p) {
            const int n = list[p];
            const double t = env.r[n] - rs;
            const double e = std::exp(-eta * t * t);
            ws.h[k * nl + p] = e * fc[n];
            ws.dh[k * nl + p] = e * (dfc[n] - 2.0 * eta * t * fc[n]);
        }
    }
    const CutoffFunction& cutoff = cutoffs_[g.slot];
    for (int p = 0; p < nl; ++p) {
        const int a = list[p];
        for (int q = p + 1; q < nl; ++q) {
            const int b = list[q];
            if (!g.weighted && g.e1 != g.e2 && env.element[a] == env.element[b]) continue;
            const double jx = env.dx[b] - env.dx[a];
            const double jy = env.dy[b] - env.dy[a];
            const double jz = env.dz[b] - env.dz[a];
            double rjk = 0.0;
            if (g.uses_jk) {
                rjk = std::sqrt(jx * jx + jy * jy + jz * jz);
                if (!(rjk < g.rc)) continue;
                double f, df;
                cutoff.evaluate(rjk, f, df);
                for (int k = 0; k < nk; ++k) {
                    const double t = rjk - g.keys[k].rs;
                    const double e = std::exp(-g.keys[k].eta * t * t);
                    ws.hjk[k] = e * f;
                    ws.dhjk[k] = e * (df - 2.0 * g.keys[k].eta * t * f);
                }
            } else {
                for (int k = 0; k < nk; ++k) {
                    ws.hjk[k] = 1.0;
                    ws.dhjk[k] = 0.0;
                }
            }
            const double cos_t = (env.dx[a] * env.dx[b] + env.dy[a] * env.dy[b] +
                                  env.dz[a] * env.dz[b]) /
                                 (env.r[a] * env.r[b]);
            const double w = g.weighted ? env.weight[a] * env.weight[b] : 1.0;
            double acc_c = 0.0, acc_ij = 0.0, acc_ik = 0.0, acc_jk = 0.0;
            for (const AngularSF& sf : g.sfs) {
                const double P = 1.0 + sf.lambda * cos_t;
                if (P <= 0.0) continue;
                double pz1, pz;  // P^(zeta-1), P^zeta
                if (sf.int_zeta > 0) {
                    pz1 = sf.int_zeta > 1 ? ipow(P, sf.int_zeta - 1) : 1.0;
                    pz = pz1 * P;
                } else {
                    pz = std::pow(P, sf.zeta);
                    pz1 = pz / P;
                }
                const int k = sf.key;
                const double hij = ws.h[k * nl + p], hik = ws.h[k * nl + q], hjk = ws.hjk[k];
                if (!Gradient) {
                    G[sf.index] += w * sf.prefactor * pz * hij * hik * hjk;
                } else {
                    const double u = dEdG[sf.index] * w * sf.prefactor;
                    const double ang = u * pz;
                    acc_c += u * sf.zeta * sf.lambda * pz1 * hij * hik * hjk;
                    acc_ij += ang * ws.dh[k * nl + p] * hik * hjk;
                    acc_ik += ang * hij * ws.dh[k * nl + q] * hjk;
                    acc_jk += ang * hij * hik * ws.dhjk[k];
                }
            }
            if (Gradient) {
                add_triplet_gradient(env, a, b, cos_t, acc_c, acc_ij, acc_ik, acc_jk, jx, jy, jz,
                                     rjk, gx, gy, gz);
            }
        }
    }
}

template <bool Gradient>
void Descriptor::compact_group(const AngularGroup& g, const NeighborEnv& env, double* G,
                               const double* dEdG, double* gx, double* gy, double* gz,
                               DescriptorWorkspace& ws) const {
    if (Gradient) {
        bool any = false;
        for (const AngularSF& sf : g.sfs) any = any || dEdG[sf.index] != 0.0;
        if (!any) return;
    }
    std::vector<int>& list = ws.list;
    filter_neighbors(env, g.rl, g.rc, g.e1, g.e2, list);
    const int nl = static_cast<int>(list.size());
    ws.h.resize(nl);
    ws.dh.resize(nl);
    for (int p = 0; p < nl; ++p) g.radial.evaluate(env.r[list[p]], ws.h[p], ws.dh[p]);
    const double jk_lo = std::max(g.rl, 0.0);
    for (int p = 0; p < nl; ++p) {
        const int a = list[p];
        for (int q = p + 1; q < nl; ++q) {
            const int b = list[q];
            if (!g.weighted && g.e1 != g.e2 && env.element[a] == env.element[b]) continue;
            const double jx = env.dx[b] - env.dx[a];
            const double jy = env.dy[b] - env.dy[a];
            const double jz = env.dz[b] - env.dz[a];
            double rjk = 0.0, cjk = 1.0, dcjk = 0.0;
            if (g.uses_jk) {
                rjk = std::sqrt(jx * jx + jy * jy + jz * jz);
                if (!(rjk < g.rc) || !(rjk > jk_lo)) continue;
                g.radial.evaluate(rjk, cjk, dcjk);
            }
            const double cos_t = (env.dx[a] * env.dx[b] + env.dy[a] * env.dy[b] +
                                  env.dz[a] * env.dz[b]) /
                                 (env.r[a] * env.r[b]);
            if (cos_t <= -1.0 || cos_t >= 1.0) continue;
            const double theta = std::acos(cos_t);
            const double w = g.weighted ? env.weight[a] * env.weight[b] : 1.0;
            const double cij = ws.h[p], cik = ws.h[q];
            const double radial = w * cij * cik * cjk;
            double acc_theta = 0.0, acc_r = 0.0;
            for (const AngularSF& sf : g.sfs) {
                if (theta < sf.angle_left || theta > sf.angle_right) continue;
                double A, dA;
                sf.angle.evaluate(theta, A, dA);
                if (!Gradient) {
                    G[sf.index] += radial * A;
                } else {
                    const double u = dEdG[sf.index];
                    acc_theta += u * dA;
                    acc_r += u * A;
                }
            }
            if (Gradient) {
                // d theta / d cos = -1 / sin(theta)
                const double acc_c = -acc_theta * radial / std::sqrt(1.0 - cos_t * cos_t);
                const double acc_ij = acc_r * w * ws.dh[p] * cik * cjk;
                const double acc_ik = acc_r * w * cij * ws.dh[q] * cjk;
                const double acc_jk = acc_r * w * cij * cik * dcjk;
                add_triplet_gradient(env, a, b, cos_t, acc_c, acc_ij, acc_ik, acc_jk, jx, jy, jz,
                                     rjk, gx, gy, gz);
            }
        }
    }
}

}  // namespace bpfast
