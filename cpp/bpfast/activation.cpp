#include "bpfast/activation.hpp"

#include "bpfast/errors.hpp"

namespace bpfast {

Activation activation_from_letter(const std::string& letter) {
    static const std::string kLetters = "ltsprgcSeh";
    if (letter.size() != 1 || kLetters.find(letter[0]) == std::string::npos) {
        throw InputError("unknown activation '" + letter +
                         "' (expected one of l t s p r g c S e h)");
    }
    return static_cast<Activation>(letter[0]);
}

}  // namespace bpfast
