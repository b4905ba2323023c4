// ServiceNotifier against a real datagram socket: the messages systemd would get, and the
// watchdog that stops pinging while a loop is stuck and resumes when it turns again. Its jobs
// run on a fake clock: each test says how much time passes and counts what was sent in it.
#include "proxy/service/service_notifier.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>

#include "tests/fakes/fake_scheduler.h"
#include "tests/support/notify_socket.h"
#include "tests/support/process.h"

namespace ehp::testing {
namespace {

using std::chrono::milliseconds;

class ServiceNotifierTest : public ::testing::Test {
 protected:
  // No other thread runs in this binary yet, so changing the environment is safe here.
  void SetUp() override {
    dir_ = MakeTempDir("ehp-notify");
    socket_ = std::make_unique<NotifySocket>(dir_ + "/notify.sock");
    setenv("NOTIFY_SOCKET", socket_->path().c_str(), 1);
    setenv("WATCHDOG_USEC", "200000", 1);  // pings every 100 ms
    unsetenv("WATCHDOG_PID");
  }
  void TearDown() override {
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    socket_.reset();
    RemoveTree(dir_);
  }
  // The messages that arrive within `window`.
  std::vector<std::string> Drain(milliseconds window) {
    std::vector<std::string> out;
    const auto end = std::chrono::steady_clock::now() + window;
    while (std::chrono::steady_clock::now() < end) {
      if (auto m = socket_->Receive(milliseconds(20))) out.push_back(*m);
    }
    return out;
  }
  static int Count(const std::vector<std::string>& messages, const std::string& fragment) {
    int n = 0;
    for (const auto& m : messages) n += m.find(fragment) != std::string::npos;
    return n;
  }

  // What was sent so far (datagrams on a local socket arrive before send returns).
  std::vector<std::string> Sent() { return Drain(milliseconds(100)); }

  std::string dir_;
  std::unique_ptr<NotifySocket> socket_;
  std::shared_ptr<FakeScheduler> scheduler_ = std::make_shared<FakeScheduler>();
};

// Scenario: ready with status; a status change is sent once; reload and stop are announced.
TEST_F(ServiceNotifierTest, LifecycleMessages) {
  std::atomic<int> healthy{3};
  ServiceNotifier notifier([&] { return std::to_string(healthy.load()) + "/3 members healthy"; },
                           [](std::string*) { return true; }, scheduler_);
  EXPECT_TRUE(notifier.connected());
  EXPECT_EQ(notifier.watchdog_interval().count(), 200000);
  notifier.Ready();
  auto first = socket_->Receive(milliseconds(1000));
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(*first, "READY=1\nSTATUS=3/3 members healthy");

  healthy = 2;
  scheduler_->Advance(milliseconds(50));
  EXPECT_EQ(Count(Sent(), "STATUS=2/3 members healthy"), 1);
  // Sent on change only.
  scheduler_->Advance(milliseconds(1000));
  EXPECT_EQ(Count(Sent(), "STATUS="), 0);

  notifier.Reloading();
  bool found = false;
  auto messages = socket_->ReceiveUntil("RELOADING=1", milliseconds(1000), &found);
  ASSERT_TRUE(found);
  EXPECT_NE(messages.back().find("MONOTONIC_USEC="), std::string::npos) << messages.back();
  notifier.Reloaded();
  socket_->ReceiveUntil("READY=1\nSTATUS=2/3 members healthy", milliseconds(1000), &found);
  EXPECT_TRUE(found);

  notifier.Stopping();
  socket_->ReceiveUntil("STOPPING=1", milliseconds(1000), &found);
  EXPECT_TRUE(found);
  // The pings are over.
  EXPECT_EQ(scheduler_->pending(), 0u);
  scheduler_->Advance(milliseconds(1000));
  EXPECT_EQ(Count(Sent(), "WATCHDOG=1"), 0);
}

// Scenario: pings every half interval while alive; none while a loop is stuck; again after.
TEST_F(ServiceNotifierTest, WatchdogPingsOnlyWhileAlive) {
  std::atomic<bool> alive{true};
  ServiceNotifier notifier([] { return std::string("ok"); },
                           [&](std::string* why) {
                             *why = "health-loop stuck (test)";
                             return alive.load();
                           },
                           scheduler_);
  notifier.Ready();
  Sent();
  // One ping at once, then one every 100 ms (half of WATCHDOG_USEC).
  scheduler_->Advance(milliseconds(1000));
  EXPECT_EQ(Count(Sent(), "WATCHDOG=1"), 11);

  alive = false;
  scheduler_->Advance(milliseconds(1000));
  EXPECT_EQ(Count(Sent(), "WATCHDOG=1"), 0);

  alive = true;
  scheduler_->Advance(milliseconds(1000));
  EXPECT_EQ(Count(Sent(), "WATCHDOG=1"), 10);
  notifier.Stopping();
}

// Scenario: without NOTIFY_SOCKET nothing is sent, nothing is scheduled and nothing fails.
TEST_F(ServiceNotifierTest, SilentWithoutNotifySocket) {
  unsetenv("NOTIFY_SOCKET");
  ServiceNotifier notifier([] { return std::string("ok"); }, [](std::string*) { return true; },
                           scheduler_);
  EXPECT_FALSE(notifier.connected());
  notifier.Ready();
  EXPECT_EQ(scheduler_->pending(), 0u);
  notifier.Reloading();
  notifier.Reloaded();
  notifier.Stopping();
  EXPECT_FALSE(socket_->Receive(milliseconds(300)).has_value());
}

}  // namespace
}  // namespace ehp::testing
