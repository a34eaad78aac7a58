// Gaussian angular symmetry functions of one central atom i (Behler's G^4 and G^5):
//
//   type 3    G = 2^(1-zeta) sum_{j<k} (1 + lambda cos theta_ijk)^zeta
//                 exp(-eta [(r_ij - r_s)^2 + (r_ik - r_s)^2 + (r_jk - r_s)^2])
//                 f_c(r_ij) f_c(r_ik) f_c(r_jk),         requiring r_ij, r_ik, r_jk < r_c
//   type 9    as 3 without any r_jk factor or condition
//   type 13   as 3 with the weight Z_j Z_k and no element filter
//
// over the neighbours j, k of the elements (e1, e2) in either order. A term with
// 1 + lambda cos theta <= 0 contributes 0.
//
// The SFs of a group (type, element pair, r_c) share the work: a term factorises into
//   (1 + lambda cos)^zeta * E_key * F,  E_key = exp(-eta [t_ij^2 + t_ik^2 (+ t_jk^2)]),
//   t = r - r_s,  F = w_j f_c(r_ij) w_k f_c(r_ik) (f_c(r_jk)),
// so E_key is one exp of a sum per pair (or a power of another key's E, or, without r_jk,
// a product of per-neighbour Gaussians). The pairs (j, k) that count are listed per j
// (packed indices), then processed in blocks of W pairs with every per-pair quantity in
// vector registers; with r_jk, the values pass queues a group's blocks and computes them
// together (fill_queued). The gradient pass is in sf_gaussian_angular_gradient.hpp.
//
// Included only by sf_gaussian_angular.cpp, whose entry points compile the kernel for
// their instruction sets.
#pragma once

#include <algorithm>
#include <cmath>

#include "bpfast/fastmath.hpp"
#include "bpfast/sf_gaussian_angular.hpp"

namespace bpfast::gaussian_kernel {

template <bool Gradient, bool UsesJk, int W>
class GaussianAngularKernel {
  public:
    using vd = typename simd::Lanes<W>::vd;

    GaussianAngularKernel(const sf::AngularGroup& g, size_t group, const CutoffFunction& cutoff,
                          const sf::KernelIO& io, GaussianAngularScratch& s, PairTape& tape,
                          const KernelOptions& kernels)
        : g_(g), group_(group), cutoff_(cutoff), io_(io), s_(s), tape_(tape), kernels_(kernels) {}

    void run() {
        s_.queued.clear();  // the scratch memory is shared by all groups
        if (!set_sf_weights()) return;
        const bool replayed = Gradient && kPartnerRows && io_.members == 1 && replay_neighbors();
        if (!replayed && !collect_neighbors()) return;
        for (int p = 0; p < j_end_; ++p) {
            const int q0 = distinct_ ? n_first_ : p + 1;
            if (nl_ - q0 <= 0) continue;
            pairs_of(p, q0);
        }
        if (!Gradient) {
            flush();
        } else if (io_.members > 1) {
            scatter_member_gradients();
        } else if (kPartnerRows) {
            scatter_gradient_rows(replayed ? replayed_list_ : s_.nb.list.data());
        } else {
            sf::scatter_group_gradient(s_.nb, io_.gx, io_.gy, io_.gz);
        }
    }

  private:
    /// U_s = dE/dG_s * 2^(1-zeta) and U_s zeta lambda per SF (gradient); false when every
    /// dE/dG of the group is zero (nothing to do).
    bool set_sf_weights() {
        const int nsf = static_cast<int>(g_.sfs.size());
        s_.sf_weight.resize(nsf);
        s_.sf_weight_dcos.resize(nsf);
        if (!Gradient) return true;
        const int members = io_.members;
        s_.sf_weight.resize(static_cast<size_t>(nsf) * members);
        s_.sf_weight_dcos.resize(static_cast<size_t>(nsf) * members);
        bool any = false;
        for (int m = 0; m < members; ++m) {
            const double* dEdG = io_.dEdG + m * io_.dEdG_stride;
            double* weight = s_.sf_weight.data() + m * nsf;
            double* weight_dcos = s_.sf_weight_dcos.data() + m * nsf;
            for (int k = 0; k < nsf; ++k) {
                const sf::AngularSF& sf = g_.sfs[k];
                weight[k] = dEdG[sf.index] * sf.prefactor;
                weight_dcos[k] = weight[k] * sf.zeta * sf.lambda;
                any = any || weight[k] != 0.0;
            }
        }
        if (members > 1) member_key_weights(members, nsf);
        return any;
    }

