// Compact ("polynomial") angular symmetry functions of one central atom i (Bircher et
// al.), with C(x; lo, hi) the compact function (compact_function.hpp):
//
//   type 22   G = sum_{j<k} C(r_ij; r_l, r_c) C(r_ik; r_l, r_c) A(theta_ijk)
//                                                       for r_l < r_ij, r_ik < r_c
//   type 21   as 22 times C(r_jk; r_l, r_c), requiring max(r_l, 0) < r_jk < r_c
//   type 24   as 21 with the weight Z_j Z_k and no element filter
//   type 25   as 22 with the weight Z_j Z_k and no element filter
//
// over the neighbours j, k of the elements (e1, e2) in either order, where
// A(theta) = C(theta; theta_l, theta_r) with the symmetric core; a triplet counts only
// for theta_l <= theta <= theta_r and is skipped when cos(theta) is exactly +-1.
// Asymmetric radial cores ("p2a" ...) replace u by (2 - u) u before the core.
//
// The SFs of a group (type, element pair) share the triplets: their radial windows
// (r_l, r_c) are the group's keys, the group's range is the union of the windows, and
// every angle function is evaluated once per triplet for all windows. Gradient: with
// R = w_k C(r_ik) [C(r_jk)] and V = sum_s dE/dG_s A_s, D = sum_s dE/dG_s A_s'
// over a window's SFs, per pair
//   dE/dtheta += C(r_ij) R D,  dE/dr_ij += C'(r_ij) R V,  dE/dr_ik += C(r_ij) dR/dr_ik V,
//   dE/dr_jk += C(r_ij) dR/dr_jk V,  and dE/dcos = -dE/dtheta / sin(theta).
// A committee's gradient pass evaluates the angle functions and radial factors once and
// each member's V, D, partial derivatives and chain rule from them.
#include "bpfast/sf_compact_angular.hpp"

#include <algorithm>
#include <cmath>

#include "bpfast/fastmath.hpp"

namespace bpfast {
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

/// The partners k of one j that count, in distance order: list index q0 + sel[c] (sel
/// null when all candidates count: q0 + c), cos theta, r_jk (types with an r_jk factor)
/// and theta of packed partner c < count.
struct Partners {
    int count = 0;
    const int* sel = nullptr;
    const double* cos_t = nullptr;
    const double* r_jk = nullptr;
    const double* theta = nullptr;
};

/// Positions d and 1/r of the packed partners (indexed from 0).
struct PartnerRows {
    const double* x;
    const double* y;
    const double* z;
    const double* inv_r;
};

/// One window's share of a j's triplets in the gradient pass: packed partners [c0, c1),
/// C(r_ij), C'(r_ij), the radial factor and dR/dr_ik, committee member m.
struct WindowTerms {
    int c0, c1;
    double cij, dcij;
    const double* R;
    const double* dR_ik;
    int m;
};

template <bool Gradient, int W>
class CompactAngularKernel {
  public:
    using vd = typename simd::Lanes<W>::vd;

    CompactAngularKernel(const sf::AngularGroup& g, size_t group, const sf::KernelIO& io,
                         CompactAngularScratch& s, PairTape& tape, const KernelOptions& kernels)
        : g_(g), group_(group), io_(io), s_(s), tape_(tape), kernels_(kernels) {}

