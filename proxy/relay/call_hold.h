// One call's wait for a member that can take it. While no member can (most often during an
// election, which takes 1-3 s), the call is held and offered to the routing again every few tens
// of milliseconds, within its deadline and at most leaderless-wait, instead of failing at once:
// clients see latency rather than errors, and their circuit breakers stay closed. The number of
// held calls and their bytes are bounded (CallHolder).
#pragma once

#include <grpcpp/alarm.h>
#include <grpcpp/server_context.h>

#include <chrono>
#include <functional>
#include <memory>

#include "proxy/relay/relay_context.h"

namespace ehp {

class CallHold {
 public:
  enum class Result {
    kWaiting,  // `retry` runs shortly
    kRefused,  // too many calls held already
    kExpired,  // waited leaderless-wait, or the deadline is near
  };

  CallHold(const RelayContext& relay, std::chrono::milliseconds max_wait)
      : relay_(relay), max_wait_(max_wait) {}
  ~CallHold() { End("cancelled"); }

  // Starts holding the call (or keeps holding it) and schedules `retry`. Anything else than
  // kWaiting ends the hold.
  Result Wait(const grpc::CallbackServerContext& context, int64_t bytes,
              std::function<void()> retry);
  // Ends the hold (if any) with an outcome for the metrics: "sent", "expired", "cancelled".
  void End(const char* outcome);
  bool held() const { return held_; }

 private:
  const RelayContext& relay_;
  const std::chrono::milliseconds max_wait_;
  bool held_ = false;
  bool expired_ = false;  // a call waits once
  int64_t bytes_ = 0;
  std::chrono::steady_clock::time_point start_, until_;
  // The alarm that fired is replaced from inside its own callback: the previous one is kept
  // until the next replacement.
  std::unique_ptr<grpc::Alarm> alarm_, fired_;
};

// The error for a call that could not be held: `reasons` (why no member could take it) and the
// bounds that were reached.
grpc::Status HoldRefused(const CallHolder& holder, const std::string& reasons);

}  // namespace ehp
