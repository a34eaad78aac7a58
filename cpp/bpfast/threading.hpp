// The one place that talks to OpenMP. Everything else asks here for thread counts
// and ids, so the core builds (single-threaded) without OpenMP.
#pragma once

namespace bpfast {

/// Number of threads to use: `requested` if > 0, else OpenMP's default
/// (OMP_NUM_THREADS or the number of cores); always 1 without OpenMP.
int resolve_threads(int requested);

/// Id of the calling thread inside a parallel region (0 outside or without OpenMP).
int thread_id();

/// True if the core was compiled with OpenMP.
bool have_openmp();

}  // namespace bpfast