    /// A committee's weights U_s eta_k and U_s eta_k r_s,k (gradient pass).
    void member_key_weights(int members, int nsf);

    /// The listed neighbours' data, W entries of padding, and (without r_jk) the Gaussian
    /// exp(-eta (r - r_s)^2) of every key that is not a power of another.
    void prepare_neighbors() {
        const int nk = static_cast<int>(g_.keys.size());
        const int n = nl_ + W;
        s_.nb.reserve(n);
        for (auto* v : {&s_.wfc, &s_.wdfc}) {
            if (static_cast<int>(v->size()) < n) v->resize(n);
        }
        if (static_cast<int>(s_.partners.size()) < n) s_.partners.resize(n);
        if (s_.gauss.size() < static_cast<size_t>(nk) * n) s_.gauss.resize(static_cast<size_t>(nk) * n);
        sf::gather_group_neighbors(io_.env, g_.weighted, Gradient, s_.nb);
        if (Gradient && io_.members > 1) {
            const size_t rows = static_cast<size_t>(n) * io_.members;
            for (auto* v : {&s_.member_gx, &s_.member_gy, &s_.member_gz}) v->assign(rows, 0.0);
            s_.member_j.resize(3 * W * static_cast<size_t>(io_.members));
        }
        sf::GroupNeighbors& nb = s_.nb;
        const int m = io_.env.count;
        const double* fc = io_.fc + g_.slot * m;
        const double* dfc = io_.dfc + g_.slot * m;
        for (int p = 0; p < nl_; ++p) {
            s_.wfc[p] = nb.weight[p] * fc[nb.list[p]];
            s_.wdfc[p] = nb.weight[p] * dfc[nb.list[p]];
        }
        // W entries of padding: far away (outside every r_jk cutoff), cos theta = 0 and no
        // weight, so that whole vectors can be read past the end of the list.
        for (int p = nl_; p < nl_ + W; ++p) {
            nb.x[p] = nb.y[p] = nb.z[p] = 3.0 * g_.rc + 1.0;
            s_.wfc[p] = s_.wdfc[p] = nb.r[p] = nb.inv_r[p] = 0.0;
        }
        if (kPartnerRows) fill_partner_rows();
        for (int k = 0; k < nk && !UsesJk; ++k) {
            if (g_.keys[k].base != k) continue;
            const double eta = g_.keys[k].eta, rs = g_.keys[k].rs;
            double* h = s_.gauss.data() + k * nl_;
            for (int p = 0; p < nl_; ++p) {
                const double t = nb.r[p] - rs;
                h[p] = vexp(-eta * t * t);
            }
        }
    }

    /// s_.partner_rows of the listed neighbours and the padding.
    void fill_partner_rows() {
        const int n = nl_ + W;
        if (static_cast<int>(s_.partner_rows.size()) < 8 * n) s_.partner_rows.resize(8 * n);
        const sf::GroupNeighbors& nb = s_.nb;
        double* row = s_.partner_rows.data();
        rows_ = row;
        for (int p = 0; p < n; ++p, row += 8) {
            row[0] = nb.x[p];
            row[1] = nb.y[p];
            row[2] = nb.z[p];
            row[3] = nb.inv_r[p];
            row[4] = nb.r[p];
            row[5] = s_.wfc[p];
            row[6] = s_.wdfc[p];
            row[7] = 0.0;
        }
        if (Gradient && io_.members == 1) s_.gradient_rows.assign(4 * static_cast<size_t>(n), 0.0);
    }

    /// Adds s_.gradient_rows to the gradient of the environment's neighbours list[p].
    void scatter_gradient_rows(const int* list) {
        const double* row = s_.gradient_rows.data();
        for (int p = 0; p < nl_; ++p, row += 4) {
            io_.gx[list[p]] += row[0];
            io_.gy[list[p]] += row[1];
            io_.gz[list[p]] += row[2];
        }
    }

