// Reader of n2p2/RuNNer potential directories: input.nn, scaling.data and
// weights.ZZZ.data (ZZZ = atomic number, zero-padded). Produces a PotentialSpec;
// nothing else in the core sees file names or strings.
#pragma once

#include <string>

#include "bpfast/potential_spec.hpp"

namespace bpfast {

/// Reads the potential in `directory`. Throws FileNotFoundError for a missing file,
/// FormatError (file, line, what was expected) for malformed content and
/// UnsupportedError for potentials bpfast cannot evaluate (e.g. 4G-HDNNPs).
PotentialSpec read_n2p2_potential(const std::string& directory);

}  // namespace bpfast
