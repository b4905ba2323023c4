// One member's health over time: turns round verdicts into evictions and readmissions, with
// hysteresis and a growing hold-out for members that flap. Pure: time is passed in.
#pragma once

#include <chrono>
#include <span>
#include <string_view>
#include <vector>

#include "proxy/health/health_policy.h"
#include "proxy/health/round_evaluator.h"
#include "proxy/upstream/unhealthy_reason.h"

namespace ehp {

enum class HealthState {
  kHealthy,    // takes calls
  kEvicted,    // takes no calls
  kProbation,  // good again; takes no calls until readmit-rounds good rounds in a row
  kDrained,    // taken out by an operator; health is still tracked underneath
};

enum class HealthTransition {
  kUnchanged,      // same state, nothing building up
  kChanged,        // the state changed with this observation
  kChangePending,  // same state, but a threshold is being approached
};

std::string_view ToString(HealthState state);

class MemberHealth {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  MemberHealth(const HealthPolicy& policy, TimePoint now) : policy_(policy), since_(now) {}

  HealthTransition Observe(const MemberVerdict& verdict, TimePoint now);

  // The operator's drain is kept apart from health: undrain returns to whatever health says.
  void SetDrained(bool drained) { drained_ = drained; }
  bool drained() const { return drained_; }

  HealthState state() const { return drained_ ? HealthState::kDrained : state_; }
  bool usable() const { return !drained_ && state_ == HealthState::kHealthy; }
  // The health state without the drain.
  HealthState health_state() const { return state_; }
  bool read_only() const { return read_only_; }
  // Why the member is not usable (kNone when it is).
  UnhealthyReason reason() const { return drained_ ? UnhealthyReason::kDrained : reason_; }
  // When the current bad streak began (for time-to-evict), and when it was evicted.
  TimePoint bad_since() const { return bad_since_; }
  TimePoint evicted_at() const { return evicted_at_; }
  TimePoint since() const { return since_; }
  // Readmission does not start before this (flapping members are held out longer each time).
  TimePoint hold_until() const { return hold_until_; }
  int flaps() const { return flaps_; }

  // Takes calls again now, skipping probation and any hold-out (see ReadmitIfNoneUsable).
  void ReadmitNow(TimePoint now);

 private:
  HealthTransition Evict(UnhealthyReason reason, TimePoint now);

  const HealthPolicy policy_;
  HealthState state_ = HealthState::kHealthy;
  UnhealthyReason reason_ = UnhealthyReason::kNone;
  TimePoint since_;
  TimePoint hold_until_{};
  TimePoint readmitted_at_{};
  bool ever_readmitted_ = false;
  bool read_only_ = false;
  bool drained_ = false;
  TimePoint bad_since_{};
  TimePoint evicted_at_{};
  int failures_ = 0;  // consecutive kFailure rounds
  int suspects_ = 0;  // consecutive kSuspect rounds
  int good_ = 0;      // consecutive kGood rounds (evicted/probation)
  int flaps_ = 0;
};

// When no member that takes calls had a good round (every member lost its leader in an
// election, say, or the only one left is a cut-off leader that has not been found out yet),
// hysteresis and hold-outs only make the outage longer: every member whose verdict this round
// is good and that is not drained is readmitted at once. Returns the indices readmitted.
std::vector<size_t> ReadmitIfNoneServing(std::span<MemberHealth> members,
                                         std::span<const MemberVerdict> verdicts,
                                         MemberHealth::TimePoint now);

}  // namespace ehp
