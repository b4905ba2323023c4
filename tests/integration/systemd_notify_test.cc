// The binary under a stand-in for systemd: NOTIFY_SOCKET and WATCHDOG_USEC point at a socket
// the test owns, in front of a real 3-member cluster. Asserts what systemd would be told: ready
// only once the listener is bound and the first probe round is judged, status lines that follow
// an eviction, reloading then ready around SIGHUP, watchdog pings, stopping on SIGTERM.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include "tests/support/etcd_cluster.h"
#include "tests/support/notify_socket.h"
#include "tests/support/proxy_process.h"

namespace ehp::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

int CountWith(const std::vector<std::string>& messages, const std::string& fragment) {
  int n = 0;
  for (const auto& m : messages) n += m.find(fragment) != std::string::npos;
  return n;
}

std::string Joined(const std::vector<std::string>& messages) {
  std::string out;
  for (const auto& m : messages) out += "[" + m + "] ";
  return out;
}

// A fresh cluster and notification socket per test.
class SystemdNotifyTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(cluster.Start()); }
  void TearDown() override { RemoveTree(dir); }

  const std::string dir = MakeTempDir("ehp-sdnotify");
  const Certs certs = GenerateCerts(dir + "/certs");
  EtcdCluster cluster{dir, certs};
  NotifySocket notify{dir + "/notify.sock"};
};

TEST_F(SystemdNotifyTest, ReadyStatusReloadWatchdogStopping) {
  ProxyProcess proxy(dir, cluster.Endpoints(), certs, {"--probe-interval=100ms"},
                     {"NOTIFY_SOCKET=" + notify.path(), "WATCHDOG_USEC=1000000"});
  ASSERT_TRUE(proxy.process().running()) << proxy.log();

  // READY=1 comes first, after the listener is bound and a probe round is judged.
  const auto first = notify.Receive(milliseconds(10000));
  ASSERT_TRUE(first.has_value()) << proxy.log();
  EXPECT_EQ(first->rfind("READY=1\nSTATUS=3/3 members healthy, leader ", 0), 0u) << *first;
  EXPECT_NE(proxy.log().find("listening on"), std::string::npos);
  EXPECT_EQ(Etcdctl(proxy.url(), certs, {"put", "sd", "1"}).exit_code, 0);

  // Pings every half interval (500 ms) while the loops turn.
  std::vector<std::string> quiet;
  const auto end = std::chrono::steady_clock::now() + milliseconds(2200);
  while (std::chrono::steady_clock::now() < end) {
    if (auto m = notify.Receive(milliseconds(50))) quiet.push_back(*m);
  }
  EXPECT_GE(CountWith(quiet, "WATCHDOG=1"), 3) << Joined(quiet);
  EXPECT_LE(CountWith(quiet, "WATCHDOG=1"), 6) << Joined(quiet);
  EXPECT_EQ(CountWith(quiet, "STATUS="), 0) << "status is sent on change only: " << Joined(quiet);

  // A stopped member shows up in the status line.
  cluster.StopMember(0);
  bool found = false;
  auto messages = notify.ReceiveUntil("STATUS=2/3 members healthy (", milliseconds(10000), &found);
  ASSERT_TRUE(found) << Joined(messages);
  EXPECT_NE(messages.back().find("unreachable"), std::string::npos) << messages.back();
  cluster.StartMember(0);
  messages = notify.ReceiveUntil("STATUS=3/3 members healthy", milliseconds(20000), &found);
  EXPECT_TRUE(found) << Joined(messages);

  // SIGHUP: RELOADING=1, then READY=1 with the status.
  proxy.process().Signal(SIGHUP);
  messages = notify.ReceiveUntil("RELOADING=1", milliseconds(5000), &found);
  ASSERT_TRUE(found) << Joined(messages);
  messages = notify.ReceiveUntil("READY=1", milliseconds(10000), &found);
  ASSERT_TRUE(found) << Joined(messages);
  EXPECT_NE(messages.back().find("STATUS=3/3 members healthy"), std::string::npos)
      << messages.back();

  // SIGTERM: STOPPING=1, then a clean exit and no more pings.
  proxy.process().Signal(SIGTERM);
  messages = notify.ReceiveUntil("STOPPING=1", milliseconds(5000), &found);
  EXPECT_TRUE(found) << Joined(messages);
  const int status = proxy.process().Wait(milliseconds(15000));
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_FALSE(notify.Receive(milliseconds(300)).has_value());
}

// Scenario: a watchdog meant for another process (WATCHDOG_PID) is ignored: no pings.
TEST_F(SystemdNotifyTest, WatchdogForAnotherPidIsIgnored) {
  ProxyProcess proxy(dir, cluster.Endpoints(), certs, {},
                     {"NOTIFY_SOCKET=" + notify.path(), "WATCHDOG_USEC=200000",
                      "WATCHDOG_PID=" + std::to_string(getpid())});
  const auto first = notify.Receive(milliseconds(10000));
  ASSERT_TRUE(first.has_value()) << proxy.log();
  EXPECT_EQ(first->rfind("READY=1", 0), 0u);
  EXPECT_FALSE(notify.Receive(milliseconds(1000)).has_value());
  proxy.process().Stop();
}

}  // namespace
}  // namespace ehp::testing