    /// The group's neighbours from the environment (listed, gathered and laid out) and
    /// its tape; false when there are fewer than two.
    bool collect_neighbors() {
        n_first_ = sf::collect_group_neighbors(io_.env, 0.0, g_.rc, g_.weighted, g_.e1, g_.e2,
                                               s_.nb.list);
        distinct_ = !g_.weighted && g_.e1 != g_.e2;
        nl_ = static_cast<int>(s_.nb.list.size());
        if (nl_ < 2) return false;
        prepare_neighbors();
        j_end_ = distinct_ ? n_first_ : nl_ - 1;
        open_tape();
        return true;
    }

    /// Recording (values pass) or replay (gradient pass of the same atom) of the per-pair
    /// data that cost most: the partner lists, r_jk, f_c(r_jk) and its derivative, the
    /// angular powers and the Gaussians per key. Block of W pairs:
    /// [r_jk, f_jk, df_jk,] F, P^zeta[na], P^(zeta-1)[na], E[nk], W doubles each. With
    /// r_jk, the group's list and partner rows come first (replay_neighbors).
    void open_tape() {
        set_layout();
        size_t bound = 0;  // blocks of all pairs (j, k) before the r_jk test (values pass)
        for (int p = 0; p < j_end_ && !Gradient; ++p) {
            bound += (nl_ - (distinct_ ? n_first_ : p + 1) + W - 1) / W;
        }
        const size_t rows = kPartnerRows ? 8 * static_cast<size_t>(nl_ + W) : 0;
        cursor_ = tape_.open(group_, Gradient, rows + bound * block_doubles_,
                             kernels_.pair_tape_limit);
        if (cursor_.record && kPartnerRows) {  // for replay_neighbors
            const int header[3] = {nl_, n_first_, j_end_};
            tape_.append_indices(header, 3);
            tape_.append_indices(s_.nb.list.data(), static_cast<size_t>(nl_));
            std::copy(rows_, rows_ + rows, tape_.append(rows));
        }
        if (cursor_.replay && kPartnerRows) {  // a committee: past what replay_neighbors reads
            cursor_.ipos += 3 + static_cast<size_t>(nl_);
            cursor_.tpos += rows;
        }
        group_start_ = cursor_.record ? tape_.size() : 0;
    }

    /// Gradient pass, one member, r_jk: when the values pass recorded the group, its
    /// neighbour list and partner rows come from the tape instead of being collected
    /// again (the same numbers). False when it did not.
    bool replay_neighbors() {
        cursor_ = tape_.open(group_, true, 0, kernels_.pair_tape_limit);
        if (!cursor_.replay) return false;
        const int* header = tape_.indices(cursor_.ipos);
        nl_ = header[0];
        n_first_ = header[1];
        j_end_ = header[2];
        distinct_ = !g_.weighted && g_.e1 != g_.e2;
        replayed_list_ = header + 3;
        cursor_.ipos += 3 + static_cast<size_t>(nl_);
        rows_ = tape_.numbers(cursor_.tpos);
        cursor_.tpos += 8 * static_cast<size_t>(nl_ + W);
        s_.gradient_rows.assign(4 * static_cast<size_t>(nl_ + W), 0.0);
        set_layout();
        return true;
    }

    /// The layout of a block of W pairs (see open_tape).
    void set_layout() {
        const int nk = static_cast<int>(g_.keys.size());
        const int na = static_cast<int>(g_.angle_keys.size());
        block_doubles_ = W * (1 + 2 * na + nk + (UsesJk ? 3 : 0));
        F_at_ = UsesJk ? 3 * W : 0;
        pw_at_ = F_at_ + W;
        ek_at_ = pw_at_ + 2 * na * W;
    }

