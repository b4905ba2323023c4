// The health checker round by round, on a fake clock and a fake prober: when rounds start,
// what a round's answers do to the members the pool offers, a round whose probe never answers,
// and a stop with a probe still out.
#include "proxy/health/health_checker.h"

#include <gtest/gtest.h>

#include <memory>

#include "tests/fakes/fake_prober.h"
#include "tests/fakes/fake_scheduler.h"

namespace ehp {
namespace {

using std::chrono::milliseconds;
using testing::FakeProber;
using testing::FakeScheduler;

// A member of cluster 7 following leader 1 at term 5.
ProbeResult Healthy(uint64_t id) {
  ProbeResult r;
  r.member_id = id;
  r.cluster_id = 7;
  r.leader = 1;
  r.raft_term = 5;
  r.raft_index = 1000;
  r.applied_index = 1000;
  r.revision = 500;
  r.read_revision = 500;
  return r;
}

// A member cut off from its peers: it answers, without a leader.
ProbeResult NoLeader(uint64_t id) {
  ProbeResult r = Healthy(id);
  r.leader = 0;
  r.errors = {"etcdserver: no leader"};
  r.read = ProbeResult::Read::kNoLeader;
  r.read_error = "etcdserver: no leader";
  return r;
}

ProbeResult Unreachable() {
  ProbeResult r;
  r.status = ProbeResult::Status::kUnreachable;
  r.status_error = "connection refused";
  r.read = ProbeResult::Read::kFailed;
  return r;
}

Config ThreeMembers() {
  Config c;
  for (int port : {2379, 2380, 2381}) {
    std::string error;
    c.endpoints.push_back(*ParseMemberUrl("http://127.0.0.1:" + std::to_string(port), &error));
  }
  c.probe_interval = milliseconds(100);
  c.probe_timeout = milliseconds(500);
  c.unreachable_threshold = 2;
  c.readmit_rounds = 3;
  return c;
}

class HealthCheckerTest : public ::testing::Test {
 protected:
  explicit HealthCheckerTest(Config config = ThreeMembers())
      : config_(std::move(config)),
        pool_(config_),
        prober_({Healthy(1), Healthy(2), Healthy(3)}),
        scheduler_(std::make_shared<FakeScheduler>()),
        checker_(config_, &pool_, &prober_, scheduler_) {
    checker_.SetOnUnusable([this](Member& member, UnhealthyReason reason) {
      gone_.emplace_back(member.name(), reason);
    });
  }

  bool Usable(size_t i) const { return pool_.Members()->status[i].usable; }
  UnhealthyReason Reason(size_t i) const { return pool_.Members()->status[i].reason; }
  std::string Name(size_t i) const { return pool_.Members()->members[i]->name(); }
  uint64_t Rounds() const { return checker_.Snapshot().rounds; }
  // Runs rounds (each probe-interval) until `done` holds, at most `limit` rounds; how many ran.
  int RoundsUntil(const std::function<bool()>& done, int limit = 100) {
    for (int n = 1; n <= limit; ++n) {
      scheduler_->Advance(config_.probe_interval);
      if (done()) return n;
    }
    return -1;
  }

