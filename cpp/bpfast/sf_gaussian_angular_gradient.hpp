// The gradient pass of the Gaussian angular kernel (sf_gaussian_angular_kernel.hpp):
// with U_s = dE/dG_s 2^(1-zeta), the gradient needs only four sums over keys per pair
// (S0 = sum A E, S1 = sum eta A E, S3 = sum eta r_s A E, S2 = sum B E, with
// A = sum_s U_s P_s^zeta and B = sum_s U_s zeta lambda P_s^(zeta-1), P = 1 + lambda cos):
//   dE/dcos = F S2,   dE/dr_ij = S0 f_c'(r_ij)/f_c(r_ij) F - 2 F (r_ij S1 - S3),  ...
// turned into dE/dd_j and dE/dd_k by the chain rule. A committee's gradient pass
// computes the geometry of a block of pairs once and each member's sums and
// derivatives from it.
//
// Included only by sf_gaussian_angular.cpp.
#pragma once

#include <algorithm>

#include "bpfast/sf_gaussian_angular_kernel.hpp"

namespace bpfast::gaussian_kernel {

/// Gradient of j's pairs from their blocks: the partial derivatives with respect to
/// cos theta and the three distances, turned into dE/dd_j and dE/dd_k.
template <bool Gradient, bool UsesJk, int W>
inline void GaussianAngularKernel<Gradient, UsesJk, W>::gradient_of(int p, int q0, int mc,
                                                                    int mpad, const int* sel,
                                                                    const double* blocks) {
    sf::GroupNeighbors& nb = s_.nb;
    const double* weight = s_.sf_weight.data();
    const double* weight_dcos = s_.sf_weight_dcos.data();
    double* GX = nb.gx.data();
    double* GY = nb.gy.data();
    double* GZ = nb.gz.data();
    const int* key_start = g_.key_start.data();
    const sf::Key* keys = g_.keys.data();
    const int* sf_angle = g_.sf_angle.data();
    const int nk = static_cast<int>(g_.keys.size());
    const int na = static_cast<int>(g_.angle_keys.size());
    const int block_doubles = block_doubles_, F_at = F_at_, pw_at = pw_at_, ek_at = ek_at_;
    const Listed j = listed(p);
    const double xj = j.x, yj = j.y, zj = j.z, inv_rj = j.inv_r, r_ij = j.r;
    const double f_ij = j.fw, df_ij = j.dfw;
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
                A += weight[s] * simd::load<vd>(pw + W * a);
                B += weight_dcos[s] * simd::load<vd>(pw + W * (na + a));
            }
            const vd E = simd::load<vd>(ek + W * k);
            const vd AE = A * E, etaAE = keys[k].eta * AE;
            S0 += AE;
            S1 += etaAE;
            S3 += keys[k].rs * etaAE;
            S2 += B * E;
        }
        const PartnerLanes pk = partners_at(q0, sel, c);
        const vd xk = pk.x, yk = pk.y, zk = pk.z, inv_rk = pk.inv_r, r_ik = pk.r;
        const vd f_ik = pk.fw, df_ik = pk.dfw;
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
        const vd dE_dcos = F * S2;
        const vd minus_2F = -2.0 * F;
        const vd dE_drij = S0 * (df_ij * f_ik * f_jk) + minus_2F * (r_ij * S1 - S3);
        const vd dE_drik = S0 * (f_ij * df_ik * f_jk) + minus_2F * (r_ik * S1 - S3);
        // Chain rule: cos = d_j.d_k / (r_ij r_ik), r_jk = |d_k - d_j|.
        const vd cc = dE_dcos * inv_rj * inv_rk;
        const vd ca = dE_drij * inv_rj - dE_dcos * cos_t * (inv_rj * inv_rj);
        const vd cb = dE_drik * inv_rk - dE_dcos * cos_t * inv_rk * inv_rk;
        vd gkx = cb * xk + cc * xj, gky = cb * yk + cc * yj, gkz = cb * zk + cc * zj;
        sx += ca * xj + cc * xk;
        sy += ca * yj + cc * yk;
        sz += ca * zj + cc * zk;
        if (UsesJk) {
            const vd jx = xk - xj, jy = yk - yj, jz = zk - zj;
            const vd dE_drjk = S0 * (f_ij * f_ik * df_jk) + minus_2F * (r_jk * S1 - S3);
            const vd cj = simd::select(r_jk > 0.0, dE_drjk / r_jk, vd{});
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
        if constexpr (kPartnerRows) {
            // per lane a row (x, y, z, 0) added to the partner's gradient row
            vd lane_rows[4];
            transpose4(gkx, gky, gkz, vd{}, lane_rows[0], lane_rows[1], lane_rows[2],
                       lane_rows[3]);
            double* rows = s_.gradient_rows.data();
            if constexpr (W == 4) {
                for (int l = 0; l < lanes; ++l) {
                    double* o = rows + 4 * sel[c + l];
                    simd::store(o, simd::load<vd>(o) + lane_rows[l]);
                }
            } else {  // lane_rows[l]: lane l's row, then lane l + 4's
                for (int l = 0; l < std::min(lanes, 4); ++l) {
                    simd::add_half<0>(rows + 4 * sel[c + l], lane_rows[l]);
                }
                for (int l = 0; l < lanes - 4; ++l) {
                    simd::add_half<1>(rows + 4 * sel[c + 4 + l], lane_rows[l]);
                }
            }
        } else {
            for (int l = 0; l < lanes; ++l) {
                const int o = UsesJk ? sel[c + l] : q0 + c + l;
                GX[o] += gkx[l];
                GY[o] += gky[l];
                GZ[o] += gkz[l];
            }
        }
    }
    if constexpr (kPartnerRows) {
        double* o = s_.gradient_rows.data() + 4 * p;
        o[0] += simd::sum(sx);
        o[1] += simd::sum(sy);
        o[2] += simd::sum(sz);
    } else {
        GX[p] += simd::sum(sx);
        GY[p] += simd::sum(sy);
        GZ[p] += simd::sum(sz);
    }
}