    /// Partners k of j = p that count: without an r_jk factor all of [q0, nl) (contiguous,
    /// `sel` unused); otherwise list indices in sel[0, mc), padded to a multiple of W with
    /// a valid index (padded lanes get a zero factor). Returns mc.
    int select_partners(int p, int q0, const int*& sel) {
        const int mk = nl_ - q0;
        if (!UsesJk) return mk;
        if (cursor_.replay) {
            const int mc = *tape_.indices(cursor_.ipos++);
            if (mc == 0) return 0;
            sel = tape_.indices(cursor_.ipos);
            cursor_.ipos += (mc + W - 1) / W * W;
            return mc;
        }
        // Vector compare, then the indices of the lanes inside r_c appended in order (the
        // padding past nl is outside r_c); when recording, straight onto the tape after
        // their count (each compress may write W entries).
        const double* X = s_.nb.x.data();
        const double* Y = s_.nb.y.data();
        const double* Z = s_.nb.z.data();
        const double xj = X[p], yj = Y[p], zj = Z[p];
        const double rc2 = g_.rc * g_.rc;
        int* out;
        if (cursor_.record) {
            out = tape_.grow_indices(1 + static_cast<size_t>(mk) + W) + 1;
        } else {
            const size_t need = static_cast<size_t>(partners_used_) + mk + W;
            if (s_.partners.size() < need) s_.partners.resize(2 * need);
            out = s_.partners.data() + partners_used_;
        }
        int mc = 0;
        for (int q = 0; q < mk; q += W) {
            const vd ax = simd::load<vd>(X + q0 + q) - xj, ay = simd::load<vd>(Y + q0 + q) - yj,
                     az = simd::load<vd>(Z + q0 + q) - zj;
            mc += simd::compress_indices(out + mc, q0 + q, ax * ax + ay * ay + az * az < rc2);
        }
        const int mpad = (mc + W - 1) / W * W;
        if (cursor_.record) {
            out[-1] = mc;
            tape_.commit_indices(1 + static_cast<size_t>(mpad));
        }
        if (mc == 0) return 0;
        for (int c = mc; c < mpad; ++c) out[c] = out[0];
        sel = out;
        return mc;
    }

    /// The blocks of j's pairs: on the tape (recording or replaying) or in scratch memory,
    /// after the previous j's not yet summed (values pass) or alone (gradient pass). The
    /// values pass first sums what is pending when this j's blocks would take the run
    /// past kernels.angular_sum_run doubles (the same runs recorded or not).
    double* blocks_of(int mpad) {
        const size_t j_doubles = static_cast<size_t>(mpad / W) * block_doubles_;
        if (!Gradient && !UsesJk) flush_before(mpad);
        double* blocks;
        if (cursor_.record) {
            blocks = tape_.append(j_doubles);
        } else if (cursor_.replay) {
            blocks = tape_.numbers(cursor_.tpos);
            cursor_.tpos += j_doubles;
        } else {
            const size_t used = Gradient ? 0 : size_t(group_blocks_ - summed_) * block_doubles_;
            if (s_.blocks.size() < used + j_doubles) s_.blocks.resize(2 * (used + j_doubles));
            blocks = s_.blocks.data() + used;
        }
        group_blocks_ += mpad / W;
        return blocks;
    }

    /// Values pass: sums what is pending (flush) when j's blocks, `pad` pairs, would take
    /// the run past kernels.angular_sum_run doubles (the same runs recorded or not).
    void flush_before(int pad) {
        const int pending = group_blocks_ - summed_;
        const size_t doubles = size_t(pending + (pad + W - 1) / W) * block_doubles_;
        if (pending > 0 && doubles > kernels_.angular_sum_run) {
            flush();
        }
    }

    /// Values pass: computes the queued blocks and adds all blocks not yet summed into G.
    void flush() {
        if (UsesJk && !s_.queued.empty()) {
            double* first = cursor_.record
                                ? tape_.numbers(group_start_) + size_t(summed_) * block_doubles_
                                : s_.blocks.data();
            fill_queued(cursor_.record ? tape_.indices(0) : s_.partners.data(), first);
            s_.queued.clear();
            partners_used_ = 0;
        }
        if (group_blocks_ > summed_) sum_blocks(group_blocks_);
    }

    /// Queues j's blocks (partner indices sel[0, mc), padded) to be computed later.
    void queue_blocks(int p, int mc, const int* sel, const int* index) {
        const int first = static_cast<int>(sel - index);
        for (int c = 0; c < mc; c += W) s_.queued.push_back({p, first + c, std::min(W, mc - c)});
    }

