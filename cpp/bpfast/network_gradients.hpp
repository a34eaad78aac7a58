// Derivatives of one element's network with respect to its weights and biases, for
// training: energies, energy gradients and force-loss gradients of a batch of atoms.
//
// Network (as network.hpp): a_0 = x (the scaled symmetry functions G of an atom),
//   z_l = (a_{l-1} W_l + b_l) c_l,  a_l = f_l(z_l),  E = a_L  (one output neuron),
// with c_l = 1 / n_{l-1} under normalize_nodes, else 1; w = all W_l, b_l in n2p2 order.
//
// Forces are F_i = -sum_a sum_k (dE_a/dG_ak) dG_ak/dr_i, so the gradient of a force
// loss term sum_i res_i . F_i with respect to w is -sum_a sum_k u_ak d(dE_a/dG_ak)/dw
// with the tangents u_ak = sum_i res_i . dG_ak/dr_i, a Jacobian-vector product of the
// (scaled) symmetry functions computed by the caller. (E and F here are in the
// network's units; physical ones divide by conv_energy.) That is the gradient of the
// directional derivative Edot_a = u_a . dE_a/dG_a, computed here without second
// derivatives with respect to G: a forward-mode pass carries u through the network,
//   zdot_l = adot_{l-1} W_l c_l,  adot_l = f_l'(z_l) zdot_l,  Edot = adot_L,
// and one reverse pass through both the values and the tangents gives dEdot/dw (it
// needs f' and f'' of every activation) beside the ordinary back-propagation of dE/dw.
//
// Rows (atoms) are processed in blocks of kBlock rows, each block as Eigen matrix
// products, blocks spread over threads. Weight gradients are summed per group of rows:
// one group gives a mini-batch's summed gradient, one group per structure each
// structure's own (a Kalman filter's energy update); for one force component F_ia of a
// structure, u_a = dG_a/dr_ia of its atoms, and duplicated rows in further groups give
// further components in the same call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "bpfast/network.hpp"

namespace bpfast {

/// Arrays of one NetworkGradients::compute call, row-major, not owned.
struct GradientInputs {
    /// The network's weights and biases in n2p2 order (parameter_count() values).
    const double* parameters = nullptr;
    /// rows x inputs: scaled symmetry functions G, one row per atom.
    const double* inputs = nullptr;
    /// rows x inputs, or null: tangents u (one direction per row).
    const double* tangents = nullptr;
    /// rows group indices in [0, n_groups), non-decreasing, or null: all rows in group 0.
    const int64_t* groups = nullptr;
    int64_t rows = 0;
    int64_t n_groups = 1;
};

/// Where NetworkGradients::compute writes; a null pointer skips that output.
struct GradientOutputs {
    /// rows: E_a, the network output (normalised energy units of the potential).
    double* energies = nullptr;
    /// rows x inputs: dE_a/dG_a.
    double* input_gradient = nullptr;
    /// rows: Edot_a = u_a . dE_a/dG_a (needs tangents).
    double* tangent_energies = nullptr;
    /// n_groups x parameter_count(): sum over the rows a of group g of dE_a/dw.
    double* energy_gradient = nullptr;
    /// n_groups x parameter_count(): sum over the rows a of group g of dEdot_a/dw =
    /// sum_k u_ak d(dE_a/dG_ak)/dw (needs tangents).
    double* tangent_gradient = nullptr;
};

/// One element's network architecture; the parameters are an argument of each call so
/// that a trainer can update them in place between calls. Immutable, thread-safe.
class NetworkGradients {
  public:
    /// `sizes`: neurons per layer, input (symmetry functions) to output (1);
    /// `activations`: one per non-input layer. Throws InputError if inconsistent.
    NetworkGradients(std::vector<int> sizes, std::vector<Activation> activations,
                     bool normalize_nodes);

    const std::vector<int>& sizes() const { return sizes_; }
    const std::vector<Activation>& activations() const { return activations_; }
    bool normalize_nodes() const { return normalize_nodes_; }
    int inputs() const { return sizes_.front(); }
    /// Number of weights and biases (length of GradientInputs::parameters).
    size_t parameter_count() const { return parameter_count_; }

    /// Fills the requested outputs. Throws InputError (naming the argument and row) for
    /// non-finite inputs, tangents or parameters, for groups out of range or decreasing,
    /// and for tangent outputs without tangents; `threads` 0 = OpenMP default.
    void compute(const GradientInputs& in, const GradientOutputs& out, int threads = 0) const;

  private:
    struct Scratch;
    struct Layer {
        size_t weights, biases;  // offsets into the parameters
        int n_in, n_out;
        double norm;
        Activation f;
    };
    void check(const GradientInputs& in, const GradientOutputs& out) const;
    void forward(const double* params, const double* x, const double* u, int m,
                 Scratch& ws) const;
    void backward(const double* params, const double* x, const double* u, int m,
                  const int64_t* groups, const GradientOutputs& out, int64_t row0,
                  Scratch& ws) const;
    void accumulate(const Layer& layer, int l, const double* x, const double* u, int m,
                    const int64_t* groups, Scratch& ws) const;
    void run_rows(const GradientInputs& in, const GradientOutputs& out, int64_t begin,
                  int64_t end, Scratch& ws) const;

    std::vector<int> sizes_;
    std::vector<Activation> activations_;
    bool normalize_nodes_ = false;
    std::vector<Layer> layers_;
    size_t parameter_count_ = 0;
};

}  // namespace bpfast