    void run() {
        if (Gradient && !gather_dEdG()) return;
        // Recording (values pass) or replay (gradient pass of the same atom) of the
        // sorted neighbour list and of each j's partner list, cos theta, r_jk and theta.
        if (Gradient) cursor_ = tape_.open(group_, true, 0, kernels_.pair_tape_limit);
        const int n_first = cursor_.replay ? replay_sorted_neighbors() : collect_sorted_neighbors();
        const bool distinct = !g_.weighted && g_.e1 != g_.e2;
        k_begin_ = distinct ? n_first : 0;
        nl_ = static_cast<int>(s_.nb.list.size());
        if (nl_ < 2) return;
        stride_ = nl_ + W;  // of the per-partner rows (room for whole vectors)
        reserve();
        sf::gather_group_neighbors(io_.env, g_.weighted, Gradient, s_.nb);
        if (Gradient && io_.members > 1) {
            const size_t rows = static_cast<size_t>(stride_) * io_.members;
            for (auto* v : {&s_.member_gx, &s_.member_gy, &s_.member_gz}) v->assign(rows, 0.0);
        }
        const int j_end = distinct ? n_first : nl_ - 1;
        if (!Gradient) {
            size_t bound = 0;  // cos theta, [r_jk,] theta of all pairs (j, k)
            for (int p = 0; p < j_end; ++p) {
                bound += pair_numbers() * static_cast<size_t>(nl_ - (distinct ? n_first : p + 1));
            }
            cursor_ = tape_.open(group_, false, bound, kernels_.pair_tape_limit);
            if (cursor_.record) {
                const int head[2] = {n_first, nl_};
                tape_.append_indices(head, 2);
                tape_.append_indices(s_.nb.list.data(), s_.nb.list.size());
            }
        }
        derivatives_ = Gradient || cursor_.record;  // both passes then pick the same j
        window_rows();
        const int ns = static_cast<int>(g_.sfs.size());
        if (!Gradient) {  // the group's G, in its order, while the triplets add to them
            s_.sf_G.resize(ns);
            for (int s = 0; s < ns; ++s) s_.sf_G[s] = io_.G[g_.sfs[s].index];
        }
        for (int p = 0; p < j_end; ++p) {
            const int q0 = distinct ? n_first : p + 1;
            if (nl_ - q0 <= 0) continue;
            triplets_of(p, q0);
        }
        if (!Gradient) {
            for (int s = 0; s < ns; ++s) io_.G[g_.sfs[s].index] = s_.sf_G[s];
        }
        if (Gradient && io_.members > 1) {
            scatter_member_gradients();
        } else if (Gradient) {
            sf::scatter_group_gradient(s_.nb, io_.gx, io_.gy, io_.gz);
        }
    }

    /// Adds every member's gradient per listed neighbour to its rows of io_.g{x,y,z}.
    void scatter_member_gradients() {
        sf::scatter_member_gradients(io_, s_.nb.list, nl_, s_.member_gx.data(),
                                     s_.member_gy.data(), s_.member_gz.data(),
                                     stride_);
    }

  private:
    /// Numbers recorded per partner: cos theta, r_jk (types with an r_jk factor), theta.
    size_t pair_numbers() const { return g_.uses_jk ? 3 : 2; }

    /// Gradient pass: every member's dE/dG of the group's SFs and which windows have a
    /// nonzero one into the scratch; whether any has.
    bool gather_dEdG() {
        const int ns = static_cast<int>(g_.sfs.size());
        const int nw = static_cast<int>(g_.windows.size());
        s_.sf_dEdG.resize(static_cast<size_t>(ns) * io_.members);
        s_.window_live.assign(static_cast<size_t>(nw) * io_.members, 0);
        bool any = false;
        for (int m = 0; m < io_.members; ++m) {
            const double* dEdG = io_.dEdG + m * io_.dEdG_stride;
            double* u = s_.sf_dEdG.data() + static_cast<size_t>(m) * ns;
            for (int s = 0; s < ns; ++s) u[s] = dEdG[g_.sfs[s].index];
            for (int w = 0; w < nw; ++w) {
                bool live = false;
                for (int s = g_.key_start[w]; s < g_.key_start[w + 1]; ++s) live = live || u[s] != 0.0;
                s_.window_live[static_cast<size_t>(m) * nw + w] = live;
                any = any || live;
            }
        }
        return any;
    }

    /// Neighbours in the union of the radial windows, each part sorted by distance: the
    /// partners inside one window are then a contiguous range. Returns the size of the
    /// first part (as collect_group_neighbors).
    int collect_sorted_neighbors() {
        const NeighborEnv& env = io_.env;
        std::vector<int>& list = s_.nb.list;
        const int n_first = sf::collect_group_neighbors(env, g_.rl, g_.rc, g_.weighted, g_.e1,
                                                        g_.e2, list);
        // By (r, index): the closer neighbour first, the lower index on a tie.
        std::vector<std::pair<double, int>>& keyed = s_.by_distance;
        keyed.resize(list.size());
        for (size_t i = 0; i < list.size(); ++i) keyed[i] = {env.r[list[i]], list[i]};
        std::sort(keyed.begin(), keyed.begin() + n_first);
        std::sort(keyed.begin() + n_first, keyed.end());
        for (size_t i = 0; i < list.size(); ++i) list[i] = keyed[i].second;
        return n_first;
    }

