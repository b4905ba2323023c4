// Lag in time from the probes' indexes over rounds, with an injected clock: when the quorum
// first had committed what a member has not applied, the read lag against the others' median,
// whether a member is still applying, the horizon, and a cluster that starts over.
#include "proxy/health/lag_clock.h"

#include <gtest/gtest.h>

namespace ehp {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

ProbeResult Member(uint64_t commit, uint64_t applied, milliseconds read = milliseconds(2)) {
  ProbeResult r;
  r.member_id = 1;
  r.leader = 1;
  r.raft_term = 2;
  r.raft_index = commit;
  r.applied_index = applied;
  r.read_latency = read;
  return r;
}

class LagClockTest : public ::testing::Test {
 protected:
  // One probe round, 100 ms after the last.
  std::vector<MemberLag> Round(std::vector<ProbeResult> results) {
    now_ += milliseconds(100);
    return clock_.Observe(results, now_);
  }
  LagClock::TimePoint now_{};
  LagClock clock_;
};

// Scenario: every member applies what the leader has committed: no lag, whatever the indexes.
TEST_F(LagClockTest, InStepMembersAreNotLate) {
  for (uint64_t i = 1; i <= 20; ++i) {
    const auto lags =
        Round({Member(i * 10, i * 10), Member(i * 10, i * 10 - 1), Member(i * 10 - 2, i * 10 - 3)});
    for (const MemberLag& lag : lags) {
      EXPECT_TRUE(lag.known);
      EXPECT_EQ(lag.total(), microseconds(0));
    }
  }
  EXPECT_EQ(clock_.committed(), 200u);
}

// Scenario: the leader commits 10 entries a round while one follower stops applying at 50: its
// lag is the time since the quorum first had entry 51 committed, growing by a round each round.
TEST_F(LagClockTest, LagIsTimeSinceTheNextEntryWasCommitted) {
  uint64_t commit = 0;
  for (int round = 0; round < 5; ++round) {
    commit += 10;
    Round({Member(commit, commit), Member(commit, commit)});
  }
  ASSERT_EQ(commit, 50u);
  const LagClock::TimePoint committed_51 = now_ + milliseconds(100);  // the next round
  for (int round = 0; round < 12; ++round) {
    commit += 10;
    const auto lags = Round({Member(commit, commit), Member(commit, 50)});
    EXPECT_EQ(lags[0].apply, microseconds(0));
    EXPECT_EQ(lags[1].apply, now_ - committed_51) << "round " << round;
  }
  EXPECT_EQ(Round({Member(commit + 10, commit + 10), Member(commit, 50)})[1].apply,
            milliseconds(1200));
  // It catches up to the entries of 2 rounds ago: 200 ms late; then in step again.
  const auto partly = Round({Member(commit + 20, commit + 20), Member(commit, commit - 10)});
  EXPECT_EQ(partly[1].apply, milliseconds(200));
  EXPECT_EQ(Round({Member(commit + 30, commit + 30), Member(commit + 30, commit + 30)})[1].total(),
            microseconds(0));
}

// Scenario: a follower's Status shows a commit index it learnt late; the highest any member
// answered with is the quorum's, and a member that does not answer keeps the timeline.
TEST_F(LagClockTest, HighestCommitIndexOfAnyMemberCounts) {
  Round({Member(100, 100), Member(90, 90)});
  ProbeResult down;
  down.status = ProbeResult::Status::kUnreachable;
  const auto lags = Round({down, Member(95, 95)});
  EXPECT_FALSE(lags[0].known);
  EXPECT_TRUE(lags[1].known);
  EXPECT_EQ(lags[1].apply, milliseconds(100));  // 96 committed a round ago (100 seen then)
  EXPECT_EQ(clock_.committed(), 100u);
  ASSERT_TRUE(clock_.FirstCommitted(96).has_value());
  EXPECT_FALSE(clock_.FirstCommitted(101).has_value());
}

// Scenario: read lag is a member's probe read beyond the median of the others' successful
// reads; a read that timed out counts with the time it had; a failed one does not count.
TEST_F(LagClockTest, ReadLagAgainstTheOthersMedian) {
  auto slow = Member(10, 10, milliseconds(120));
  auto timed_out = Member(10, 10, milliseconds(150));
  timed_out.read = ProbeResult::Read::kTimeout;
  auto failed = Member(10, 10, milliseconds(400));
  failed.read = ProbeResult::Read::kFailed;
  const auto lags = Round({Member(10, 10, milliseconds(2)), Member(10, 10, milliseconds(4)),
                           Member(10, 10, milliseconds(3)), slow, timed_out, failed});
  EXPECT_EQ(lags[0].read, microseconds(0));
  EXPECT_EQ(lags[1].read, milliseconds(1));    // others: 2, 3, 120 -> 3
  EXPECT_EQ(lags[3].read, milliseconds(117));  // others: 2, 3, 4 -> 3
  EXPECT_EQ(lags[4].read, milliseconds(146));  // others: 2, 3, 4, 120 -> 4 (upper median)
  EXPECT_EQ(lags[5].read, microseconds(0));
  EXPECT_EQ(lags[3].total(), milliseconds(117));  // the larger of apply and read lag
  // Alone, a member has nobody to be slower than.
  EXPECT_EQ(Round({Member(10, 10, milliseconds(90))})[0].read, microseconds(0));
}

// Scenario: "applying" says whether the applied index moved since the previous round (a member
// cut off from its peers stops at once); the first answer is only where progress is measured
// from.
TEST_F(LagClockTest, ApplyingMeansTheAppliedIndexMoved) {
  EXPECT_FALSE(Round({Member(10, 10)})[0].applying);
  EXPECT_TRUE(Round({Member(11, 11)})[0].applying);
  EXPECT_FALSE(Round({Member(12, 11)})[0].applying);
  EXPECT_TRUE(Round({Member(13, 13)})[0].applying);
  ProbeResult down;
  down.status = ProbeResult::Status::kTimeout;
  EXPECT_FALSE(Round({down})[0].applying);
  EXPECT_TRUE(Round({Member(15, 15)})[0].applying);
  EXPECT_FALSE(Round({Member(16, 15)})[0].applying);
}

// Scenario: the timeline keeps points within the horizon; a member behind all of it is late by
// at least the age of the oldest point.
TEST_F(LagClockTest, HorizonBoundsTheTimeline) {
  LagClock short_clock(milliseconds(1000));
  LagClock::TimePoint t{};
  uint64_t commit = 0;
  std::vector<MemberLag> lags;
  for (int round = 0; round < 50; ++round) {
    t += milliseconds(100);
    commit += 5;
    lags =
        short_clock.Observe(std::vector<ProbeResult>{Member(commit, commit), Member(commit, 3)}, t);
  }
  EXPECT_LE(short_clock.points(), 11u);
  EXPECT_EQ(lags[1].apply, milliseconds(1000));
}

// Scenario: every member answers with a lower commit index than seen before (a new cluster
// behind the same endpoints, a restore): the timeline starts over instead of calling them late.
TEST_F(LagClockTest, LowerCommitFromEveryMemberStartsOver) {
  for (int round = 0; round < 20; ++round) Round({Member(1000, 1000), Member(1000, 1000)});
  const auto lags = Round({Member(20, 20), Member(20, 18)});
  EXPECT_EQ(clock_.committed(), 20u);
  EXPECT_EQ(lags[1].apply, microseconds(0));
  // One member's lower index alone (the others did not answer) is not a new cluster.
  for (int round = 0; round < 3; ++round) Round({Member(30 + round, 30 + round)});
  ProbeResult down;
  down.status = ProbeResult::Status::kUnreachable;
  Round({Member(10, 10), down});
  EXPECT_EQ(clock_.committed(), 32u);
}

// Scenario: the store revisions the members report (Status header, the probe read's header)
// build the revision timeline: each newer revision is first seen in the round that saw it; a
// round without a newer one publishes no new timeline.
TEST_F(LagClockTest, RevisionTimelineFromTheProbes) {
  auto at = [](int64_t status, int64_t read) {
    ProbeResult r = Member(10, 10);
    r.revision = status;
    r.read_revision = read;
    return r;
  };
  Round({at(100, 101), at(99, 0)});
  const LagClock::TimePoint first = now_;
  const auto timeline = clock_.revisions();
  EXPECT_EQ(timeline->newest(), 101);
  Round({at(101, 101), at(101, 0)});
  EXPECT_EQ(clock_.revisions(), timeline);  // nothing newer: the same snapshot
  Round({at(105, 0), at(101, 0)});
  EXPECT_EQ(clock_.revisions()->newest(), 105);
  EXPECT_EQ(clock_.revisions()->FirstSeen(101), first);
  EXPECT_EQ(clock_.revisions()->FirstSeen(102), now_);  // seen first as part of 105
  EXPECT_EQ(clock_.revisions()->FirstSeen(106), std::nullopt);
  EXPECT_EQ(clock_.revisions()->Age(102, now_ + milliseconds(700)), milliseconds(700));
  EXPECT_EQ(clock_.revisions()->Age(106, now_ + milliseconds(700)), microseconds(0));
}

// Scenario: a lower revision from some members (the newest did not answer) changes nothing;
// from every member at once (a restored cluster) the timeline starts over.
TEST_F(LagClockTest, LowerRevisionStartsOverOnlyFromEveryMember) {
  auto at = [](int64_t revision, bool answered = true) {
    ProbeResult r = Member(10, 10);
    r.revision = revision;
    if (!answered) r.status = ProbeResult::Status::kTimeout;
    return r;
  };
  Round({at(500), at(500)});
  Round({at(400), at(0, false)});
  EXPECT_EQ(clock_.revisions()->newest(), 500);
  Round({at(400), at(400)});
  EXPECT_EQ(clock_.revisions()->newest(), 400);
  EXPECT_EQ(clock_.revisions()->points().size(), 1u);
}

// Scenario: a revision every round for longer than the timeline keeps: the oldest points go,
// and a revision older than all of them counts from the oldest (a lower bound).
TEST_F(LagClockTest, RevisionTimelineIsBounded) {
  for (int64_t i = 1; i <= static_cast<int64_t>(LagClock::kRevisionPoints) + 50; ++i) {
    ProbeResult r = Member(10, 10);
    r.revision = i;
    Round({r});
  }
  const auto timeline = clock_.revisions();
  EXPECT_EQ(timeline->points().size(), LagClock::kRevisionPoints);
  EXPECT_EQ(timeline->FirstSeen(1), timeline->points().front().first_seen);
}

// Scenario: the data path measured a watch delivery delay on one member only: it is that
// member's watch lag and counts in its total; a member with none measured has none.
TEST_F(LagClockTest, WatchDelayCountsInTheLag) {
  now_ += milliseconds(100);
  const std::vector<std::optional<microseconds>> delays = {milliseconds(1500), std::nullopt};
  const auto lags = clock_.Observe(std::vector{Member(10, 10), Member(10, 10)}, now_, delays);
  EXPECT_EQ(lags[0].watch, milliseconds(1500));
  EXPECT_EQ(lags[0].total(), milliseconds(1500));
  EXPECT_EQ(lags[1].watch, microseconds(0));
  EXPECT_EQ(lags[1].total(), microseconds(0));
}

// Scenario: watches on every member were delivered late by about the same (the proxy's own
// threads behind): nobody lags; one member 1.2 s later than the least delayed other does.
TEST_F(LagClockTest, WatchDelayIsBeyondTheOtherMembers) {
  now_ += milliseconds(100);
  const std::vector<std::optional<microseconds>> delays = {milliseconds(1500), milliseconds(1400),
                                                           milliseconds(2700)};
  const auto lags =
      clock_.Observe(std::vector{Member(10, 10), Member(10, 10), Member(10, 10)}, now_, delays);
  EXPECT_EQ(lags[0].watch, milliseconds(100));
  EXPECT_EQ(lags[1].watch, microseconds(0));
  EXPECT_EQ(lags[2].watch, milliseconds(1300));
}

// Scenario: a watch lag lasts one round; the recent figure keeps the largest for kWatchRecent,
// then follows what the rounds measure again.
TEST_F(LagClockTest, RecentWatchLagIsHeld) {
  const std::vector<std::optional<microseconds>> late = {milliseconds(900)};
  now_ += milliseconds(100);
  auto lags = clock_.Observe(std::vector{Member(10, 10)}, now_, late);
  EXPECT_EQ(lags[0].watch_recent, milliseconds(900));
  lags = Round({Member(10, 10)});
  EXPECT_EQ(lags[0].watch, microseconds(0));
  EXPECT_EQ(lags[0].watch_recent, milliseconds(900));
  now_ += LagClock::kWatchRecent;
  lags = Round({Member(10, 10)});
  EXPECT_EQ(lags[0].watch_recent, microseconds(0));
}

}  // namespace
}  // namespace ehp
