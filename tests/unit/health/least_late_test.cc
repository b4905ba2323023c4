// Never every member out for lag: the least late lagging member is kept when no other member
// outside a drain would serve on.
#include "proxy/health/least_late.h"

#include <gtest/gtest.h>

namespace ehp {
namespace {

using Kind = MemberVerdict::Kind;
using std::chrono::milliseconds;

MemberVerdict Lagging(milliseconds late, uint64_t entries = 0, Kind kind = Kind::kFailure) {
  MemberVerdict v;
  v.kind = kind;
  v.reason = UnhealthyReason::kLagging;
  v.lag_time.known = true;
  v.lag_time.apply = late;
  v.lag = entries;
  return v;
}

MemberVerdict Good() { return MemberVerdict{}; }

MemberVerdict Unreachable() {
  MemberVerdict v;
  v.kind = Kind::kFailure;
  v.reason = UnhealthyReason::kUnreachable;
  return v;
}

// Scenario: one member is good: the lagging ones stay lagging.
TEST(SpareLeastLateTest, NothingSparedWhileAnotherMemberIsGood) {
  std::vector<MemberVerdict> v{Lagging(milliseconds(3000)), Good(), Lagging(milliseconds(1500))};
  EXPECT_EQ(SpareLeastLate(v, {}), -1);
  EXPECT_EQ(v[0].kind, Kind::kFailure);
  EXPECT_EQ(v[2].reason, UnhealthyReason::kLagging);
  EXPECT_FALSE(v[2].spared);
}

// Scenario: every member lags (the whole cluster applies slowly): the least late keeps serving,
// whether its verdict was a failure (late) or a suspect (reads waiting for its apply).
TEST(SpareLeastLateTest, LeastLateOfAllLaggingIsKept) {
  std::vector<MemberVerdict> v{Lagging(milliseconds(3000)),
                               Lagging(milliseconds(1200), 0, Kind::kSuspect),
                               Lagging(milliseconds(1500))};
  EXPECT_EQ(SpareLeastLate(v, {}), 1);
  EXPECT_EQ(v[1].kind, Kind::kGood);
  EXPECT_EQ(v[1].reason, UnhealthyReason::kNone);
  EXPECT_TRUE(v[1].spared);
  EXPECT_EQ(v[0].kind, Kind::kFailure);
  EXPECT_EQ(v[2].kind, Kind::kFailure);
}

// Scenario: the other members are out for other reasons (unreachable) or drained: the least
// late lagging member outside the drain is kept; a drained good member does not count.
TEST(SpareLeastLateTest, OthersOutOrDrained) {
  std::vector<MemberVerdict> v{Unreachable(), Lagging(milliseconds(2000)),
                               Lagging(milliseconds(5000))};
  EXPECT_EQ(SpareLeastLate(v, {}), 1);

  std::vector<MemberVerdict> w{Good(), Lagging(milliseconds(900)), Lagging(milliseconds(800))};
  const std::vector<MemberServing> drained{{true, false}, {false, true}, {true, false}};
  EXPECT_EQ(SpareLeastLate(w, drained), 1) << "the drained ones neither serve nor get spared";
  EXPECT_EQ(w[2].kind, Kind::kFailure);
}

// Scenario: the other members still take calls though this round confirms nothing (reads
// failing everywhere for a moment, an election): they serve on, so the late member is not
// kept; once they are out (evicted), it is.
TEST(SpareLeastLateTest, NothingSparedWhileOthersServeUnconfirmed) {
  MemberVerdict unconfirmed;
  unconfirmed.kind = Kind::kUnconfirmed;
  std::vector<MemberVerdict> v{Lagging(milliseconds(6000)), unconfirmed, unconfirmed};
  const std::vector<MemberServing> serving{{false, true}, {false, true}, {false, true}};
  EXPECT_EQ(SpareLeastLate(v, serving), -1);
  EXPECT_EQ(v[0].kind, Kind::kFailure);
  const std::vector<MemberServing> others_out{{false, true}, {false, false}, {false, false}};
  EXPECT_EQ(SpareLeastLate(v, others_out), 0);
  // A member that lost its leader is out now, whatever its state says.
  MemberVerdict no_leader;
  no_leader.kind = Kind::kImmediate;
  no_leader.reason = UnhealthyReason::kNoLeader;
  std::vector<MemberVerdict> w{Lagging(milliseconds(6000)), no_leader, no_leader};
  EXPECT_EQ(SpareLeastLate(w, serving), 0);
}

// Scenario: equal lag in time (the entries rule, max-lag, with no time measured): fewer entries
// behind wins; nothing lagging, nothing spared.
TEST(SpareLeastLateTest, TiesByEntriesAndNothingToSpare) {
  std::vector<MemberVerdict> v{Lagging(milliseconds(0), 9000), Lagging(milliseconds(0), 6000)};
  EXPECT_EQ(SpareLeastLate(v, {}), 1);
  std::vector<MemberVerdict> down{Unreachable(), Unreachable()};
  EXPECT_EQ(SpareLeastLate(down, {}), -1);
  EXPECT_EQ(down[0].kind, Kind::kFailure);
}

}  // namespace
}  // namespace ehp