    /// The sorted list as the values pass recorded it; returns the first part's size.
    int replay_sorted_neighbors() {
        const int* head = tape_.indices(cursor_.ipos);
        const int n_first = head[0], nl = head[1];
        s_.nb.list.assign(head + 2, head + 2 + nl);
        cursor_.ipos += 2 + static_cast<size_t>(nl);
        return n_first;
    }

    void reserve() {
        const int n = stride_;
        s_.nb.reserve(n);
        for (auto* v : {&s_.cos_t, &s_.r_jk, &s_.theta, &s_.px, &s_.py, &s_.pz, &s_.p_inv_r, &s_.p_r,
                        &s_.radial, &s_.dradial_ik, &s_.dradial_jk, &s_.c_jk, &s_.dc_jk,
                        &s_.dE_dtheta, &s_.dE_dcos, &s_.dE_drij, &s_.dE_drik, &s_.dE_drjk, &s_.pgx,
                        &s_.pgy, &s_.pgz}) {
            if (static_cast<int>(v->size()) < n) v->resize(n);
        }
        if (static_cast<int>(s_.partners.size()) < n) s_.partners.resize(n);
        for (auto* v : {&s_.active, &s_.window_lo, &s_.window_hi}) v->resize(g_.windows.size());
        const size_t member_rows = static_cast<size_t>(n) * (Gradient ? io_.members : 1);
        for (auto* v : {&s_.dE_dtheta, &s_.dE_drij, &s_.dE_drik, &s_.dE_drjk}) {
            if (v->size() < member_rows) v->resize(member_rows);
        }
        const size_t windows = g_.windows.size() * static_cast<size_t>(n);
        const size_t angles = g_.angles.size() * static_cast<size_t>(n);
        for (auto* v : {&s_.window, &s_.dwindow}) {
            if (v->size() < windows) v->resize(windows);
        }
        for (auto* v : {&s_.angle, &s_.dangle}) {
            if (v->size() < angles) v->resize(angles);
        }
    }

    /// w_p C_w(r_p) and w_p C_w'(r_p) per window w and listed neighbour p (rows of nl);
    /// the list indices [lo, hi) of the k candidates inside each window.
    void window_rows() {
        const int nw = static_cast<int>(g_.windows.size());
        const double* r = s_.nb.r.data();
        for (int w = 0; w < nw; ++w) {
            const sf::CompactWindow& win = g_.windows[w];
            s_.window_lo[w] = static_cast<int>(std::upper_bound(r + k_begin_, r + nl_, win.rl) - r);
            s_.window_hi[w] = static_cast<int>(std::lower_bound(r + k_begin_, r + nl_, win.rc) - r);
            double* c = s_.window.data() + w * nl_;
            double* dc = s_.dwindow.data() + w * nl_;
            g_.windows[w].radial.evaluate_batch(s_.nb.r.data(), nl_, c, derivatives_ ? dc : nullptr);
            for (int p = 0; p < nl_; ++p) {
                c[p] *= s_.nb.weight[p];
                if (derivatives_) dc[p] *= s_.nb.weight[p];
            }
        }
    }

    /// For j = p and its candidates k = q0 ... nl - 1: cos(theta_jk) and (types with an
    /// r_jk factor) r_jk into s.cos_t and s.r_jk (indexed from 0).
    template <bool UsesJk>
    void pair_geometry(int p, int q0, int mk) {
        const sf::GroupNeighbors& nb = s_.nb;
        const double xj = nb.x[p], yj = nb.y[p], zj = nb.z[p], inv_rj = nb.inv_r[p];
        const double* xk = nb.x.data() + q0;
        const double* yk = nb.y.data() + q0;
        const double* zk = nb.z.data() + q0;
        const double* inv_rk = nb.inv_r.data() + q0;
        double* cos_t = s_.cos_t.data();
        double* rjk = s_.r_jk.data();
#pragma omp simd
        for (int q = 0; q < mk; ++q) {
            cos_t[q] = (xj * xk[q] + yj * yk[q] + zj * zk[q]) * inv_rj * inv_rk[q];
            if (UsesJk) {
                const double jx = xk[q] - xj, jy = yk[q] - yj, jz = zk[q] - zj;
                rjk[q] = std::sqrt(jx * jx + jy * jy + jz * jz);
            }
        }
    }

