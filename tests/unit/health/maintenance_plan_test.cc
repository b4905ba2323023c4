// The maintenance endpoints' decisions without I/O: when a defragmentation may start, the order
// (leader last), never the last usable member nor two out at once, catching up, and the choice
// of the member that takes leadership.
#include "proxy/health/maintenance_plan.h"

#include <gtest/gtest.h>

namespace ehp {
namespace {

using std::chrono::milliseconds;

MaintenanceMember M(std::string name, uint64_t id, bool leader = false) {
  MaintenanceMember m;
  m.name = std::move(name);
  m.member_id = id;
  m.good = true;
  m.leader = leader;
  return m;
}

std::vector<MaintenanceMember> Three() {
  return {M("m1", 0x11), M("m2", 0x22, true), M("m3", 0x33)};
}

// Scenario: every member usable, nothing running: it may start, followers first, leader last.
TEST(MaintenancePlanTest, DefragmentStartsWithLeaderLast) {
  const auto members = Three();
  EXPECT_FALSE(CheckDefragment(members, "").refused());
  EXPECT_EQ(DefragmentOrder(members), (std::vector<size_t>{0, 2, 1}));
  auto no_leader = members;
  no_leader[1].leader = false;
  EXPECT_EQ(DefragmentOrder(no_leader), (std::vector<size_t>{0, 1, 2}));
}

// Scenario: refused while another operation runs, while any member is out (evicted, on
// probation, drained; the reason named), and for a single member.
TEST(MaintenancePlanTest, DefragmentRefusals) {
  auto members = Three();
  const auto running = CheckDefragment(members, "defragment");
  EXPECT_EQ(running.code, "running");
  EXPECT_NE(running.message.find("defragment"), std::string::npos);

  members[2].state = HealthState::kEvicted;
  members[2].reason = UnhealthyReason::kUnreachable;
  const auto out = CheckDefragment(members, "");
  EXPECT_EQ(out.code, "member_out");
  EXPECT_NE(out.message.find("member m3 is evicted (unreachable)"), std::string::npos)
      << out.message;
  members[2].state = HealthState::kProbation;
  EXPECT_EQ(CheckDefragment(members, "").code, "member_out");
  members[2].state = HealthState::kDrained;
  members[2].reason = UnhealthyReason::kDrained;
  EXPECT_NE(CheckDefragment(members, "").message.find("member m3 is drained"), std::string::npos);

  const std::vector<MaintenanceMember> one{M("m1", 1, true)};
  EXPECT_EQ(CheckDefragment(one, "").code, "too_few_members");
}

// Scenario: a member may be taken out only while every other member takes calls: never the last
// usable one, never a second one out.
TEST(MaintenancePlanTest, TakeOutNeverTheLastNorTwo) {
  auto members = Three();
  EXPECT_FALSE(CheckTakeOut(members, 0).refused());
  members[0].state = HealthState::kDrained;  // the one being worked on does not matter
  EXPECT_FALSE(CheckTakeOut(members, 0).refused());
  members[2].state = HealthState::kEvicted;
  members[2].reason = UnhealthyReason::kLagging;
  const auto two = CheckTakeOut(members, 1);
  EXPECT_EQ(two.code, "member_out");
  EXPECT_NE(two.message.find("m1"), std::string::npos) << two.message;

  const std::vector<MaintenanceMember> one{M("m1", 1, true)};
  EXPECT_EQ(CheckTakeOut(one, 0).code, "too_few_members");
  EXPECT_EQ(CheckTakeOut(Three(), 7).code, "unknown_member");
}

// Scenario: caught up after N good rounds in a row; a bad round starts the count again.
TEST(MaintenancePlanTest, CatchUpCountsGoodRoundsInARow) {
  CatchUp catch_up(3);
  MaintenanceMember m = M("m1", 1);
  EXPECT_FALSE(catch_up.Observe(m));
  EXPECT_FALSE(catch_up.Observe(m));
  m.good = false;
  EXPECT_FALSE(catch_up.Observe(m));
  EXPECT_EQ(catch_up.good_rounds(), 0);
  m.good = true;
  EXPECT_FALSE(catch_up.Observe(m));
  EXPECT_FALSE(catch_up.Observe(m));
  EXPECT_TRUE(catch_up.Observe(m));
}

// Scenario: move-leader on the leader picks the healthiest other member: fewest entries
// behind, then least late, then the fastest probe read; drained, not good or unidentified
// members never.
TEST(MaintenancePlanTest, LeaderTargetIsTheHealthiest) {
  auto members = Three();
  members.push_back(M("m4", 0x44));
  members[0].lag_entries = 3;
  members[2].read_latency = milliseconds(5);
  members[3].read_latency = milliseconds(2);
  auto choice = ChooseLeaderTarget(members, "m2", "");
  EXPECT_EQ(choice.status, 200);
  EXPECT_EQ(choice.leader, 1u);
  EXPECT_EQ(choice.target, 3u);  // m3 and m4 in step; m4 reads faster

  members[3].lag_time = milliseconds(300);
  EXPECT_EQ(ChooseLeaderTarget(members, "m2", "").target, 2u);
  members[2].state = HealthState::kDrained;
  EXPECT_EQ(ChooseLeaderTarget(members, "m2", "").target, 3u);
  members[3].good = false;
  EXPECT_EQ(ChooseLeaderTarget(members, "m2", "").target, 0u);
  members[0].member_id = 0;
  const auto none = ChooseLeaderTarget(members, "m2", "");
  EXPECT_EQ(none.status, 409);
  EXPECT_EQ(none.refusal.code, "no_target");
}

// Scenario: 404 for an unknown member, 409 for a follower, 409 while a defragmentation runs.
TEST(MaintenancePlanTest, LeaderMoveRefusals) {
  const auto members = Three();
  const auto unknown = ChooseLeaderTarget(members, "m9", "");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.refusal.code, "unknown_member");
  const auto follower = ChooseLeaderTarget(members, "m1", "");
  EXPECT_EQ(follower.status, 409);
  EXPECT_EQ(follower.refusal.code, "not_leader");
  EXPECT_NE(follower.refusal.message.find("m1 is not the leader"), std::string::npos);
  const auto busy = ChooseLeaderTarget(members, "m2", "defragment");
  EXPECT_EQ(busy.status, 409);
  EXPECT_EQ(busy.refusal.code, "running");
}

}  // namespace
}  // namespace ehp
