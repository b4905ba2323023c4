// When a stalled quorum holds calls: from the first stalled round, never longer than max_hold
// for one stall with the same leader and term.
#include "proxy/health/stall_tracker.h"

#include <gtest/gtest.h>

namespace ehp {
namespace {

using std::chrono::milliseconds;

QuorumView Q(bool stalled, uint64_t leader = 1, uint64_t term = 5) {
  QuorumView q;
  q.has_leader = leader != 0;
  q.leader = leader;
  q.term = term;
  q.stalled = stalled;
  return q;
}

TEST(StallTrackerTest, HoldsFromTheFirstStalledRoundUntilItPasses) {
  StallTracker t(milliseconds(3000));
  auto now = StallTracker::TimePoint() + std::chrono::hours(1);
  EXPECT_FALSE(t.Observe(Q(false), now));
  EXPECT_TRUE(t.Observe(Q(true), now += milliseconds(100)));
  EXPECT_TRUE(t.Observe(Q(true), now += milliseconds(100)));
  // The others elected a new leader and reads work again.
  EXPECT_FALSE(t.Observe(Q(false, 2, 6), now += milliseconds(100)));
}

TEST(StallTrackerTest, AStallThatOutlastsMaxHoldIsOverloadAndStopsHolding) {
  StallTracker t(milliseconds(1000));
  auto now = StallTracker::TimePoint() + std::chrono::hours(1);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(t.Observe(Q(true), now += milliseconds(100)));
  EXPECT_FALSE(t.Observe(Q(true), now += milliseconds(100)));  // 1 s: same leader and term
  EXPECT_FALSE(t.Observe(Q(true), now += milliseconds(5000)));
  // It ends; a later stall holds again.
  EXPECT_FALSE(t.Observe(Q(false), now += milliseconds(100)));
  EXPECT_TRUE(t.Observe(Q(true), now += milliseconds(100)));
}

TEST(StallTrackerTest, ANewLeaderOrTermStartsANewStall) {
  StallTracker t(milliseconds(1000));
  auto now = StallTracker::TimePoint() + std::chrono::hours(1);
  EXPECT_TRUE(t.Observe(Q(true, 1, 5), now));
  EXPECT_FALSE(t.Observe(Q(true, 1, 5), now += milliseconds(1500)));
  EXPECT_TRUE(t.Observe(Q(true, 2, 6), now += milliseconds(100)));
}

}  // namespace
}  // namespace ehp
