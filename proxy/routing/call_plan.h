// The decisions of one unary call, apart from any transport: which member takes each copy of
// it, whether a failed copy is sent again (RetryPolicy, within the RetryBudget), when a slow
// linearizable read gets a second copy (a hedge), how long the call waits while no member can
// take it (held: offered to the routing every 20 ms, at most leaderless-wait in all and within
// its deadline, bounded by the CallHolder), and what the client is answered.
//
// Events in, steps out: the data path reports what happened with the time, and does what the
// returned Step says. Pure: no I/O, no clock, no threads; the member set is reached through a
// MemberRouter, so tests drive it with a fake one.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include <boost/container/small_vector.hpp>

#include "proxy/routing/call_class.h"
#include "proxy/routing/call_holder.h"
#include "proxy/routing/retry_budget.h"
#include "proxy/routing/retry_policy.h"

namespace ehp {

// The member set as a call's plan sees it.
class MemberRouter {
 public:
  using Key = const void*;  // identifies a member; compared, never followed
  virtual ~MemberRouter() = default;
  // A member for `call`, skipping `tried`; null when none can take it. While the quorum is
  // stalled, writes and linearizable reads get null unless `despite_stall`.
  virtual Key Pick(const CallClass& call, std::span<const Key> tried, bool despite_stall) = 0;
  // No member's linearizable read works though a leader is named (see UpstreamPool::stalled).
  virtual bool Stalled() const = 0;
};

class CallPlan {
 public:
  using Clock = std::chrono::steady_clock;
  using Key = MemberRouter::Key;

  // How often a held call is offered to the routing again, and how long before the client's
  // deadline a held call gives up (so the client gets the reason, not DEADLINE_EXCEEDED).
  static constexpr std::chrono::milliseconds kHoldTick{20};
  static constexpr std::chrono::milliseconds kDeadlineMargin{50};

  struct Settings {
    std::chrono::milliseconds leaderless_wait{3000};
    bool hedging = false;                       // a linearizable read, and hedging is on
    int64_t request_bytes = 0;                  // what holding the call costs the CallHolder
    std::optional<Clock::time_point> deadline;  // the client's
  };

  enum class Action {
    kNone,    // wait: attempts are in flight (or the call is over)
    kSend,    // send a copy (attempt `attempt`) to `member`
    kHold,    // no member can take it now: call Wake() at `wake_at`
    kAnswer,  // answer with attempt `attempt`'s response; cancel every other attempt in flight
    kFail,    // answer with an error of the proxy's own (`failure`)
  };
  enum class Failure {
    kNone,
    kUnavailable,     // no member could take it (within leaderless-wait): the routing's reasons
    kHoldRefused,     // max-held-calls or max-held-bytes reached
    kMemberCallsCap,  // max-member-calls on the member it was for
    kMemberEvicted,   // the member was evicted while the call waited on it, and no retry
  };
  struct Step {
    Action action = Action::kNone;
    int attempt = -1;
    Key member = nullptr;
    bool hedge = false;  // kSend: a second copy next to a slow first one
    Clock::time_point wake_at{};
    Failure failure = Failure::kNone;
    // What to count (metrics), set on the step that decided it.
    RetryReason retried = RetryReason::kNone;        // a retry sent or held for
    RetryReason retry_refused = RetryReason::kNone;  // the budget said no
    const char* hedge_outcome = nullptr;             // "sent", "skipped", "hedge_won", "first_won"
    const char* hold_outcome = nullptr;              // "sent", "expired", "refused", "cancelled"
    Clock::duration held_for{};                      // with hold_outcome (not "refused")
  };

  CallPlan(CallClass call, const Settings& settings, MemberRouter& router, RetryBudget& budget,
           CallHolder* holder);
  ~CallPlan();  // releases a hold still taken
  CallPlan(const CallPlan&) = delete;
  CallPlan& operator=(const CallPlan&) = delete;

  // The request is complete: where the first copy goes.
  Step Start(Clock::time_point now);
  // The hold's wake-up time came.
  Step Wake(Clock::time_point now);
  // Attempt `attempt` got an answer to pass on as it is (a response, not an error to retry).
  Step Answered(int attempt);
  // Attempt `attempt` ended with `outcome` (an error answer, or the stream failed).
  Step Failed(int attempt, const AttemptOutcome& outcome, Clock::time_point now);
  // Attempt `attempt` could not be started: its member has max-member-calls in flight.
  Step Refused(int attempt);
  // Attempt `attempt` has waited the hedge delay without an answer.
  Step HedgeDue(int attempt, Clock::time_point now);
  // Attempt `attempt`'s member was evicted: the data path cancels it; Failed() follows.
  void MovedOff(int attempt);
  // The client went away: the data path cancels every attempt; nothing is answered (the step
  // only carries what to count).
  Step Cancelled(Clock::time_point now);

  bool finished() const { return finished_; }
  int in_flight() const { return in_flight_; }
  bool held() const { return held_; }
  const CallClass& call() const { return call_; }
  // Whether a failed attempt was moved off by an eviction (its failure is the proxy's doing).
  bool moved_off(int attempt) const { return attempts_[attempt].moved_off; }

 private:
  struct Attempt {
    Key member;
    bool hedge;
    bool done = false;
    bool moved_off = false;
  };

  Step Pick(Clock::time_point now);
  Step SendTo(Key member, bool hedge);
  // No member can take it now: hold (or keep holding) it, or fail.
  Step WaitOrFail(Clock::time_point now);
  Step Finish(Step step);
  void EndHold(const char* outcome, Clock::time_point now, Step* step);

  const CallClass call_;
  const Settings settings_;
  MemberRouter& router_;
  RetryBudget& budget_;
  CallHolder* const holder_;
  // Inline room for the usual: one attempt, or one and a retry or hedge.
  boost::container::small_vector<Attempt, 2> attempts_;
  boost::container::small_vector<Key, 2> tried_;  // since the call last waited
  int in_flight_ = 0;
  int last_failed_ = -1;  // the attempt whose answer goes to the client if nothing better comes
  bool despite_stall_ = false;
  bool hedged_ = false;
  bool hedge_sent_ = false;
  bool finished_ = false;
  bool held_ = false;
  bool waited_ = false;   // hold_until_ is set: the first hold started the call's wait
  bool expired_ = false;  // the call's wait is over: it is not held again
  Clock::time_point held_since_{}, hold_until_{};  // this hold's start; the wait's end
};

}  // namespace ehp
