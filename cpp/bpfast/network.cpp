#include "bpfast/network.hpp"

#include <algorithm>
#include <cmath>

#include "bpfast/errors.hpp"
#include "bpfast/fastmath.hpp"
#include "bpfast/potential_spec.hpp"
#include "bpfast/simd.hpp"

namespace bpfast {

Network::Network(const std::vector<int>& sizes, const std::vector<Activation>& activations,
                 bool normalize_nodes, const std::vector<double>& parameters)
    : sizes_(sizes), activations_(activations) {
    if (sizes.size() < 2 || activations.size() + 1 != sizes.size()) {
        throw InputError("network needs at least an input and an output layer and one "
                         "activation per non-input layer");
    }
    const size_t expected = parameter_count(sizes);
    if (parameters.size() != expected) {
        throw InputError("expected " + std::to_string(expected) + " weights and biases, found " +
                         std::to_string(parameters.size()));
    }
    size_t p = 0;
    for (size_t l = 1; l < sizes.size(); ++l) {
        RowMatrix w(sizes[l - 1], sizes[l]);
        for (int j = 0; j < sizes[l - 1]; ++j) {
            for (int k = 0; k < sizes[l]; ++k) w(j, k) = parameters[p++];
        }
        Eigen::RowVectorXd b(sizes[l]);
        for (int k = 0; k < sizes[l]; ++k) b(k) = parameters[p++];
        weights_.push_back(std::move(w));
        biases_.push_back(std::move(b));
        norm_.push_back(normalize_nodes ? 1.0 / sizes[l - 1] : 1.0);
    }
    constexpr int W = simd::kWidth;
    for (int n : sizes_) padded_.push_back((n + W - 1) / W * W);
    // evaluate_atom's scratch: the padded input, one vector of the widest layer, then per
    // layer l its activations a_l followed by f'(z_l).
    const int widest = *std::max_element(padded_.begin(), padded_.end());
    size_t at = static_cast<size_t>(padded_[0]) + widest;
    for (size_t l = 1; l < sizes_.size(); ++l) {
        activation_offset_.push_back(at);
        at += 2 * static_cast<size_t>(padded_[l]);
    }
    atom_scratch_ = at;
    for (size_t l = 1; l < sizes_.size(); ++l) {
        const RowMatrix& w = weights_[l - 1];
        const int n_in = sizes_[l - 1], n_out = sizes_[l], p_in = padded_[l - 1];
        const size_t at = weights_t_.size();
        layer_offset_.push_back(at);
        weights_t_.resize(at + static_cast<size_t>(n_out) * p_in, 0.0);
        for (int k = 0; k < n_out; ++k) {
            for (int j = 0; j < n_in; ++j) weights_t_[at + static_cast<size_t>(k) * p_in + j] = w(j, k);
        }
    }
}

namespace {
/// a = f(z) and, if d is not null, d = f'(z), elementwise over n entries (a may be z).
void activate(Activation f, const double* zp, Eigen::Index n, double* ap, double* dp) {
    if (f == Activation::Tanh) {
        // Vectorisable: |x| <= 1 by the polynomial of tanh_unit, beyond by the exp form
        // (1 - e) / (1 + e) with e = exp(-2|x|) <= exp(-2), which has no cancellation.
#pragma omp simd
        for (Eigen::Index i = 0; i < n; ++i) {
            const double x = zp[i], ax = x < 0.0 ? -x : x;
            const double e = vexp(-2.0 * ax);
            const double far = (1.0 - e) / (1.0 + e);
            const double t = ax <= 1.0 ? tanh_unit(ax) : far;
            const double y = x < 0.0 ? -t : t;
            ap[i] = y;
            if (dp) dp[i] = 1.0 - y * y;
        }
        return;
    }
    if (f == Activation::Softplus) {
        // log(1 + e^x) and its derivative, with x > 35 taken as x and x < -35 as 0.
#pragma omp simd
        for (Eigen::Index i = 0; i < n; ++i) {
            const double x = zp[i];
            const double xc = x > 35.0 ? 35.0 : (x < -35.0 ? -35.0 : x);
            const double e = vexp(xc);
            const double y = vlog(1.0 + e), dy = e / (1.0 + e);
            ap[i] = x > 35.0 ? x : (x < -35.0 ? 0.0 : y);
            if (dp) dp[i] = x > 35.0 ? 1.0 : (x < -35.0 ? 0.0 : dy);
        }
        return;
    }
    // The other activations, one entry at a time (Tanh and Softplus returned above).
    for (Eigen::Index i = 0; i < n; ++i) {
        const double x = zp[i];
        double y, dy;
        switch (f) {
            case Activation::Linear:
                y = x;
                dy = 1.0;
                break;
            case Activation::Sigmoid:
                if (x > 35.0) {
                    y = 1.0;
                    dy = 0.0;
                } else if (x < -35.0) {
                    y = 0.0;
                    dy = 0.0;
                } else {
                    y = 1.0 / (1.0 + std::exp(-x));
                    dy = y * (1.0 - y);
                }
                break;
            case Activation::Relu:
                y = x > 0.0 ? x : 0.0;
                dy = x > 0.0 ? 1.0 : 0.0;
                break;
            case Activation::Gaussian:
                y = std::exp(-0.5 * x * x);
                dy = -x * y;
                break;
            case Activation::Cos:
                y = std::cos(x);
                dy = -std::sin(x);
                break;
            case Activation::RevSigmoid: {
                const double s = 1.0 / (1.0 + std::exp(-x));
                y = 1.0 - s;
                dy = -s * (1.0 - s);
                break;
            }
            case Activation::Exp:
                y = std::exp(-x);
                dy = -y;
                break;
            case Activation::Square:
                y = x * x;
                dy = 2.0 * x;
                break;
            default:
                y = x;
                dy = 1.0;
        }
        ap[i] = y;
        if (dp) dp[i] = dy;
    }
}

void activate(Activation f, const RowMatrix& z, RowMatrix& a) {
    a.resize(z.rows(), z.cols());
    activate(f, z.data(), z.size(), a.data(), nullptr);
}

using simd::vd;
constexpr int kW = simd::kWidth;

/// out[0, p) = sum_{j < n} a[j] * rows[j * p + (0, p)] with p a multiple of kW: tiles of up
/// to 8 vectors, whose sums stay in registers over all j.
inline void sum_rows(const double* a, int n, const double* rows, int p, double* out) {
    for (int t = 0; t < p; t += 8 * kW) {
        simd::with_count<8>((p - t) / kW, [&](auto count) {
            constexpr int NV = decltype(count)::value;
            vd acc[NV] = {};
            const double* row = rows + t;
            for (int j = 0; j < n; ++j, row += p) {
                const vd aj = simd::splat(a[j]);
                for (int v = 0; v < NV; ++v) acc[v] += aj * simd::load(row + v * kW);
            }
            for (int v = 0; v < NV; ++v) simd::store(out + t + v * kW, acc[v]);
        });
    }
}

/// out[k] = sum_j a[j] * rows[k * p + j] for k < n, p a multiple of kW: up to 8 rows at
/// once, so that each vector of `a` is loaded once for them and 8 sums are in flight.
inline void dot_rows(const double* a, const double* rows, int p, int n, double* out) {
    for (int k0 = 0; k0 < n; k0 += 8) {
        simd::with_count<8>(n - k0, [&](auto count) {
            constexpr int NR = decltype(count)::value;
            vd acc[NR] = {};
            const double* row = rows + static_cast<size_t>(k0) * p;
            for (int j = 0; j < p; j += kW) {
                const vd aj = simd::load(a + j);
                for (int r = 0; r < NR; ++r) acc[r] += aj * simd::load(row + r * p + j);
            }
            for (int r = 0; r < NR; ++r) out[k0 + r] = simd::sum(acc[r]);
        });
    }
}
}  // namespace

BPFAST_KERNEL double Network::evaluate_atom(const double* x, double* dx,
                                            NetworkWorkspace& ws) const {
    const size_t nl = weights_.size();
    if (ws.atom.size() < atom_scratch_) ws.atom.resize(atom_scratch_);
    double* input = ws.atom.data();
    double* back = input + padded_[0];
    std::copy(x, x + sizes_[0], input);
    std::fill(input + sizes_[0], input + padded_[0], 0.0);
    if (ws.owner != this) {
        ws.weights.assign(weights_t_.begin(), weights_t_.end());
        ws.owner = this;
    }
    auto rows_of = [&](size_t l) { return ws.weights.data() + layer_offset_[l]; };
    auto act = [&](size_t l) { return ws.atom.data() + activation_offset_[l]; };  // then f'

    // Forward: z_l = (W_l^T a_{l-1} + b_l) norm_l by dot products with the rows into each
    // neuron; padded entries of a_{l-1} (f(0) of the padding) meet zero weights.
    const double* in = input;
    for (size_t l = 0; l < nl; ++l) {
        const int n_out = sizes_[l + 1], p_out = padded_[l + 1];
        double* a = act(l);
        dot_rows(in, rows_of(l), padded_[l], n_out, a);
        const double* b = biases_[l].data();
        const double norm = norm_[l];
        for (int k = 0; k < n_out; ++k) a[k] = (a[k] + b[k]) * norm;
        std::fill(a + n_out, a + p_out, 0.0);
        activate(activations_[l], a, p_out, a, dx ? a + p_out : nullptr);
        in = a;
    }
    const double energy = in[0];
    if (!dx) return energy;

    // Back-propagation of delta_l = dE/dz_l (kept in the a_l slots, no longer needed):
    // back = norm_l W_l delta_l (the rows into each neuron, scaled and summed); delta_{l-1}
    // = back * f'(z_{l-1}); the input gradient is the last `back`. The padding of every
    // delta is zero (zero weights past each row's n_{l-1} entries).
    double* top = act(nl - 1);
    top[0] = top[padded_[nl]];  // f' of the single output neuron
    std::fill(top + 1, top + padded_[nl], 0.0);
    for (size_t l = nl; l-- > 0;) {
        const int p_in = padded_[l];
        sum_rows(act(l), sizes_[l + 1], rows_of(l), p_in, back);
        const double norm = norm_[l];
        if (l == 0) {
            for (int j = 0; j < sizes_[0]; ++j) dx[j] = back[j] * norm;
        } else {
            double* below = act(l - 1);
            const double* d = below + p_in;
            for (int k = 0; k < p_in; ++k) below[k] = back[k] * norm * d[k];
        }
    }
    return energy;
}

void Network::evaluate(const double* x, int batch, double* energy,
                       NetworkWorkspace& ws) const {
    const size_t nl = weights_.size();
    ws.z.resize(nl);
    ws.a.resize(nl);
    Eigen::Map<const RowMatrix> input(x, batch, sizes_[0]);
    for (size_t l = 0; l < nl; ++l) {
        RowMatrix& z = ws.z[l];
        if (l == 0) {
            z.noalias() = input * weights_[0];
        } else {
            z.noalias() = ws.a[l - 1] * weights_[l];
        }
        z.rowwise() += biases_[l];
        if (norm_[l] != 1.0) z *= norm_[l];
        activate(activations_[l], z, ws.a[l]);
    }
    for (int b = 0; b < batch; ++b) energy[b] = ws.a[nl - 1](b, 0);
}

}  // namespace bpfast
