# Stops with a clear message when the C++ compiler cannot build the core, which needs
# GCC: C++17, the GCC vector extensions (__attribute__((vector_size)), simd.hpp),
# __builtin_bit_cast (fastmath.hpp, simd.hpp) and, on x86-64, kernels compiled per
# x86-64 level (target_clones / target("arch=x86-64-v4"), which GCC 11 cannot dispatch).
# Clang compiles the code but mis-aligns a store of a reduced-alignment vector type
# (simd.hpp's vi_unaligned), which crashes at run time: it is refused until that is fixed.
if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR
    "bpfast does not support ${CMAKE_CXX_COMPILER_ID} ${CMAKE_CXX_COMPILER_VERSION} yet "
    "(a misaligned vector store crashes at run time): build with GCC 12 or newer, e.g. CXX=g++.")
endif()
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
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  check_cxx_source_compiles([[
__attribute__((target_clones("arch=x86-64-v3", "default"))) int twice(int x) { return 2 * x; }
__attribute__((target("arch=x86-64-v4"))) int thrice(int x) { return 3 * x; }
int main() { return __builtin_cpu_supports("x86-64-v4") ? thrice(0) : twice(0); }
]] BPFAST_HAVE_X86_LEVELS)
endif()
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
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64" AND NOT BPFAST_HAVE_X86_LEVELS)
  list(APPEND _missing "x86-64 level dispatch (target_clones(\"arch=x86-64-v3\"), __builtin_cpu_supports(\"x86-64-v4\"))")
endif()
if(_missing)
  list(JOIN _missing ", " _missing)
  message(FATAL_ERROR
    "bpfast needs a C++ compiler with ${_missing}; ${CMAKE_CXX_COMPILER_ID} "
    "${CMAKE_CXX_COMPILER_VERSION} (${CMAKE_CXX_COMPILER}) lacks it. GCC 12 or newer builds bpfast "
    "(Clang and MSVC do not): choose it with CXX=g++.")
endif()
