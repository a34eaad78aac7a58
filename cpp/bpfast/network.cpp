#include "bpfast/network.hpp"

#include <cmath>

#include "bpfast/errors.hpp"
#include "bpfast/fastmath.hpp"

namespace bpfast {

Activation activation_from_letter(const std::string& letter) {
    static const std::string kLetters = "ltsprgcSeh";
    if (letter.size() != 1 || kLetters.find(letter[0]) == std::string::npos) {
        throw InputError("unknown activation '" + letter +
                         "' (expected one of l t s p r g c S e h)");
    }
    return static_cast<Activation>(letter[0]);
}

size_t Network::parameter_count(const std::vector<int>& sizes) {
    size_t count = 0;
    for (size_t l = 1; l < sizes.size(); ++l) {
        count += static_cast<size_t>(sizes[l - 1]) * sizes[l] + sizes[l];
    }
    return count;
}

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
}

namespace {
/// a = f(z) and, if d is not null, d = f'(z), elementwise.
void activate(Activation f, const RowMatrix& z, RowMatrix& a, RowMatrix* d) {
    a.resize(z.rows(), z.cols());
    if (d) d->resize(z.rows(), z.cols());
    const Eigen::Index n = z.size();
    const double* zp = z.data();
    double* ap = a.data();
    double* dp = d ? d->data() : nullptr;
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
    for (Eigen::Index i = 0; i < n; ++i) {
        const double x = zp[i];
        double y, dy;
        switch (f) {
            case Activation::Linear:
                y = x;
                dy = 1.0;
                break;
            case Activation::Tanh:
                y = std::tanh(x);
                dy = 1.0 - y * y;
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
            case Activation::Softplus:
                if (x > 35.0) {
                    y = x;
                    dy = 1.0;
                } else if (x < -35.0) {
                    y = 0.0;
                    dy = 0.0;
                } else {
                    const double e = std::exp(x);
                    y = std::log(1.0 + e);
                    dy = e / (1.0 + e);
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
}  // namespace

void Network::evaluate(const double* x, int batch, double* energy, double* dx,
                       NetworkWorkspace& ws) const {
    const size_t nl = weights_.size();
    ws.z.resize(nl);
    ws.a.resize(nl);
    ws.d.resize(nl);
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
        activate(activations_[l], z, ws.a[l], dx ? &ws.d[l] : nullptr);
    }
    for (int b = 0; b < batch; ++b) energy[b] = ws.a[nl - 1](b, 0);
    if (!dx) return;
    // Back-propagate dE/dz from the output to the input (buffers kept in the workspace:
    // with forces this runs once per atom).
    ws.delta.resize(nl);
    ws.back.resize(nl);
    ws.delta[nl - 1] = ws.d[nl - 1];  // batch x 1
    for (size_t l = nl; l-- > 0;) {
        RowMatrix& back = ws.back[l];
        back.noalias() = ws.delta[l] * weights_[l].transpose();
        if (norm_[l] != 1.0) back *= norm_[l];
        if (l == 0) {
            Eigen::Map<RowMatrix>(dx, batch, sizes_[0]) = back;
        } else {
            ws.delta[l - 1].noalias() = back.cwiseProduct(ws.d[l - 1]);
        }
    }
}

}  // namespace bpfast
