// Atom-centred symmetry functions (SFs) of n2p2, values and gradients.
//
// Notation: i is the central atom, j and k are neighbours (every periodic image is
// its own neighbour), d_j = r_j - r_i, r_ij = |d_j|, r_jk = |d_k - d_j|,
// cos(theta) = d_j . d_k / (r_ij r_ik), f_c = cutoff function (cutoff.hpp) of the
// SF's own r_c, Z_j = atomic number of j. Sums over j < k run over unordered pairs of
// distinct neighbours; the element condition of angular SFs is symmetric in (e1, e2).
// All distance conditions are strict.
//
// Gaussian types (use the global cutoff function):
//   2   G = sum_j [el_j = e1]  exp(-eta (r_ij - r_s)^2) f_c(r_ij)
//   12  G = sum_j Z_j exp(-eta (r_ij - r_s)^2) f_c(r_ij)
//   3   G = 2^(1-zeta) sum_{j<k} (1 + lambda cos)^zeta
//           exp(-eta [(r_ij-r_s)^2 + (r_ik-r_s)^2 + (r_jk-r_s)^2]) f_c(r_ij) f_c(r_ik) f_c(r_jk),
//           requiring r_ij, r_ik, r_jk < r_c
//   9   as 3 without any r_jk factor or condition
//   13  as 3 with the weight Z_j Z_k and no element filter
//   A term with 1 + lambda cos <= 0 contributes 0.
// Compact ("polynomial", Bircher et al.) types, C(x; lo, hi) = core(|x - centre| / half-width):
//   20  G = sum_j [el_j = e1] C(r_ij; r_l, r_c)               for r_l < r_ij < r_c
//   23  as 20 with weight Z_j and no element filter
//   22  G = sum_{j<k} C(r_ij) C(r_ik) A(theta)                 for r_l < r_ij, r_ik < r_c
//   21  as 22 times C(r_jk), requiring max(r_l, 0) < r_jk < r_c
//   24, 25  as 21, 22 with weight Z_j Z_k and no element filter
//   A(theta) = C(theta; theta_l, theta_r) with the symmetric core; the triplet counts only
//   for theta_l <= theta <= theta_r and is skipped when cos(theta) is exactly +-1.
//   Asymmetric radial cores ("p2a"...) replace u by (2 - u) u before the core.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "bpfast/cutoff.hpp"
#include "bpfast/kernel_options.hpp"
#include "bpfast/simd.hpp"

namespace bpfast {

/// One symmetry function as defined by a `symfunction_short` line.
struct SymmetryFunctionSpec {
    int type = 0;    ///< n2p2 type number (2, 3, 9, 12, 13, 20 ... 25)
    int center = 0;  ///< element index of the central atom
    int e1 = -1;     ///< element index of neighbour 1 (-1 for weighted types)
    int e2 = -1;     ///< element index of neighbour 2 (angular, e1 <= e2; -1 if unused)
    double eta = 0.0, rs = 0.0, lambda = 0.0, zeta = 0.0;  ///< Gaussian parameters
    double rc = 0.0;                                       ///< outer cutoff radius (length)
    double rl = 0.0;                                       ///< compact: lower radial bound
    double angle_left = 0.0, angle_right = 0.0;            ///< compact: window in radians
    std::string subtype;                                   ///< compact: "p1".."p4", "p2a", "e"
    int line = 0;                                          ///< 1-based line in input.nn
};

/// True if `type` is one of the SF types bpfast implements.
bool is_known_sf_type(int type);
/// True for the angular types (3, 9, 13, 21, 22, 24, 25).
bool is_angular_sf_type(int type);

/// n2p2's order of the SFs of one element (type, then a type-specific key).
bool sf_less(const SymmetryFunctionSpec& a, const SymmetryFunctionSpec& b);

/// Compact function C(x; lo, hi) of the polynomial SF types.
class CompactFunction {
  public:
    CompactFunction() = default;
    /// core: "p1".."p4" or "e", optionally followed by "a" (asymmetric) when allowed.
    CompactFunction(double lo, double hi, const std::string& core, bool allow_asymmetric);
    /// f, df for m arguments at once (vectorisable); 0 outside (lo, hi). df may be null
    /// when only values are needed.
    void evaluate_batch(const double* x, int m, double* f, double* df) const;

