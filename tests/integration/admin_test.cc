// The admin plane of a proxy in front of a real 3-member cluster: /metrics passes promtool and
// follows evictions, /readyz and /status follow the cluster, drain moves calls, and hostile HTTP
// gets the right status while the proxy keeps serving.
#include <gtest/gtest.h>

#include <regex>
#include <thread>

#include "tests/support/cluster_proxy_suite.h"
#include "tests/support/http_client.h"

namespace ehp::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class AdminTest : public ClusterProxySuite {
 protected:
  static void SetUpTestSuite() {
    StartSuite("ehp-admin", {.configure = [](Config& config) {
                 config.admin_read_timeout = milliseconds(500);
                 config.member_zones = {
                     {Member(0), "zone-a"}, {Member(1), "zone-b"}, {Member(2), "zone-b"}};
               }});
  }

  std::string Metrics() { return Http(admin_port(), "GET", "/metrics").body; }
};

// Scenario: /metrics is valid Prometheus text (promtool) with the member gauges and call
// counters.
TEST_F(AdminTest, MetricsPassPromtool) {
  ASSERT_TRUE(ProxyRange("admin").ok());
  const HttpResult r = Http(admin_port(), "GET", "/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.headers.find("text/plain; version=0.0.4"), std::string::npos);
  const std::string file = *dir_ + "/metrics.txt";
  WriteFile(file, r.body);
  const CommandResult check = RunCommand({"sh", "-c", "promtool check metrics < " + file});
  EXPECT_EQ(check.exit_code, 0) << check.output;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(MetricValue(r.body, "etcd_health_proxy_member_healthy{member=\"" + Member(i) + "\"}"),
              1);
  }
  EXPECT_GE(MetricValue(r.body, "etcd_health_proxy_calls_total"), 1);
  EXPECT_NE(r.body.find("etcd_health_proxy_calls_total{service=\"etcdserverpb.KV\","
                        "method=\"Range\",code=\"OK\""),
            std::string::npos);
  EXPECT_NE(r.body.find("etcd_health_proxy_build_info{version="), std::string::npos);
  EXPECT_NE(r.body.find("etcd_health_proxy_certificate_expiry_timestamp_seconds{certificate="
                        "\"listener\""),
            std::string::npos);
  EXPECT_EQ(MetricValue(r.body, "etcd_health_proxy_quorum_has_leader"), 1);
  EXPECT_EQ(MetricValue(r.body, "etcd_health_proxy_zone_members_usable{zone=\"zone-b\"}"), 2);
}

// Scenario: every metric the alerting rules and the Grafana dashboard use is one the proxy
// exports (a renamed metric would silently break them).
TEST_F(AdminTest, AlertsAndDashboardUseExportedMetrics) {
  const std::string text = Metrics();
  const std::string sources =
      ReadFile(std::string(EHP_SOURCE_DIR) + "/config/prometheus/alerts.yaml") +
      ReadFile(std::string(EHP_SOURCE_DIR) + "/config/grafana/etcd-health-proxy.json");
  const std::regex name("etcd_health_proxy_[a-z_]+");
  int checked = 0;
  for (auto it = std::sregex_iterator(sources.begin(), sources.end(), name);
       it != std::sregex_iterator(); ++it) {
    std::string metric = it->str();
    for (const char* suffix : {"_bucket", "_count", "_sum"}) {
      const std::string s(suffix);
      if (metric.size() > s.size() && metric.ends_with(s) &&
          text.find("# TYPE " + metric + " ") == std::string::npos) {
        metric.resize(metric.size() - s.size());
      }
    }
    EXPECT_NE(text.find("# TYPE " + metric + " "), std::string::npos) << metric;
    ++checked;
  }
  EXPECT_GE(checked, 15);
}

// Scenario: stop a member: its gauge drops, the eviction is counted and listed in /events;
// start it again: readmitted. /readyz stays 200 throughout (two members serve).
TEST_F(AdminTest, MetricsFollowEvictionAndReadmission) {
  const std::string m = Member(2);
  const std::string healthy = "etcd_health_proxy_member_healthy{member=\"" + m + "\"}";
  const std::string evicted =
      "etcd_health_proxy_evictions_total{member=\"" + m + "\",reason=\"unreachable\"}";
  const double before = MetricValue(Metrics(), evicted);
  cluster_->StopMember(2);
  ASSERT_TRUE(WaitForStatus("\"name\":\"" + m + "\",\"endpoint\":\"" + cluster_->ClientUrl(2) +
                                "\",\"zone\":\"zone-b\",\"state\":\"evicted\"",
                            seconds(10)));
  std::string text = Metrics();
  EXPECT_EQ(MetricValue(text, healthy), 0);
  EXPECT_EQ(MetricValue(text, evicted), before + 1);
  EXPECT_EQ(Http(admin_port(), "GET", "/readyz").status, 200);
  const std::string events = Http(admin_port(), "GET", "/events").body;
  EXPECT_NE(events.find("\"member\":\"" + m +
                        "\",\"from\":\"healthy\",\"to\":\"evicted\","
                        "\"reason\":\"unreachable\""),
            std::string::npos)
      << events;
  cluster_->StartMember(2);
  Eventually([&] { return MetricValue(Metrics(), healthy) == 1; }, seconds(30), milliseconds(100));
  text = Metrics();
  EXPECT_EQ(MetricValue(text, healthy), 1);
  EXPECT_GE(MetricValue(text, "etcd_health_proxy_readmission_seconds_count{member=\"" + m + "\"}"),
            1);
}

