// Leader-aware health against a real 3-member cluster: members that lose their leader or go
// away are evicted, calls then fail fast with a clear error, and members are readmitted when
// they come back.
#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <future>
#include <iostream>
#include <thread>
#include <vector>

#include "tests/support/cluster_proxy_suite.h"
#include "tests/support/http_client.h"

namespace ehp::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class HealthTest : public ClusterProxySuite {
 protected:
  // A fresh cluster for each test: they stop and freeze members.
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(StartSuite("ehp-health", {.configure = [](Config& config) {
                                         config.leaderless_wait = milliseconds(1000);
                                         config.max_held_calls = 20;
                                       }}));
  }
  void TearDown() override { StopSuite(); }
};

// Scenario: stop two of three members; the third loses its leader and is evicted, the stopped
// ones are evicted as unreachable, and calls fail fast with an error naming every member's
// reason. Restart them: all three are readmitted and calls work again.
TEST_F(HealthTest, LostQuorumHoldsBoundedThenFailsThenRecovers) {
  ASSERT_TRUE(WaitFor(AllHealthy, seconds(5)));
  EXPECT_EQ(Http(proxy_->admin_port(), "GET", "/readyz").status, 200);
  cluster_->StopMember(1);
  cluster_->StopMember(2);
  ASSERT_TRUE(WaitFor(
      [](const HealthChecker::View& v) {
        return v.members[0].state == HealthState::kEvicted &&
               v.members[0].reason == UnhealthyReason::kNoLeader &&
               v.members[1].state == HealthState::kEvicted &&
               v.members[2].state == HealthState::kEvicted;
      },
      seconds(10)))
      << "the lone member was not evicted for no_leader";
  const auto view = proxy_->health().Snapshot();
  EXPECT_EQ(view.members[1].reason, UnhealthyReason::kUnreachable);

  auto kv = etcdserverpb::KV::NewStub(Channel());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + seconds(10));
  etcdserverpb::RangeRequest req;
  req.set_key("k");
  etcdserverpb::RangeResponse resp;
  const auto start = std::chrono::steady_clock::now();
  const grpc::Status s = kv->Range(&ctx, req, &resp);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(s.error_message().find("etcd-health-proxy: no etcd member is usable ("),
            std::string::npos)
      << s.error_message();
  EXPECT_NE(s.error_message().find(view.members[0].name + ": no_leader"), std::string::npos)
      << s.error_message();
  EXPECT_NE(s.error_message().find(view.members[1].name + ": unreachable"), std::string::npos)
      << s.error_message();
  // Held for leaderless-wait (a member might come back), then the reasons.
  EXPECT_GE(took, milliseconds(900));
  EXPECT_LT(took, milliseconds(2000));
  EXPECT_EQ(Http(proxy_->admin_port(), "GET", "/readyz").status, 503);

  // A watch waits and fails the same way.
  {
    auto watch = etcdserverpb::Watch::NewStub(Channel());
    grpc::ClientContext wctx;
    wctx.set_deadline(std::chrono::system_clock::now() + seconds(10));
    auto stream = watch->Watch(&wctx);
    etcdserverpb::WatchResponse wresp;
    EXPECT_FALSE(stream->Read(&wresp));
    const grpc::Status ws = stream->Finish();
    EXPECT_EQ(ws.error_code(), grpc::StatusCode::UNAVAILABLE);
    EXPECT_NE(ws.error_message().find("no etcd member is usable"), std::string::npos);
  }

  // A flood while nothing can serve: max-held-calls wait, the rest fail at once with the
  // reason and the bound; nothing stays held afterwards.
  {
    struct Call {
      grpc::ClientContext ctx;
      etcdserverpb::RangeResponse resp;
      grpc::Status status;
      std::chrono::steady_clock::duration took;
    };
    constexpr int kFlood = 100;
    std::vector<std::unique_ptr<Call>> calls;
    std::atomic<int> done{0};
    int64_t most_held = 0;
    const auto flood_start = std::chrono::steady_clock::now();
    for (int i = 0; i < kFlood; ++i) {
      calls.push_back(std::make_unique<Call>());
      Call* c = calls.back().get();
      c->ctx.set_deadline(std::chrono::system_clock::now() + seconds(10));
      kv->async()->Range(&c->ctx, &req, &c->resp, [c, &done, flood_start](grpc::Status st) {
        c->status = st;
        c->took = std::chrono::steady_clock::now() - flood_start;
        done++;
      });
    }
    Eventually(
        [&] {
          most_held = std::max(most_held, proxy_->holder().calls());
          return done == kFlood;
        },
        seconds(5), milliseconds(10));
    ASSERT_EQ(done.load(), kFlood);
    int refused = 0, waited = 0;
    for (const auto& c : calls) {
      EXPECT_EQ(c->status.error_code(), grpc::StatusCode::UNAVAILABLE);
      EXPECT_NE(c->status.error_message().find("no etcd member is usable"), std::string::npos);
      if (c->status.error_message().find("max-held-calls 20") != std::string::npos) {
        ++refused;
        EXPECT_LT(c->took, milliseconds(800));
      } else {
        ++waited;
      }
    }
    EXPECT_EQ(waited, 20);
    EXPECT_EQ(refused, kFlood - 20);
    EXPECT_LE(most_held, 20);
    EXPECT_EQ(proxy_->holder().calls(), 0);
    EXPECT_EQ(proxy_->holder().bytes(), 0);
    EXPECT_EQ(proxy_->metrics().held.Value({"refused"}), kFlood - 20);
  }

  cluster_->StartMember(1);
  cluster_->StartMember(2);
  ASSERT_TRUE(WaitFor(AllHealthy, seconds(30))) << "members were not readmitted";
  EXPECT_EQ(Http(proxy_->admin_port(), "GET", "/readyz").status, 200);
  grpc::ClientContext ctx2;
  ctx2.set_deadline(std::chrono::system_clock::now() + seconds(10));
  EXPECT_TRUE(kv->Range(&ctx2, req, &resp).ok());
}