    /// j's partners that count, replayed from the tape or computed (and recorded): not
    /// collinear (cos theta strictly inside (-1, 1)) and, for types with an r_jk factor,
    /// r_jk inside the union of the windows (each window's own C(r_jk) is zero outside).
    Partners select_partners(int p, int q0, int mk) {
        Partners out;
        if (cursor_.replay) {
            const int mc = *tape_.indices(cursor_.ipos++);
            out.count = mc;
            if (mc == 0) return out;
            if (mc < mk) {
                out.sel = tape_.indices(cursor_.ipos);
                cursor_.ipos += mc;
            }
            out.cos_t = tape_.numbers(cursor_.tpos);
            out.r_jk = g_.uses_jk ? out.cos_t + mc : nullptr;
            out.theta = out.cos_t + (pair_numbers() - 1) * mc;
            cursor_.tpos += pair_numbers() * static_cast<size_t>(mc);
            return out;
        }
        if (g_.uses_jk) {
            pair_geometry<true>(p, q0, mk);
        } else {
            pair_geometry<false>(p, q0, mk);
        }
        const double jk_lo = std::max(g_.rl, 0.0), jk_hi = g_.rc;
        double* cos_t = s_.cos_t.data();
        double* rjk = s_.r_jk.data();
        double* theta = s_.theta.data();
        int* packed = s_.partners.data();
        const auto counts = [&](int q) {
            return cos_t[q] > -1.0 && cos_t[q] < 1.0 &&
                   (!g_.uses_jk || (rjk[q] > jk_lo && rjk[q] < jk_hi));
        };
        int dropped = 0;
#pragma omp simd reduction(+ : dropped)
        for (int q = 0; q < mk; ++q) dropped += !counts(q);
        int mc = mk;
        if (dropped > 0) {
            mc = 0;
            for (int q = 0; q < mk; ++q) {
                packed[mc] = q;
                mc += counts(q);
            }
        }
        if (cursor_.record) tape_.append_indices(&mc, 1);
        out.count = mc;
        if (mc == 0) return out;
        if (mc < mk) {
            for (int c = 0; c < mc; ++c) cos_t[c] = cos_t[packed[c]];
            if (g_.uses_jk) {
                for (int c = 0; c < mc; ++c) rjk[c] = rjk[packed[c]];
            }
        }
        // Whole vectors, the last W partners again for the rest (the same numbers).
        const int whole = mc - mc % W;
        const int rest = mc >= W && whole < mc ? mc - W : whole;
#pragma omp simd
        for (int c = 0; c < whole; ++c) theta[c] = vacos(cos_t[c]);
#pragma omp simd
        for (int c = rest; c < mc; ++c) theta[c] = vacos(cos_t[c]);
        if (cursor_.record) {
            if (mc < mk) tape_.append_indices(packed, static_cast<size_t>(mc));
            double* t = tape_.append(pair_numbers() * static_cast<size_t>(mc));
            std::copy(cos_t, cos_t + mc, t);
            if (g_.uses_jk) std::copy(rjk, rjk + mc, t + mc);
            std::copy(theta, theta + mc, t + (pair_numbers() - 1) * mc);
        }
        out.sel = mc < mk ? packed : nullptr;
        out.cos_t = cos_t;
        out.r_jk = g_.uses_jk ? rjk : nullptr;
        out.theta = theta;
        return out;
    }

