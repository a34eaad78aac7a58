#include "bpfast/threading.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace bpfast {

int resolve_threads(int requested) {
#ifdef _OPENMP
    if (requested > 0) return requested;
    return omp_get_max_threads();
#else
    (void)requested;
    return 1;
#endif
}

int thread_id() {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
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