    /// All pairs (j = p, k), k from q0 on: their blocks, and (gradient) their derivatives.
    /// The values pass with r_jk queues the blocks and computes them in runs (flush).
    void pairs_of(int p, int q0) {
        if (!Gradient && UsesJk) flush_before(nl_ - q0);
        const int* sel = nullptr;
        const int mc = select_partners(p, q0, sel);
        if (mc == 0) return;
        const int mpad = (mc + W - 1) / W * W;
        double* blocks = blocks_of(mpad);
        if (!Gradient && UsesJk) {
            const int* index = cursor_.record ? tape_.indices(0) : s_.partners.data();
            queue_blocks(p, mc, sel, index);
            if (!cursor_.record) partners_used_ += mpad;
            return;
        }
        if (!cursor_.replay && UsesJk) {
            queue_blocks(p, mc, sel, sel);
            fill_queued(sel, blocks);
            s_.queued.clear();
        } else if (!cursor_.replay) {
            fill_blocks(p, q0, mc, mpad, blocks);
        }
        if (Gradient && io_.members > 1) {
            member_gradients_of(p, q0, mc, mpad, sel, blocks);
        } else if (Gradient) {
            gradient_of(p, q0, mc, mpad, sel, blocks);
        }
    }

    /// Partner data of lanes c ... c + W - 1 without r_jk (partners q0 + c ...,
    /// contiguous; the arrays hold W spare entries past nl).
    static vd fetch(const double* a, int q0, int c) { return simd::load<vd>(a + q0 + c); }

    /// Both passes read the selected partners as rows (two loads per lane and a 4 x 4
    /// transpose per half of 4 lanes) rather than one gather per quantity: with r_jk.
    static constexpr bool kPartnerRows = UsesJk;

    struct PartnerLanes {
        vd x, y, z, inv_r, r, fw, dfw;
    };
    struct Listed {
        double x, y, z, inv_r, r, fw, dfw;
    };

    /// Listed neighbour p's data (as j): its partner row where the rows exist (they may
    /// be replayed from the tape), else the neighbour arrays.
    Listed listed(int p) const {
        if constexpr (kPartnerRows) {
            const double* row = rows_ + 8 * p;
            return {row[0], row[1], row[2], row[3], row[4], row[5], row[6]};
        } else {
            const sf::GroupNeighbors& nb = s_.nb;
            return {nb.x[p], nb.y[p], nb.z[p], nb.inv_r[p], nb.r[p], s_.wfc[p], s_.wdfc[p]};
        }
    }

    /// The partner data of lanes c ... c + W - 1.
    PartnerLanes partners_at(int q0, const int* sel, int c) const {
        PartnerLanes k;
        if constexpr (kPartnerRows) {
            const double* rows = rows_;
            vd a[4], b[4];
            for (int l = 0; l < 4; ++l) {
                const double* lo = rows + 8 * sel[c + l];
                const double* hi = W == 8 ? rows + 8 * sel[c + 4 + l] : lo;
                a[l] = simd::load_halves<vd>(lo, hi);
                b[l] = simd::load_halves<vd>(lo + 4, hi + 4);
            }
            vd unused;
            transpose4(a[0], a[1], a[2], a[3], k.x, k.y, k.z, k.inv_r);
            transpose4(b[0], b[1], b[2], b[3], k.r, k.fw, k.dfw, unused);
        } else {
            const sf::GroupNeighbors& nb = s_.nb;
            k.x = fetch(nb.x.data(), q0, c);
            k.y = fetch(nb.y.data(), q0, c);
            k.z = fetch(nb.z.data(), q0, c);
            k.inv_r = fetch(nb.inv_r.data(), q0, c);
            k.r = fetch(nb.r.data(), q0, c);
            k.fw = fetch(s_.wfc.data(), q0, c);
            k.dfw = fetch(s_.wdfc.data(), q0, c);
        }
        return k;
    }

