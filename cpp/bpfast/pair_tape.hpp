// Per-pair data of the angular kernels that the values pass of one atom records and the
// gradient pass of the same atom replays, instead of computing them again: per angular
// group, partner lists (indices) and numbers (doubles), in the order the kernels produce
// them, and the lane count of the kernels that recorded them (the replay must use the
// same layout).
#pragma once

#include <algorithm>
#include <cstddef>
#include <utility>
#include <vector>

#include "bpfast/simd.hpp"

namespace bpfast {

class PairTape {
  public:
    /// Where one angular group records (values pass) or replays (gradient pass) its data.
    struct Cursor {
        bool record = false, replay = false;
        size_t tpos = 0, ipos = 0;  // replay: next entries of the numbers and the indices
    };

    /// Starts the values pass of an atom with `groups` angular groups and kernels of
    /// `lanes` lanes; `record`: whether the following gradient pass will replay.
    void begin_values(size_t groups, int lanes, bool record);
    /// Ends the values pass: the tape holds the atom's data if it recorded.
    void end_values() { recorded_ = recording_; }
    /// The lanes of the gradient pass: those that recorded, or `lanes` when nothing did.
    int gradient_lanes(int lanes) const { return recorded_ ? lanes_ : lanes; }
    /// Ends the gradient pass: the recorded data are used up.
    void end_gradient() { recorded_ = false; }

    /// Cursor of angular group `group`. Values pass: records if recording and the tape
    /// holds fewer than `limit` doubles and the group's data (at most `bound` doubles)
    /// could fit within `limit` (so the tape stays below twice the limit however dense
    /// the structure). Gradient pass: replays if the group was recorded.
    Cursor open(size_t group, bool gradient, size_t bound, size_t limit);

    /// Room for `extra` more indices after those in use; where they go. commit_indices
    /// then adds the ones written.
    int* grow_indices(size_t extra) {
        const size_t need = idx_len_ + extra;
        if (idx_.size() < need) idx_.resize(std::max(need, 2 * idx_.size()));
        return idx_.data() + idx_len_;
    }
    void commit_indices(size_t n) { idx_len_ += n; }
    void append_indices(const int* v, size_t n) {
        std::copy(v, v + n, grow_indices(n));
        idx_len_ += n;
    }
    /// Appends n doubles (uninitialised) and returns where they begin.
    double* append(size_t n) {
        const size_t need = len_ + n;
        if (tape_.size() < need) tape_.resize(std::max(need, 2 * tape_.size()));
        double* at = tape_.data() + len_;
        len_ += n;
        return at;
    }
    /// Doubles in use (where the next append begins).
    size_t size() const { return len_; }
    /// The numbers and indices from a position on (replay, and sums over what a group
    /// recorded).
    double* numbers(size_t pos) { return tape_.data() + pos; }
    const int* indices(size_t pos) const { return idx_.data() + pos; }

  private:
    static constexpr size_t kNotRecorded = static_cast<size_t>(-1);
    simd::aligned_vector<double> tape_;
    size_t len_ = 0;
    std::vector<int> idx_;
    size_t idx_len_ = 0;
    std::vector<std::pair<size_t, size_t>> group_;  // per group: first number, first index
    bool recording_ = false, recorded_ = false;
    int lanes_ = 0;
};

}  // namespace bpfast
