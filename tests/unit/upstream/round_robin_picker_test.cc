#include "proxy/upstream/round_robin_picker.h"

#include <gtest/gtest.h>

#include <vector>

namespace ehp {
namespace {

// Scenario: successive cursors rotate over all reachable members.
TEST(RoundRobinPickerTest, RotatesOverReachable) {
  std::vector<PickCandidate> c(3);
  EXPECT_EQ(PickRoundRobin(c, 0), 0u);
  EXPECT_EQ(PickRoundRobin(c, 1), 1u);
  EXPECT_EQ(PickRoundRobin(c, 2), 2u);
  EXPECT_EQ(PickRoundRobin(c, 3), 0u);
}

// Scenario: an unreachable member is skipped; its turn goes to the next one.
TEST(RoundRobinPickerTest, SkipsUnreachable) {
  std::vector<PickCandidate> c(3);
  c[1].reachable = false;
  EXPECT_EQ(PickRoundRobin(c, 1), 2u);
  EXPECT_EQ(PickRoundRobin(c, 0), 0u);
}

// Scenario: members already tried by this call are never picked again.
TEST(RoundRobinPickerTest, SkipsExcluded) {
  std::vector<PickCandidate> c(3);
  c[0].excluded = true;
  c[2].excluded = true;
  for (uint64_t cursor = 0; cursor < 6; ++cursor) EXPECT_EQ(PickRoundRobin(c, cursor), 1u);
  c[1].excluded = true;
  EXPECT_FALSE(PickRoundRobin(c, 0));
}

// Scenario: when nothing is reachable, a member not yet tried is still returned, so the call
// fails with that member's own error.
TEST(RoundRobinPickerTest, FallsBackWhenNothingReachable) {
  std::vector<PickCandidate> c(2);
  c[0].reachable = false;
  c[1].reachable = false;
  EXPECT_EQ(PickRoundRobin(c, 1), 1u);
  c[1].excluded = true;
  EXPECT_EQ(PickRoundRobin(c, 1), 0u);
  EXPECT_FALSE(PickRoundRobin(std::vector<PickCandidate>{}, 0));
}

}  // namespace
}  // namespace ehp