  private:
    template <int Order, bool Asymmetric, bool Derivative>
    void batch(const double* x, int m, double* f, double* df) const;
    double centre_ = 0.0, inv_half_width_ = 0.0;
    int order_ = 2;  ///< 1..4 polynomial, 0 exponential
    bool asymmetric_ = false;
};

/// Local environment of one atom: its neighbours, filled by the caller.
struct NeighborEnv {
    int count = 0;
    const double* dx = nullptr;  ///< d_j = r_j - r_i, components
    const double* dy = nullptr;
    const double* dz = nullptr;
    const double* r = nullptr;       ///< |d_j|
    const int* element = nullptr;    ///< element index of j
    const double* weight = nullptr;  ///< atomic number Z_j (weighted types)
};

/// Scratch memory of one thread; keeps capacity between atoms and calls.
struct DescriptorWorkspace {
    simd::aligned_vector<double> fc, dfc;  // per (cutoff slot, neighbour)
    std::vector<int> list;        // filtered neighbour indices of a group
    // Per (row, listed neighbour): radial groups and r_jk-free Gaussian angular groups
    // exp(-eta (r - r_s)^2) per key; compact groups w C_w(r) and w C_w'(r) per window.
    simd::aligned_vector<double> h, dh;
    // Radial groups: w f_c(r), w f_c'(r) and (gradient) dE/dr per listed neighbour.
    simd::aligned_vector<double> rad_f, rad_df, rad_acc;
    // Gathered copies of a group's neighbours (structure of arrays) ...
    simd::aligned_vector<double> x, y, z, r, inv_r, w;
    // ... per-partner temporaries for one central pair partner j ...
    simd::aligned_vector<double> cos_t, rjk, fjk, dfjk, acc_c, acc_ij, acc_ik, acc_jk, base;
    simd::aligned_vector<double> hjk, dhjk;  // compact: dR/dr_ik, dR/dr_jk of a window
    simd::aligned_vector<double> ph, pdh;    // compact: angle functions and derivatives per partner
    // Gaussian kernel: per-SF coefficients; a group's per-pair blocks when they are not
    // on the tape.
    simd::aligned_vector<double> coef_a, coef_b, vpow;
    // Per-pair data that values() records when `record` is set and the next gradient()
    // call (which must be for the same atom and environment) replays: partner lists in
    // tape_idx, numbers in tape; tape_group[g] = offsets of angular group g in both.
    bool record = false, recorded = false;
    int recorded_width = 0;  // lanes of the kernels that recorded (the replay uses the same)
    simd::aligned_vector<double> tape;
    size_t tape_len = 0;
    std::vector<int> tape_idx;
    size_t tape_idx_len = 0;  // entries of tape_idx in use
    std::vector<std::pair<size_t, size_t>> tape_group;
    // ... packed copies of the partners that count ...
    std::vector<int> sel, active;
    simd::aligned_vector<double> px, py, pz, pinv, pr, pw, pgx, pgy, pgz, theta, fa, dfa;
    // ... and the gradient gathered per listed neighbour.
    simd::aligned_vector<double> gx, gy, gz;
};

/// All symmetry functions of one element, compiled into groups that share work.
class Descriptor {
  public:
    Descriptor() = default;
    /// `sfs` must already be in n2p2's order; `atomic_numbers` maps element index -> Z.
    Descriptor(const std::vector<SymmetryFunctionSpec>& sfs, CutoffType cutoff_type,
               double cutoff_alpha);

    int size() const { return n_; }
    double cutoff() const { return max_cutoff_; }

    /// G[0..size) = symmetry function values of the atom with environment `env`; with
    /// ws.record set, also records per-pair data for the next gradient() call.
    void values(const NeighborEnv& env, double* G, DescriptorWorkspace& ws,
                const KernelOptions& kernels) const;
    /// g{x,y,z}[n] += sum_s dEdG[s] * dG_s / d d_n for every neighbour n. Replays what the
    /// previous values() call recorded (same atom and environment), if it recorded.
    void gradient(const NeighborEnv& env, const double* dEdG, double* gx, double* gy,
                  double* gz, DescriptorWorkspace& ws, const KernelOptions& kernels) const;

