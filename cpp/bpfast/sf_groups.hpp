// The symmetry functions of one element compiled into groups that share work: Gaussian
// radial SFs per (neighbour element or weight, r_c), compact radial SFs one by one, and
// angular SFs per (type, element pair[, r_c]). The kernels (sf_radial, sf_gaussian_angular,
// sf_compact_angular) evaluate one group, or all radial SFs, of one central atom.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "bpfast/compact_function.hpp"
#include "bpfast/cutoff.hpp"
#include "bpfast/sf_types.hpp"

namespace bpfast {

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

namespace sf {

/// A distinct (eta, r_s) of a group. exp(-eta (r - r_s)^2) = base^power with base = that
/// of key `base` when eta is an integer multiple of that key's eta (same r_s); else
/// base = self, power = 1.
struct Key {
    double eta, rs;
    int base, power;
};

/// Gaussian radial SFs (types 2, 12) of one neighbour element (or weighted) and r_c: the
/// neighbours are filtered once and the Gaussians share powers like angular keys.
struct RadialGroup {
    int type, element, slot;  // element -1: weighted; slot: index of the cutoff function
    double rc;
    std::vector<Key> keys;
    std::vector<int> sf_index, sf_key;  // per SF of the group
};

/// A compact radial SF (types 20, 23).
struct CompactRadial {
    int index, element;  // element -1: weighted
    double rc, rl;
    CompactFunction compact;
};

/// One angular SF of a group.
struct AngularSF {
    int index;
    int key;        // Gaussian: radial key; compact: radial window
    int angle_key;  // Gaussian: (lambda, zeta); compact: angle function
    double lambda, zeta, prefactor;  // Gaussian; prefactor = 2^(1-zeta)
};

/// Compact: radial window C(r; r_l, r_c) of some SFs.
struct CompactWindow {
    double rl, rc;
    std::string subtype;
    CompactFunction radial;
};

/// Compact: angle window C(theta; left, right).
struct CompactAngle {
    double left, right;
    std::string core;  // subtype without the asymmetry suffix
    CompactFunction fn;
};

/// A distinct (lambda, zeta) of a Gaussian group.
struct AngleKey {
    double lambda, zeta;
    int int_zeta;  // zeta as an integer, or -1
};

/// Angular SFs of one type and element pair. Gaussian: one cutoff; SFs share the work
/// per (eta, r_s) key and per (lambda, zeta). Compact: all radial windows share the
/// triplets (r_l, r_c = the union of the windows) and the angle functions.
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

/// All groups of one element's SFs.
struct Groups {
    int size = 0;                          // number of SFs
    double max_cutoff = 0.0;
    std::vector<CutoffFunction> cutoffs;  // one per distinct r_c (slot)
    std::vector<RadialGroup> radial;
    std::vector<CompactRadial> compact_radial;
    std::vector<AngularGroup> angular;
};

/// Groups of `sfs` (in n2p2's order). (sf_groups.cpp)
Groups group_symmetry_functions(const std::vector<SymmetryFunctionSpec>& sfs,
                                CutoffType cutoff_type, double cutoff_alpha);

/// What a kernel reads and writes for one central atom. Values pass: G (the SF values,
/// added to); gradient pass: dEdG and g{x,y,z} (dE/dd_n added per neighbour n).
/// A committee's gradient pass serves `members` networks at once: member m's dE/dG at
/// dEdG + m * dEdG_stride, its dE/dd_n at g{x,y,z}[m * g_stride + n].
struct KernelIO {
    const NeighborEnv& env;
    const double* fc;   // f_c(r_n) of cutoff slot s at fc[s * env.count + n], 0 beyond r_c
    const double* dfc;  // f_c'(r_n), the same layout
    double* G;
    const double* dEdG;
    double* gx;
    double* gy;
    double* gz;
    int members = 1;
    size_t dEdG_stride = 0;
    size_t g_stride = 0;

    /// Member m's view: one member, its dE/dG and gradient rows.
    KernelIO member(int m) const {
        return KernelIO{env, fc, dfc, G, dEdG + m * dEdG_stride, gx + m * g_stride,
                        gy + m * g_stride, gz + m * g_stride};
    }
};

}  // namespace sf
}  // namespace bpfast