    /// All triplets (i, j = p, k), k from q0 on.
    void triplets_of(int p, int q0) {
        const int mk = nl_ - q0;
        const int nw = static_cast<int>(g_.windows.size());
        const double* cw = s_.window.data();
        const double* dcw = s_.dwindow.data();
        // Windows that contain j.
        int* active = s_.active.data();
        int n_active = 0;
        for (int w = 0; w < nw; ++w) {
            active[n_active] = w;
            n_active += cw[w * nl_ + p] != 0.0 || (derivatives_ && dcw[w * nl_ + p] != 0.0);
        }
        if (n_active == 0) return;
        const Partners k = select_partners(p, q0, mk);
        const int mc = k.count;
        if (mc == 0) return;
        // With no partner left out, packed partner c is list entry q0 + c: the list's rows
        // and window bounds serve directly; otherwise the partners' own copies.
        const bool all = mc == mk;
        const sf::GroupNeighbors& nb = s_.nb;
        PartnerRows rows{nb.x.data() + q0, nb.y.data() + q0, nb.z.data() + q0,
                         nb.inv_r.data() + q0};
        if (!all) {
            for (int c = 0; c < mc; ++c) s_.p_r[c] = nb.r[q0 + k.sel[c]];
        }
        if (!all && Gradient) {
            for (int c = 0; c < mc; ++c) {
                const int o = q0 + k.sel[c];
                s_.px[c] = nb.x[o];
                s_.py[c] = nb.y[o];
                s_.pz[c] = nb.z[o];
                s_.p_inv_r[c] = nb.inv_r[o];
            }
            rows = PartnerRows{s_.px.data(), s_.py.data(), s_.pz.data(), s_.p_inv_r.data()};
        }
        // Every angle function once for all windows.
        for (size_t a = 0; a < g_.angles.size(); ++a) {
            g_.angles[a].fn.evaluate_lanes<W>(k.theta, mc, s_.angle.data() + a * stride_,
                                              Gradient ? s_.dangle.data() + a * stride_ : nullptr);
        }
        if (Gradient) {
            for (auto* v : {&s_.dE_dtheta, &s_.dE_drij, &s_.dE_drik, &s_.dE_drjk}) {
                if (v == &s_.dE_drjk && !g_.uses_jk) continue;
                for (int m = 0; m < io_.members; ++m) {
                    std::fill(v->begin() + m * stride_, v->begin() + m * stride_ + mc, 0.0);
                }
            }
        }
        const double* pr = s_.p_r.data();
        for (int a = 0; a < n_active; ++a) {
            const int w = active[a];
            // Partners with r_l < r_ik < r_c: [c0, c1) of the packed, sorted partners.
            int c0, c1;
            if (all) {
                c0 = std::max(s_.window_lo[w], q0) - q0;
                c1 = std::max(s_.window_hi[w], q0) - q0;
            } else {
                const sf::CompactWindow& win = g_.windows[w];
                c0 = static_cast<int>(std::upper_bound(pr, pr + mc, win.rl) - pr);
                c1 = static_cast<int>(std::lower_bound(pr, pr + mc, win.rc) - pr);
            }
            if (c1 - c0 <= 0) continue;
            const double cij = cw[w * nl_ + p], dcij = dcw[w * nl_ + p];
            const double* R = nullptr;
            const double* dR_ik = nullptr;
            window_radial(w, q0, mk, k, c0, c1, R, dR_ik);
            if (Gradient) {
                for (int m = 0; m < io_.members; ++m) window_gradient(w, c0, c1, cij, dcij, R, dR_ik, m);
            } else {
                window_values(w, c0, c1, cij, R);
            }
        }
        if (Gradient) {
            for (int m = 0; m < io_.members; ++m) {
                if (g_.uses_jk) {
                    chain_rule<true>(p, q0, k, all, rows, m);
                } else {
                    chain_rule<false>(p, q0, k, all, rows, m);
                }
            }
        }
    }
    /// The window's radial factor of partners [c0, c1): R = w_k C_w(r_ik) [C_w(r_jk)] and
    /// dR/dr_ik (and dR/dr_jk in s.dradial_jk). Without an r_jk factor and with no
    /// partner left out (packed partner c is list entry q0 + c) the window's rows
    /// themselves.
    void window_radial(int w, int q0, int mk, const Partners& k, int c0, int c1, const double*& R_out,
                       const double*& dR_ik_out) {
        const double* ck = s_.window.data() + w * nl_ + q0;
        const double* dck = s_.dwindow.data() + w * nl_ + q0;
        R_out = ck;
        dR_ik_out = dck;
        if (!g_.uses_jk && k.count == mk) return;
        double* R = s_.radial.data();
        double* dRik = s_.dradial_ik.data();
        for (int c = c0; c < c1; ++c) {
            const int q = k.sel ? k.sel[c] : c;
            R[c] = ck[q];
            if (Gradient) dRik[c] = dck[q];
        }
        R_out = R;
        dR_ik_out = dRik;
        if (!g_.uses_jk) return;
        double* dRjk = s_.dradial_jk.data();
        double* cjk = s_.c_jk.data();
        double* dcjk = s_.dc_jk.data();
        g_.windows[w].radial.evaluate_batch(k.r_jk + c0, c1 - c0, cjk + c0,
                                            Gradient ? dcjk + c0 : nullptr);
#pragma omp simd
        for (int c = c0; c < c1; ++c) {
            if (Gradient) {
                dRjk[c] = R[c] * dcjk[c];
                dRik[c] *= cjk[c];
            }
            R[c] *= cjk[c];
        }
    }