  Config config_;
  UpstreamPool pool_;
  FakeProber prober_;
  std::shared_ptr<FakeScheduler> scheduler_;
  HealthChecker checker_;
  std::vector<std::pair<std::string, UnhealthyReason>> gone_;
};

TEST_F(HealthCheckerTest, NothingRunsBeforeStartAndTheFirstRoundRunsAtOnce) {
  scheduler_->Advance(std::chrono::seconds(5));
  EXPECT_EQ(prober_.probes(), 0);
  EXPECT_EQ(Rounds(), 0u);

  checker_.Start();
  scheduler_->RunDue();
  EXPECT_EQ(prober_.probes(), 3);
  EXPECT_EQ(Rounds(), 1u);
  EXPECT_TRUE(checker_.WaitForFirstRound(milliseconds(0)));
  const HealthChecker::View view = checker_.Snapshot();
  EXPECT_TRUE(view.quorum.has_leader);
  EXPECT_EQ(view.quorum.leader, 1u);
  for (size_t i = 0; i < 3; ++i) EXPECT_TRUE(Usable(i)) << i;
  EXPECT_TRUE(pool_.Members()->status[0].leader);
  EXPECT_FALSE(pool_.Members()->status[1].leader);
}

TEST_F(HealthCheckerTest, RoundsFollowTheProbeIntervalOnTheInjectedClock) {
  checker_.Start();
  scheduler_->RunDue();
  scheduler_->Advance(milliseconds(99));
  EXPECT_EQ(Rounds(), 1u);
  scheduler_->Advance(milliseconds(1));
  EXPECT_EQ(Rounds(), 2u);
  scheduler_->Advance(milliseconds(1000));
  EXPECT_EQ(Rounds(), 12u);
  EXPECT_EQ(prober_.probes(), 36);
  EXPECT_DOUBLE_EQ(checker_.SecondsSinceLastRound(), 0.0);
  // A stuck probe loop shows in SecondsSinceLastRound (what /livez reads), on the same clock.
  prober_.Hold(0);
  scheduler_->Advance(milliseconds(300));
  EXPECT_NEAR(checker_.SecondsSinceLastRound(), 0.3, 1e-9);
}

TEST_F(HealthCheckerTest, AMemberWithoutLeaderStopsTakingCallsAfterOneRound) {
  checker_.Start();
  scheduler_->RunDue();
  prober_.Set(2, NoLeader(3));
  scheduler_->Advance(milliseconds(100));
  EXPECT_TRUE(Usable(0));
  EXPECT_TRUE(Usable(1));
  EXPECT_FALSE(Usable(2));
  EXPECT_EQ(Reason(2), UnhealthyReason::kNoLeader);
  ASSERT_EQ(gone_.size(), 1u);
  EXPECT_EQ(gone_[0].first, Name(2));
  EXPECT_EQ(gone_[0].second, UnhealthyReason::kNoLeader);
  EXPECT_EQ(checker_.Snapshot().evictions, 1u);
  // The event lists the change.
  const auto events = checker_.Events();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().member, Name(2));
  EXPECT_EQ(events.back().to, HealthState::kEvicted);
}

TEST_F(HealthCheckerTest, AnUnreachableMemberGoesAfterUnreachableThresholdRounds) {
  checker_.Start();
  scheduler_->RunDue();
  prober_.Set(1, Unreachable());
  scheduler_->Advance(milliseconds(100));
  EXPECT_TRUE(Usable(1)) << "one refused connection is not yet an eviction";
  scheduler_->Advance(milliseconds(100));
  EXPECT_FALSE(Usable(1));
  EXPECT_EQ(Reason(1), UnhealthyReason::kUnreachable);
  EXPECT_EQ(gone_.size(), 1u);
}

TEST_F(HealthCheckerTest, AHealedMemberComesBackOnlyAfterReadmitRoundsGoodRounds) {
  checker_.Start();
  scheduler_->RunDue();
  prober_.Set(2, NoLeader(3));
  scheduler_->Advance(milliseconds(100));
  ASSERT_FALSE(Usable(2));
  prober_.Set(2, Healthy(3));
  const int rounds = RoundsUntil([&] { return Usable(2); });
  ASSERT_GT(rounds, 0) << "never readmitted";
  EXPECT_GE(rounds, config_.readmit_rounds);
  EXPECT_EQ(Reason(2), UnhealthyReason::kNone);
  EXPECT_EQ(gone_.size(), 1u);
}

TEST_F(HealthCheckerTest, ARoundWhoseProbeNeverAnswersEndsAtItsTimeoutAndTheNextStartsAtOnce) {
  checker_.Start();
  scheduler_->RunDue();
  prober_.Hold(1);
  scheduler_->Advance(milliseconds(100));  // round 2 starts; member 1 does not answer
  EXPECT_EQ(Rounds(), 1u);
  // probe-timeout + 2 s after its start, the round is judged with member 1 timed out.
  scheduler_->Advance(milliseconds(2499));
  EXPECT_EQ(Rounds(), 1u);
  const int probes_before = prober_.probes();
  scheduler_->Advance(milliseconds(1));
  EXPECT_EQ(Rounds(), 2u);
  EXPECT_EQ(checker_.Snapshot().members[1].probe.status, ProbeResult::Status::kTimeout);
  // The round overran its interval: the next one started at once.
  EXPECT_EQ(prober_.probes(), probes_before + 3);
  // The late answer of the judged round changes nothing.
  prober_.Release(1);
  scheduler_->RunDue();
  EXPECT_EQ(Rounds(), 3u) << "only the round that started after it counts";
}

TEST_F(HealthCheckerTest, StopDropsTheRoundInFlightAndItsLateAnswers) {
  checker_.Start();
  scheduler_->RunDue();
  prober_.Hold(0);
  scheduler_->Advance(milliseconds(100));
  checker_.Stop();
  EXPECT_EQ(scheduler_->pending(), 0u) << "the round's timeout and next round were dropped";
  prober_.Release(0);  // answers after the stop: nowhere to go
  EXPECT_EQ(scheduler_->pending(), 0u);
  scheduler_->Advance(std::chrono::seconds(10));
  EXPECT_EQ(Rounds(), 1u);
  EXPECT_FALSE(checker_.WaitForFirstRound(milliseconds(0)) && Rounds() > 1);
}

TEST_F(HealthCheckerTest, ADrainTakesTheMemberOutWhateverItsHealthAndAnUndrainBringsItBack) {
  checker_.Start();
  scheduler_->RunDue();
  EXPECT_FALSE(checker_.SetDrained("nobody:1", true));
  ASSERT_TRUE(checker_.SetDrained(Name(0), true));
  EXPECT_FALSE(Usable(0));
  EXPECT_EQ(Reason(0), UnhealthyReason::kDrained);
  ASSERT_EQ(gone_.size(), 1u);
  EXPECT_EQ(gone_[0].second, UnhealthyReason::kDrained);
  // Rounds go on underneath: still drained, and back at once when undrained (it kept healthy).
  scheduler_->Advance(milliseconds(500));
  EXPECT_FALSE(Usable(0));
  ASSERT_TRUE(checker_.SetDrained(Name(0), false));
  EXPECT_TRUE(Usable(0));
}

TEST_F(HealthCheckerTest, NoMemberIsLeftOutWhenEveryOneFailsAtOnce) {
  checker_.Start();
  scheduler_->RunDue();
  for (size_t i = 0; i < 3; ++i) prober_.Set(i, Unreachable());
  scheduler_->Advance(milliseconds(1000));
  // Every member is refused: calls fail fast with the reasons instead of picking a dead member.
  for (size_t i = 0; i < 3; ++i) EXPECT_FALSE(Usable(i)) << i;
  EXPECT_NE(pool_.UnavailableMessage().find("unreachable"), std::string::npos)
      << pool_.UnavailableMessage();
  // When the cluster answers well again, its members take calls after one good round instead
  // of waiting out probation: none other would serve meanwhile.
  for (size_t i = 0; i < 3; ++i) prober_.Set(i, Healthy(i + 1));
  scheduler_->Advance(milliseconds(100));
  for (size_t i = 0; i < 3; ++i) EXPECT_TRUE(Usable(i)) << i;
}

}  // namespace
}  // namespace ehp
