// Chemical element symbols and atomic numbers.
#pragma once

#include <string>

namespace bpfast {

/// Highest atomic number known to bpfast.
constexpr int kMaxAtomicNumber = 118;

/// Atomic number of an element symbol ("H" -> 1), or 0 if the symbol is unknown.
int atomic_number(const std::string& symbol);

/// Symbol of an atomic number (1 -> "H"); throws InputError outside 1..118.
std::string element_symbol(int atomic_number);

}  // namespace bpfast
