#include "proxy/health/health_checker.h"

#include <spdlog/spdlog.h>

#include <memory>

#include "proxy/health/least_late.h"
#include "proxy/tls/certificate_files.h"

namespace ehp {

// One round's answers; shared with the probe callbacks so a late one never touches freed memory.
struct HealthChecker::Round {
  MemberHealth::TimePoint start;
  std::mutex mu;
  std::vector<ProbeResult> results;  // guarded by mu
  size_t pending = 0;                // guarded by mu
  bool finished = false;             // guarded by mu
};

HealthPolicy HealthChecker::PolicyFrom(const Config& c) {
  HealthPolicy p;
  p.unreachable_threshold = c.unreachable_threshold;
  p.readmit_rounds = c.readmit_rounds;
  p.max_lag = static_cast<uint64_t>(c.max_lag);
  p.max_lag_time = c.max_lag_time;
  p.holdout_max = c.holdout_max;
  return p;
}

HealthChecker::HealthChecker(const Config& config, UpstreamPool* pool, MemberProber* prober,
                             std::shared_ptr<Scheduler> scheduler, ProxyMetrics* metrics)
    : config_(config),
      pool_(pool),
      prober_(prober),
      policy_(PolicyFrom(config)),
      metrics_(metrics),
      identity_{config.probe_user, CertificateCommonName(config.cert)},
      stall_(config.leaderless_wait),
      jobs_(std::move(scheduler)) {
  const auto now = jobs_.Now();
  last_round_ = now;
  for (size_t i = 0; i < prober_->size(); ++i) health_.emplace_back(policy_, now);
  verdicts_.resize(prober_->size());
  probes_.resize(prober_->size());
}

HealthChecker::~HealthChecker() { Stop(); }

void HealthChecker::Start() {
  jobs_.Post([this] { StartRound(); });
}

void HealthChecker::Stop() {
  jobs_.Close();
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
}

bool HealthChecker::WaitForFirstRound(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [this] { return rounds_ > 0 || stopping_; }) && rounds_ > 0;
}

void HealthChecker::StartRound() {
  auto round = std::make_shared<Round>();
  round->start = jobs_.Now();
  const size_t n = prober_->size();
  round->results.resize(n);
  round->pending = n;
  // Probe deadlines end every probe; the margin only guards against a lost answer.
  jobs_.At(round->start + config_.probe_timeout + std::chrono::seconds(2),
           [this, round] { FinishRound(round); });
  const JobGroup::Handle& jobs = jobs_.handle();
  for (size_t i = 0; i < n; ++i) {
    prober_->Probe(i, [round, i, jobs, this](ProbeResult r) {
      std::lock_guard lock(round->mu);
      round->results[i] = std::move(r);
      if (--round->pending == 0) jobs.Post([this, round] { FinishRound(round); });
    });
  }
  if (n == 0) FinishRound(round);
}

void HealthChecker::FinishRound(const std::shared_ptr<Round>& round) {
  std::vector<ProbeResult> results;
  {
    std::lock_guard lock(round->mu);
    if (round->finished) return;
    round->finished = true;
    if (round->pending > 0) {
      spdlog::error("health: a probe round did not complete within {} ms",
                    (config_.probe_timeout + std::chrono::seconds(2)).count());
      for (auto& r : round->results) {
        if (r.member_id == 0 && r.status == ProbeResult::Status::kOk) {
          r.status = ProbeResult::Status::kTimeout;
        }
      }
    }
    results = round->results;
  }
  // A linearizable read that worked proves its member reached a quorum after the round's
  // start: writes waiting on it are slow, not lost (WriteProgress).
  const std::shared_ptr<const MemberSet> set = pool_->Members();
  for (size_t i = 0; i < results.size() && i < set->members.size(); ++i) {
    if (results[i].ReadProvesQuorum()) {
      set->members[i]->writes().Confirmed(round->start);
    }
  }
  const MemberHealth::TimePoint now = jobs_.Now();
  Judge(results, now);
  // A round that overran its interval is followed at once by the next one.
  jobs_.At(std::max(round->start + config_.probe_interval, now), [this] { StartRound(); });
}

