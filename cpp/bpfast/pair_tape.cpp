#include "bpfast/pair_tape.hpp"

namespace bpfast {

void PairTape::begin_values(size_t groups, int lanes, bool record) {
    len_ = 0;
    idx_len_ = 0;
    group_.assign(groups, {kNotRecorded, 0});
    lanes_ = lanes;
    recording_ = record;
}

PairTape::Cursor PairTape::open(size_t group, bool gradient, size_t bound, size_t limit) {
    Cursor cur;
    if (!gradient && recording_ && len_ < limit && bound <= limit) {
        cur.record = true;
        group_[group] = {len_, idx_len_};
    }
    if (gradient && recorded_ && group_[group].first != kNotRecorded) {
        cur.replay = true;
        cur.tpos = group_[group].first;
        cur.ipos = group_[group].second;
    }
    return cur;
}

}  // namespace bpfast
