// The timer thread: jobs in time order, Cancel before and during a job.
#include "proxy/core/thread_scheduler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <vector>

namespace ehp {
namespace {

using std::chrono::milliseconds;

TEST(ThreadSchedulerTest, RunsJobsInTheOrderTheyAreDueNotAddedOnItsOwnThread) {
  ThreadScheduler scheduler;
  std::mutex mu;
  std::vector<int> order;
  std::promise<void> done;
  const auto now = scheduler.Now();
  const std::thread::id caller = std::this_thread::get_id();
  std::atomic<bool> elsewhere{true};
  scheduler.At(now + milliseconds(60), [&] {
    std::lock_guard lock(mu);
    order.push_back(3);
    done.set_value();
  });
  scheduler.At(now + milliseconds(20), [&] {
    std::lock_guard lock(mu);
    order.push_back(1);
    if (std::this_thread::get_id() == caller) elsewhere = false;
  });
  scheduler.At(now + milliseconds(20), [&] {
    std::lock_guard lock(mu);
    order.push_back(2);
  });
  ASSERT_EQ(done.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  std::lock_guard lock(mu);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  EXPECT_TRUE(elsewhere);
  EXPECT_GE(scheduler.Now() - now, milliseconds(60));
}

TEST(ThreadSchedulerTest, ACancelledJobNeverRuns) {
  ThreadScheduler scheduler;
  std::atomic<int> ran{0};
  const auto id = scheduler.At(scheduler.Now() + milliseconds(50), [&] { ++ran; });
  std::promise<void> later;
  scheduler.At(scheduler.Now() + milliseconds(100), [&] { later.set_value(); });
  scheduler.Cancel(id);
  ASSERT_EQ(later.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(ran.load(), 0);
}

TEST(ThreadSchedulerTest, CancelDuringTheJobWaitsForItToFinish) {
  ThreadScheduler scheduler;
  std::promise<void> started;
  std::atomic<bool> finished{false};
  const auto id = scheduler.At(scheduler.Now(), [&] {
    started.set_value();
    std::this_thread::sleep_for(milliseconds(100));
    finished = true;
  });
  started.get_future().wait();
  scheduler.Cancel(id);
  EXPECT_TRUE(finished) << "Cancel returned while the job still ran";
}

TEST(ThreadSchedulerTest, DestroyingItDropsJobsNotYetDue) {
  std::atomic<int> ran{0};
  {
    ThreadScheduler scheduler;
    scheduler.At(scheduler.Now() + std::chrono::hours(1), [&] { ++ran; });
  }
  EXPECT_EQ(ran.load(), 0);
}

}  // namespace
}  // namespace ehp