  private:
    struct Radial {  // compact radial SF (types 20, 23)
        int index, element;  // element -1: weighted
        double rc, rl;
        CompactFunction compact;
    };
    struct AngularSF {
        int index;
        int key;        // Gaussian: radial key; compact: radial window
        int angle_key;  // Gaussian: (lambda, zeta); compact: angle function
        double lambda, zeta, prefactor;  // Gaussian; prefactor = 2^(1-zeta)
    };
    struct CompactWindow {  // compact: radial window C(r; r_l, r_c) of some SFs
        double rl, rc;
        std::string subtype;
        CompactFunction radial;
    };
    struct CompactAngle {  // compact: angle window C(theta; left, right)
        double left, right;
        std::string core;  // subtype without the asymmetry suffix
        CompactFunction fn;
    };
    struct AngleKey {  // distinct (lambda, zeta) of a Gaussian group
        double lambda, zeta;
        int int_zeta;  // zeta as an integer, or -1
    };
    struct Key {
        double eta, rs;
        // exp(-eta (r - r_s)^2) = base^power with base = that of key `base` when eta is
        // an integer multiple of that key's eta (same r_s); else base = self, power = 1.
        int base, power;
    };
    // Gaussian radial SFs (types 2, 12) of one neighbour element (or weighted) and r_c:
    // the neighbours are filtered once and the Gaussians share powers like angular keys.
    struct RadialGroup {
        int type, element, slot;
        double rc;
        std::vector<Key> keys;
        std::vector<int> sf_index, sf_key;  // per SF of the group
    };
    // Angular SFs of one type and element pair. Gaussian: one cutoff; SFs share the
    // work per (eta, r_s) key and per (lambda, zeta). Compact: all radial windows share
    // the triplets (r_l, r_c = the union of the windows) and the angle functions.
    struct AngularGroup {
        int type, e1, e2, slot;
        double rc, rl;
        bool weighted, compact, uses_jk;
        std::vector<Key> keys;  // Gaussian types: distinct (eta, r_s)
        std::vector<AngleKey> angle_keys;
        std::vector<CompactWindow> windows;  // compact types
        std::vector<CompactAngle> angles;    // compact types
        std::vector<int> key_start;  // sfs sorted by key; key k owns [start[k], start[k+1])
        std::vector<int> sf_angle;   // angle key of each SF, in sfs order
        std::vector<AngularSF> sfs;
    };

    static std::vector<int> sort_keys(std::vector<Key>& keys);
    template <bool Gradient>
    void radial_group(const RadialGroup& rg, const NeighborEnv& env, double* G, const double* dEdG,
                      double* coef, DescriptorWorkspace& ws) const;
    // Entry points per kernel width (W lanes in the angular kernels): each is
    // compiled for the instruction sets that have vectors of that width.
    void values_narrow(const NeighborEnv& env, double* G, DescriptorWorkspace& ws,
                       const KernelOptions& kernels) const;
    void gradient_narrow(const NeighborEnv& env, const double* dEdG, double* gx, double* gy,
                         double* gz, DescriptorWorkspace& ws, const KernelOptions& kernels) const;
    void values_wide(const NeighborEnv& env, double* G, DescriptorWorkspace& ws,
                       const KernelOptions& kernels) const;
    void gradient_wide(const NeighborEnv& env, const double* dEdG, double* gx, double* gy,
                       double* gz, DescriptorWorkspace& ws, const KernelOptions& kernels) const;
    template <bool Gradient, int W>
    void evaluate(const NeighborEnv& env, double* G, const double* dEdG, double* gx, double* gy,
                  double* gz, DescriptorWorkspace& ws, const KernelOptions& kernels) const;
    template <bool Gradient, int W>
    void gaussian_group(const AngularGroup& g, const NeighborEnv& env, double* G,
                        const double* dEdG, double* gx, double* gy, double* gz,
                        DescriptorWorkspace& ws, const KernelOptions& kernels) const;
    template <bool Gradient, bool UsesJk, int W>
    void gaussian_kernel(const AngularGroup& g, const NeighborEnv& env, double* G,
                         const double* dEdG, double* gx, double* gy, double* gz,
                         DescriptorWorkspace& ws, const KernelOptions& kernels) const;
    template <bool Gradient, int W>
    void compact_group(const AngularGroup& g, const NeighborEnv& env, double* G,
                       const double* dEdG, double* gx, double* gy, double* gz,
                       DescriptorWorkspace& ws, const KernelOptions& kernels) const;

    int n_ = 0;
    double max_cutoff_ = 0.0;
    std::vector<CutoffFunction> cutoffs_;  // one per distinct r_c (slot)
    std::vector<Radial> radial_;  // compact radial SFs (types 20, 23)
    std::vector<RadialGroup> radial_groups_;
    std::vector<AngularGroup> angular_;
};

}  // namespace bpfast
