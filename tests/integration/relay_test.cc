// The relay against a real 3-member etcd cluster with mutual TLS on both sides: every call made
// through the proxy is compared with the same call made direct to a member.
#include <google/protobuf/util/message_differencer.h>
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>

#include <csignal>

#include <algorithm>
#include <atomic>
#include <future>
#include <random>
#include <thread>

#include "tests/support/client_calls.h"
#include "tests/support/cluster_proxy_suite.h"

namespace ehp::testing {
namespace {

using etcdserverpb::KV;
using etcdserverpb::Lease;
using etcdserverpb::Maintenance;
using etcdserverpb::Watch;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Calls get 30 s unless a test says otherwise: a large Range under ASan on a busy machine is
// slow, and no test here measures latency with it.
std::unique_ptr<grpc::ClientContext> Ctx(milliseconds timeout = seconds(30)) {
  return ContextWithDeadline(timeout);
}

// Response equality without the header, which names the member that answered.
template <typename T>
void ExpectSameBody(T a, T b) {
  a.clear_header();
  b.clear_header();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(a, b))
      << "through proxy: " << a.ShortDebugString() << "\ndirect: " << b.ShortDebugString();
}

class RelayTest : public ClusterProxySuite {
 protected:
  static void SetUpTestSuite() {
    StartSuite("ehp-relay",
               {.etcd = {.extra_flags = {"--max-request-bytes=10485760",
                                         "--experimental-watch-progress-notify-interval=1s"}}});
  }

  void SetUp() override {
    ASSERT_NE(proxy_, nullptr);
    via_ = Channel();
    direct_ = cluster_->Channel(0);
  }

  // Runs the same unary call through the proxy and direct; both statuses must match exactly.
  template <typename Stub, typename Req, typename Resp, typename Method>
  std::pair<Resp, Resp> Both(Method method, const Req& req, grpc::Status* status) {
    auto via_stub = Stub::NewStub(via_);
    auto direct_stub = Stub::NewStub(direct_);
    Resp via_resp, direct_resp;
    auto c1 = Ctx();
    auto c2 = Ctx();
    const grpc::Status s1 = ((*via_stub).*method)(c1.get(), req, &via_resp);
    const grpc::Status s2 = ((*direct_stub).*method)(c2.get(), req, &direct_resp);
    EXPECT_EQ(s1.error_code(), s2.error_code())
        << s1.error_message() << " vs " << s2.error_message();
    EXPECT_EQ(s1.error_message(), s2.error_message());
    *status = s1;
    return {via_resp, direct_resp};
  }

