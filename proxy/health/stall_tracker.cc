#include "proxy/health/stall_tracker.h"

namespace ehp {

bool StallTracker::Observe(const QuorumView& q, TimePoint now) {
  if (!q.stalled) {
    if (!in_stall_) return false;
    // Over only when a majority agrees on a new leader, or reads work again on a majority
    // including the named leader itself. Until then the cut-off leader may still be the one
    // named: followers' Status answers can lag their reads, which a newly elected leader
    // already serves.
    const bool over = q.has_leader && (q.leader != leader_ || q.term != term_ ||
                                       (q.reads_majority && q.leader_read_ok));
    if (over) {
      in_stall_ = false;
      return false;
    }
    return now - since_ < max_hold_;
  }
  if (!in_stall_ || q.leader != leader_ || q.term != term_) {
    in_stall_ = true;
    since_ = now;
    leader_ = q.leader;
    term_ = q.term;
  }
  return now - since_ < max_hold_;
}

}  // namespace ehp
