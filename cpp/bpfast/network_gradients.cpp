#include "bpfast/network_gradients.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "bpfast/errors.hpp"
#include "bpfast/fastmath.hpp"
#include "bpfast/simd.hpp"
#include "bpfast/threading.hpp"

namespace bpfast {

namespace {

/// Rows per block (network_gradients.hpp): a block's activations, tangents and adjoints (6 buffers per layer)
/// stay in the core's L2 cache for networks of a few dozen neurons per layer.
constexpr int kBlock = 128;

using Rows = Eigen::Map<RowMatrix>;
using ConstRows = Eigen::Map<const RowMatrix>;

/// The first m rows of a block buffer (row-major, so contiguous).
Rows top(RowMatrix& buffer, int m) { return Rows(buffer.data(), m, buffer.cols()); }

/// Applies `value` (x -> y, y', y'') to n entries: za holds z on entry and f(z) on exit;
/// d1 (if not null) receives f'(z), d2 (if not null) f''(z).
template <class F>
inline void apply(F value, double* za, Eigen::Index n, double* d1, double* d2) {
    if (d2) {
#pragma omp simd
        for (Eigen::Index i = 0; i < n; ++i) {
            double y, dy, ddy;
            value(za[i], y, dy, ddy);
            za[i] = y;
            d1[i] = dy;
            d2[i] = ddy;
        }
    } else if (d1) {
#pragma omp simd
        for (Eigen::Index i = 0; i < n; ++i) {
            double y, dy, ddy;
            value(za[i], y, dy, ddy);
            za[i] = y;
            d1[i] = dy;
        }
    } else {
#pragma omp simd
        for (Eigen::Index i = 0; i < n; ++i) {
            double y, dy, ddy;
            value(za[i], y, dy, ddy);
            za[i] = y;
        }
    }
}

/// f, f' and f'' of the n2p2 activations (the clamps of s and p as in n2p2, their
/// derivatives 0 where the value is clamped); tanh and softplus in the vectorisable
/// forms of network.cpp, compiled for each instruction set (BPFAST_KERNEL).
BPFAST_KERNEL void activate(Activation f, double* za, Eigen::Index n, double* d1, double* d2) {
    switch (f) {
        case Activation::Linear:
            return apply([](double x, double& y, double& dy, double& ddy) {
                y = x, dy = 1.0, ddy = 0.0;
            }, za, n, d1, d2);
        case Activation::Tanh:
            return apply([](double x, double& y, double& dy, double& ddy) {
                const double ax = x < 0.0 ? -x : x;
                const double e = vexp(-2.0 * ax);
                const double far = (1.0 - e) / (1.0 + e);
                const double t = ax <= 1.0 ? tanh_unit(ax) : far;
                y = x < 0.0 ? -t : t;
                dy = 1.0 - y * y;
                ddy = -2.0 * y * dy;
            }, za, n, d1, d2);
        case Activation::Sigmoid:
            return apply([](double x, double& y, double& dy, double& ddy) {
                const double s = 1.0 / (1.0 + std::exp(-x));
                const bool clamped = x > 35.0 || x < -35.0;
                y = x > 35.0 ? 1.0 : (x < -35.0 ? 0.0 : s);
                dy = clamped ? 0.0 : s * (1.0 - s);
                ddy = clamped ? 0.0 : s * (1.0 - s) * (1.0 - 2.0 * s);
            }, za, n, d1, d2);
        case Activation::Softplus:
            return apply([](double x, double& y, double& dy, double& ddy) {
                const double xc = x > 35.0 ? 35.0 : (x < -35.0 ? -35.0 : x);
                const double e = vexp(xc);
                const double s = e / (1.0 + e);
                y = x > 35.0 ? x : (x < -35.0 ? 0.0 : vlog(1.0 + e));
                dy = x > 35.0 ? 1.0 : (x < -35.0 ? 0.0 : s);
                ddy = (x > 35.0 || x < -35.0) ? 0.0 : s * (1.0 - s);
            }, za, n, d1, d2);
        case Activation::Relu:
            return apply([](double x, double& y, double& dy, double& ddy) {
                y = x > 0.0 ? x : 0.0, dy = x > 0.0 ? 1.0 : 0.0, ddy = 0.0;
            }, za, n, d1, d2);
        case Activation::Gaussian:
            return apply([](double x, double& y, double& dy, double& ddy) {
                y = std::exp(-0.5 * x * x), dy = -x * y, ddy = (x * x - 1.0) * y;
            }, za, n, d1, d2);
        case Activation::Cos:
            return apply([](double x, double& y, double& dy, double& ddy) {
                y = std::cos(x), dy = -std::sin(x), ddy = -y;
            }, za, n, d1, d2);
        case Activation::RevSigmoid:
            return apply([](double x, double& y, double& dy, double& ddy) {
                const double s = 1.0 / (1.0 + std::exp(-x));
                y = 1.0 - s, dy = -s * (1.0 - s), ddy = -s * (1.0 - s) * (1.0 - 2.0 * s);
            }, za, n, d1, d2);
        case Activation::Exp:
            return apply([](double x, double& y, double& dy, double& ddy) {
                y = std::exp(-x), dy = -y, ddy = y;
            }, za, n, d1, d2);
        case Activation::Square:
            return apply([](double x, double& y, double& dy, double& ddy) {
                y = x * x, dy = 2.0 * x, ddy = 2.0;
            }, za, n, d1, d2);
    }
}

/// Index of the first non-finite value of p[0, n), or -1.
int64_t first_non_finite(const double* p, int64_t n) {
    constexpr int64_t kRun = 1024;
    for (int64_t begin = 0; begin < n; begin += kRun) {
        const int64_t end = std::min(n, begin + kRun);
        bool bad = false;
#pragma omp simd reduction(|| : bad)
        for (int64_t i = begin; i < end; ++i) bad = bad || !(p[i] - p[i] == 0.0);
        if (!bad) continue;
        for (int64_t i = begin; i < end; ++i) {
            if (!std::isfinite(p[i])) return i;
        }
    }
    return -1;
}

void check_finite(const char* name, const double* p, int64_t rows, int64_t cols) {
    const int64_t i = first_non_finite(p, rows * cols);
    if (i < 0) return;
    throw InputError(std::string(name) + " must be finite: row " + std::to_string(i / cols) +
                     ", column " + std::to_string(i % cols) + " is " + std::to_string(p[i]));
}

}  // namespace

/// One thread's buffers: per non-input layer l, kBlock x n_l matrices of the block's
/// activations a, f'(z), f''(z) * zdot (curv), tangents adot, and the adjoints g (dE/da,
/// then dE/dz * c) and gt (dEdot/da, then dEdot/dz * c); and its gradient sums.
struct NetworkGradients::Scratch {
    std::vector<RowMatrix> a, d1, curv, adot, g, gt;
    bool tangent = false;  // carry the tangents
    // Gradient sums of groups group_lo, group_lo + 1, ... (parameter_count() each):
    // either this thread's own buffers or, with one thread, the outputs themselves.
    int64_t group_lo = 0;
    double* energy_sum = nullptr;
    double* tangent_sum = nullptr;
    std::vector<double> energy_own, tangent_own;
};

NetworkGradients::NetworkGradients(std::vector<int> sizes, std::vector<Activation> activations,
                                   bool normalize_nodes)
    : sizes_(std::move(sizes)), activations_(std::move(activations)),
      normalize_nodes_(normalize_nodes) {
    if (sizes_.size() < 2 || activations_.size() + 1 != sizes_.size()) {
        throw InputError("a network needs at least an input and an output layer and one "
                         "activation per non-input layer");
    }
    if (sizes_.back() != 1) throw InputError("the output layer must have one neuron");
    for (int n : sizes_) {
        if (n < 1) throw InputError("every layer needs at least one neuron");
    }
    size_t at = 0;
    for (size_t l = 1; l < sizes_.size(); ++l) {
        Layer layer;
        layer.n_in = sizes_[l - 1];
        layer.n_out = sizes_[l];
        layer.weights = at;
        layer.biases = at + static_cast<size_t>(layer.n_in) * layer.n_out;
        layer.norm = normalize_nodes_ ? 1.0 / layer.n_in : 1.0;
        layer.f = activations_[l - 1];
        at = layer.biases + layer.n_out;
        layers_.push_back(layer);
    }
    parameter_count_ = at;
}

void NetworkGradients::check(const GradientInputs& in, const GradientOutputs& out) const {
    if (in.rows < 0) throw InputError("rows must not be negative");
    if (!in.parameters) throw InputError("parameters are missing");
    if (in.rows > 0 && !in.inputs) throw InputError("inputs are missing");
    if (!in.tangents && (out.tangent_energies || out.tangent_gradient)) {
        throw InputError("tangent energies and tangent gradients need tangents");
    }
    check_finite("parameters", in.parameters, 1, static_cast<int64_t>(parameter_count_));
    check_finite("inputs", in.inputs, in.rows, inputs());
    if (in.tangents) check_finite("tangents", in.tangents, in.rows, inputs());
    if (!in.groups) return;
    if (in.n_groups < 0) throw InputError("n_groups must not be negative");
    for (int64_t r = 0; r < in.rows; ++r) {
        const int64_t g = in.groups[r];
        if (g < 0 || g >= in.n_groups) {
            throw InputError("groups[" + std::to_string(r) + "] = " + std::to_string(g) +
                             " is outside [0, n_groups = " + std::to_string(in.n_groups) + ")");
        }
        if (r > 0 && g < in.groups[r - 1]) {
            throw InputError("groups must be non-decreasing (the rows of a group together): "
                             "groups[" + std::to_string(r) + "] = " + std::to_string(g) +
                             " follows " + std::to_string(in.groups[r - 1]));
        }
    }
}

void NetworkGradients::forward(const double* params, const double* x, const double* u, int m,
                               Scratch& ws) const {
    for (size_t l = 0; l < layers_.size(); ++l) {
        const Layer& ly = layers_[l];
        ConstRows w(params + ly.weights, ly.n_in, ly.n_out);
        Eigen::Map<const Eigen::RowVectorXd> b(params + ly.biases, ly.n_out);
        Rows z = top(ws.a[l], m);
        if (l == 0) {
            z.noalias() = ConstRows(x, m, ly.n_in) * w;
        } else {
            z.noalias() = top(ws.a[l - 1], m) * w;
        }
        z.rowwise() += b;
        if (ly.norm != 1.0) z *= ly.norm;
        Rows d1 = top(ws.d1[l], m);
        if (!ws.tangent) {
            activate(ly.f, z.data(), z.size(), d1.data(), nullptr);
            continue;
        }
        // zdot_l = adot_{l-1} W_l c_l; adot_l = f'(z_l) zdot_l; curv = f''(z_l) zdot_l.
        Rows curv = top(ws.curv[l], m);
        activate(ly.f, z.data(), z.size(), d1.data(), curv.data());
        Rows zdot = top(ws.adot[l], m);
        zdot.noalias() = (l == 0 ? ConstRows(u, m, ly.n_in) : ConstRows(ws.adot[l - 1].data(), m, ly.n_in)) * w;
        if (ly.norm != 1.0) zdot *= ly.norm;
        curv.array() *= zdot.array();
        zdot.array() *= d1.array();
    }
}

void NetworkGradients::accumulate(const Layer& ly, int l, const double* x, const double* u,
                                  int m, const int64_t* groups, Scratch& ws) const {
    ConstRows a_in(l == 0 ? x : ws.a[l - 1].data(), m, ly.n_in);
    const double* adot_data = ws.tangent ? (l == 0 ? u : ws.adot[l - 1].data()) : nullptr;
    ConstRows s(ws.g[l].data(), m, ly.n_out);
    const double* zbar_data = ws.tangent ? ws.gt[l].data() : nullptr;
    const size_t np = parameter_count_;
    for (int r0 = 0; r0 < m;) {
        const int64_t group = groups ? groups[r0] : 0;
        int r1 = r0 + 1;
        while (r1 < m && (groups ? groups[r1] : 0) == group) ++r1;
        const int len = r1 - r0;
        const size_t at = static_cast<size_t>(group - ws.group_lo) * np;
        auto a_seg = a_in.middleRows(r0, len);
        auto s_seg = s.middleRows(r0, len);
        if (ws.energy_sum) {
            // dE/dW_l = a_{l-1}^T (dE/dz_l c_l), dE/db_l = its column sums.
            Rows(ws.energy_sum + at + ly.weights, ly.n_in, ly.n_out).noalias() +=
                a_seg.transpose() * s_seg;
            Rows(ws.energy_sum + at + ly.biases, 1, ly.n_out) += s_seg.colwise().sum();
        }
        if (ws.tangent_sum) {
            // dEdot/dW_l = a_{l-1}^T (dEdot/dz_l c_l) + adot_{l-1}^T (dEdot/dzdot_l c_l),
            // where dEdot/dzdot_l = dE/dz_l; dEdot/db_l = column sums of the first.
            ConstRows zbar(zbar_data, m, ly.n_out);
            ConstRows adot(adot_data, m, ly.n_in);
            auto z_seg = zbar.middleRows(r0, len);
            Rows w_sum(ws.tangent_sum + at + ly.weights, ly.n_in, ly.n_out);
            w_sum.noalias() += a_seg.transpose() * z_seg;
            w_sum.noalias() += adot.middleRows(r0, len).transpose() * s_seg;
            Rows(ws.tangent_sum + at + ly.biases, 1, ly.n_out) += z_seg.colwise().sum();
        }
        r0 = r1;
    }
}

void NetworkGradients::backward(const double* params, const double* x, const double* u, int m,
                                const int64_t* groups, const GradientOutputs& out, int64_t row0,
                                Scratch& ws) const {
    const int top_layer = static_cast<int>(layers_.size()) - 1;
    for (int l = top_layer; l >= 0; --l) {
        const Layer& ly = layers_[l];
        Rows g = top(ws.g[l], m);  // dE/da_l on entry
        const auto d1 = top(ws.d1[l], m).array();
        if (l == top_layer) g.setOnes();
        if (ws.tangent) {
            // dEdot/dz_l = dEdot/da_l f'(z_l) + dE/da_l f''(z_l) zdot_l (dEdot/da_L = 0).
            Rows gt = top(ws.gt[l], m);
            const auto curv = top(ws.curv[l], m).array();
            if (l == top_layer) {
                gt.array() = g.array() * curv * ly.norm;
            } else {
                gt.array() = (gt.array() * d1 + g.array() * curv) * ly.norm;
            }
        }
        g.array() *= d1 * ly.norm;  // dE/dz_l c_l
        if (ws.energy_sum || ws.tangent_sum) accumulate(ly, l, x, u, m, groups, ws);
        ConstRows w(params + ly.weights, ly.n_in, ly.n_out);
        if (l > 0) {
            top(ws.g[l - 1], m).noalias() = g * w.transpose();
            if (ws.tangent) top(ws.gt[l - 1], m).noalias() = top(ws.gt[l], m) * w.transpose();
        } else if (out.input_gradient) {
            Rows(out.input_gradient + row0 * ly.n_in, m, ly.n_in).noalias() = g * w.transpose();
        }
    }
}

void NetworkGradients::run_rows(const GradientInputs& in, const GradientOutputs& out,
                                int64_t begin, int64_t end, Scratch& ws) const {
    const int n0 = inputs();
    const int top_layer = static_cast<int>(layers_.size()) - 1;
    const bool back = out.input_gradient || ws.energy_sum || ws.tangent_sum;
    for (int64_t r = begin; r < end; r += kBlock) {
        const int m = static_cast<int>(std::min<int64_t>(kBlock, end - r));
        const double* x = in.inputs + r * n0;
        const double* u = ws.tangent ? in.tangents + r * n0 : nullptr;
        forward(in.parameters, x, u, m, ws);
        if (out.energies) {
            const double* e = ws.a[top_layer].data();
            std::copy(e, e + m, out.energies + r);
        }
        if (out.tangent_energies) {
            const double* e = ws.adot[top_layer].data();
            std::copy(e, e + m, out.tangent_energies + r);
        }
        if (back) backward(in.parameters, x, u, m, in.groups ? in.groups + r : nullptr, out, r, ws);
    }
}

void NetworkGradients::compute(const GradientInputs& in, const GradientOutputs& out,
                               int threads) const {
    check(in, out);
    const size_t np = parameter_count_;
    const int64_t n_groups = in.groups ? in.n_groups : 1;
    if (out.energy_gradient) std::fill_n(out.energy_gradient, n_groups * np, 0.0);
    if (out.tangent_gradient) std::fill_n(out.tangent_gradient, n_groups * np, 0.0);
    if (in.rows == 0) return;
    const int64_t blocks = (in.rows + kBlock - 1) / kBlock;
    const int nt = static_cast<int>(std::min<int64_t>(resolve_threads(threads, in.rows, kBlock), blocks));
    std::vector<Scratch> scratch(nt);
    const int block_rows = static_cast<int>(std::min<int64_t>(kBlock, in.rows));
    // Threads take contiguous runs of whole blocks (the same blocks for any thread count,
    // so only the order of the sums over blocks depends on it).
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        const int t = thread_id();
        Scratch& ws = scratch[t];
        const int64_t begin = std::min(in.rows, blocks * t / nt * kBlock);
        const int64_t end = std::min(in.rows, blocks * (t + 1) / nt * kBlock);
        ws.tangent = in.tangents && (out.tangent_energies || out.tangent_gradient);
        for (auto* v : {&ws.a, &ws.d1, &ws.curv, &ws.adot, &ws.g, &ws.gt}) v->resize(layers_.size());
        for (size_t l = 0; l < layers_.size(); ++l) {
            const int n = layers_[l].n_out;
            ws.a[l].resize(block_rows, n);
            ws.d1[l].resize(block_rows, n);
            ws.g[l].resize(block_rows, n);
            if (ws.tangent) {
                ws.curv[l].resize(block_rows, n);
                ws.adot[l].resize(block_rows, n);
                ws.gt[l].resize(block_rows, n);
            }
        }
        if (nt == 1) {
            ws.energy_sum = out.energy_gradient;
            ws.tangent_sum = out.tangent_gradient;
        } else if (begin < end) {
            ws.group_lo = in.groups ? in.groups[begin] : 0;
            const int64_t span = (in.groups ? in.groups[end - 1] : 0) - ws.group_lo + 1;
            if (out.energy_gradient) ws.energy_own.assign(span * np, 0.0);
            if (out.tangent_gradient) ws.tangent_own.assign(span * np, 0.0);
            ws.energy_sum = out.energy_gradient ? ws.energy_own.data() : nullptr;
            ws.tangent_sum = out.tangent_gradient ? ws.tangent_own.data() : nullptr;
        }
        if (begin < end) run_rows(in, out, begin, end, ws);
    }
    if (nt == 1) return;
    // Per-thread sums added in thread order.
    for (const Scratch& ws : scratch) {
        const size_t at = static_cast<size_t>(ws.group_lo) * np;
        for (size_t k = 0; k < ws.energy_own.size(); ++k) out.energy_gradient[at + k] += ws.energy_own[k];
        for (size_t k = 0; k < ws.tangent_own.size(); ++k) out.tangent_gradient[at + k] += ws.tangent_own[k];
    }
}

}  // namespace bpfast