    /// Values pass: G_s += C_w(r_ij) sum_c A_s(theta_c) R_c over the window's SFs.
    void window_values(int w, int c0, int c1, double cij, const double* R) {
        const double* A = s_.angle.data();
        const int stride = stride_;
        const int s_begin = g_.key_start[w], s_end = g_.key_start[w + 1];
        const int ns = s_end - s_begin;
        const int* angle = g_.sf_angle.data() + s_begin;
        double sums[8];
        switch (ns) {
#define BPFAST_WINDOW_CASE(n) \
    case n: window_sums<n, W>(A, stride, angle, R, c0, c1, sums); break;
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
                    const double* As = A + g_.sf_angle[s] * stride;
                    double sum = 0.0;
#pragma omp simd reduction(+ : sum)
                    for (int c = c0; c < c1; ++c) sum += As[c] * R[c];
                    s_.sf_G[s] += cij * sum;
                }
                return;
        }
        for (int s = s_begin; s < s_end; ++s) s_.sf_G[s] += cij * sums[s - s_begin];
    }

    /// Gradient pass: V = sum_s u_s A_s and D = sum_s u_s dA_s / dtheta over the window's
    /// SFs (u_s = dE/dG_s), W partners at a time in registers, and straight into the
    /// partial derivatives (lanes past c1 add zero). For committee member m: its dE/dG and
    /// its rows of the partial derivatives.
    void window_gradient(int w, int c0, int c1, double cij, double dcij, const double* R,
                         const double* dR_ik, int m) {
        const int nw = static_cast<int>(g_.windows.size());
        if (!s_.window_live[static_cast<size_t>(m) * nw + w]) return;
        const int s_begin = g_.key_start[w], ns = g_.key_start[w + 1] - s_begin;
        const double* u = s_.sf_dEdG.data() + static_cast<size_t>(m) * g_.sfs.size() + s_begin;
        const int* angle = g_.sf_angle.data() + s_begin;
        const WindowTerms t{c0, c1, cij, dcij, R, dR_ik, m};
        if (ns > 8) {
            window_gradient_n<0>(ns, u, angle, t);
        } else {
            simd::with_count<8>(ns, [&](auto n) { window_gradient_n<decltype(n)::value>(ns, u, angle, t); });
        }
    }