  etcdserverpb::PutResponse Put(const std::string& key, const std::string& value) {
    auto stub = KV::NewStub(via_);
    etcdserverpb::PutRequest req;
    req.set_key(key);
    req.set_value(value);
    etcdserverpb::PutResponse resp;
    auto ctx = Ctx(seconds(30));
    const grpc::Status s = stub->Put(ctx.get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }

  std::shared_ptr<grpc::Channel> via_;
  std::shared_ptr<grpc::Channel> direct_;
};

// Scenario: put through the proxy, then linearizable, serializable, prefix, limited and
// historical reads match the same reads made direct.
TEST_F(RelayTest, RangeVariantsMatchDirect) {
  const int64_t first = Put("kv/a", "1").header().revision();
  Put("kv/b", "2");
  Put("kv/c", "3");
  Put("kv/a", "4");

  grpc::Status s;
  etcdserverpb::RangeRequest req;
  req.set_key("kv/a");
  auto [a, b] =
      Both<KV, etcdserverpb::RangeRequest, etcdserverpb::RangeResponse>(&KV::Stub::Range, req, &s);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(a.kvs_size(), 1);
  EXPECT_EQ(a.kvs(0).value(), "4");
  ExpectSameBody(a, b);

  req.set_serializable(true);
  std::tie(a, b) =
      Both<KV, etcdserverpb::RangeRequest, etcdserverpb::RangeResponse>(&KV::Stub::Range, req, &s);
  ExpectSameBody(a, b);

  req.set_serializable(false);
  req.set_key("kv/");
  req.set_range_end("kv0");  // prefix kv/
  req.set_limit(2);
  std::tie(a, b) =
      Both<KV, etcdserverpb::RangeRequest, etcdserverpb::RangeResponse>(&KV::Stub::Range, req, &s);
  EXPECT_EQ(a.kvs_size(), 2);
  EXPECT_TRUE(a.more());
  EXPECT_EQ(a.count(), 3);
  ExpectSameBody(a, b);

  req.set_limit(0);
  req.set_revision(first);
  std::tie(a, b) =
      Both<KV, etcdserverpb::RangeRequest, etcdserverpb::RangeResponse>(&KV::Stub::Range, req, &s);
  ASSERT_EQ(a.kvs_size(), 1);
  EXPECT_EQ(a.kvs(0).value(), "1");
  ExpectSameBody(a, b);
}

// Scenario: etcd's errors come back through the proxy with the same code and message.
TEST_F(RelayTest, ErrorsMatchDirect) {
  grpc::Status s;
  {
    etcdserverpb::RangeRequest req;
    req.set_key("x");
    req.set_revision(1'000'000'000);
    Both<KV, etcdserverpb::RangeRequest, etcdserverpb::RangeResponse>(&KV::Stub::Range, req, &s);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::OUT_OF_RANGE);
    EXPECT_EQ(s.error_message(), "etcdserver: mvcc: required revision is a future revision");
  }
  {
    etcdserverpb::PutRequest req;  // no key
    Both<KV, etcdserverpb::PutRequest, etcdserverpb::PutResponse>(&KV::Stub::Put, req, &s);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(s.error_message(), "etcdserver: key is not provided");
  }
  {
    etcdserverpb::PutRequest req;
    req.set_key("x");
    req.set_lease(123456789);
    Both<KV, etcdserverpb::PutRequest, etcdserverpb::PutResponse>(&KV::Stub::Put, req, &s);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(s.error_message(), "etcdserver: requested lease not found");
  }
  {
    etcdserverpb::TxnRequest req;
    for (int i = 0; i < 200; ++i) req.add_success()->mutable_request_range()->set_key("k");
    Both<KV, etcdserverpb::TxnRequest, etcdserverpb::TxnResponse>(&KV::Stub::Txn, req, &s);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(s.error_message(), "etcdserver: too many operations in txn request");
  }
  {
    // A method etcd does not have: etcd's own UNIMPLEMENTED comes back.
    grpc::GenericStub via(via_), direct(direct_);
    grpc::ByteBuffer req, resp1, resp2;
    grpc::Slice empty("");
    req = grpc::ByteBuffer(&empty, 1);
    auto c1 = Ctx();
    auto c2 = Ctx();
    std::mutex mu;
    std::condition_variable cv;
    int done = 0;
    grpc::Status s1, s2;
    via.UnaryCall(c1.get(), "/etcdserverpb.KV/NoSuchMethod", grpc::StubOptions(), &req, &resp1,
                  [&](grpc::Status st) {
                    std::lock_guard l(mu);
                    s1 = st;
                    ++done;
                    cv.notify_all();
                  });
    direct.UnaryCall(c2.get(), "/etcdserverpb.KV/NoSuchMethod", grpc::StubOptions(), &req, &resp2,
                     [&](grpc::Status st) {
                       std::lock_guard l(mu);
                       s2 = st;
                       ++done;
                       cv.notify_all();
                     });
    std::unique_lock l(mu);
    cv.wait(l, [&] { return done == 2; });
    EXPECT_EQ(s1.error_code(), grpc::StatusCode::UNIMPLEMENTED);
    EXPECT_EQ(s1.error_code(), s2.error_code());
    EXPECT_EQ(s1.error_message(), s2.error_message());
  }
}

// A server-streaming call made as a generic stream: `request` sent, every response counted until
// the member (or the proxy) ends it.
grpc::Status ServerStream(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                          const google::protobuf::Message& request, int* responses) {
  class Reader : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
   public:
    explicit Reader(int* responses) : responses_(responses) {}
    void OnWriteDone(bool) override { StartWritesDone(); }
    void OnReadDone(bool ok) override {
      if (!ok) return;
      ++*responses_;
      StartRead(&in_);
    }
    void OnDone(const grpc::Status& s) override { done.set_value(s); }
    grpc::ByteBuffer out, in_;
    std::promise<grpc::Status> done;

   private:
    int* responses_;
  };
  grpc::GenericStub stub(channel);
  auto ctx = Ctx();
  Reader reader(responses);
  const std::string bytes = request.SerializeAsString();
  grpc::Slice slice(bytes);
  reader.out = grpc::ByteBuffer(&slice, 1);
  stub.PrepareBidiStreamingCall(ctx.get(), method, grpc::StubOptions(), &reader);
  reader.StartWrite(&reader.out);
  reader.StartRead(&reader.in_);
  reader.StartCall();
  return reader.done.get_future().get();
}

// Scenario: KV.RangeStream (etcd 3.7; Kubernetes 1.37 calls it and falls back to Range only on
// UNIMPLEMENTED) against members that lack it: the member's UNIMPLEMENTED reaches the client
// unchanged, as direct, and a Range after it works.
TEST_F(RelayTest, RangeStreamUnimplementedPassesThrough) {
  Put("rs/a", "1");
  etcdserverpb::RangeRequest req;
  req.set_key("rs/");
  req.set_range_end("rs0");
  int via_responses = 0, direct_responses = 0;
  const grpc::Status via = ServerStream(via_, "/etcdserverpb.KV/RangeStream", req, &via_responses);
  const grpc::Status direct =
      ServerStream(direct_, "/etcdserverpb.KV/RangeStream", req, &direct_responses);
  EXPECT_EQ(direct.error_code(), grpc::StatusCode::UNIMPLEMENTED) << direct.error_message();
  EXPECT_EQ(via.error_code(), direct.error_code()) << via.error_message();
  EXPECT_EQ(via.error_message(), direct.error_message());
  EXPECT_EQ(via_responses, 0);
  grpc::Status s;
  auto [a, b] =
      Both<KV, etcdserverpb::RangeRequest, etcdserverpb::RangeResponse>(&KV::Stub::Range, req, &s);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(a.kvs_size(), 1);
}

// Scenario: delete and compare-and-swap transactions through the proxy take effect exactly once.
TEST_F(RelayTest, DeleteAndTxn) {
  Put("txn/k", "v1");
  auto kv = KV::NewStub(via_);
  const auto get_direct = [&](const std::string& key) {
    etcdserverpb::RangeRequest req;
    req.set_key(key);
    etcdserverpb::RangeResponse resp;
    auto ctx = Ctx();
    EXPECT_TRUE(KV::NewStub(direct_)->Range(ctx.get(), req, &resp).ok());
    return resp;
  };
  const int64_t mod = get_direct("txn/k").kvs(0).mod_revision();

  // update-if-mod_revision, as kube-apiserver does
  etcdserverpb::TxnRequest txn;
  auto* cmp = txn.add_compare();
  cmp->set_key("txn/k");
  cmp->set_target(etcdserverpb::Compare::MOD);
  cmp->set_result(etcdserverpb::Compare::EQUAL);
  cmp->set_mod_revision(mod);
  auto* put = txn.add_success()->mutable_request_put();
  put->set_key("txn/k");
  put->set_value("v2");
  txn.add_failure()->mutable_request_range()->set_key("txn/k");
  etcdserverpb::TxnResponse resp;
  auto ctx = Ctx();
  ASSERT_TRUE(kv->Txn(ctx.get(), txn, &resp).ok());
  EXPECT_TRUE(resp.succeeded());
  EXPECT_EQ(get_direct("txn/k").kvs(0).value(), "v2");
  ctx = Ctx();
  ASSERT_TRUE(kv->Txn(ctx.get(), txn, &resp).ok());
  EXPECT_FALSE(resp.succeeded());  // the revision moved on
  ASSERT_EQ(resp.responses_size(), 1);
  EXPECT_EQ(resp.responses(0).response_range().kvs(0).value(), "v2");

  etcdserverpb::DeleteRangeRequest del;
  del.set_key("txn/k");
  del.set_prev_kv(true);
  etcdserverpb::DeleteRangeResponse del_resp;
  ctx = Ctx();
  ASSERT_TRUE(kv->DeleteRange(ctx.get(), del, &del_resp).ok());
  EXPECT_EQ(del_resp.deleted(), 1);
  ASSERT_EQ(del_resp.prev_kvs_size(), 1);
  EXPECT_EQ(del_resp.prev_kvs(0).value(), "v2");
  EXPECT_EQ(get_direct("txn/k").kvs_size(), 0);
}

// Scenario: a watch from a past revision through the proxy sees the same events as direct, and
// progress notifications arrive on a quiet watch.
TEST_F(RelayTest, WatchMatchesDirectAndGetsProgress) {
  const int64_t start = Put("w/1", "a").header().revision();
  Put("w/2", "b");
  Put("w/1", "c");

  const auto collect = [&](std::shared_ptr<grpc::Channel> ch, bool progress) {
    auto stub = Watch::NewStub(ch);
    auto ctx = Ctx(seconds(10));
    auto stream = stub->Watch(ctx.get());
    etcdserverpb::WatchRequest req;
    auto* create = req.mutable_create_request();
    create->set_key(progress ? "quiet/" : "w/");
    create->set_range_end(progress ? "quiet0" : "w0");
    create->set_start_revision(progress ? 0 : start);
    create->set_progress_notify(progress);
    EXPECT_TRUE(stream->Write(req));
    std::vector<mvccpb::Event> events;
    int progress_notifications = 0;
    etcdserverpb::WatchResponse resp;
    while (stream->Read(&resp)) {
      if (resp.created()) continue;
      for (const auto& e : resp.events()) events.push_back(e);
      if (resp.events_size() == 0) ++progress_notifications;
      if ((!progress && events.size() >= 3) || (progress && progress_notifications >= 1)) break;
    }
    ctx->TryCancel();
    stream->Finish();
    return std::make_pair(events, progress_notifications);
  };
  const auto [via_events, _1] = collect(via_, false);
  const auto [direct_events, _2] = collect(direct_, false);
  ASSERT_EQ(via_events.size(), 3u);
  ASSERT_EQ(direct_events.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_TRUE(
        google::protobuf::util::MessageDifferencer::Equals(via_events[i], direct_events[i]));
  }
  const auto [_3, notifications] = collect(via_, true);
  EXPECT_GE(notifications, 1);
}

// Scenario: lease grant, keep-alive stream, time-to-live and revoke through the proxy; the
// effects are visible direct.
TEST_F(RelayTest, LeaseLifecycle) {
  auto lease = Lease::NewStub(via_);
  auto direct = Lease::NewStub(direct_);
  etcdserverpb::LeaseGrantRequest grant;
  grant.set_ttl(60);
  etcdserverpb::LeaseGrantResponse granted;
  auto ctx = Ctx();
  ASSERT_TRUE(lease->LeaseGrant(ctx.get(), grant, &granted).ok());
  ASSERT_NE(granted.id(), 0);

  {
    auto kctx = Ctx();
    auto stream = lease->LeaseKeepAlive(kctx.get());
    etcdserverpb::LeaseKeepAliveRequest req;
    req.set_id(granted.id());
    etcdserverpb::LeaseKeepAliveResponse resp;
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(stream->Write(req));
      ASSERT_TRUE(stream->Read(&resp));
      EXPECT_EQ(resp.id(), granted.id());
      EXPECT_EQ(resp.ttl(), 60);
    }
    stream->WritesDone();
    EXPECT_TRUE(stream->Finish().ok());
  }

