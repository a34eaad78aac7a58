// Radial symmetry functions of one central atom i:
//
//   type 2    G = sum_j [el_j = e1]  exp(-eta (r_ij - r_s)^2) f_c(r_ij)
//   type 12   G = sum_j Z_j exp(-eta (r_ij - r_s)^2) f_c(r_ij)
//   type 20   G = sum_j [el_j = e1] C(r_ij; r_l, r_c)          for r_l < r_ij < r_c
//   type 23   G = sum_j Z_j C(r_ij; r_l, r_c)                  for r_l < r_ij < r_c
//
// with C the compact function (compact_function.hpp). Gradient: dG/dd_j = (dG/dr_ij)
// d_j / r_ij, where
//   d/dr [exp(-eta (r - r_s)^2) f_c(r)] = exp(-eta (r - r_s)^2) (f_c'(r) - 2 eta (r - r_s) f_c(r)).
// The gradient pass collects dE/dr = sum_s dE/dG_s dG_s/dr per neighbour over all radial
// SFs and turns it into vectors at the end. A committee's gradient pass computes the
// Gaussians once and collects every member's dE/dr from them.
#include "bpfast/sf_radial.hpp"

#include <algorithm>

#include "bpfast/fastmath.hpp"

namespace bpfast {
namespace {

// The neighbours of a radial group (its element, inside its r_c) listed in s.list, with
// their r, weighted f_c and weighted f_c' gathered into s.r, s.wfc, s.wdfc (sized to a
// whole number of SIMD widths); returns their number.
int gather_listed(const sf::RadialGroup& rg, const sf::KernelIO& io, RadialScratch& s) {
    const NeighborEnv& env = io.env;
    const int m = env.count;
    std::vector<int>& list = s.list;
    list.resize(m);
    int nl = 0;
    for (int n = 0; n < m; ++n) {
        list[nl] = n;
        nl += (env.r[n] < rg.rc) & ((rg.element < 0) | (env.element[n] == rg.element));
    }
    const int stride = (nl + simd::kWidth - 1) / simd::kWidth * simd::kWidth;
    for (auto* v : {&s.r, &s.wfc, &s.wdfc}) {
        if (static_cast<int>(v->size()) < stride) v->resize(stride);
    }
    const double* fc = io.fc + rg.slot * m;
    const double* dfc = io.dfc + rg.slot * m;
    for (int p = 0; p < nl; ++p) {
        const int n = list[p];
        const double w = rg.element < 0 ? env.weight[n] : 1.0;
        s.r[p] = env.r[n];
        s.wfc[p] = w * fc[n];
        s.wdfc[p] = w * dfc[n];
    }
    return nl;
}

// Row k of a Gaussian radial group's Gaussians exp(-eta (r - r_s)^2) over its nl listed
// neighbours (s.r), stored at s.gauss + k * stride: an exp, or a power of the row of an
// earlier key with the same r_s. Returns the row.
const double* gaussian_row(const sf::RadialGroup& rg, int k, int nl, int stride,
                           RadialScratch& s) {
    const sf::Key& key = rg.keys[k];
    const double* r = s.r.data();
    double* h = s.gauss.data() + static_cast<size_t>(k) * stride;
    const double eta = key.eta, rs = key.rs;
    if (key.base == k) {
#pragma omp simd
        for (int p = 0; p < nl; ++p) h[p] = vexp(-eta * (r[p] - rs) * (r[p] - rs));
    } else {
        const double* hb = s.gauss.data() + static_cast<size_t>(key.base) * stride;
        simd::with_exponent<64>(key.power, [&](auto power) {  // no dispatch per vector
            for (int p = 0; p < nl; p += simd::kWidth) {
                simd::store(h + p, simd::ipow(simd::load(hb + p), power));
            }
        });
    }
    return h;
}

// Gaussian radial group: the neighbours of the group's element inside r_c, then one row
// of Gaussians exp(-eta (r - r_s)^2) per key (an exp, or a power of an earlier row).
// Gradient: dE/dr added to dE_dr (per environment neighbour).
template <bool Gradient>
void gaussian_radial_group(const sf::RadialGroup& rg, const sf::KernelIO& io, double* dE_dr,
                           RadialScratch& s) {
    const NeighborEnv& env = io.env;
    const int nk = static_cast<int>(rg.keys.size());
    const int nsf = static_cast<int>(rg.sf_index.size());
    // Gradient: U_k = sum of dE/dG over the SFs of key k.
    double* U = nullptr;
    if (Gradient) {
        s.key_dEdG.assign(nk, 0.0);
        U = s.key_dEdG.data();
        bool any = false;
        for (int k = 0; k < nsf; ++k) {
            U[rg.sf_key[k]] += io.dEdG[rg.sf_index[k]];
            any = any || io.dEdG[rg.sf_index[k]] != 0.0;
        }
        if (!any) return;
    }
    const int nl = gather_listed(rg, io, s);
    const std::vector<int>& list = s.list;
    const int stride = (nl + simd::kWidth - 1) / simd::kWidth * simd::kWidth;  // of the rows
    if (static_cast<int>(s.dE_dr_listed.size()) < stride) s.dE_dr_listed.resize(stride);
    if (s.gauss.size() < static_cast<size_t>(nk) * stride) s.gauss.resize(static_cast<size_t>(nk) * stride);
    const double* r = s.r.data();
    const double* f = s.wfc.data();
    const double* df = s.wdfc.data();
    double* acc = s.dE_dr_listed.data();
    if (Gradient) std::fill(acc, acc + nl, 0.0);
    for (int k = 0; k < nk; ++k) {
        const sf::Key& key = rg.keys[k];
        const double* h = gaussian_row(rg, k, nl, stride, s);
        const double eta = key.eta, rs = key.rs;
        if (Gradient) {
            const double u = U[k];
            if (u == 0.0) continue;
#pragma omp simd
            for (int p = 0; p < nl; ++p) acc[p] += u * h[p] * (df[p] - 2.0 * eta * (r[p] - rs) * f[p]);
        }
    }
    if (Gradient) {
        for (int p = 0; p < nl; ++p) dE_dr[list[p]] += acc[p];
        return;
    }
    for (int k = 0; k < nsf; ++k) {
        const double* h = s.gauss.data() + static_cast<size_t>(rg.sf_key[k]) * stride;
        double sum = 0.0;
#pragma omp simd reduction(+ : sum)
        for (int p = 0; p < nl; ++p) sum += h[p] * f[p];
        io.G[rg.sf_index[k]] += sum;
    }
}

// Compact radial SF: masked SIMD loops over all neighbours.
template <bool Gradient>
void compact_radial(const sf::CompactRadial& rad, const sf::KernelIO& io, double* dE_dr,
                    RadialScratch& s) {
    const double u = Gradient ? io.dEdG[rad.index] : 0.0;
    if (Gradient && u == 0.0) return;
    const int m = io.env.count;
    const double rc = rad.rc, rl = rad.rl;
    const int element = rad.element;
    const double* r = io.env.r;
    const int* el = io.env.element;
    const double* weight = io.env.weight;
    double sum = 0.0;
    double* f = s.compact.data();
    double* df = s.dcompact.data();
    rad.compact.evaluate_batch(r, m, f, Gradient ? df : nullptr);
#pragma omp simd reduction(+ : sum)
    for (int n = 0; n < m; ++n) {
        // Unconditional loads and bitwise conditions: no masked loads.
        const double wn = element < 0 ? weight[n] : 1.0;
        const bool take = (r[n] < rc) & (r[n] > rl) & ((element < 0) | (el[n] == element));
        const double w = take ? wn : 0.0;
        if (Gradient) {
            dE_dr[n] += u * w * df[n];
        } else {
            sum += w * f[n];
        }
    }
    if (!Gradient) io.G[rad.index] += sum;
}

// Gradient of a Gaussian radial group for the io.members members of a committee at once:
// the Gaussians once, then each member's sum over keys. Member m's dE/dr at
// dE_dr[m * m_stride + n].
void gaussian_radial_group_members(const sf::RadialGroup& rg, const sf::KernelIO& io,
                                   double* dE_dr, size_t m_stride, RadialScratch& s) {
    const NeighborEnv& env = io.env;
    const int nk = static_cast<int>(rg.keys.size());
    const int nsf = static_cast<int>(rg.sf_index.size());
    const int members = io.members;
    s.key_dEdG.assign(static_cast<size_t>(nk) * members, 0.0);
    double* U = s.key_dEdG.data();  // U[mem * nk + k]: sum of member mem's dE/dG over key k
    bool any = false;
    for (int mem = 0; mem < members; ++mem) {
        const double* dEdG = io.dEdG + mem * io.dEdG_stride;
        for (int k = 0; k < nsf; ++k) {
            U[mem * nk + rg.sf_key[k]] += dEdG[rg.sf_index[k]];
            any = any || dEdG[rg.sf_index[k]] != 0.0;
        }
    }
    if (!any) return;
    const int nl = gather_listed(rg, io, s);
    const std::vector<int>& list = s.list;
    const int stride = (nl + simd::kWidth - 1) / simd::kWidth * simd::kWidth;
    if (s.dE_dr_listed.size() < static_cast<size_t>(stride) * members) {
        s.dE_dr_listed.resize(static_cast<size_t>(stride) * members);
    }
    const double* r = s.r.data();
    const double* f = s.wfc.data();
    const double* df = s.wdfc.data();
    double* acc = s.dE_dr_listed.data();
    std::fill(acc, acc + static_cast<size_t>(stride) * members, 0.0);
    // A row per key of Gaussians (later keys may be powers of earlier ones), and one
    // for the factor d/dr of the current key's term has besides the Gaussian.
    if (s.gauss.size() < static_cast<size_t>(nk + 1) * stride) {
        s.gauss.resize(static_cast<size_t>(nk + 1) * stride);
    }
    double* dterm = s.gauss.data() + static_cast<size_t>(nk) * stride;
    for (int k = 0; k < nk; ++k) {
        const sf::Key& key = rg.keys[k];
        const double* h = gaussian_row(rg, k, nl, stride, s);
        const double eta = key.eta, rs = key.rs;
#pragma omp simd
        for (int p = 0; p < nl; ++p) dterm[p] = df[p] - 2.0 * eta * (r[p] - rs) * f[p];
        for (int mem = 0; mem < members; ++mem) {
            const double u = U[mem * nk + k];
            if (u == 0.0) continue;
            double* a = acc + static_cast<size_t>(mem) * stride;
#pragma omp simd
            for (int p = 0; p < nl; ++p) a[p] += u * h[p] * dterm[p];
        }
    }
    for (int mem = 0; mem < members; ++mem) {
        const double* a = acc + static_cast<size_t>(mem) * stride;
        double* out = dE_dr + mem * m_stride;
        for (int p = 0; p < nl; ++p) out[list[p]] += a[p];
    }
}

// Gradient of a compact radial SF for the io.members members at once.
void compact_radial_members(const sf::CompactRadial& rad, const sf::KernelIO& io,
                            double* dE_dr, size_t m_stride, RadialScratch& s) {
    bool any = false;
    for (int mem = 0; mem < io.members; ++mem) any = any || io.dEdG[mem * io.dEdG_stride + rad.index] != 0.0;
    if (!any) return;
    const int m = io.env.count;
    const double rc = rad.rc, rl = rad.rl;
    const int element = rad.element;
    const double* r = io.env.r;
    const int* el = io.env.element;
    const double* weight = io.env.weight;
    double* f = s.compact.data();
    double* df = s.dcompact.data();
    rad.compact.evaluate_batch(r, m, f, df);
#pragma omp simd
    for (int n = 0; n < m; ++n) {
        const double wn = element < 0 ? weight[n] : 1.0;
        const bool take = (r[n] < rc) & (r[n] > rl) & ((element < 0) | (el[n] == element));
        df[n] *= take ? wn : 0.0;
    }
    for (int mem = 0; mem < io.members; ++mem) {
        const double u = io.dEdG[mem * io.dEdG_stride + rad.index];
        if (u == 0.0) continue;
        double* out = dE_dr + mem * m_stride;
#pragma omp simd
        for (int n = 0; n < m; ++n) out[n] += u * df[n];
    }
}

// The radial gradient of a committee's members at once (io.members > 1).
void radial_gradient_members(const sf::Groups& groups, const sf::KernelIO& io, RadialScratch& s) {
    if (groups.compact_radial.empty() && groups.radial.empty()) return;
    const NeighborEnv& env = io.env;
    const int m = env.count;
    const size_t m_stride = static_cast<size_t>(m);
    for (auto* v : {&s.compact, &s.dcompact}) {
        if (static_cast<int>(v->size()) < m) v->resize(m);
    }
    if (s.dE_dr.size() < m_stride * io.members) s.dE_dr.resize(m_stride * io.members);
    double* dE_dr = s.dE_dr.data();
    std::fill(dE_dr, dE_dr + m_stride * io.members, 0.0);
    for (const sf::RadialGroup& rg : groups.radial) gaussian_radial_group_members(rg, io, dE_dr, m_stride, s);
    for (const sf::CompactRadial& rad : groups.compact_radial) compact_radial_members(rad, io, dE_dr, m_stride, s);
    for (int mem = 0; mem < io.members; ++mem) {
        const double* d = dE_dr + mem * m_stride;
        double* gx = io.gx + mem * io.g_stride;
        double* gy = io.gy + mem * io.g_stride;
        double* gz = io.gz + mem * io.g_stride;
#pragma omp simd
        for (int n = 0; n < m; ++n) {
            const double c = env.r[n] > 0.0 ? d[n] / env.r[n] : 0.0;
            gx[n] += c * env.dx[n];
            gy[n] += c * env.dy[n];
            gz[n] += c * env.dz[n];
        }
    }
}

template <bool Gradient>
void radial_sfs(const sf::Groups& groups, const sf::KernelIO& io, RadialScratch& s) {
    if (groups.compact_radial.empty() && groups.radial.empty()) return;
    const NeighborEnv& env = io.env;
    const int m = env.count;
    for (auto* v : {&s.compact, &s.dcompact, &s.dE_dr}) {
        if (static_cast<int>(v->size()) < m) v->resize(m);
    }
    double* dE_dr = s.dE_dr.data();
    if (Gradient) std::fill(dE_dr, dE_dr + m, 0.0);
    for (const sf::RadialGroup& rg : groups.radial) gaussian_radial_group<Gradient>(rg, io, dE_dr, s);
    for (const sf::CompactRadial& rad : groups.compact_radial) compact_radial<Gradient>(rad, io, dE_dr, s);
    if (Gradient) {
#pragma omp simd
        for (int n = 0; n < m; ++n) {
            const double c = env.r[n] > 0.0 ? dE_dr[n] / env.r[n] : 0.0;
            io.gx[n] += c * env.dx[n];
            io.gy[n] += c * env.dy[n];
            io.gz[n] += c * env.dz[n];
        }
    }
}

}  // namespace

BPFAST_KERNEL void radial_sfs_narrow(bool gradient, const sf::Groups& groups,
                                     const sf::KernelIO& io, RadialScratch& scratch) {
    if (gradient && io.members > 1) {
        radial_gradient_members(groups, io, scratch);
    } else if (gradient) {
        radial_sfs<true>(groups, io, scratch);
    } else {
        radial_sfs<false>(groups, io, scratch);
    }
}

#if BPFAST_WIDE_KERNELS
BPFAST_WIDE_KERNEL void radial_sfs_wide(bool gradient, const sf::Groups& groups,
                                        const sf::KernelIO& io, RadialScratch& scratch) {
    if (gradient && io.members > 1) {
        radial_gradient_members(groups, io, scratch);
    } else if (gradient) {
        radial_sfs<true>(groups, io, scratch);
    } else {
        radial_sfs<false>(groups, io, scratch);
    }
}
#else
void radial_sfs_wide(bool gradient, const sf::Groups& groups, const sf::KernelIO& io,
                     RadialScratch& scratch) {
    radial_sfs_narrow(gradient, groups, io, scratch);  // never chosen: kernel_lanes() is 4
}
#endif

}  // namespace bpfast