    /// Rows a0 ... a3 of a 4 x 4 matrix to its columns c0 ... c3; with 8 lanes, each half
    /// of 4 lanes on its own.
    template <class V>
    static void transpose4(V a0, V a1, V a2, V a3, V& c0, V& c1, V& c2, V& c3) {
        using VL = typename simd::Lanes<simd::width_of<V>>::vl;
        if constexpr (simd::width_of<V> == 4) {
            const V t0 = __builtin_shuffle(a0, a1, VL{0, 4, 2, 6});
            const V t1 = __builtin_shuffle(a0, a1, VL{1, 5, 3, 7});
            const V t2 = __builtin_shuffle(a2, a3, VL{0, 4, 2, 6});
            const V t3 = __builtin_shuffle(a2, a3, VL{1, 5, 3, 7});
            c0 = __builtin_shuffle(t0, t2, VL{0, 1, 4, 5});
            c1 = __builtin_shuffle(t1, t3, VL{0, 1, 4, 5});
            c2 = __builtin_shuffle(t0, t2, VL{2, 3, 6, 7});
            c3 = __builtin_shuffle(t1, t3, VL{2, 3, 6, 7});
        } else {
            const V t0 = __builtin_shuffle(a0, a1, VL{0, 8, 2, 10, 4, 12, 6, 14});
            const V t1 = __builtin_shuffle(a0, a1, VL{1, 9, 3, 11, 5, 13, 7, 15});
            const V t2 = __builtin_shuffle(a2, a3, VL{0, 8, 2, 10, 4, 12, 6, 14});
            const V t3 = __builtin_shuffle(a2, a3, VL{1, 9, 3, 11, 5, 13, 7, 15});
            c0 = __builtin_shuffle(t0, t2, VL{0, 1, 8, 9, 4, 5, 12, 13});
            c1 = __builtin_shuffle(t1, t3, VL{0, 1, 8, 9, 4, 5, 12, 13});
            c2 = __builtin_shuffle(t0, t2, VL{2, 3, 10, 11, 6, 7, 14, 15});
            c3 = __builtin_shuffle(t1, t3, VL{2, 3, 10, 11, 6, 7, 14, 15});
        }
    }

    /// Integer powers up to this are unrolled per loop (with_exponent); higher ones loop.
    static constexpr int kUnrolledPowers = 32;

    /// Angular factors of n blocks (the first at `blocks`), per angle key a: P^zeta at
    /// pw_at + W a, P^(zeta-1) at pw_at + W (na + a), P = 1 + lambda cos theta, from the
    /// blocks' cos theta at cos_t[2 W b]. One loop over the blocks per angle key, its
    /// integer power fixed.
    void angle_powers(int n, const double* cos_t, double* blocks) const {
        const int na = static_cast<int>(g_.angle_keys.size());
        const int block_doubles = block_doubles_;
        for (int a = 0; a < na; ++a) {
            const sf::AngleKey& ak = g_.angle_keys[a];
            double* pw = blocks + pw_at_ + W * a;
            double* pw1 = blocks + pw_at_ + W * (na + a);
            if (ak.int_zeta <= 0) {
                for (int b = 0; b < n; ++b) {
                    const vd P = 1.0 + ak.lambda * simd::load<vd>(cos_t + 2 * W * b);
                    vd P1;
                    for (int l = 0; l < W; ++l) P1[l] = P[l] > 0.0 ? std::pow(P[l], ak.zeta - 1.0) : 0.0;
                    P1 = simd::select(P > 0.0, P1, vd{});
                    simd::store(pw + size_t(b) * block_doubles, P1 * P);
                    simd::store(pw1 + size_t(b) * block_doubles, P1);
                }
                continue;
            }
            simd::with_exponent<kUnrolledPowers>(ak.int_zeta - 1, [&](auto power) {
                for (int b = 0; b < n; ++b) {
                    const vd P = 1.0 + ak.lambda * simd::load<vd>(cos_t + 2 * W * b);
                    const vd P1 = simd::select(P > 0.0, simd::ipow(P, power), vd{});
                    simd::store(pw + size_t(b) * block_doubles, P1 * P);
                    simd::store(pw1 + size_t(b) * block_doubles, P1);
                }
            });
        }
    }

    /// Key k of n blocks (the first at `blocks`), a power of an earlier key.
    void key_power(int k, int n, double* blocks) const {
        const sf::Key& key = g_.keys[k];
        double* ek = blocks + ek_at_ + W * k;
        const double* base = blocks + ek_at_ + W * key.base;
        const int block_doubles = block_doubles_;
        simd::with_exponent<kUnrolledPowers>(key.power, [&](auto power) {
            for (int b = 0; b < n; ++b) {
                const size_t o = size_t(b) * block_doubles;
                simd::store(ek + o, simd::ipow(simd::load<vd>(base + o), power));
            }
        });
    }