void HealthChecker::Judge(const std::vector<ProbeResult>& results, MemberHealth::TimePoint now) {
  const std::shared_ptr<const MemberSet> set = pool_->Members();
  std::vector<std::optional<std::chrono::microseconds>> watch_delays(results.size());
  for (size_t i = 0; i < results.size() && i < set->members.size(); ++i) {
    watch_delays[i] = set->members[i]->TakeWatchDelay();
  }
  const std::vector<MemberLag> lags = lag_clock_.Observe(results, now, watch_delays);
  if (lag_clock_.revisions() != pool_->Revisions()) pool_->PublishRevisions(lag_clock_.revisions());
  RoundVerdict verdict = EvaluateRound(results, policy_, lags);
  bool changed = false, stalled = false, became_stalled = false, hold = false;
  std::vector<MemberStatus> status, before;
  {
    std::lock_guard lock(mu_);
    std::vector<MemberServing> serving(health_.size());
    for (size_t i = 0; i < health_.size(); ++i) {
      serving[i] = MemberServing{health_[i].drained(), health_[i].usable()};
    }
    const int spared = SpareLeastLate(verdict.members, serving);
    if (spared != spared_ && spared >= 0) {
      spdlog::warn(
          "member {} kept taking calls although lagging ({} ms, {} entries): it is the least "
          "late, and no other member would be left to serve",
          set->members[spared]->name(), verdict.members[spared].lag_time.total().count() / 1000,
          verdict.members[spared].lag);
    }
    spared_ = spared;
    for (size_t i = 0; i < results.size(); ++i) {
      MemberHealth& h = health_[i];
      const HealthState before = h.state();
      const HealthTransition t = h.Observe(verdict.members[i], now);
      if (t != HealthTransition::kChanged) continue;
      changed = true;
      RecordLocked(i, before, now);
      const ProbeResult& p = results[i];
      const MemberVerdict& v = verdict.members[i];
      auto level = h.state() == HealthState::kEvicted ? spdlog::level::warn : spdlog::level::info;
      std::string errors;
      for (const auto& e : p.errors) errors += (errors.empty() ? "" : "; ") + e;
      spdlog::log(
          level,
          "member {} {} -> {} reason={} status={}{}{} read={}{}{} leader={:x} term={} "
          "raft_index={} applied_index={} lag={} lag_ms={} learner={} errors=[{}] "
          "quorum_leader={:x} quorum_term={} reads_ok={}/{} hold_ms={}",
          set->members[i]->name(), ToString(before), ToString(h.state()), ToString(h.reason()),
          ToString(p.status), p.status_error.empty() ? "" : " status_error=", p.status_error,
          ToString(p.read), p.read_error.empty() ? "" : " read_error=", p.read_error, p.leader,
          p.raft_term, p.raft_index, p.applied_index, v.lag,
          v.lag_time.known ? std::to_string(v.lag_time.total().count() / 1000) : "?", p.is_learner,
          errors, verdict.quorum.leader, verdict.quorum.term, verdict.quorum.reads_ok,
          results.size(),
          std::chrono::duration_cast<std::chrono::milliseconds>(h.hold_until() - now).count());
    }
    for (size_t i : ReadmitIfNoneServing(health_, verdict.members, now)) {
      spdlog::warn("member {} readmitted at once: no member taking calls had a good round",
                   set->members[i]->name());
      RecordLocked(i, HealthState::kEvicted, now);
    }
    verdicts_ = verdict.members;
    probes_ = results;
    probe_auth_ = SummarizeProbeAuth(results, identity_);
    // Said once, loudly: what to configure so etcd answers the probes (again when it changes).
    if (!probe_auth_.advice.empty() && probe_auth_.advice != logged_advice_) {
      spdlog::error("probe identity: {}", probe_auth_.advice);
      logged_advice_ = probe_auth_.advice;
    } else if (probe_auth_.refused == 0 && !logged_advice_.empty()) {
      spdlog::info("probe identity: etcd answers the probes' Status again (as {})",
                   Describe(identity_));
      logged_advice_.clear();
    }
    quorum_ = verdict.quorum;
    last_round_ = now;
    ++rounds_;
    stalled = stall_.Observe(verdict.quorum, now);
    if (stalled && !published_stalled_) {
      spdlog::warn(
          "quorum stalled: members name leader {:x} but no linearizable read works on any "
          "member; holding writes and linearizable reads (up to leaderless-wait)",
          verdict.quorum.leader);
    } else if (!stalled && published_stalled_ && verdict.quorum.stalled) {
      spdlog::warn(
          "quorum stalled for over leaderless-wait with the same leader: overload rather than "
          "a cut-off leader; no longer holding calls for it");
    } else if (!stalled && published_stalled_) {
      spdlog::info("quorum working again: releasing held writes and reads");
    }
    became_stalled = stalled && !published_stalled_;
    // Leader and freshness change without a state change: publish whatever differs.
    status = StatusLocked();
    changed = status != published_ || stalled != published_stalled_;
    published_stalled_ = stalled;
    hold = hold_writes_;
    if (changed) before = std::exchange(published_, status);
  }
  if (changed) Publish(before, std::move(status), stalled || hold);
  if (became_stalled && on_stalled_) on_stalled_();
  cv_.notify_all();
}

void HealthChecker::RecordLocked(size_t i, HealthState from, MemberHealth::TimePoint now) {
  const MemberHealth& h = health_[i];
  const std::string& name = pool_->Members()->members[i]->name();
  AddEventLocked(
      Event{std::chrono::system_clock::now(), name, from, h.state(), h.reason(), {}, {}});
  if (h.health_state() == HealthState::kEvicted && from != HealthState::kEvicted &&
      from != HealthState::kDrained) {
    ++evictions_;
    if (metrics_ != nullptr) {
      metrics_->evictions.Inc({name, std::string(ToString(h.reason()))});
      metrics_->eviction_detection.Observe(
          {name}, std::chrono::duration<double>(now - h.bad_since()).count());
    }
  }
  if (h.health_state() == HealthState::kHealthy && from == HealthState::kProbation &&
      metrics_ != nullptr) {
    metrics_->readmission.Observe({name},
                                  std::chrono::duration<double>(now - h.evicted_at()).count());
  }
}

