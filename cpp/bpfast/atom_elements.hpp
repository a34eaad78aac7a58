// The element of every atom of a structure, as an index into a potential's elements:
// the first step of every evaluation.
#pragma once

#include <cstdint>
#include <vector>

#include "bpfast/potential.hpp"

namespace bpfast {

/// Element index (in `potential`'s order) of each of the n_total atoms with atomic
/// numbers `numbers`. Without a host list every atom is a centre and must be of an
/// element the potential describes. With one (`host`), only the centres and their listed
/// neighbours take part and must be; any other atom gets -1 (LAMMPS' pair_style hybrid
/// hands such atoms, of types mapped to NULL, to other styles). Throws
/// UnknownElementError naming the first atom that breaks this and what `model` ("the
/// potential", "the committee") describes.
std::vector<int> atom_elements(const Potential& potential, const int32_t* numbers,
                               int64_t n_total, const HostNeighbors* host,
                               const char* model = "the potential");

}  // namespace bpfast
