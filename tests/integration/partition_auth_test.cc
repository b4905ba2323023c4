// A member cut off from its peers while the proxy still reaches it, with etcd auth enabled
// (network namespaces, chaos/topology.sh; CTest runs it on the newest etcd 3.5, which answers
// Maintenance.Status only to a user with the root role). Without a probe identity the cut
// member is still found by its linearizable probe read; with --probe-user the judgement is the
// full one, leader included. Needs root; skipped otherwise.
#include <gtest/gtest.h>

#include <iostream>
#include <thread>

#include "tests/support/eventually.h"
#include "tests/support/netns_cluster.h"
#include "tests/support/proxy_fixture.h"
#include "tests/support/proxy_process.h"

namespace ehp::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

class PartitionAuthTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!NetnsCluster::Available()) return;
    cluster_ = new NetnsCluster("pa", 3);
    std::string output;
    ASSERT_TRUE(cluster_->Up(&output)) << output;
    for (const std::vector<std::string>& args :
         std::vector<std::vector<std::string>>{{"user", "add", "root:rootpw"},
                                               {"user", "grant-role", "root", "root"},
                                               {"user", "add", "probe:probepw"},
                                               {"user", "grant-role", "probe", "root"},
                                               {"auth", "enable"}}) {
      const CommandResult r = Etcdctl(cluster_->ClientUrl(0), cluster_->certs(), args);
      ASSERT_EQ(r.exit_code, 0) << r.output;
    }
    WriteFile(cluster_->dir() + "/probe-password", "probepw\n");
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  void SetUp() override {
    if (cluster_ == nullptr) GTEST_SKIP() << "needs root and network namespaces";
  }
  void TearDown() override {
    proxy_.reset();
    if (cluster_ != nullptr) {
      for (int i = 0; i < 3; ++i) cluster_->Heal(i);
    }
  }

  void StartProxyWith(const std::vector<std::string>& flags) {
    Config config = ProxyConfig(cluster_->endpoints(), cluster_->certs(), flags);
    config.log_level = "info";
    proxy_ = StartProxy(config);
    ASSERT_NE(proxy_, nullptr);
  }
  template <typename Pred>
  bool WaitFor(Pred pred, milliseconds timeout) {
    return Eventually([&] { return pred(proxy_->health().Snapshot()); }, timeout, milliseconds(5));
  }
  static bool AllHealthy(const HealthChecker::View& v) {
    for (const auto& m : v.members) {
      if (m.state != HealthState::kHealthy) return false;
    }
    return v.rounds > 0;
  }
  // Cuts member i from its peers: evicted within 3 s (etcd itself needs 1-2 s to notice);
  // healed: every member takes calls again. Returns the eviction reason.
  UnhealthyReason CutIsEvictedAndHealIsReadmitted(int i) {
    const auto cut = Clock::now();
    EXPECT_TRUE(cluster_->Cut(i));
    UnhealthyReason reason = UnhealthyReason::kNone;
    EXPECT_TRUE(WaitFor(
        [&](const HealthChecker::View& v) {
          reason = v.members[i].reason;
          return v.members[i].state == HealthState::kEvicted;
        },
        seconds(3)))
        << "the cut member " << i << " was not evicted within 3 s";
    std::cout << "member " << i << " evicted after "
              << std::chrono::duration_cast<milliseconds>(Clock::now() - cut).count() << " ms ("
              << ToString(reason) << ")\n";
    EXPECT_TRUE(cluster_->Heal(i));
    EXPECT_TRUE(WaitFor(AllHealthy, seconds(30))) << "not readmitted after the heal";
    return reason;
  }
  void ExpectCallsWork() {
    const std::string url = "https://" + proxy_->Address();
    const CommandResult put =
        Etcdctl(url, cluster_->certs(), {"--user=root:rootpw", "put", "cut/k", "v"});
    EXPECT_EQ(put.output, "OK\n") << put.output;
    const CommandResult get = Etcdctl(url, cluster_->certs(),
                                      {"--user=root:rootpw", "get", "cut/k", "--print-value-only"});
    EXPECT_EQ(get.output, "v\n") << get.output;
  }

  static NetnsCluster* cluster_;
  std::unique_ptr<ProxyServer> proxy_;
};

NetnsCluster* PartitionAuthTest::cluster_ = nullptr;

// Scenario: no probe identity, Status refused where etcd needs root for it: a cut member (a
// follower or the leader: the proxy cannot tell them apart now) is evicted, never for auth: its
// read fails while the others' work (after an election if it led), or its hasleader read is
// refused. Readmitted after the heal.
TEST_F(PartitionAuthTest, CutMemberEvictedWithoutProbeIdentity) {
  StartProxyWith({});
  ASSERT_TRUE(WaitFor(AllHealthy, seconds(10)));
  ExpectCallsWork();
  const UnhealthyReason reason = CutIsEvictedAndHealIsReadmitted(1);
  EXPECT_TRUE(reason == UnhealthyReason::kPartitioned || reason == UnhealthyReason::kNoLeader)
      << ToString(reason);
  ExpectCallsWork();
}

// Scenario: --probe-user with the root role: the leader is known; a cut follower and then the
// cut leader are evicted, a new leader is named, and all are readmitted after the heals.
TEST_F(PartitionAuthTest, CutFollowerAndLeaderWithProbeUser) {
  StartProxyWith(
      {"--probe-user=probe", "--probe-password-file=" + cluster_->dir() + "/probe-password"});
  const auto leader_known = [](const HealthChecker::View& v) {
    for (const auto& m : v.members) {
      if (m.probe.status != ProbeResult::Status::kOk) return false;
    }
    return v.quorum.has_leader && AllHealthy(v);
  };
  ASSERT_TRUE(WaitFor(leader_known, seconds(10)));
  auto v = proxy_->health().Snapshot();
  int follower = 0, leader = 0;
  while (v.members[follower].probe.member_id == v.quorum.leader) ++follower;
  while (v.members[leader].probe.member_id != v.quorum.leader) ++leader;
  const UnhealthyReason follower_reason = CutIsEvictedAndHealIsReadmitted(follower);
  EXPECT_TRUE(follower_reason == UnhealthyReason::kPartitioned ||
              follower_reason == UnhealthyReason::kNoLeader)
      << ToString(follower_reason);
  ASSERT_TRUE(WaitFor(leader_known, seconds(10)));

  v = proxy_->health().Snapshot();
  const uint64_t old_leader = v.members[leader].probe.member_id;
  EXPECT_EQ(old_leader, v.quorum.leader);
  ASSERT_TRUE(cluster_->Cut(leader));
  EXPECT_TRUE(WaitFor(
      [&](const HealthChecker::View& v) {
        return v.members[leader].state == HealthState::kEvicted;
      },
      seconds(3)))
      << "the cut leader was not evicted within 3 s";
  EXPECT_TRUE(WaitFor(
      [&](const HealthChecker::View& v) {
        return v.quorum.has_leader && v.quorum.leader != old_leader;
      },
      seconds(10)))
      << "no new leader named";
  EXPECT_TRUE(cluster_->Heal(leader));
  EXPECT_TRUE(WaitFor(leader_known, seconds(30))) << "not readmitted after the heal";
  ExpectCallsWork();
}

}  // namespace
}  // namespace ehp::testing