  etcdserverpb::LeaseTimeToLiveRequest ttl;
  ttl.set_id(granted.id());
  etcdserverpb::LeaseTimeToLiveResponse ttl_resp;
  ctx = Ctx();
  ASSERT_TRUE(direct->LeaseTimeToLive(ctx.get(), ttl, &ttl_resp).ok());
  EXPECT_GT(ttl_resp.ttl(), 50);

  etcdserverpb::LeaseLeasesRequest list;
  etcdserverpb::LeaseLeasesResponse leases;
  ctx = Ctx();
  ASSERT_TRUE(lease->LeaseLeases(ctx.get(), list, &leases).ok());
  EXPECT_TRUE(std::any_of(leases.leases().begin(), leases.leases().end(),
                          [&](const auto& l) { return l.id() == granted.id(); }));

  etcdserverpb::LeaseRevokeRequest revoke;
  revoke.set_id(granted.id());
  etcdserverpb::LeaseRevokeResponse revoked;
  ctx = Ctx();
  ASSERT_TRUE(lease->LeaseRevoke(ctx.get(), revoke, &revoked).ok());
  ctx = Ctx();
  ASSERT_TRUE(direct->LeaseTimeToLive(ctx.get(), ttl, &ttl_resp).ok());
  EXPECT_EQ(ttl_resp.ttl(), -1);  // gone
}

