// Cancelling member calls: at once when the call is old enough, later when it just started.
#include "proxy/upstream/cancel_queue.h"

#include <gtest/gtest.h>

#include <thread>

namespace ehp {
namespace {

using std::chrono::milliseconds;

// The queue's thread drops its reference just after the cancel: wait for it.
bool WaitUntilReleased(const std::shared_ptr<grpc::ClientContext>& call) {
  for (int i = 0; i < 300 && call.use_count() > 1; ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  return call.use_count() == 1;
}

TEST(CancelQueueTest, OldCallIsCancelledAtOnce) {
  CancelQueue q;
  auto call = std::make_shared<grpc::ClientContext>();
  q.Cancel(call, CancelQueue::Clock::now() - CancelQueue::kMinAge - milliseconds(1));
  EXPECT_EQ(q.waiting(), 0u);
  EXPECT_EQ(call.use_count(), 1) << "the queue kept a call it had cancelled";
}

TEST(CancelQueueTest, YoungCallWaitsUntilItIsOldEnough) {
  CancelQueue q;
  auto call = std::make_shared<grpc::ClientContext>();
  const auto started = CancelQueue::Clock::now();
  q.Cancel(call, started);
  EXPECT_EQ(q.waiting(), 1u);
  EXPECT_EQ(call.use_count(), 2) << "the queue keeps the context alive until it cancels";
  ASSERT_TRUE(WaitUntilReleased(call));
  EXPECT_GE(CancelQueue::Clock::now() - started, CancelQueue::kMinAge);
  EXPECT_EQ(q.waiting(), 0u);
}

TEST(CancelQueueTest, EarliestFirstAndDestructionCancelsTheRest) {
  auto late = std::make_shared<grpc::ClientContext>();
  auto early = std::make_shared<grpc::ClientContext>();
  {
    CancelQueue q;
    const auto now = CancelQueue::Clock::now();
    q.Cancel(late, now + std::chrono::seconds(30));
    q.Cancel(early, now - CancelQueue::kMinAge + milliseconds(20));
    EXPECT_EQ(q.waiting(), 2u);
    EXPECT_TRUE(WaitUntilReleased(early));
    EXPECT_EQ(q.waiting(), 1u) << "the earlier one is due first";
    EXPECT_EQ(late.use_count(), 2);
  }
  EXPECT_EQ(late.use_count(), 1) << "destroying the queue cancels and releases what waits";
}

}  // namespace
}  // namespace ehp
