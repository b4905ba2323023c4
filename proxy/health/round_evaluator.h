// Judges one probe round of the whole cluster: what a majority of members agree on (leader,
// term, cluster id, linearizable reads working), and what that makes of each member. Pure: no
// clock, no I/O; the member state machines add the hysteresis.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "proxy/health/health_policy.h"
#include "proxy/health/lag_clock.h"
#include "proxy/health/probe_result.h"
#include "proxy/upstream/unhealthy_reason.h"

namespace ehp {

// One member's signal for this round.
struct MemberVerdict {
  enum class Kind {
    kGood,         // can serve and agrees with the quorum
    kFailure,      // counts towards unreachable-threshold (unreachable, tls, timeout, lagging)
    kSuspect,      // counts towards suspect-threshold (partitioned)
    kUnconfirmed,  // neither: not evicted for it, not counted towards readmission
    kImmediate,    // evict now (no leader, stale leader, learner, alarm, cluster mismatch)
  };
  Kind kind = Kind::kGood;
  UnhealthyReason reason = UnhealthyReason::kNone;
  bool read_only = false;  // NOSPACE alarm: reads yes, writes no
  uint64_t lag = 0;        // applied-index entries behind the most advanced member
  MemberLag lag_time;      // how late it is in time (LagClock), as given to the round
  bool spared = false;     // lagging, but kept as the least late of all (SpareLeastLate)
};

// What a majority of the configured members report.
struct QuorumView {
  bool has_leader = false;  // a majority names the same leader at the same term
  uint64_t leader = 0;
  uint64_t term = 0;
  uint64_t cluster_id = 0;      // 0 when no majority agrees
  int reads_ok = 0;             // members whose linearizable probe succeeded (ReadProvesQuorum)
  bool reads_majority = false;  // reads_ok is a majority of the configured members
  bool leader_read_ok = false;  // the named leader's own linearizable read worked
  // A majority answers Status and names a leader, yet no member's linearizable read works: the
  // leader cannot reach a quorum (cut off before it notices), or every member is overloaded.
  // Writes and linearizable reads sent now would hang.
  bool stalled = false;
};

struct RoundVerdict {
  QuorumView quorum;
  std::vector<MemberVerdict> members;  // same order as the results
};

// `lags`, when given, is each member's lag in time (same order): a member later than
// policy.max_lag_time is lagging, and so is one whose probe read fails while the majority's work
// if it is still applying entries behind the quorum (its reads wait for its apply); without
// them, or with max_lag_time 0, only the entries rule (max_lag) judges lag.
RoundVerdict EvaluateRound(std::span<const ProbeResult> results, const HealthPolicy& policy,
                           std::span<const MemberLag> lags = {});

}  // namespace ehp
