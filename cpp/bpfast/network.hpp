// Per-element feed-forward network on fixed weights, evaluated for a batch of atoms.
//
// Layer l maps the previous activations a (batch x n_{l-1}) to
//   z = (a W_l + b_l) * norm_l,   a' = f_l(z)
// with W_l stored as an (n_{l-1} x n_l) matrix (rows = source neurons) and
// norm_l = 1 / n_{l-1} with `normalize_nodes`, else 1. The last layer has one neuron:
// the atomic energy (in the potential's normalised units).
#pragma once

#include <Eigen/Core>
#include <vector>

#include "bpfast/activation.hpp"
#include "bpfast/simd.hpp"

namespace bpfast {

using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// Scratch memory for one thread.
struct NetworkWorkspace {
    std::vector<RowMatrix> z, a;                   // evaluate(): per layer
    simd::aligned_vector<double> atom;             // evaluate_atom(): per layer a, f'(z)
    // evaluate_atom(): this thread's copy of the padded weights of network `owner`, so
    // that no two cores read the same lines (shared lines came back from another core's
    // cache after eviction: the network phase scaled 1.47x on two threads, 1.8x with
    // copies, anisole). One workspace per network.
    const void* owner = nullptr;
    simd::aligned_vector<double> weights;
};

class Network {
  public:
    Network() = default;
    /// `sizes` = neurons per layer from the input to the output (last must be 1);
    /// `activations` has sizes.size() - 1 entries; `parameters` in n2p2 order
    /// (per layer: weights source-major, then biases). Throws InputError if the
    /// number of parameters is wrong.
    Network(const std::vector<int>& sizes, const std::vector<Activation>& activations,
            bool normalize_nodes, const std::vector<double>& parameters);

    int inputs() const { return sizes_.empty() ? 0 : sizes_.front(); }
    const std::vector<int>& sizes() const { return sizes_; }
    const std::vector<Activation>& activations() const { return activations_; }

    /// Energies of `batch` atoms with inputs x (batch x inputs, row-major), by matrix
    /// products (the batched energy-only path).
    void evaluate(const double* x, int batch, double* energy, NetworkWorkspace& ws) const;
    /// The energy of one atom and, if dx is not null, dE/dx (inputs entries; dx may alias
    /// x): the per-atom pass with forces. Vectorised loops over zero-padded copies of the
    /// weights instead of matrix products, which cost more than they compute for one
    /// row. Equal to evaluate() up to rounding.
    double evaluate_atom(const double* x, double* dx, NetworkWorkspace& ws) const;

  private:
    // For evaluate_atom, per layer l from layer_offset_[l] on: W_l transposed, each row
    // (the weights into one neuron) padded with zeros to whole SIMD vectors; read by both
    // passes (from each thread's copy in its workspace).
    std::vector<int> padded_;  // padded neuron count of each layer (input included)
    std::vector<double> weights_t_;
    std::vector<size_t> layer_offset_;
    // Layout of evaluate_atom's scratch (NetworkWorkspace::atom): where a_l starts, and
    // the doubles it needs in all.
    std::vector<size_t> activation_offset_;
    size_t atom_scratch_ = 0;

    std::vector<int> sizes_;
    std::vector<Activation> activations_;
    std::vector<RowMatrix> weights_;
    std::vector<Eigen::RowVectorXd> biases_;
    std::vector<double> norm_;
};

}  // namespace bpfast
