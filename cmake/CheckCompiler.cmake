# Stops with a clear message when the C++ compiler cannot build the core, which needs
# C++17, the GCC/Clang vector extensions (__attribute__((vector_size)), simd.hpp) and
# __builtin_bit_cast (fastmath.hpp, simd.hpp).
include(CheckCXXSourceCompiles)
set(CMAKE_REQUIRED_FLAGS "${CMAKE_CXX17_STANDARD_COMPILE_OPTION}")
check_cxx_source_compiles([[
#include <optional>
template <class... T> constexpr int total() { return (0 + ... + sizeof(T)); }
int main() { if constexpr (total<int>() > 0) { std::optional<int> o{1}; return *o - 1; } }
]] BPFAST_HAVE_CXX17)
check_cxx_source_compiles([[
typedef double vd __attribute__((vector_size(32)));
int main() { vd a = {1.0, 2.0, 3.0, 4.0}; vd b = a * a + a; return b[3] == 20.0 ? 0 : 1; }
]] BPFAST_HAVE_VECTOR_SIZE)
check_cxx_source_compiles([[
long long bits(double x) { return __builtin_bit_cast(long long, x); }
int main() { return bits(1.0) == 0x3ff0000000000000LL ? 0 : 1; }
]] BPFAST_HAVE_BIT_CAST)
unset(CMAKE_REQUIRED_FLAGS)
set(_missing "")
if(NOT BPFAST_HAVE_CXX17)
  list(APPEND _missing "C++17")
endif()
if(NOT BPFAST_HAVE_VECTOR_SIZE)
  list(APPEND _missing "vector extensions (__attribute__((vector_size)))")
endif()
if(NOT BPFAST_HAVE_BIT_CAST)
  list(APPEND _missing "__builtin_bit_cast")
endif()
if(_missing)
  list(JOIN _missing ", " _missing)
  message(FATAL_ERROR
    "bpfast needs a C++ compiler with ${_missing}; ${CMAKE_CXX_COMPILER_ID} "
    "${CMAKE_CXX_COMPILER_VERSION} (${CMAKE_CXX_COMPILER}) lacks it. GCC 11 or newer or "
    "Clang 9 or newer builds bpfast (MSVC does not): choose one with CXX=g++ or CXX=clang++.")
endif()
