#include "proxy/service/status_line.h"

#include <gtest/gtest.h>

namespace ehp {
namespace {

HealthChecker::MemberView Member(const std::string& name, uint64_t id, HealthState state,
                                 UnhealthyReason reason = UnhealthyReason::kNone) {
  HealthChecker::MemberView m;
  m.name = name;
  m.state = state;
  m.reason = reason;
  m.probe.member_id = id;
  return m;
}

HealthChecker::View ThreeHealthy() {
  HealthChecker::View v;
  v.rounds = 1;
  v.members = {Member("m1", 11, HealthState::kHealthy), Member("m2", 22, HealthState::kHealthy),
               Member("m3", 33, HealthState::kHealthy)};
  v.quorum.has_leader = true;
  v.quorum.leader = 22;
  return v;
}

TEST(StatusLineTest, AllHealthyNamesTheLeader) {
  EXPECT_EQ(StatusLine(ThreeHealthy()), "3/3 members healthy, leader m2");
}

TEST(StatusLineTest, BeforeTheFirstRound) {
  HealthChecker::View v = ThreeHealthy();
  v.rounds = 0;
  EXPECT_EQ(StatusLine(v), "waiting for the first probe round");
}

TEST(StatusLineTest, NamesUnhealthyMembersWithReasonOrState) {
  HealthChecker::View v = ThreeHealthy();
  v.members[0].state = HealthState::kEvicted;
  v.members[0].reason = UnhealthyReason::kNoLeader;
  v.members[2].state = HealthState::kDrained;
  EXPECT_EQ(StatusLine(v), "1/3 members healthy (m1: no_leader, m3: drained), leader m2");
}

TEST(StatusLineTest, NoLeaderAndStall) {
  HealthChecker::View v = ThreeHealthy();
  v.quorum.has_leader = false;
  EXPECT_EQ(StatusLine(v), "3/3 members healthy, no leader");
  v.quorum.has_leader = true;
  v.quorum.stalled = true;
  EXPECT_EQ(StatusLine(v), "3/3 members healthy, leader m2, quorum stalled: calls held");
}

TEST(StatusLineTest, LongListsAreCut) {
  HealthChecker::View v;
  v.rounds = 5;
  for (int i = 0; i < 5; ++i) {
    v.members.push_back(Member("m" + std::to_string(i), 100 + i, HealthState::kEvicted,
                               UnhealthyReason::kUnreachable));
  }
  EXPECT_EQ(StatusLine(v),
            "0/5 members healthy (m0: unreachable, m1: unreachable, m2: unreachable and 2 more), "
            "no leader");
}

}  // namespace
}  // namespace ehp
