// The activation functions of n2p2 networks, by the letters of input.nn.
#pragma once

#include <string>

namespace bpfast {

/// n2p2 activation letters: l t s p r g c S e h.
enum class Activation : char {
    Linear = 'l',      ///< x
    Tanh = 't',        ///< tanh x
    Sigmoid = 's',     ///< 1 / (1 + exp(-x))
    Softplus = 'p',    ///< ln(1 + exp(x))
    Relu = 'r',        ///< max(0, x)
    Gaussian = 'g',    ///< exp(-x^2 / 2)
    Cos = 'c',         ///< cos x
    RevSigmoid = 'S',  ///< 1 - 1 / (1 + exp(-x))
    Exp = 'e',         ///< exp(-x)
    Square = 'h',      ///< x^2
};

/// Activation for an n2p2 letter; throws InputError for an unknown letter.
Activation activation_from_letter(const std::string& letter);

}  // namespace bpfast
