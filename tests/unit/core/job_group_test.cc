// A JobGroup on a fake clock: its jobs run in time, Close drops the rest, and a handle posted to
// after Close (a probe's late answer) runs nothing.
#include "proxy/core/job_group.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <optional>

#include "proxy/core/thread_scheduler.h"
#include "tests/fakes/fake_scheduler.h"

namespace ehp {
namespace {

using std::chrono::milliseconds;
using testing::FakeScheduler;

TEST(JobGroupTest, RunsItsJobsWhenDue) {
  auto scheduler = std::make_shared<FakeScheduler>();
  JobGroup group(scheduler);
  int ran = 0;
  EXPECT_TRUE(group.After(milliseconds(100), [&] { ++ran; }));
  EXPECT_TRUE(group.Post([&] { ran += 10; }));
  scheduler->RunDue();
  EXPECT_EQ(ran, 10);
  scheduler->Advance(milliseconds(99));
  EXPECT_EQ(ran, 10);
  scheduler->Advance(milliseconds(1));
  EXPECT_EQ(ran, 11);
}

TEST(JobGroupTest, CloseDropsQueuedJobsAndRefusesNewOnesAlsoThroughAHandle) {
  auto scheduler = std::make_shared<FakeScheduler>();
  int ran = 0;
  std::optional<JobGroup::Handle> handle;
  {
    JobGroup group(scheduler);
    handle = group.handle();
    group.After(milliseconds(100), [&] { ++ran; });
    group.After(milliseconds(200), [&] { ++ran; });
    EXPECT_EQ(scheduler->pending(), 2u);
    group.Close();
    EXPECT_EQ(scheduler->pending(), 0u);
    EXPECT_FALSE(group.Post([&] { ++ran; }));
  }
  // The group is gone; its handle still answers, and runs nothing.
  EXPECT_FALSE(handle->Post([&] { ++ran; }));
  scheduler->Advance(std::chrono::seconds(1));
  EXPECT_EQ(ran, 0);
}

TEST(JobGroupTest, AJobMayScheduleTheNextOneAndClosingFromInsideItEndsTheChain) {
  auto scheduler = std::make_shared<FakeScheduler>();
  JobGroup group(scheduler);
  int ran = 0;
  std::function<void()> tick = [&] {
    if (++ran == 5) {
      group.Close();
      return;
    }
    group.After(milliseconds(10), tick);
  };
  group.Post(tick);
  scheduler->Advance(std::chrono::seconds(1));
  EXPECT_EQ(ran, 5);
  EXPECT_EQ(scheduler->pending(), 0u);
}

TEST(JobGroupTest, CloseOnTheRealSchedulerWaitsForTheRunningJob) {
  auto scheduler = std::make_shared<ThreadScheduler>();
  JobGroup group(scheduler);
  std::promise<void> started;
  std::atomic<bool> finished{false};
  group.Post([&] {
    started.set_value();
    std::this_thread::sleep_for(milliseconds(100));
    finished = true;
  });
  started.get_future().wait();
  group.Close();
  EXPECT_TRUE(finished) << "Close returned while the group's job still ran";
}

}  // namespace
}  // namespace ehp
