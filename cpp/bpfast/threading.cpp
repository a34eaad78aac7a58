#include "bpfast/threading.hpp"

#include <string>

#include "bpfast/errors.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace bpfast {

int resolve_threads(int requested) {
    if (requested > kMaxThreads) {
        throw InputError("threads must be at most " + std::to_string(kMaxThreads) + ", got " +
                         std::to_string(requested));
    }
#ifdef _OPENMP
    if (requested > 0) return requested;
    return omp_get_max_threads();
#else
    (void)requested;
    return 1;
#endif
}

int resolve_threads(int requested, long long work, long long min_work) {
    const int n = resolve_threads(requested);
    if (requested > 0 || min_work <= 0) return n;
    const long long cap = work / min_work;
    return static_cast<int>(cap < 1 ? 1 : (cap < n ? cap : n));
}

int thread_id() {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

int team_size() {
#ifdef _OPENMP
    return omp_get_num_threads();
#else
    return 1;
#endif
}

bool have_openmp() {
#ifdef _OPENMP
    return true;
#else
    return false;
#endif
}

}  // namespace bpfast