// Scenario: cluster and maintenance calls: member list, status and a snapshot stream.
TEST_F(RelayTest, ClusterAndMaintenance) {
  grpc::Status s;
  etcdserverpb::MemberListRequest req;
  auto [a, b] =
      Both<etcdserverpb::Cluster, etcdserverpb::MemberListRequest,
           etcdserverpb::MemberListResponse>(&etcdserverpb::Cluster::Stub::MemberList, req, &s);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(a.members_size(), 3);
  ExpectSameBody(a, b);

  auto maintenance = Maintenance::NewStub(via_);
  etcdserverpb::StatusResponse status;
  auto ctx = Ctx();
  ASSERT_TRUE(maintenance->Status(ctx.get(), {}, &status).ok());
  // The member's own version, as it reports it direct (kube-apiserver enables consistent reads
  // from its cache by it) and as its binary names it.
  etcdserverpb::StatusResponse direct_status;
  ctx = Ctx();
  ASSERT_TRUE(Maintenance::NewStub(direct_)->Status(ctx.get(), {}, &direct_status).ok());
  EXPECT_EQ(status.version(), direct_status.version());
  EXPECT_EQ(status.version(), cluster_->ServerVersion());
  EXPECT_NE(status.leader(), 0u);

  ctx = Ctx(seconds(30));
  auto snapshot = maintenance->Snapshot(ctx.get(), {});
  etcdserverpb::SnapshotResponse chunk;
  size_t bytes = 0;
  uint64_t remaining = 1;
  while (snapshot->Read(&chunk)) {
    bytes += chunk.blob().size();
    remaining = chunk.remaining_bytes();
  }
  EXPECT_TRUE(snapshot->Finish().ok());
  EXPECT_GT(bytes, 16384u);
  EXPECT_EQ(remaining, 0u);
}