// Writes sent during a fault: 100 Puts, one every 10 ms, each with a 4 s deadline; the leader is
// frozen (SIGSTOP) as they start and thawed after 5.5 s, when every deadline has passed: a write
// sent to it fails whatever the thawed member makes of it (it may forward the requests waiting
// in its socket to the new leader), so the count of failures is the count of writes sent to it.
struct FrozenLeaderWrites {
  int ok = 0, failed = 0;
  std::string first_error;
};

FrozenLeaderWrites WritesWhileTheLeaderIsFrozen(EtcdCluster& cluster, const Certs& certs,
                                                std::chrono::milliseconds write_stall_after) {
  FrozenLeaderWrites out;
  int leader = -1;
  for (int i = 0; i < cluster.size() && leader < 0; ++i) {
    auto maintenance = etcdserverpb::Maintenance::NewStub(cluster.Channel(i));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + seconds(5));
    etcdserverpb::StatusResponse status;
    if (maintenance->Status(&ctx, {}, &status).ok() &&
        status.leader() == status.header().member_id()) {
      leader = i;
    }
  }
  if (leader < 0) {
    ADD_FAILURE() << "no leader";
    return out;
  }
  Config config = ProxyConfig(cluster.Endpoints(), certs);
  config.write_stall_after = write_stall_after;
  config.leaderless_wait = seconds(5);
  auto proxy = StartProxy(config);
  auto kv = etcdserverpb::KV::NewStub(ProxyChannel(*proxy, certs));
  const auto put = [&](int i) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + seconds(4));
    etcdserverpb::PutRequest req;
    req.set_key("frozen/" + std::to_string(i));
    req.set_value("v");
    etcdserverpb::PutResponse resp;
    return kv->Put(&ctx, req, &resp);
  };
  if (!put(-1).ok()) {
    ADD_FAILURE() << "the cluster takes no writes before the fault";
    return out;
  }
  cluster.SignalMember(leader, SIGSTOP);
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::future<grpc::Status>> writes;
  for (int i = 0; i < 100; ++i) {
    std::this_thread::sleep_until(t0 + milliseconds(10) * i);
    writes.push_back(std::async(std::launch::async, put, i));
  }
  std::this_thread::sleep_until(t0 + milliseconds(5500));
  cluster.SignalMember(leader, SIGCONT);
  for (auto& w : writes) {
    const grpc::Status s = w.get();
    s.ok() ? ++out.ok : ++out.failed;
    if (!s.ok() && out.first_error.empty()) out.first_error = s.error_message();
  }
  // Let the thawed member rejoin before the cluster is used again (an election on a busy
  // machine may take a while: the bound is generous, the usual wait is one write).
  Eventually([&] { return put(-2).ok(); }, seconds(60), milliseconds(50));
  return out;
}

// Scenario: the leader freezes under a steady stream of writes. Without write-stall-after every
// write routed to it until the probes notice fails; with it, writes wait once the leader has
// answered none for 100 ms, and go to the next leader.
TEST_F(HealthTest, WritesWaitForTheNextLeaderWhenTheLeaderStopsAnswering) {
  const FrozenLeaderWrites off = WritesWhileTheLeaderIsFrozen(*cluster_, *certs_, milliseconds(0));
  std::cout << "leader frozen, write-stall-after off: " << off.ok << " ok, " << off.failed
            << " failed (" << off.first_error << ")\n";
  const FrozenLeaderWrites on = WritesWhileTheLeaderIsFrozen(*cluster_, *certs_, milliseconds(100));
  std::cout << "leader frozen, write-stall-after 100ms: " << on.ok << " ok, " << on.failed
            << " failed (" << on.first_error << ")\n";
  EXPECT_EQ(on.ok + on.failed, 100);
  EXPECT_LT(on.failed, off.failed) << "holding writes for a silent leader changed nothing";
  // Those in flight in the first 100 ms (10 at 100 writes/s), a few more on a slow machine.
  EXPECT_LE(on.failed, 20);
}

// Scenario: a steady cluster under light load sees no evictions at all.
TEST_F(HealthTest, NoEvictionsWithoutFaults) {
  ASSERT_TRUE(WaitFor(AllHealthy, seconds(5)));
  auto kv = etcdserverpb::KV::NewStub(Channel());
  const auto until = std::chrono::steady_clock::now() + seconds(3);
  int calls = 0;
  while (std::chrono::steady_clock::now() < until && calls < 20000) {
    grpc::ClientContext ctx;
    etcdserverpb::PutRequest put;
    put.set_key("steady/" + std::to_string(calls % 50));
    put.set_value("v");
    etcdserverpb::PutResponse r;
    ASSERT_TRUE(kv->Put(&ctx, put, &r).ok());
    ++calls;
  }
  const auto view = proxy_->health().Snapshot();
  EXPECT_GT(view.rounds, 10u);
  EXPECT_EQ(view.evictions, 0u);
  EXPECT_TRUE(AllHealthy(view));
}

}  // namespace
}  // namespace ehp::testing