void HealthChecker::Publish(const std::vector<MemberStatus>& before,
                            std::vector<MemberStatus> status, bool stalled) {
  const std::shared_ptr<const MemberSet> set = pool_->Members();
  std::vector<std::pair<Member*, UnhealthyReason>> gone;
  for (size_t i = 0; i < status.size() && i < set->members.size(); ++i) {
    const bool was_usable = i >= before.size() || before[i].usable;
    if (was_usable && !status[i].usable) gone.emplace_back(set->members[i].get(), status[i].reason);
  }
  // First: re-opened streams must not land there again.
  pool_->PublishStatus(std::move(status), stalled);
  if (on_unusable_) {
    for (const auto& [member, reason] : gone) on_unusable_(*member, reason);
  }
}

std::vector<MemberStatus> HealthChecker::StatusLocked() const {
  std::vector<MemberStatus> status;
  for (size_t i = 0; i < health_.size(); ++i) {
    MemberStatus st{health_[i].usable(), health_[i].reason()};
    if (i < probes_.size() && i < verdicts_.size()) {
      st.leader = quorum_.has_leader && probes_[i].member_id == quorum_.leader;
      st.fresh = verdicts_[i].lag <= static_cast<uint64_t>(config_.serializable_max_lag);
    }
    status.push_back(st);
  }
  return status;
}

bool HealthChecker::SetDrained(const std::string& name, bool drained) {
  const std::shared_ptr<const MemberSet> set = pool_->Members();
  std::vector<MemberStatus> status, published;
  bool stalled = false;
  {
    std::lock_guard lock(mu_);
    size_t i = 0;
    while (i < set->members.size() && set->members[i]->name() != name) ++i;
    if (i == set->members.size()) return false;
    if (health_[i].drained() == drained) return true;
    const HealthState before = health_[i].state();
    health_[i].SetDrained(drained);
    RecordLocked(i, before, jobs_.Now());
    status = StatusLocked();
    published = std::exchange(published_, status);
    stalled = published_stalled_ || hold_writes_;
  }
  spdlog::warn("member {} {} by an operator", name, drained ? "drained" : "undrained");
  Publish(published, std::move(status), stalled);
  return true;
}

void HealthChecker::AddEventLocked(Event e) {
  if (events_.size() < kMaxEvents) {
    events_.push_back(std::move(e));
  } else {
    events_[next_event_] = std::move(e);
  }
  next_event_ = (next_event_ + 1) % kMaxEvents;
}

bool HealthChecker::RecordMaintenance(const std::string& member, std::string operation,
                                      std::string step) {
  const std::shared_ptr<const MemberSet> set = pool_->Members();
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < set->members.size() && i < health_.size(); ++i) {
    if (set->members[i]->name() != member) continue;
    const HealthState state = health_[i].state();
    AddEventLocked(Event{std::chrono::system_clock::now(), member, state, state,
                         health_[i].reason(), std::move(operation), std::move(step)});
    return true;
  }
  return false;
}

void HealthChecker::HoldWrites(bool hold) {
  std::vector<MemberStatus> status;
  bool stalled = false;
  {
    std::lock_guard lock(mu_);
    if (hold_writes_ == hold) return;
    hold_writes_ = hold;
    status = published_;
    stalled = published_stalled_ || hold_writes_;
  }
  // Same statuses: nobody stops taking calls, only writes and linearizable reads wait (or go).
  pool_->PublishStatus(std::move(status), stalled);
}

std::vector<HealthChecker::Event> HealthChecker::Events() const {
  std::lock_guard lock(mu_);
  if (events_.size() < kMaxEvents) return events_;
  std::vector<Event> out(events_.begin() + next_event_, events_.end());
  out.insert(out.end(), events_.begin(), events_.begin() + next_event_);
  return out;
}

double HealthChecker::SecondsSinceLastRound() const {
  std::lock_guard lock(mu_);
  return std::chrono::duration<double>(jobs_.Now() - last_round_).count();
}

HealthChecker::View HealthChecker::Snapshot() const {
  const std::shared_ptr<const MemberSet> set = pool_->Members();
  std::lock_guard lock(mu_);
  View view;
  view.quorum = quorum_;
  view.identity = Describe(identity_);
  view.probe_auth = probe_auth_;
  view.rounds = rounds_;
  view.evictions = evictions_;
  for (size_t i = 0; i < health_.size(); ++i) {
    view.members.push_back(MemberView{set->members[i]->name(), set->members[i]->url().url,
                                      set->members[i]->zone(), health_[i].state(),
                                      health_[i].reason(), health_[i].since(),
                                      health_[i].health_state(), verdicts_[i], probes_[i]});
  }
  return view;
}

}  // namespace ehp
