// Decides, round by round, whether writes and linearizable reads should wait because the quorum
// is stalled (QuorumView::stalled: a leader is named but no member's linearizable read works).
// A leader cut off from its peers is replaced within about two election timeouts, so a stall
// that outlasts `max_hold` with the same leader and term is overload, not a cut: holding calls
// would only add latency, so the tracker stops asking for it until that stall ends. A stall
// ends when a majority agrees on a new leader or reads work on a majority again; an election in
// between (no leader agreed) keeps holding, since the cut-off leader may still claim to lead
// and would take the calls. Pure: time is passed in.
#pragma once

#include <chrono>
#include <cstdint>

#include "proxy/health/round_evaluator.h"

namespace ehp {

class StallTracker {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  explicit StallTracker(std::chrono::milliseconds max_hold) : max_hold_(max_hold) {}

  // Feeds one round; returns whether calls should wait now.
  bool Observe(const QuorumView& quorum, TimePoint now);

 private:
  const std::chrono::milliseconds max_hold_;
  bool in_stall_ = false;
  TimePoint since_{};
  uint64_t leader_ = 0, term_ = 0;
};

}  // namespace ehp