    /// window_gradient's loop for NS SFs (0: ns, a runtime count), their u_s and row
    /// offsets held in registers.
    template <int NS>
    void window_gradient_n(int ns, const double* u_in, const int* angle, const WindowTerms& t) {
        constexpr int kMax = NS > 0 ? NS : 1;
        const int n = NS > 0 ? NS : ns;
        double u[kMax];
        int row[kMax];
        for (int s = 0; s < (NS > 0 ? NS : 0); ++s) {
            u[s] = u_in[s];
            row[s] = angle[s] * stride_;
        }
        const double* A = s_.angle.data();
        const double* dA = s_.dangle.data();
        const double* R = t.R;
        const double* dR_ik = t.dR_ik;
        const double* dRjk = s_.dradial_jk.data();
        const double cij = t.cij, dcij = t.dcij;
        double* dE_dtheta = s_.dE_dtheta.data() + t.m * stride_;
        double* dE_drij = s_.dE_drij.data() + t.m * stride_;
        double* dE_drik = s_.dE_drik.data() + t.m * stride_;
        double* dE_drjk = s_.dE_drjk.data() + t.m * stride_;
        const bool jk = g_.uses_jk;
        const int c1 = t.c1;
        for (int c = t.c0; c < c1; c += W) {
            vd v{}, d{};
            if (NS > 0) {
#pragma GCC unroll 8
                for (int s = 0; s < kMax; ++s) {
                    v += u[s] * simd::load<vd>(A + row[s] + c);
                    d += u[s] * simd::load<vd>(dA + row[s] + c);
                }
            } else {
                for (int s = 0; s < n; ++s) {
                    const int r_s = angle[s] * stride_ + c;
                    v += u_in[s] * simd::load<vd>(A + r_s);
                    d += u_in[s] * simd::load<vd>(dA + r_s);
                }
            }
            const auto inside = simd::iota<vd>() < static_cast<double>(c1 - c);
            v = simd::select(inside, v, vd{});
            d = simd::select(inside, d, vd{});
            const vd r = simd::load<vd>(R + c);
            simd::store(dE_dtheta + c, simd::load<vd>(dE_dtheta + c) + cij * r * d);
            simd::store(dE_drij + c, simd::load<vd>(dE_drij + c) + dcij * r * v);
            simd::store(dE_drik + c, simd::load<vd>(dE_drik + c) + cij * simd::load<vd>(dR_ik + c) * v);
            if (jk) {
                simd::store(dE_drjk + c, simd::load<vd>(dE_drjk + c) + cij * simd::load<vd>(dRjk + c) * v);
            }
        }
    }

    /// Chain rule for the packed partners of j = p: dE/dcos = -dE/dtheta / sin(theta),
    /// then the partial derivatives (cos theta and the three distances; r_jk only for
    /// types with an r_jk factor) turned into gradients with respect to d_j and d_k, added
    /// to the listed neighbours' (those of committee member m when there are several).
    /// `all`: no partner left out (packed partner c is list entry q0 + c).
    template <bool UsesJk>
    void chain_rule(int p, int q0, const Partners& k, bool all, const PartnerRows& rows, int m) {
        const int mc = k.count;
        const double* cos_t = k.cos_t;
        const double* rjk = k.r_jk;
        const double* dE_dtheta = s_.dE_dtheta.data() + m * stride_;
        double* dE_dcos = s_.dE_dcos.data();
#pragma omp simd
        for (int c = 0; c < mc; ++c) {
            // d theta / d cos = -1 / sin(theta)
            dE_dcos[c] = -dE_dtheta[c] / std::sqrt(1.0 - cos_t[c] * cos_t[c]);
        }
        sf::GroupNeighbors& nb = s_.nb;
        const double xj = nb.x[p], yj = nb.y[p], zj = nb.z[p], inv_rj = nb.inv_r[p];
        const double* xk = rows.x;
        const double* yk = rows.y;
        const double* zk = rows.z;
        const double* inv_rk = rows.inv_r;
        const double* dE_drij = s_.dE_drij.data() + m * stride_;
        const double* dE_drik = s_.dE_drik.data() + m * stride_;
        const double* dE_drjk = s_.dE_drjk.data() + m * stride_;
        double* gxk = s_.pgx.data();
        double* gyk = s_.pgy.data();
        double* gzk = s_.pgz.data();
        double sx = 0.0, sy = 0.0, sz = 0.0;
#pragma omp simd reduction(+ : sx, sy, sz)
        for (int c = 0; c < mc; ++c) {
            const double inv_rk2 = inv_rk[c] * inv_rk[c];
            const double cc = dE_dcos[c] * inv_rj * inv_rk[c];
            const double ca = dE_drij[c] * inv_rj - dE_dcos[c] * cos_t[c] * inv_rj * inv_rj;
            const double cb = dE_drik[c] * inv_rk[c] - dE_dcos[c] * cos_t[c] * inv_rk2;
            if (UsesJk) {
                const double jx = xk[c] - xj, jy = yk[c] - yj, jz = zk[c] - zj;
                const double cj = rjk[c] > 0.0 ? dE_drjk[c] / rjk[c] : 0.0;
                sx += ca * xj + cc * xk[c] - cj * jx;
                sy += ca * yj + cc * yk[c] - cj * jy;
                sz += ca * zj + cc * zk[c] - cj * jz;
                gxk[c] = cb * xk[c] + cc * xj + cj * jx;
                gyk[c] = cb * yk[c] + cc * yj + cj * jy;
                gzk[c] = cb * zk[c] + cc * zj + cj * jz;
            } else {
                sx += ca * xj + cc * xk[c];
                sy += ca * yj + cc * yk[c];
                sz += ca * zj + cc * zk[c];
                gxk[c] = cb * xk[c] + cc * xj;
                gyk[c] = cb * yk[c] + cc * yj;
                gzk[c] = cb * zk[c] + cc * zj;
            }
        }
        const bool own = io_.members > 1;
        double* GX = own ? s_.member_gx.data() + m * stride_ : nb.gx.data();
        double* GY = own ? s_.member_gy.data() + m * stride_ : nb.gy.data();
        double* GZ = own ? s_.member_gz.data() + m * stride_ : nb.gz.data();
        GX[p] += sx;
        GY[p] += sy;
        GZ[p] += sz;
        if (all) {
            GX += q0;
            GY += q0;
            GZ += q0;
#pragma omp simd
            for (int c = 0; c < mc; ++c) {
                GX[c] += gxk[c];
                GY[c] += gyk[c];
                GZ[c] += gzk[c];
            }
            return;
        }
        for (int c = 0; c < mc; ++c) {
            const int o = q0 + k.sel[c];
            GX[o] += gxk[c];
            GY[o] += gyk[c];
            GZ[o] += gzk[c];
        }
    }

