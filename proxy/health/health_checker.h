// Runs probe rounds as jobs on a Scheduler: every probe-interval, probe all members (through a
// MemberProber, whose answers come back on any thread), then, on the scheduler's thread, judge
// the round (EvaluateRound), feed each member's state machine (MemberHealth) and, when a
// member's usability changes, publish a new snapshot to the UpstreamPool. Every state change is
// one log line with the probe data behind it. Tests drive it round by round with a fake
// scheduler and prober (tests/unit/health/health_checker_test.cc).
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "proxy/config/proxy_config.h"
#include "proxy/core/job_group.h"
#include "proxy/health/lag_clock.h"
#include "proxy/health/member_health.h"
#include "proxy/health/member_prober.h"
#include "proxy/health/probe_identity.h"
#include "proxy/health/round_evaluator.h"
#include "proxy/health/stall_tracker.h"
#include "proxy/metrics/proxy_metrics.h"
#include "proxy/upstream/upstream_pool.h"

namespace ehp {

class HealthChecker {
 public:
  // `metrics` may be null.
  HealthChecker(const Config& config, UpstreamPool* pool, MemberProber* prober,
                std::shared_ptr<Scheduler> scheduler, ProxyMetrics* metrics = nullptr);
  ~HealthChecker();

  // Called (on the scheduler's thread, or the admin thread for a drain) when a member stops taking
  // calls, with its reason: its streams must move. Set before Start().
  using OnUnusable = std::function<void(Member& member, UnhealthyReason reason)>;
  void SetOnUnusable(OnUnusable f) { on_unusable_ = std::move(f); }
  // Called (on the scheduler's thread) when the quorum becomes stalled: reads waiting on a leader
  // that cannot reach its quorum would hang, so they must wait for the stall to pass instead.
  // Set before Start().
  void SetOnStalled(std::function<void()> f) { on_stalled_ = std::move(f); }

  // Starts the first round now. Stop() ends the rounds for good: a round in flight is dropped
  // (its probes' late answers find nothing to report to).
  void Start();
  void Stop();
  // True once a first round has been judged (false after `timeout`).
  bool WaitForFirstRound(std::chrono::milliseconds timeout);

  struct MemberView {
    std::string name;
    std::string endpoint;
    std::string zone;
    HealthState state;
    UnhealthyReason reason;
    MemberHealth::TimePoint since;
    HealthState health;     // the state without the drain (healthy while drained and well)
    MemberVerdict verdict;  // of the last round
    ProbeResult probe;      // of the last round
  };
  struct View {
    std::vector<MemberView> members;
    QuorumView quorum;
    std::string identity;       // who the probes are to etcd (Describe(ProbeIdentity))
    ProbeAuthState probe_auth;  // of the last round
    uint64_t rounds = 0;
    uint64_t evictions = 0;  // since start
  };
  View Snapshot() const;

  // A state change, or a step of a maintenance operation, as /events lists it.
  struct Event {
    std::chrono::system_clock::time_point time;
    std::string member;
    HealthState from;
    HealthState to;
    UnhealthyReason reason;
    std::string operation;  // a maintenance step: "defragment", "move-leader"; else empty
    std::string step;       // what happened in it ("drained", "defragmented", "failed: ...")
  };
  std::vector<Event> Events() const;  // oldest first, at most kMaxEvents
  static constexpr size_t kMaxEvents = 200;
  // Lists a step of a maintenance operation on `member` among the events (with the member's
  // state then as both from and to). False when no member has that name.
  bool RecordMaintenance(const std::string& member, std::string operation, std::string step);

  // Takes a member out of (or back into) service for maintenance, whatever its health. False
  // when no member has that name.
  bool SetDrained(const std::string& name, bool drained);
  // Holds new writes and linearizable reads (as for a stalled quorum, up to leaderless-wait)
  // while a maintenance operation needs none to reach the leader: a leader handing leadership
  // over drops the proposals it gets meanwhile, and they would time out.
  void HoldWrites(bool hold);
  // Seconds since the last judged round (for /livez); large when the loop is stuck.
  double SecondsSinceLastRound() const;

  static HealthPolicy PolicyFrom(const Config& config);

 private:
  struct Round;
  void StartRound();
  // On the scheduler's thread, when the last probe answered or the round's time is up.
  void FinishRound(const std::shared_ptr<Round>& round);
  void Judge(const std::vector<ProbeResult>& results, MemberHealth::TimePoint now);
  // Requires mu_. Records a change: event, metrics.
  void RecordLocked(size_t index, HealthState from, MemberHealth::TimePoint now);
  // Requires mu_. Appends to the ring of events.
  void AddEventLocked(Event event);
  std::vector<MemberStatus> StatusLocked() const;
  // Publishes `status` to the pool and reports members that stopped taking calls.
  void Publish(const std::vector<MemberStatus>& before, std::vector<MemberStatus> status,
               bool stalled);

  const Config config_;
  UpstreamPool* const pool_;
  MemberProber* const prober_;
  const HealthPolicy policy_;
  ProxyMetrics* const metrics_;
  const ProbeIdentity identity_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;                // guarded by mu_
  std::vector<MemberHealth> health_;     // guarded by mu_
  std::vector<MemberVerdict> verdicts_;  // guarded by mu_
  std::vector<ProbeResult> probes_;      // guarded by mu_
  QuorumView quorum_;                    // guarded by mu_
  ProbeAuthState probe_auth_;            // guarded by mu_
  std::string logged_advice_;            // guarded by mu_: the probe-auth advice last logged
  std::vector<MemberStatus> published_;  // guarded by mu_: last status given to the pool
  bool published_stalled_ = false;       // guarded by mu_
  bool hold_writes_ = false;             // guarded by mu_: HoldWrites
  StallTracker stall_;                   // guarded by mu_
  LagClock lag_clock_;                   // the scheduler thread's alone
  int spared_ = -1;                      // guarded by mu_: the member SpareLeastLate kept
  OnUnusable on_unusable_;
  std::function<void()> on_stalled_;
  uint64_t rounds_ = 0;                 // guarded by mu_
  uint64_t evictions_ = 0;              // guarded by mu_
  std::vector<Event> events_;           // guarded by mu_; a ring of kMaxEvents
  size_t next_event_ = 0;               // guarded by mu_
  MemberHealth::TimePoint last_round_;  // guarded by mu_
  JobGroup jobs_;                       // last: closed before what its jobs use goes
};

}  // namespace ehp