// Scenario: /status names the quorum's leader; draining a member takes it out of /status and of
// the calls; draining all makes /readyz 503; undrain brings them back.
TEST_F(AdminTest, StatusDrainAndReadiness) {
  ASSERT_TRUE(WaitForStatus("\"quorum\":true", seconds(30)));
  const std::string status = Http(admin_port(), "GET", "/status").body;
  EXPECT_EQ(status.find("\"leader\":null,\"quorum\""), std::string::npos) << status;

  const std::string m0 = Member(0);
  ASSERT_EQ(Http(admin_port(), "POST", "/members/" + m0 + "/drain").status, 200);
  EXPECT_TRUE(
      WaitForStatus("\"name\":\"" + m0 + "\",\"endpoint\":\"" + cluster_->ClientUrl(0) +
                        "\",\"zone\":\"zone-a\",\"state\":\"drained\",\"reason\":\"drained\"",
                    seconds(2)));
  const auto calls_to = [&](const std::string& member) {
    double sum = 0;
    const std::string text = Metrics();
    for (const char* code : {"OK"}) {
      sum += MetricValue(text, std::string("etcd_health_proxy_calls_total{service=\"etcdserverpb."
                                           "KV\",method=\"Range\",code=\"") +
                                   code + "\",member=\"" + member + "\"}");
    }
    return sum;
  };
  const double drained_before = calls_to(m0);
  for (int i = 0; i < 12; ++i) ASSERT_TRUE(ProxyRange("admin").ok());
  EXPECT_EQ(calls_to(m0), drained_before) << "a drained member took calls";

  for (int i = 1; i < 3; ++i) {
    ASSERT_EQ(Http(admin_port(), "POST", "/members/" + Member(i) + "/drain").status, 200);
  }
  const HttpResult not_ready = Http(admin_port(), "GET", "/readyz?verbose");
  EXPECT_EQ(not_ready.status, 503);
  EXPECT_NE(not_ready.body.find("[-]usable-member failed: 0/3 members usable"), std::string::npos)
      << not_ready.body;
  const grpc::Status s = ProxyRange("admin");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(s.error_message().find(m0 + ": drained"), std::string::npos) << s.error_message();

  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(Http(admin_port(), "POST", "/members/" + Member(i) + "/undrain").status, 200);
  }
  EXPECT_EQ(Http(admin_port(), "GET", "/readyz").status, 200);
  EXPECT_TRUE(ProxyRange("admin").ok());
  EXPECT_EQ(Http(admin_port(), "POST", "/members/nobody/drain").status, 404);
}

// Opens a watch on `key` through `channel` and waits for its "created" answer.
std::unique_ptr<grpc::ClientReaderWriter<etcdserverpb::WatchRequest, etcdserverpb::WatchResponse>>
OpenWatch(std::shared_ptr<grpc::Channel> channel, grpc::ClientContext* ctx, const std::string& key,
          int64_t* watch_id = nullptr) {
  auto stream = etcdserverpb::Watch::NewStub(channel)->Watch(ctx);
  etcdserverpb::WatchRequest req;
  req.mutable_create_request()->set_key(key);
  EXPECT_TRUE(stream->Write(req));
  etcdserverpb::WatchResponse resp;
  EXPECT_TRUE(stream->Read(&resp));
  EXPECT_TRUE(resp.created());
  if (watch_id != nullptr) *watch_id = resp.watch_id();
  return stream;
}

int64_t Put(std::shared_ptr<grpc::Channel> channel, const std::string& key) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + seconds(5));
  etcdserverpb::PutRequest req;
  req.set_key(key);
  req.set_value("v");
  etcdserverpb::PutResponse resp;
  const grpc::Status s = etcdserverpb::KV::NewStub(channel)->Put(&ctx, req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return resp.header().revision();
}

