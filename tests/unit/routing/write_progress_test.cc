// When writes on a member count as stuck: in flight, and nothing has shown progress for a while.
#include "proxy/routing/write_progress.h"

#include <gtest/gtest.h>

namespace ehp {
namespace {

using std::chrono::milliseconds;
constexpr milliseconds kAfter{100};
const WriteProgress::Clock::time_point t0 =
    WriteProgress::Clock::time_point() + std::chrono::hours(1);

TEST(WriteProgressTest, IdleMemberIsNeverStuck) {
  WriteProgress p;
  EXPECT_FALSE(p.Stuck(t0, kAfter));
  EXPECT_FALSE(p.Stuck(t0 + std::chrono::hours(1), kAfter));
}

TEST(WriteProgressTest, UnansweredWriteMakesItStuckAfterTheDelay) {
  WriteProgress p;
  p.Begin(t0);
  EXPECT_FALSE(p.Stuck(t0 + milliseconds(100), kAfter));
  EXPECT_TRUE(p.Stuck(t0 + milliseconds(101), kAfter));
  // More writes sent later do not restart the clock: they are stuck behind the first.
  p.Begin(t0 + milliseconds(90));
  EXPECT_TRUE(p.Stuck(t0 + milliseconds(150), kAfter));
  EXPECT_EQ(p.in_flight(), 2);
}

TEST(WriteProgressTest, AnAnswerIsProgressAFailureIsNot) {
  WriteProgress p;
  p.Begin(t0);
  p.Begin(t0 + milliseconds(10));
  p.End(t0 + milliseconds(80), /*answered=*/false);  // e.g. a timeout: no progress
  EXPECT_TRUE(p.Stuck(t0 + milliseconds(120), kAfter));
  p.Begin(t0 + milliseconds(120));
  p.End(t0 + milliseconds(130), /*answered=*/true);
  EXPECT_FALSE(p.Stuck(t0 + milliseconds(200), kAfter));
  EXPECT_TRUE(p.Stuck(t0 + milliseconds(231), kAfter));
  // Once nothing is in flight it is not stuck, however long ago the last answer was.
  p.End(t0 + milliseconds(300), false);
  EXPECT_EQ(p.in_flight(), 0);
  EXPECT_FALSE(p.Stuck(t0 + milliseconds(400), kAfter));
  // The next write starts a new clock.
  p.Begin(t0 + milliseconds(1000));
  EXPECT_FALSE(p.Stuck(t0 + milliseconds(1050), kAfter));
  EXPECT_TRUE(p.Stuck(t0 + milliseconds(1101), kAfter));
}

TEST(WriteProgressTest, ProbeConfirmationCountsOnlyFromItsStart) {
  WriteProgress p;
  p.Begin(t0);
  // A probe that started before the write says nothing about it.
  p.Confirmed(t0 - milliseconds(50));
  EXPECT_TRUE(p.Stuck(t0 + milliseconds(150), kAfter));
  // One that started later proves the member still reaches its quorum.
  p.Confirmed(t0 + milliseconds(140));
  EXPECT_FALSE(p.Stuck(t0 + milliseconds(200), kAfter));
  EXPECT_TRUE(p.Stuck(t0 + milliseconds(241), kAfter));
}

TEST(WriteProgressTest, StatusesThatMeanTheMemberDecided) {
  EXPECT_TRUE(AnsweredByQuorum(grpc::StatusCode::OK));
  EXPECT_TRUE(AnsweredByQuorum(grpc::StatusCode::FAILED_PRECONDITION));
  EXPECT_TRUE(AnsweredByQuorum(grpc::StatusCode::NOT_FOUND));
  EXPECT_TRUE(AnsweredByQuorum(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_FALSE(AnsweredByQuorum(grpc::StatusCode::UNAVAILABLE));
  EXPECT_FALSE(AnsweredByQuorum(grpc::StatusCode::DEADLINE_EXCEEDED));
  EXPECT_FALSE(AnsweredByQuorum(grpc::StatusCode::CANCELLED));
  EXPECT_FALSE(AnsweredByQuorum(grpc::StatusCode::UNKNOWN));
  EXPECT_FALSE(AnsweredByQuorum(grpc::StatusCode::RESOURCE_EXHAUSTED));
}

}  // namespace
}  // namespace ehp
