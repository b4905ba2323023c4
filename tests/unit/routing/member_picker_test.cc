// The member picker with an injected random value.
#include "proxy/routing/member_picker.h"

#include <gtest/gtest.h>

#include <map>
#include <vector>

namespace ehp {
namespace {

const CallClass kRead{CallKind::kRead, false, true};
const CallClass kSerializable{CallKind::kSerializableRead, false, true};
const CallClass kWrite{CallKind::kWrite, false, true};
const CallClass kMoveLeader{CallKind::kWrite, true, false};

std::map<size_t, int> Spread(const std::vector<PickCandidate>& c, CallClass call,
                             PickPolicy policy = {}) {
  std::map<size_t, int> seen;
  for (uint64_t r = 0; r < 600; ++r) {
    auto i = PickMember(c, call, policy, r * 2654435761ULL);
    if (i) seen[*i]++;
  }
  return seen;
}

TEST(MemberPickerTest, NothingLeft) {
  EXPECT_FALSE(PickMember({}, kRead, {}, 0));
  std::vector<PickCandidate> c(3);
  for (auto& m : c) m.excluded = true;
  EXPECT_FALSE(PickMember(c, kRead, {}, 7));
}

TEST(MemberPickerTest, ReadsSpreadOverUsableMembers) {
  std::vector<PickCandidate> c(3);
  c[1].excluded = true;
  const auto seen = Spread(c, kRead);
  EXPECT_EQ(seen.count(1), 0u);
  EXPECT_GT(seen.at(0), 100);
  EXPECT_GT(seen.at(2), 100);
}

TEST(MemberPickerTest, PowerOfTwoChoicesAvoidsTheLoadedMember) {
  std::vector<PickCandidate> c(3);
  c[0].load = 50;
  c[1].load = 1;
  c[2].load = 2;
  const auto seen = Spread(c, kRead);
  // Member 0 only wins when both choices... never: it is the most loaded of any pair.
  EXPECT_EQ(seen.count(0), 0u);
  EXPECT_GT(seen.at(1), seen.at(2));  // wins against both others; 2 only against 0
}

TEST(MemberPickerTest, WritesGoToTheLeaderUnlessAny) {
  std::vector<PickCandidate> c(3);
  c[2].leader = true;
  c[2].load = 1000;  // load does not move writes off the leader
  for (uint64_t r = 0; r < 50; ++r) EXPECT_EQ(PickMember(c, kWrite, {}, r), 2u);
  EXPECT_EQ(Spread(c, kWrite, PickPolicy{.writes_to_leader = false}).count(2), 0u);
  // Reads ignore leadership.
  EXPECT_EQ(Spread(c, kRead).count(2), 0u);
  // The leader already tried (or unusable): another member, which forwards to the leader.
  c[2].excluded = true;
  EXPECT_NE(PickMember(c, kWrite, {}, 3), 2u);
  ASSERT_TRUE(PickMember(c, kWrite, {}, 3));
}

TEST(MemberPickerTest, WritesWaitWhileTheLeaderAnswersNone) {
  std::vector<PickCandidate> c(3);
  c[0].leader = true;
  c[0].writes_stuck = true;
  // Not to the leader, and not to a follower either (it would forward them there).
  EXPECT_FALSE(PickMember(c, kWrite, {}, 1));
  EXPECT_TRUE(Spread(c, kWrite, PickPolicy{.writes_to_leader = false}).empty());
  // Reads are not concerned.
  EXPECT_EQ(Spread(c, kRead).size(), 3u);
  // A stuck follower only loses the writes it would have taken (write-routing: any).
  c[0].writes_stuck = false;
  c[1].writes_stuck = true;
  EXPECT_EQ(PickMember(c, kWrite, {}, 1), 0u);
  const auto seen = Spread(c, kWrite, PickPolicy{.writes_to_leader = false});
  EXPECT_EQ(seen.count(1), 0u);
  EXPECT_GT(seen.at(0) + seen.at(2), 500);
  // An evicted leader's flag does not matter: its writes go elsewhere already.
  c[0].writes_stuck = true;
  c[0].excluded = true;
  c[1].writes_stuck = false;
  ASSERT_TRUE(PickMember(c, kWrite, {}, 3));
}

TEST(MemberPickerTest, LeaderOnlyCallsFollowTheLeaderWhateverThePolicy) {
  std::vector<PickCandidate> c(3);
  c[1].leader = true;
  EXPECT_EQ(PickMember(c, kMoveLeader, PickPolicy{.writes_to_leader = false}, 5), 1u);
}

TEST(MemberPickerTest, SerializableReadsSkipStaleMembers) {
  std::vector<PickCandidate> c(3);
  c[0].fresh = false;
  EXPECT_EQ(Spread(c, kSerializable).count(0), 0u);
  EXPECT_GT(Spread(c, kRead).count(0), 0u);  // linearizable reads wait for apply: fine anywhere
  for (auto& m : c) m.fresh = false;
  EXPECT_EQ(Spread(c, kSerializable).size(), 3u);  // nobody fresh: still served
}

TEST(MemberPickerTest, LocalZoneFirstThenFailover) {
  std::vector<PickCandidate> c(3);
  c[1].local_zone = true;
  c[1].load = 100;  // preferred even when busier
  for (uint64_t r = 0; r < 50; ++r) EXPECT_EQ(PickMember(c, kRead, {}, r), 1u);
  c[1].excluded = true;
  const auto seen = Spread(c, kRead);
  EXPECT_GT(seen.at(0), 0);
  EXPECT_GT(seen.at(2), 0);
}

TEST(MemberPickerTest, UnreachableOnlyWhenNothingElse) {
  std::vector<PickCandidate> c(3);
  c[0].reachable = false;
  c[1].reachable = false;
  for (uint64_t r = 0; r < 50; ++r) EXPECT_EQ(PickMember(c, kRead, {}, r), 2u);
  c[2].excluded = true;
  EXPECT_TRUE(PickMember(c, kRead, {}, 1));  // fails with the member's own error
}

}  // namespace
}  // namespace ehp