    const sf::AngularGroup& g_;
    size_t group_;  // index among the angular groups (the tape's key)
    const sf::KernelIO& io_;
    CompactAngularScratch& s_;
    PairTape& tape_;
    const KernelOptions& kernels_;
    int nl_ = 0;       // listed neighbours
    int k_begin_ = 0;  // first list entry of the k candidates' part
    int stride_ = 0;   // of the per-partner rows
    bool derivatives_ = false;  // window rows with derivatives (gradient or recording)
    PairTape::Cursor cursor_;
};

template <int W>
inline void compact_angular(bool gradient, const sf::AngularGroup& g, size_t group,
                            const sf::KernelIO& io, CompactAngularScratch& s, PairTape& tape,
                            const KernelOptions& k) {
    if (gradient) {
        CompactAngularKernel<true, W>(g, group, io, s, tape, k).run();
    } else {
        CompactAngularKernel<false, W>(g, group, io, s, tape, k).run();
    }
}

}  // namespace

BPFAST_KERNEL void compact_angular_narrow(bool gradient, const sf::AngularGroup& g, size_t group,
                                          const sf::KernelIO& io, CompactAngularScratch& scratch,
                                          PairTape& tape, const KernelOptions& kernels) {
    compact_angular<4>(gradient, g, group, io, scratch, tape, kernels);
}

#if BPFAST_WIDE_KERNELS
BPFAST_WIDE_KERNEL void compact_angular_wide(bool gradient, const sf::AngularGroup& g,
                                             size_t group, const sf::KernelIO& io,
                                             CompactAngularScratch& scratch, PairTape& tape,
                                             const KernelOptions& kernels) {
    compact_angular<8>(gradient, g, group, io, scratch, tape, kernels);
}
#else
void compact_angular_wide(bool gradient, const sf::AngularGroup& g, size_t group,
                          const sf::KernelIO& io, CompactAngularScratch& scratch, PairTape& tape,
                          const KernelOptions& kernels) {
    // never chosen: kernel_lanes() is 4 without wide kernels
    compact_angular_narrow(gradient, g, group, io, scratch, tape, kernels);
}
#endif

}  // namespace bpfast