/// A committee's weights of each SF's term in the sums over keys: U_s eta_k (S1) and
/// U_s eta_k r_s,k (S3), per member.
template <bool Gradient, bool UsesJk, int W>
inline void GaussianAngularKernel<Gradient, UsesJk, W>::member_key_weights(int members,
                                                                           int nsf) {
    s_.sf_weight_eta.resize(static_cast<size_t>(nsf) * members);
    s_.sf_weight_rs.resize(static_cast<size_t>(nsf) * members);
    s_.sf_terms.resize(2 * W * static_cast<size_t>(nsf));
    for (int m = 0; m < members; ++m) {
        for (size_t k = 0; k < g_.keys.size(); ++k) {
            for (int s = g_.key_start[k]; s < g_.key_start[k + 1]; ++s) {
                const double u = s_.sf_weight[m * nsf + s];
                s_.sf_weight_eta[m * nsf + s] = g_.keys[k].eta * u;
                s_.sf_weight_rs[m * nsf + s] = g_.keys[k].rs * (g_.keys[k].eta * u);
            }
        }
    }
}

/// gradient_of for the io_.members members of a committee at once: per block of
/// pairs the geometry once, then every member's sums over keys and derivatives, into
/// the member's rows of s_.member_g{x,y,z}.
template <bool Gradient, bool UsesJk, int W>
inline void GaussianAngularKernel<Gradient, UsesJk, W>::member_gradients_of(
    int p, int q0, int mc, int mpad, const int* sel, const double* blocks) {
    const int* key_start = g_.key_start.data();
    const int* sf_angle = g_.sf_angle.data();
    const int nk = static_cast<int>(g_.keys.size());
    const int na = static_cast<int>(g_.angle_keys.size());
    const int nsf = static_cast<int>(g_.sfs.size());
    const int members = io_.members;
    const size_t row = static_cast<size_t>(nl_ + W);  // of a member's gradient rows
    const int block_doubles = block_doubles_, F_at = F_at_, pw_at = pw_at_, ek_at = ek_at_;
    const Listed j = listed(p);
    const double xj = j.x, yj = j.y, zj = j.z, inv_rj = j.inv_r, r_ij = j.r;
    const double f_ij = j.fw, df_ij = j.dfw;
    double* acc_j = s_.member_j.data();  // per member: W lanes of x, y, z
    std::fill(acc_j, acc_j + 3 * W * members, 0.0);
    for (int c = 0; c < mpad; c += W) {
        const double* slot = blocks + (c / W) * block_doubles;
        const double* pw = slot + pw_at;
        const double* ek = slot + ek_at;
        const vd F = simd::load<vd>(slot + F_at);
        const PartnerLanes pk = partners_at(q0, sel, c);
        const vd xk = pk.x, yk = pk.y, zk = pk.z, inv_rk = pk.inv_r, r_ik = pk.r;
        const vd f_ik = pk.fw, df_ik = pk.dfw;
        const vd cos_t = (xj * xk + yj * yk + zj * zk) * inv_rj * inv_rk;
        vd f_jk, r_jk{}, df_jk{}, jx{}, jy{}, jz{};
        if (UsesJk) {
            r_jk = simd::load<vd>(slot);
            f_jk = simd::load<vd>(slot + W);
            df_jk = simd::load<vd>(slot + 2 * W);
            jx = xk - xj;
            jy = yk - yj;
            jz = zk - zj;
        } else {
            f_jk = simd::select(simd::iota<vd>() < static_cast<double>(mc - c), simd::splat<vd>(1.0), vd{});
        }
        const vd minus_2F = -2.0 * F;
        const vd fc_ij = df_ij * f_ik * f_jk, fc_ik = f_ij * df_ik * f_jk;
        const vd fc_jk = f_ij * f_ik * df_jk;
        const vd cos_rj = cos_t * (inv_rj * inv_rj), cos_rk = cos_t * inv_rk * inv_rk;
        const vd inv_rjk = UsesJk ? simd::select(r_jk > 0.0, 1.0 / r_jk, vd{}) : vd{};
        const int lanes = std::min(W, mc - c);
        // The members' sums over keys are sums over the SFs of the shared terms
        // E_k P^zeta (S0, S1, S3) and E_k P^(zeta-1) (S2) with per-member weights.
        double* terms = s_.sf_terms.data();
        for (int k = 0; k < nk; ++k) {
            const vd E = simd::load<vd>(ek + W * k);
            for (int s = key_start[k]; s < key_start[k + 1]; ++s) {
                const int a = sf_angle[s];
                simd::store(terms + 2 * W * s, E * simd::load<vd>(pw + W * a));
                simd::store(terms + 2 * W * s + W, E * simd::load<vd>(pw + W * (na + a)));
            }
        }
        for (int m = 0; m < members; ++m) {
            const double* weight = s_.sf_weight.data() + m * nsf;
            const double* weight_dcos = s_.sf_weight_dcos.data() + m * nsf;
            const double* weight_eta = s_.sf_weight_eta.data() + m * nsf;
            const double* weight_rs = s_.sf_weight_rs.data() + m * nsf;
            vd S0{}, S1{}, S2{}, S3{};
            for (int s = 0; s < nsf; ++s) {
                const vd t = simd::load<vd>(terms + 2 * W * s);
                S0 += weight[s] * t;
                S1 += weight_eta[s] * t;
                S3 += weight_rs[s] * t;
                S2 += weight_dcos[s] * simd::load<vd>(terms + 2 * W * s + W);
            }
            const vd dE_dcos = F * S2;
            const vd dE_drij = S0 * fc_ij + minus_2F * (r_ij * S1 - S3);
            const vd dE_drik = S0 * fc_ik + minus_2F * (r_ik * S1 - S3);
            const vd cc = dE_dcos * inv_rj * inv_rk;
            const vd ca = dE_drij * inv_rj - dE_dcos * cos_rj;
            const vd cb = dE_drik * inv_rk - dE_dcos * cos_rk;
            vd gkx = cb * xk + cc * xj, gky = cb * yk + cc * yj, gkz = cb * zk + cc * zj;
            vd sx = ca * xj + cc * xk, sy = ca * yj + cc * yk, sz = ca * zj + cc * zk;
            if (UsesJk) {
                const vd cj = (S0 * fc_jk + minus_2F * (r_jk * S1 - S3)) * inv_rjk;
                gkx += cj * jx;
                gky += cj * jy;
                gkz += cj * jz;
                sx -= cj * jx;
                sy -= cj * jy;
                sz -= cj * jz;
            }
            double* aj = acc_j + 3 * W * m;
            simd::store(aj, simd::load<vd>(aj) + sx);
            simd::store(aj + W, simd::load<vd>(aj + W) + sy);
            simd::store(aj + 2 * W, simd::load<vd>(aj + 2 * W) + sz);
            double* GX = s_.member_gx.data() + m * row;
            double* GY = s_.member_gy.data() + m * row;
            double* GZ = s_.member_gz.data() + m * row;
            for (int l = 0; l < lanes; ++l) {
                const int o = UsesJk ? sel[c + l] : q0 + c + l;
                GX[o] += gkx[l];
                GY[o] += gky[l];
                GZ[o] += gkz[l];
            }
        }
    }
    for (int m = 0; m < members; ++m) {
        const double* aj = acc_j + 3 * W * m;
        s_.member_gx[m * row + p] += simd::sum(simd::load<vd>(aj));
        s_.member_gy[m * row + p] += simd::sum(simd::load<vd>(aj + W));
        s_.member_gz[m * row + p] += simd::sum(simd::load<vd>(aj + 2 * W));
    }
}

/// Adds every member's gradient per listed neighbour to its rows of io_.g{x,y,z}.
template <bool Gradient, bool UsesJk, int W>
inline void GaussianAngularKernel<Gradient, UsesJk, W>::scatter_member_gradients() {
    sf::scatter_member_gradients(io_, s_.nb.list, nl_, s_.member_gx.data(),
                                 s_.member_gy.data(), s_.member_gz.data(),
                                 static_cast<size_t>(nl_ + W));
}

}  // namespace bpfast::gaussian_kernel