    /// Scratch memory for n blocks' cos theta and r_ik (W lanes each, 2 W per block).
    double* block_geometry(int n) {
        if (s_.block_geometry.size() < 2 * W * static_cast<size_t>(n)) {
            s_.block_geometry.resize(2 * W * static_cast<size_t>(n));
        }
        return s_.block_geometry.data();
    }

    /// Computes the queued blocks (groups with r_jk), the first at `blocks`, their partner
    /// indices in `index`, in runs of kQueuedRun blocks: per run first the geometry of
    /// every block, then the cutoff of r_jk, then per angle key its powers of every block,
    /// then per key the Gaussians of every block (exp(-eta sum t^2); or a power of an
    /// earlier key's). Short independent iterations over many blocks, each loop's
    /// parameters (and integer powers) fixed: the processor overlaps the blocks.
    void fill_queued(const int* index, double* blocks) {
        const int n = static_cast<int>(s_.queued.size());
        for (int first = 0; first < n; first += kQueuedRun) {
            fill_queued_run(index, s_.queued.data() + first, std::min(kQueuedRun, n - first),
                            blocks + size_t(first) * block_doubles_);
        }
    }

    /// Blocks computed together by fill_queued: their data stay in the L1 cache.
    static constexpr int kQueuedRun = 32;

    /// fill_queued for the n queued blocks from `queued` on, the first at `blocks`.
    void fill_queued_run(const int* index,
                         const typename GaussianAngularScratch::QueuedBlock* queued, int n,
                         double* blocks) {
        const int block_doubles = block_doubles_, F_at = F_at_, ek_at = ek_at_;
        double* geometry = block_geometry(n);  // cos theta, r_ik (r_jk: in the block)
        for (int b = 0; b < n; ++b) {  // r_jk, f_ij w_k f_c(r_ik), cos theta, r_ik
            double* slot = blocks + size_t(b) * block_doubles;
            const Listed j = listed(queued[b].j);
            const PartnerLanes pk = partners_at(0, index + queued[b].first, 0);
            const vd jx = pk.x - j.x, jy = pk.y - j.y, jz = pk.z - j.z;
            simd::store(slot, simd::sqrt(jx * jx + jy * jy + jz * jz));
            simd::store(slot + F_at, j.fw * pk.fw);
            simd::store(geometry + 2 * W * b,
                        (j.x * pk.x + j.y * pk.y + j.z * pk.z) * j.inv_r * pk.inv_r);
            simd::store(geometry + 2 * W * b + W, pk.r);
        }
        for (int b = 0; b < n; ++b) {  // the cutoff of r_jk
            double* slot = blocks + size_t(b) * block_doubles;
            const auto valid = simd::iota<vd>() < static_cast<double>(queued[b].lanes);
            vd f_jk, df_jk;
            cutoff_.evaluate(simd::load<vd>(slot), f_jk, df_jk);
            f_jk = simd::select(valid, f_jk, vd{});
            simd::store(slot + W, f_jk);
            simd::store(slot + 2 * W, simd::select(valid, df_jk, vd{}));
            simd::store(slot + F_at, simd::load<vd>(slot + F_at) * f_jk);
        }
        angle_powers(n, geometry, blocks);
        const int nk = static_cast<int>(g_.keys.size());
        for (int k = 0; k < nk; ++k) {
            const sf::Key& key = g_.keys[k];
            double* ek = blocks + ek_at + W * k;
            if (key.base != k) {
                key_power(k, n, blocks);
                continue;
            }
            const double rs = key.rs, minus_eta = -key.eta;
            for (int b = 0; b < n; ++b) {
                const size_t o = size_t(b) * block_doubles;
                const double t_ij = listed(queued[b].j).r - rs;
                const vd t_ik = simd::load<vd>(geometry + 2 * W * b + W) - rs;
                const vd t_jk = simd::load<vd>(blocks + o) - rs;
                const vd sum_t2 = t_ij * t_ij + t_ik * t_ik + t_jk * t_jk;
                simd::store(ek + o, simd::vexp(minus_eta * sum_t2));
            }
        }
    }

