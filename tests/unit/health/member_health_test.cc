// Evictions and readmissions over time, with an injected clock: thresholds, immediate reasons,
// readmission after good rounds, and the growing hold-out of a flapping member.
#include "proxy/health/member_health.h"

#include <gtest/gtest.h>

namespace ehp {
namespace {

using Kind = MemberVerdict::Kind;
using std::chrono::milliseconds;

MemberVerdict V(Kind kind, UnhealthyReason reason = UnhealthyReason::kNone) {
  MemberVerdict v;
  v.kind = kind;
  v.reason = reason;
  return v;
}

class MemberHealthTest : public ::testing::Test {
 protected:
  HealthTransition Step(const MemberVerdict& v) {
    now_ += milliseconds(100);  // one probe round
    return health_.Observe(v, now_);
  }
  void Readmit() {
    for (int i = 0; i < policy_.readmit_rounds; ++i) Step(V(Kind::kGood));
    ASSERT_EQ(health_.state(), HealthState::kHealthy);
  }
  HealthPolicy policy_;
  MemberHealth::TimePoint now_{};
  MemberHealth health_{policy_, now_};
};

TEST_F(MemberHealthTest, GoodRoundsStayHealthy) {
  EXPECT_EQ(Step(V(Kind::kGood)), HealthTransition::kUnchanged);
  EXPECT_TRUE(health_.usable());
  EXPECT_EQ(health_.reason(), UnhealthyReason::kNone);
}

TEST_F(MemberHealthTest, ImmediateReasonEvictsAtOnce) {
  EXPECT_EQ(Step(V(Kind::kImmediate, UnhealthyReason::kNoLeader)), HealthTransition::kChanged);
  EXPECT_EQ(health_.state(), HealthState::kEvicted);
  EXPECT_EQ(health_.reason(), UnhealthyReason::kNoLeader);
  EXPECT_FALSE(health_.usable());
}

// Scenario: failed Status probes evict after unreachable-threshold in a row; a good round in
// between resets the count.
TEST_F(MemberHealthTest, FailuresNeedConsecutiveRounds) {
  EXPECT_EQ(Step(V(Kind::kFailure, UnhealthyReason::kUnreachable)),
            HealthTransition::kChangePending);
  EXPECT_EQ(Step(V(Kind::kGood)), HealthTransition::kUnchanged);
  EXPECT_EQ(Step(V(Kind::kFailure, UnhealthyReason::kTimeout)), HealthTransition::kChangePending);
  EXPECT_TRUE(health_.usable());
  EXPECT_EQ(Step(V(Kind::kFailure, UnhealthyReason::kTimeout)), HealthTransition::kChanged);
  EXPECT_EQ(health_.reason(), UnhealthyReason::kTimeout);
}

TEST_F(MemberHealthTest, SuspectTwiceInARowEvicts) {
  Step(V(Kind::kSuspect, UnhealthyReason::kPartitioned));
  Step(V(Kind::kUnconfirmed));  // breaks the streak
  Step(V(Kind::kSuspect, UnhealthyReason::kPartitioned));
  EXPECT_TRUE(health_.usable());
  EXPECT_EQ(Step(V(Kind::kSuspect, UnhealthyReason::kPartitioned)), HealthTransition::kChanged);
  EXPECT_EQ(health_.reason(), UnhealthyReason::kPartitioned);
}

TEST_F(MemberHealthTest, UnconfirmedNeverEvicts) {
  for (int i = 0; i < 50; ++i) EXPECT_EQ(Step(V(Kind::kUnconfirmed)), HealthTransition::kUnchanged);
  EXPECT_TRUE(health_.usable());
}

// Scenario: readmission takes readmit-rounds good rounds in a row, through probation.
TEST_F(MemberHealthTest, ReadmissionThroughProbation) {
  Step(V(Kind::kImmediate, UnhealthyReason::kNoLeader));
  EXPECT_EQ(Step(V(Kind::kGood)), HealthTransition::kChanged);
  EXPECT_EQ(health_.state(), HealthState::kProbation);
  EXPECT_FALSE(health_.usable());
  EXPECT_EQ(Step(V(Kind::kUnconfirmed)), HealthTransition::kChangePending);  // count restarts
  EXPECT_EQ(Step(V(Kind::kGood)), HealthTransition::kChangePending);
  EXPECT_EQ(Step(V(Kind::kGood)), HealthTransition::kChangePending);
  EXPECT_EQ(Step(V(Kind::kGood)), HealthTransition::kChanged);
  EXPECT_EQ(health_.state(), HealthState::kHealthy);
  EXPECT_EQ(health_.reason(), UnhealthyReason::kNone);
}

TEST_F(MemberHealthTest, EvictedKeepsTheLatestReason) {
  Step(V(Kind::kImmediate, UnhealthyReason::kNoLeader));
  Step(V(Kind::kFailure, UnhealthyReason::kUnreachable));
  EXPECT_EQ(health_.reason(), UnhealthyReason::kUnreachable);
  EXPECT_EQ(health_.state(), HealthState::kEvicted);
}

// Scenario: a member that flaps (evicted again soon after readmission, or during probation) is
// held out longer each time, up to holdout-max; a long healthy stretch forgives it.
TEST_F(MemberHealthTest, FlappingIsHeldOutLongerEachTime) {
  Step(V(Kind::kImmediate, UnhealthyReason::kNoLeader));
  EXPECT_EQ(health_.flaps(), 0);
  Readmit();
  Step(V(Kind::kImmediate, UnhealthyReason::kNoLeader));  // flap 1
  EXPECT_EQ(health_.flaps(), 1);
  EXPECT_EQ(health_.hold_until() - now_, policy_.holdout_base);
  // Good rounds during the hold-out do not start probation.
  for (int i = 0; i < 10; ++i) EXPECT_EQ(Step(V(Kind::kGood)), HealthTransition::kUnchanged);
  EXPECT_EQ(health_.state(), HealthState::kEvicted);
  now_ = health_.hold_until();
  EXPECT_EQ(Step(V(Kind::kGood)), HealthTransition::kChanged);  // probation
  Step(V(Kind::kFailure, UnhealthyReason::kUnreachable));       // flap 2, from probation
  EXPECT_EQ(health_.flaps(), 2);
  EXPECT_EQ(health_.hold_until() - now_, 2 * policy_.holdout_base);
  for (int f = 3; f < 12; ++f) {
    now_ = health_.hold_until();
    Step(V(Kind::kGood));
    Step(V(Kind::kImmediate, UnhealthyReason::kNoLeader));
  }
  EXPECT_EQ(health_.hold_until() - now_, policy_.holdout_max);  // capped
  now_ = health_.hold_until();
  Readmit();
  now_ += policy_.flap_window + milliseconds(1);
  Step(V(Kind::kImmediate, UnhealthyReason::kNoLeader));
  EXPECT_EQ(health_.flaps(), 0);  // forgiven
  EXPECT_EQ(health_.hold_until(), now_);
}

// Scenario: the whole cluster lost its leader (an election after a heal with pre-vote off);
// when it has one again, members are readmitted at once instead of after probation and a
// flapping hold-out. While any member takes calls, nothing changes.
TEST(ReadmitIfNoneServingTest, OnlyWhenNoMemberTakesCalls) {
  HealthPolicy policy;
  auto now = MemberHealth::TimePoint() + std::chrono::hours(1);
  std::vector<MemberHealth> members(3, MemberHealth(policy, now));
  const std::vector<MemberVerdict> no_leader(3, V(Kind::kImmediate, UnhealthyReason::kNoLeader));
  const std::vector<MemberVerdict> good(3, V(Kind::kGood));
  // Two evictions close together: each member is now a "flapper" with a hold-out.
  for (int flap = 0; flap < 2; ++flap) {
    for (auto& m : members) m.Observe(no_leader[0], now += milliseconds(100));
    for (int r = 0; r < policy.readmit_rounds; ++r) {
      for (auto& m : members) m.Observe(good[0], now += milliseconds(100));
    }
  }
  for (auto& m : members) m.Observe(no_leader[0], now += milliseconds(100));
  ASSERT_GT(members[0].hold_until(), now);
  members[2].SetDrained(true);
  now += milliseconds(100);
  for (auto& m : members) m.Observe(good[0], now);
  EXPECT_FALSE(members[0].usable());  // held out, as a flapper would be
  std::vector<MemberVerdict> round = good;
  round[1] = V(Kind::kFailure, UnhealthyReason::kTimeout);
  EXPECT_EQ(ReadmitIfNoneServing(members, round, now), std::vector<size_t>{0});
  EXPECT_TRUE(members[0].usable());
  EXPECT_FALSE(members[1].usable());  // its verdict was bad
  EXPECT_FALSE(members[2].usable());  // drained stays drained
  // Now one member takes calls: the others go through probation as usual.
  EXPECT_TRUE(ReadmitIfNoneServing(members, good, now).empty());
  EXPECT_FALSE(members[1].usable());
  // ... unless the one that takes calls had a bad round (a cut-off ex-leader not yet found
  // out) while others had a good one.
  round = good;
  round[0] = V(Kind::kUnconfirmed);
  EXPECT_EQ(ReadmitIfNoneServing(members, round, now), std::vector<size_t>{1});
  EXPECT_TRUE(members[1].usable());
}

}  // namespace
}  // namespace ehp
