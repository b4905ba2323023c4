// The caps on what clients may make the proxy hold: reaching one refuses the new work with
// RESOURCE_EXHAUSTED, counts it, and leaves the calls already running alone.
#include <gtest/gtest.h>

#include <csignal>
#include <future>

#include "tests/support/cluster_proxy_suite.h"

namespace ehp::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class LimitsTest : public ClusterProxySuite {
 protected:
  static void SetUpTestSuite() {
    StartSuite("ehp-limits", {.etcd = {.members = 1, .extra_flags = {}}, .proxy = false});
  }

  static grpc::Status SerializableRange(etcdserverpb::KV::Stub& kv, milliseconds timeout) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + timeout);
    etcdserverpb::RangeRequest req;
    req.set_key("limits/k");
    req.set_serializable(true);
    etcdserverpb::RangeResponse resp;
    return kv.Range(&ctx, req, &resp);
  }

  static double Refusals(const ProxyServer& proxy, const std::string& limit) {
    const std::string text = proxy.RenderMetrics();
    const std::string series = "etcd_health_proxy_limit_refusals_total{limit=\"" + limit + "\"} ";
    const size_t at = text.find(series);
    return at == std::string::npos ? 0 : std::stod(text.substr(at + series.size()));
  }
};

// An open watch stream: created on the member, read until its "created" response.
struct OpenWatch {
  grpc::ClientContext ctx;
  std::unique_ptr<grpc::ClientReaderWriter<etcdserverpb::WatchRequest, etcdserverpb::WatchResponse>>
      stream;

  // True when the watch was created; otherwise *status is how the stream ended.
  bool Open(etcdserverpb::Watch::Stub& watch, grpc::Status* status) {
    ctx.set_deadline(std::chrono::system_clock::now() + seconds(30));
    stream = watch.Watch(&ctx);
    etcdserverpb::WatchRequest req;
    req.mutable_create_request()->set_key("limits/w");
    stream->Write(req);
    etcdserverpb::WatchResponse resp;
    if (stream->Read(&resp) && resp.created()) return true;
    *status = stream->Finish();
    return false;
  }
  grpc::Status Close() {
    ctx.TryCancel();
    return stream->Finish();
  }
};

// Scenario: with max-streams=2, a third stream is refused at once with RESOURCE_EXHAUSTED (and
// counted), unary calls keep working, and once a stream ends a new one may open.
TEST_F(LimitsTest, MaxStreamsRefusesTheNextStreamOnly) {
  Config config = SuiteConfig();
  config.max_streams = 2;
  auto proxy = StartProxy(config);
  auto channel = ProxyChannel(*proxy, *certs_);
  auto watch = etcdserverpb::Watch::NewStub(channel);
  auto kv = etcdserverpb::KV::NewStub(channel);

  OpenWatch w1, w2, w3;
  grpc::Status status;
  ASSERT_TRUE(w1.Open(*watch, &status)) << status.error_message();
  ASSERT_TRUE(w2.Open(*watch, &status)) << status.error_message();
  ASSERT_FALSE(w3.Open(*watch, &status));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  EXPECT_NE(status.error_message().find("max-streams"), std::string::npos)
      << status.error_message();
  EXPECT_EQ(Refusals(*proxy, "max-streams"), 1);
  EXPECT_EQ(proxy->open_streams(), 2u);

  const grpc::Status unary = SerializableRange(*kv, seconds(5));
  EXPECT_TRUE(unary.ok()) << unary.error_message();

  w1.Close();
  // The registry forgets the stream once both sides ended.
  Eventually([&] { return proxy->open_streams() <= 1; }, seconds(2), milliseconds(20));
  OpenWatch w4;
  EXPECT_TRUE(w4.Open(*watch, &status)) << status.error_message();
  w4.Close();
  w2.Close();
}

// Scenario: with max-member-calls=1 and the member frozen, the call in flight waits while the
// next is refused at once; after the member thaws, the first call completes.
TEST_F(LimitsTest, MaxMemberCallsRefusesBeyondTheCap) {
  Config config = SuiteConfig();
  config.max_member_calls = 1;
  // Keep the frozen member in service for the length of the test: this is about the cap.
  config.probe_timeout = seconds(20);
  config.probe_read_timeout = seconds(20);
  config.unreachable_threshold = 100;
  auto proxy = StartProxy(config);
  auto kv = etcdserverpb::KV::NewStub(ProxyChannel(*proxy, *certs_));
  ASSERT_TRUE(SerializableRange(*kv, seconds(5)).ok());

  cluster_->SignalMember(0, SIGSTOP);
  auto first = std::async(std::launch::async, [&] { return SerializableRange(*kv, seconds(15)); });
  // Wait until the first call holds the member's only slot (a loaded machine may take a while).
  const auto member = proxy->backends()->upstream->Members()->members[0];
  Eventually([&] { return member->load() >= 1; }, seconds(10), milliseconds(20));
  if (member->load() < 1) {
    cluster_->SignalMember(0, SIGCONT);
    // Say what became of it: answered already (by whom, how), or held by the proxy.
    const bool ended = first.wait_for(seconds(0)) == std::future_status::ready;
    const grpc::Status early = ended ? first.get() : grpc::Status::OK;
    FAIL() << "the first call never reached the member: "
           << (ended ? "it ended with code " + std::to_string(early.error_code()) + " (" +
                           early.error_message() + ")"
                     : std::string("it is still waiting in the proxy"));
  }
  const auto t0 = std::chrono::steady_clock::now();
  const grpc::Status refused = SerializableRange(*kv, seconds(5));
  const auto took = std::chrono::steady_clock::now() - t0;
  cluster_->SignalMember(0, SIGCONT);

  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << refused.error_message();
  EXPECT_NE(refused.error_message().find("max-member-calls"), std::string::npos);
  EXPECT_LT(took, seconds(1)) << "the refusal must not wait for the frozen member";
  const grpc::Status done = first.get();
  EXPECT_TRUE(done.ok()) << done.error_message();
  EXPECT_EQ(Refusals(*proxy, "max-member-calls"), 1);
  // The slot is free again.
  EXPECT_TRUE(SerializableRange(*kv, seconds(5)).ok());
}

}  // namespace
}  // namespace ehp::testing