    /// Fills j's blocks (groups without r_jk; partners q0 + c): F, the angular powers and
    /// the Gaussians of every key, the product of per-neighbour Gaussians; per angle key
    /// and per key one loop over the blocks (as fill_queued).
    void fill_blocks(int p, int q0, int mc, int mpad, double* blocks) {
        const int n = mpad / W;
        const int block_doubles = block_doubles_, F_at = F_at_, ek_at = ek_at_;
        const Listed j = listed(p);
        double* geometry = block_geometry(n);  // cos theta (r_ik unused)
        for (int b = 0; b < n; ++b) {
            const int c = b * W;
            const PartnerLanes pk = partners_at(q0, nullptr, c);
            const auto valid = simd::iota<vd>() < static_cast<double>(mc - c);
            const vd f_jk = simd::select(valid, simd::splat<vd>(1.0), vd{});
            simd::store(blocks + size_t(b) * block_doubles + F_at, j.fw * pk.fw * f_jk);
            simd::store(geometry + 2 * W * b,
                        (j.x * pk.x + j.y * pk.y + j.z * pk.z) * j.inv_r * pk.inv_r);
        }
        angle_powers(n, geometry, blocks);
        const int nk = static_cast<int>(g_.keys.size());
        for (int k = 0; k < nk; ++k) {
            if (g_.keys[k].base != k) {
                key_power(k, n, blocks);
                continue;
            }
            const double* h = s_.gauss.data() + k * nl_;
            double* ek = blocks + ek_at + W * k;
            for (int b = 0; b < n; ++b) {
                simd::store(ek + size_t(b) * block_doubles, h[p] * fetch(h, q0, b * W));
            }
        }
    }

    // The gradient pass (sf_gaussian_angular_gradient.hpp): one member's derivatives
    // of j's pairs, or every member's of a committee, then the committee's scatter.
    void gradient_of(int p, int q0, int mc, int mpad, const int* sel, const double* blocks);
    void member_gradients_of(int p, int q0, int mc, int mpad, const int* sel,
                             const double* blocks);
    void scatter_member_gradients();

    /// G_s += prefactor_s * sum over blocks [summed, end) of P^zeta E_key F, per key with
    /// up to 4 SF sums in registers.
    void sum_blocks(int end) {
        const double* first = cursor_.record
                                  ? tape_.numbers(group_start_) + size_t(summed_) * block_doubles_
                                  : s_.blocks.data();
        const int* key_start = g_.key_start.data();
        const int* sf_angle = g_.sf_angle.data();
        const int nk = static_cast<int>(g_.keys.size());
        const int block_doubles = block_doubles_, F_at = F_at_, pw_at = pw_at_, ek_at = ek_at_;
        const int summed = summed_;
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
                        const sf::AngularSF& sf = g_.sfs[s0 + i];
                        io_.G[sf.index] += sf.prefactor * simd::sum(acc[i]);
                    }
                });
            }
        }
        summed_ = end;
    }

    const sf::AngularGroup& g_;
    size_t group_;  // index among the angular groups (the tape's key)
    const CutoffFunction& cutoff_;
    const sf::KernelIO& io_;
    GaussianAngularScratch& s_;
    PairTape& tape_;
    const KernelOptions& kernels_;
    int nl_ = 0;  // listed neighbours
    int block_doubles_ = 0, F_at_ = 0, pw_at_ = 0, ek_at_ = 0;  // block layout
    PairTape::Cursor cursor_;
    size_t group_start_ = 0;  // recording: where this group's blocks begin on the tape
    int group_blocks_ = 0;    // blocks of W pairs so far, over all j
    int summed_ = 0;          // values pass: blocks already summed into G
    int partners_used_ = 0;   // values pass, not recording: entries of s_.partners queued
    const double* rows_ = nullptr;  // partner rows: s_.partner_rows, or replayed from the tape
    // the listed neighbours: the first part's size (two elements), where j ends, whether
    // j and k come from different parts; replay_neighbors: the list from the tape
    int n_first_ = 0, j_end_ = 0;
    bool distinct_ = false;
    const int* replayed_list_ = nullptr;
};

}  // namespace bpfast::gaussian_kernel