// Scenario: draining the member a watch is relayed to moves the watch to another member inside
// the proxy (resume-watches): the client's stream stays open, keeps its watch id and gets every
// later event once, and the drained member has no stream left.
TEST_F(AdminTest, DrainMovesWatchesWithoutABreak) {
  ASSERT_TRUE(WaitForStatus("\"quorum\":true", seconds(30)));
  auto channel = ProxyChannel(*proxy_, *certs_);
  const auto streams_on = [&](const std::string& member) {
    return MetricValue(Metrics(), "etcd_health_proxy_open_streams{member=\"" + member + "\"}");
  };
  const double resumes_before =
      MetricValue(Metrics(), "etcd_health_proxy_watch_resumes_total{cause=\"evicted\"}");
  grpc::ClientContext ctx;
  int64_t id = -1;
  auto stream = OpenWatch(channel, &ctx, "drain/w", &id);
  std::string member;
  for (int i = 0; i < 3; ++i) {
    if (streams_on(Member(i)) == 1) member = Member(i);
  }
  ASSERT_FALSE(member.empty());
  const int64_t first = Put(channel, "drain/w");
  etcdserverpb::WatchResponse resp;
  ASSERT_TRUE(stream->Read(&resp));
  ASSERT_EQ(resp.events_size(), 1);
  EXPECT_EQ(resp.events(0).kv().mod_revision(), first);

  // Twice: the second move must re-create only the watcher, not what the first move sent.
  std::vector<std::string> drained;
  int64_t last = first;
  for (int move = 1; move <= 2; ++move) {
    SCOPED_TRACE("move " + std::to_string(move));
    ASSERT_EQ(Http(admin_port(), "POST", "/members/" + member + "/drain").status, 200);
    drained.push_back(member);
    Eventually([&] { return streams_on(member) == 0; }, seconds(2), milliseconds(20));
    EXPECT_EQ(streams_on(member), 0);
    EXPECT_EQ(MetricValue(Metrics(), "etcd_health_proxy_watch_resumes_total{cause=\"evicted\"}"),
              resumes_before + move);
    // Two more writes: each arrives once, in order, on the same stream and watch id, with no
    // "created" answer in between.
    const int64_t second = Put(channel, "drain/w");
    const int64_t third = Put(channel, "drain/w");
    std::vector<int64_t> seen;
    while (seen.size() < 2 && stream->Read(&resp)) {
      EXPECT_FALSE(resp.created());
      EXPECT_FALSE(resp.canceled()) << resp.cancel_reason();
      EXPECT_EQ(resp.watch_id(), id);
      for (const auto& e : resp.events()) seen.push_back(e.kv().mod_revision());
    }
    EXPECT_EQ(seen, (std::vector<int64_t>{second, third}));
    EXPECT_GT(second, last);
    last = third;
    member.clear();
    for (int i = 0; i < 3; ++i) {
      if (streams_on(Member(i)) == 1) member = Member(i);
    }
    ASSERT_FALSE(member.empty());
  }
  ctx.TryCancel();
  stream->Finish();
  for (const std::string& m : drained) {
    ASSERT_EQ(Http(admin_port(), "POST", "/members/" + m + "/undrain").status, 200);
  }
}

// Scenario: with resume-watches off, draining the member a watch is relayed to ends that watch
// with UNAVAILABLE; the client's new watch lands on another member.
TEST_F(AdminTest, DrainEndsWatchesWhenResumeIsOff) {
  ASSERT_TRUE(WaitForStatus("\"quorum\":true", seconds(30)));
  Config config = ProxyConfig(cluster_->Endpoints(), *certs_);
  config.resume_watches = false;
  std::unique_ptr<ProxyServer> proxy = StartProxy(config);
  ASSERT_NE(proxy, nullptr);
  const int admin = proxy->admin_port();
  auto channel = ProxyChannel(*proxy, *certs_);
  const auto streams_on = [&](const std::string& member) {
    return MetricValue(Http(admin, "GET", "/metrics").body,
                       "etcd_health_proxy_open_streams{member=\"" + member + "\"}");
  };
  grpc::ClientContext ctx;
  auto stream = OpenWatch(channel, &ctx, "drain/off");
  std::string member;
  for (int i = 0; i < 3; ++i) {
    if (streams_on(Member(i)) == 1) member = Member(i);
  }
  ASSERT_FALSE(member.empty());
  ASSERT_EQ(Http(admin, "POST", "/members/" + member + "/drain").status, 200);
  etcdserverpb::WatchResponse resp;
  EXPECT_FALSE(stream->Read(&resp));
  const grpc::Status s = stream->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(s.error_message().find("drained"), std::string::npos) << s.error_message();

  grpc::ClientContext ctx2;
  auto again = OpenWatch(channel, &ctx2, "drain/off");
  // The ended stream leaves the registry once both of its halves are done, which can trail the
  // client's Finish by a moment under a sanitizer.
  Eventually([&] { return streams_on(member) == 0; }, seconds(2), milliseconds(20));
  EXPECT_EQ(streams_on(member), 0);
  ctx2.TryCancel();
  again->Finish();
}

