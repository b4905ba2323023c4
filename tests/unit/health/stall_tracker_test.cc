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
  q.reads_majority = !stalled && q.has_leader;
  q.leader_read_ok = q.reads_majority;
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

TEST(StallTrackerTest, AnElectionAfterTheStallKeepsHolding) {
  StallTracker t(milliseconds(3000));
  auto now = StallTracker::TimePoint() + std::chrono::hours(1);
  EXPECT_TRUE(t.Observe(Q(true), now));
  EXPECT_TRUE(t.Observe(Q(false, 0, 0), now += milliseconds(500)));  // election: no leader
  EXPECT_TRUE(t.Observe(Q(false, 0, 0), now += milliseconds(500)));
  EXPECT_FALSE(t.Observe(Q(false, 2, 6), now += milliseconds(100)));  // new leader, reads work
  // Without a stall before it, an election alone does not hold (the members say no leader).
  EXPECT_FALSE(t.Observe(Q(false, 0, 0), now += milliseconds(100)));
  // Bounded like any stall.
  EXPECT_TRUE(t.Observe(Q(true, 2, 6), now += milliseconds(100)));
  EXPECT_FALSE(t.Observe(Q(false, 0, 0), now += milliseconds(3000)));
}

// Scenario: the majority still names the cut-off leader but one member's read works (it follows
// a newly elected leader the others do not know yet): keep holding.
TEST(StallTrackerTest, OneWorkingReadUnderTheOldLeaderIsNotTheEnd) {
  StallTracker t(milliseconds(3000));
  auto now = StallTracker::TimePoint() + std::chrono::hours(1);
  EXPECT_TRUE(t.Observe(Q(true), now));
  QuorumView one_read = Q(false);
  one_read.reads_ok = 1;
  one_read.reads_majority = false;
  EXPECT_TRUE(t.Observe(one_read, now += milliseconds(100)));
  // Reads on a majority, but not on the named leader: the followers' Status answers lag, their
  // reads go through a new leader.
  QuorumView lagging = Q(false);
  lagging.leader_read_ok = false;
  EXPECT_TRUE(t.Observe(lagging, now += milliseconds(100)));
  EXPECT_FALSE(t.Observe(Q(false), now += milliseconds(100)));  // the leader's read works too
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
