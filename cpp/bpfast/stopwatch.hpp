// Wall-clock seconds for the phase timings of a call.
#pragma once

#include <chrono>

namespace bpfast {

using Clock = std::chrono::steady_clock;

inline double seconds_between(Clock::time_point t0, Clock::time_point t1) {
    return std::chrono::duration<double>(t1 - t0).count();
}

inline double seconds_since(Clock::time_point t0) { return seconds_between(t0, Clock::now()); }

}  // namespace bpfast
