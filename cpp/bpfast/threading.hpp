// The one place that talks to OpenMP. Everything else asks here for thread counts
// and ids, so the core builds (single-threaded) without OpenMP.
#pragma once

namespace bpfast {

/// Most threads a call may ask for (a far larger OpenMP team crashes the process).
constexpr int kMaxThreads = 4096;

/// Number of threads to use: `requested` if > 0, else OpenMP's default
/// (OMP_NUM_THREADS or the number of cores); always 1 without OpenMP. Throws InputError
/// for more than kMaxThreads.
int resolve_threads(int requested);

/// As resolve_threads, but by default no more threads than `work / min_work`
/// (at least 1): for a few atoms, waking threads costs more than it saves.
int resolve_threads(int requested, long long work, long long min_work);

/// Id of the calling thread inside a parallel region (0 outside or without OpenMP).
int thread_id();

/// Threads of the calling thread's team (1 outside a parallel region or without OpenMP).
int team_size();

/// True if the core was compiled with OpenMP.
bool have_openmp();

}  // namespace bpfast