// Scenario: hostile HTTP on the admin port gets the right status, and both the admin plane and
// the relay keep serving.
TEST_F(AdminTest, HostileRequests) {
  const HttpResult big = HttpExchange(admin_port(), "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " +
                                                        std::string(64 * 1024, 'a') + "\r\n\r\n");
  EXPECT_EQ(big.status, 431);
  const HttpResult body = HttpExchange(
      admin_port(), "POST /members/x/drain HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" +
                        std::string(200000, 'b'));
  EXPECT_EQ(body.status, 413);
  EXPECT_EQ(HttpExchange(admin_port(), "NONSENSE\r\n\r\n").status, 400);
  EXPECT_EQ(Http(admin_port(), "DELETE", "/metrics").status, 405);
  EXPECT_EQ(Http(admin_port(), "GET", "/../../etc/passwd").status, 404);
  // Slowloris: half a request line, then silence: the session is closed by the read timeout.
  const auto start = std::chrono::steady_clock::now();
  const HttpResult slow = HttpExchange(admin_port(), "GET /metr", seconds(5));
  EXPECT_EQ(slow.status, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(3));
  // Many idle connections at once do not stop the plane from answering.
  std::vector<std::thread> idle;
  for (int i = 0; i < 20; ++i) {
    idle.emplace_back([&] { HttpExchange(admin_port(), "GET /", seconds(1)); });
  }
  EXPECT_EQ(Http(admin_port(), "GET", "/livez").status, 200);
  for (auto& t : idle) t.join();
  EXPECT_EQ(Http(admin_port(), "GET", "/livez?verbose").status, 200);
  EXPECT_TRUE(ProxyRange("admin").ok());
}

}  // namespace
}  // namespace ehp::testing

namespace ehp::testing {
namespace {

// Scenario: a reload changes the member list (calls move to the new set once it has been
// probed), keeps drained members drained, and names the settings that need a restart.
TEST_F(AdminTest, ReloadChangesMembers) {
  ASSERT_TRUE(WaitForStatus("\"quorum\":true", seconds(30)));
  const std::string m0 = Member(0);
  ASSERT_EQ(Http(admin_port(), "POST", "/members/" + m0 + "/drain").status, 200);

  Config two = ProxyConfig(cluster_->ClientUrl(0) + "," + cluster_->ClientUrl(1), *certs_);
  two.probe_interval = milliseconds(50);
  two.admin_read_timeout = milliseconds(500);  // as the suite started it
  const std::vector<std::string> restart = proxy_->Reload(two);
  EXPECT_EQ(restart, std::vector<std::string>{});
  std::string status = Http(admin_port(), "GET", "/status").body;
  EXPECT_EQ(status.find(Member(2)), std::string::npos) << status;
  EXPECT_NE(status.find("\"name\":\"" + m0 + "\",\"endpoint\":\"" + cluster_->ClientUrl(0) +
                        "\",\"zone\":null,\"state\":\"drained\""),
            std::string::npos)
      << status;
  // Only member 1 is usable now: every call goes there.
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(ProxyRange("admin").ok());
  EXPECT_GE(MetricValue(Metrics(),
                        "etcd_health_proxy_calls_total{service=\"etcdserverpb.KV\","
                        "method=\"Range\",code=\"OK\",member=\"" +
                            Member(1) + "\"}"),
            6);

  Config moved = ProxyConfig(cluster_->Endpoints(), *certs_);
  moved.listen_addr.raw = "127.0.0.1:1";
  moved.admin_read_timeout = milliseconds(500);
  EXPECT_EQ(proxy_->Reload(moved), std::vector<std::string>{"listen-addr"});
  status = Http(admin_port(), "GET", "/status").body;
  EXPECT_NE(status.find(Member(2)), std::string::npos) << status;
  ASSERT_EQ(Http(admin_port(), "POST", "/members/" + m0 + "/undrain").status, 200);
  EXPECT_TRUE(WaitForStatus("\"state\":\"healthy\",\"reason\":null,\"member_id\"", seconds(5)));
  EXPECT_TRUE(ProxyRange("admin").ok());
}

}  // namespace
}  // namespace ehp::testing