// Scenario: a value over 1 MiB and a prefix Range over 64 MiB pass through unchanged.
TEST_F(RelayTest, LargeValuesAndResponses) {
  const std::string big(1200 * 1024, 'x');
  Put("big/one", big);
  grpc::Status s;
  etcdserverpb::RangeRequest req;
  req.set_key("big/one");
  auto [a, b] =
      Both<KV, etcdserverpb::RangeRequest, etcdserverpb::RangeResponse>(&KV::Stub::Range, req, &s);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(a.kvs_size(), 1);
  EXPECT_EQ(a.kvs(0).value(), big);

  const std::string chunk(9 * 1024 * 1024 + 512 * 1024, 'y');
  for (int i = 0; i < 7; ++i) Put("huge/" + std::to_string(i), chunk);
  req.set_key("huge/");
  req.set_range_end("huge0");
  std::tie(a, b) =
      Both<KV, etcdserverpb::RangeRequest, etcdserverpb::RangeResponse>(&KV::Stub::Range, req, &s);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_GT(a.ByteSizeLong(), 64u * 1024 * 1024);
  ExpectSameBody(a, b);
}

// Scenario: a member that is down (connection refused) never fails a call: the call goes to
// another member.
TEST_F(RelayTest, DeadMemberIsSkipped) {
  Config config = ProxyConfig(
      cluster_->Endpoints() + ",https://127.0.0.1:" + std::to_string(FreePort()), *certs_);
  auto proxy = StartProxy(config);
  auto kv = KV::NewStub(ProxyChannel(*proxy, *certs_));
  int ok = 0;
  for (int i = 0; i < 30; ++i) {
    etcdserverpb::RangeRequest req;
    req.set_key("kv/a");
    etcdserverpb::RangeResponse resp;
    auto ctx = Ctx();
    const grpc::Status s = kv->Range(ctx.get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    ok += s.ok();
  }
  EXPECT_EQ(ok, 30);
}

// Scenario: a follower frozen (SIGSTOP) but kept in service (probes too patient to evict it):
// every linearizable read still answers quickly, because one that waits on the frozen member is
// hedged to another member after hedge-after, and the hedge's answer wins.
TEST_F(RelayTest, HedgedReadsRideOverAFrozenFollower) {
  // A follower: its Status names another member as leader.
  int follower = -1;
  for (int i = 0; i < cluster_->size() && follower < 0; ++i) {
    auto maintenance = etcdserverpb::Maintenance::NewStub(cluster_->Channel(i));
    etcdserverpb::StatusResponse status;
    auto ctx = Ctx();
    ASSERT_TRUE(maintenance->Status(ctx.get(), {}, &status).ok());
    if (status.leader() != status.header().member_id()) follower = i;
  }
  ASSERT_GE(follower, 0);

  Config config = SuiteConfig();
  config.hedge_after = milliseconds(100);
  config.probe_timeout = seconds(30);
  config.probe_read_timeout = seconds(30);
  config.unreachable_threshold = 1000;
  // The follower alone in the proxy's zone: every read picks it first (none is left to chance
  // or to the balancer's load figures), so every read waits on it and is hedged.
  for (int i = 0; i < cluster_->size(); ++i) {
    config.member_zones.emplace_back(cluster_->ClientTarget(i), i == follower ? "near" : "far");
  }
  config.local_zone = "near";
  auto proxy = StartProxy(config);
  auto kv = KV::NewStub(ProxyChannel(*proxy, *certs_));
  Put("hedge/key", "v");

  cluster_->SignalMember(follower, SIGSTOP);
  int ok = 0;
  auto slowest = std::chrono::steady_clock::duration::zero();
  for (int i = 0; i < 30; ++i) {
    etcdserverpb::RangeRequest req;
    req.set_key("hedge/key");
    etcdserverpb::RangeResponse resp;
    auto ctx = Ctx(seconds(5));
    const auto t0 = std::chrono::steady_clock::now();
    const grpc::Status s = kv->Range(ctx.get(), req, &resp);
    slowest = std::max(slowest, std::chrono::steady_clock::now() - t0);
    EXPECT_TRUE(s.ok()) << s.error_message();
    ok += s.ok() && resp.kvs_size() == 1 && resp.kvs(0).value() == "v";
  }
  cluster_->SignalMember(follower, SIGCONT);

  EXPECT_EQ(ok, 30);
  EXPECT_LT(slowest, milliseconds(1500)) << "a read waited on the frozen member";
  const std::string metrics = proxy->RenderMetrics();
  // Reads picked the frozen member first until its connections were found failing (it answers
  // nothing); each was hedged and the hedge won.
  const double sent = MetricValue(metrics, "etcd_health_proxy_hedges_total{outcome=\"sent\"}");
  EXPECT_GE(sent, 5);
  EXPECT_EQ(MetricValue(metrics, "etcd_health_proxy_hedges_total{outcome=\"hedge_won\"}"), sent);
}

// Scenario: a watch stream on a follower that is frozen for 1.5 s (kept in service: probes too
// patient to evict it, max-lag-time 0s so lag is measured, not judged) while the leader takes
// writes: when it wakes, its watch delivers those writes' events late, and the proxy measures
// that delivery delay for the member (etcd_health_proxy_member_watch_delay_seconds).
TEST_F(RelayTest, WatchDeliveryDelayIsMeasuredPerMember) {
  int follower = -1, leader = -1;
  for (int i = 0; i < cluster_->size(); ++i) {
    auto maintenance = etcdserverpb::Maintenance::NewStub(cluster_->Channel(i));
    etcdserverpb::StatusResponse status;
    auto ctx = Ctx();
    ASSERT_TRUE(maintenance->Status(ctx.get(), {}, &status).ok());
    if (status.leader() == status.header().member_id()) {
      leader = i;
    } else if (follower < 0) {
      follower = i;
    }
  }
  ASSERT_GE(follower, 0);
  ASSERT_GE(leader, 0);

  Config config = SuiteConfig();
  config.probe_timeout = milliseconds(300);
  config.probe_read_timeout = milliseconds(300);
  config.unreachable_threshold = 100;
  config.max_lag_time = milliseconds(0);
  for (int i = 0; i < cluster_->size(); ++i) {  // the watch goes to the follower
    config.member_zones.emplace_back(cluster_->ClientTarget(i), i == follower ? "near" : "far");
  }
  config.local_zone = "near";
  auto proxy = StartProxy(config);

  auto stub = Watch::NewStub(ProxyChannel(*proxy, *certs_));
  auto ctx = Ctx(seconds(30));
  auto stream = stub->Watch(ctx.get());
  etcdserverpb::WatchRequest req;
  req.mutable_create_request()->set_key("delay/");
  req.mutable_create_request()->set_range_end("delay0");
  ASSERT_TRUE(stream->Write(req));
  etcdserverpb::WatchResponse resp;
  ASSERT_TRUE(stream->Read(&resp));
  ASSERT_TRUE(resp.created());

  auto kv = KV::NewStub(cluster_->Channel(leader));
  const auto put = [&](const std::string& key) {
    etcdserverpb::PutRequest put;
    put.set_key(key);
    put.set_value("v");
    etcdserverpb::PutResponse r;
    auto c = Ctx(seconds(10));
    return kv->Put(c.get(), put, &r).ok();
  };
  ASSERT_TRUE(put("delay/warm"));
  ASSERT_TRUE(stream->Read(&resp));
  ASSERT_EQ(resp.events_size(), 1);

  const std::string gauge = "etcd_health_proxy_member_watch_delay_seconds{member=\"" +
                            cluster_->ClientTarget(follower) + "\"}";
  cluster_->SignalMember(follower, SIGSTOP);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(put("delay/" + std::to_string(i)));
  // The frozen time is what the gauge must show.
  std::this_thread::sleep_for(milliseconds(1500));
  cluster_->SignalMember(follower, SIGCONT);

  int events = 0;
  while (events < 5 && stream->Read(&resp)) events += resp.events_size();
  EXPECT_EQ(events, 5);
  double most = 0;
  Eventually(  // the next probe round reports it
      [&] {
        most = std::max(most, MetricValue(proxy->RenderMetrics(), gauge));
        return most >= 0.8;
      },
      seconds(3), milliseconds(20));
  EXPECT_GE(most, 0.8) << "the events waited about 1.5 s on the frozen member";
  ctx->TryCancel();
  stream->Finish();
}

// Scenario: clients cancel calls right after starting them (kube-apiserver cancels often) while
// another client writes steadily. A member call cancelled before its HEADERS reached the member
// would make gRPC send RST_STREAM on a stream the member never saw; etcd's TLS listener (Go's
// HTTP/2 server) answers that with GOAWAY PROTOCOL_ERROR and drops the connection, failing every
// call on it. The steady writes must all succeed.
TEST_F(RelayTest, QuickCancellationsLeaveOtherCallsAlone) {
  Config config = SuiteConfig();
  config.upstream_connections = 1;  // every call to a member on one connection
  auto proxy = StartProxy(config);
  auto channel = ProxyChannel(*proxy, *certs_);
  auto kv = KV::NewStub(channel);
  std::atomic<bool> done{false};
  int writes = 0, failed = 0;
  std::string first_failure;
  std::thread steady([&] {
    const auto until = std::chrono::steady_clock::now() + seconds(4);
    while (!done && std::chrono::steady_clock::now() < until && writes < 20000) {
      etcdserverpb::PutRequest req;
      req.set_key("cancel/steady");
      req.set_value(std::to_string(writes));
      etcdserverpb::PutResponse resp;
      auto ctx = Ctx(seconds(5));
      const grpc::Status s = kv->Put(ctx.get(), req, &resp);
      ++writes;
      if (!s.ok() && failed++ == 0) first_failure = s.error_message();
    }
  });
  std::mt19937 rng(7);
  int cancelled = 0;
  const auto until = std::chrono::steady_clock::now() + seconds(3);
  while (std::chrono::steady_clock::now() < until && cancelled < 20000) {
    etcdserverpb::RangeRequest req;
    req.set_key("cancel/steady");
    etcdserverpb::RangeResponse resp;
    auto ctx = Ctx(seconds(5));
    std::promise<void> finished;
    kv->async()->Range(ctx.get(), &req, &resp, [&](grpc::Status) { finished.set_value(); });
    const auto spin = std::chrono::steady_clock::now() + std::chrono::microseconds(rng() % 400);
    while (std::chrono::steady_clock::now() < spin) {
    }
    ctx->TryCancel();
    finished.get_future().wait();
    ++cancelled;
  }
  done = true;
  steady.join();
  std::printf("%d calls cancelled right after their start; steady writes: %d, %d failed (%s)\n",
              cancelled, writes, failed, first_failure.c_str());
  EXPECT_GT(cancelled, 100);
  EXPECT_GT(writes, 10);
  EXPECT_EQ(failed, 0) << first_failure;
}

// Scenario: a request over max-recv-bytes and a response over max-send-bytes fail that call only,
// with RESOURCE_EXHAUSTED; other calls on the same connection keep working.
TEST_F(RelayTest, OversizedMessagesFailOnlyTheirCall) {
  Config config = SuiteConfig();
  config.max_recv_bytes = 1 << 20;
  config.max_send_bytes = 1 << 20;
  auto proxy = StartProxy(config);
  auto kv = KV::NewStub(ProxyChannel(*proxy, *certs_));
  Put("size/big", std::string(1200 * 1024, 'b'));  // through the main proxy
  Put("size/small", "s");

  etcdserverpb::PutRequest put;
  put.set_key("size/too-big");
  put.set_value(std::string(2 << 20, 'x'));
  etcdserverpb::PutResponse put_resp;
  auto ctx = Ctx();
  const grpc::Status s1 = kv->Put(ctx.get(), put, &put_resp);
  EXPECT_EQ(s1.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s1.error_message();

  etcdserverpb::RangeRequest get;
  get.set_key("size/big");
  etcdserverpb::RangeResponse get_resp;
  ctx = Ctx();
  const grpc::Status s2 = kv->Range(ctx.get(), get, &get_resp);
  EXPECT_EQ(s2.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s2.error_message();

  get.set_key("size/small");
  ctx = Ctx();
  const grpc::Status s3 = kv->Range(ctx.get(), get, &get_resp);
  ASSERT_TRUE(s3.ok()) << s3.error_message();
  ASSERT_EQ(get_resp.kvs_size(), 1);
  EXPECT_EQ(get_resp.kvs(0).value(), "s");
  // The too-big write never reached etcd.
  etcdserverpb::RangeRequest check;
  check.set_key("size/too-big");
  ctx = Ctx();
  ASSERT_TRUE(KV::NewStub(direct_)->Range(ctx.get(), check, &get_resp).ok());
  EXPECT_EQ(get_resp.kvs_size(), 0);
}

}  // namespace
}  // namespace ehp::testing
