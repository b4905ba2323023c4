#include "proxy/health/stall_tracker.h"

namespace ehp {

bool StallTracker::Observe(const QuorumView& q, TimePoint now) {
  if (!q.stalled) {
    in_stall_ = false;
    return false;
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
