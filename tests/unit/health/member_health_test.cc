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

}  // namespace
}  // namespace ehp
