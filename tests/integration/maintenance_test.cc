// The maintenance endpoints against a real 3-member cluster: POST /maintenance/defragment
// defragments every member one at a time while a writer and a watch run through the proxy (no
// failed call, every event delivered once and in order, never two members out), its refusals,
// and POST /members/{name}/move-leader handing leadership to another member.
#include <gtest/gtest.h>

#include <atomic>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "proxy/config/address.h"
#include "tests/support/cluster_proxy_suite.h"
#include "tests/support/http_client.h"

namespace ehp::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Writes keys through the proxy one after another until stopped; remembers every revision an
// acknowledged write created, and every failure.
class Writer {
 public:
  Writer(std::shared_ptr<grpc::Channel> channel, std::string prefix)
      : kv_(etcdserverpb::KV::NewStub(channel)), prefix_(std::move(prefix)) {
    thread_ = std::thread([this] { Run(); });
  }
  ~Writer() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::vector<int64_t> revisions() const {
    std::lock_guard lock(mu_);
    return revisions_;
  }
  std::vector<std::string> failures() const {
    std::lock_guard lock(mu_);
    return failures_;
  }
  // The longest time between two acknowledged writes.
  std::chrono::steady_clock::duration LongestGap() const {
    std::lock_guard lock(mu_);
    std::chrono::steady_clock::duration gap{};
    for (size_t i = 1; i < acked_.size(); ++i) gap = std::max(gap, acked_[i] - acked_[i - 1]);
    return gap;
  }
  // Waits until `n` more writes have been acknowledged.
  bool WaitForMore(size_t n, milliseconds timeout) {
    const size_t target = revisions().size() + n;
    return Eventually([&] { return revisions().size() >= target; }, timeout);
  }

 private:
  void Run() {
    for (int i = 0; !stop_; ++i) {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + seconds(10));
      etcdserverpb::PutRequest req;
      req.set_key(prefix_ + std::to_string(i % 64));
      req.set_value(std::to_string(i));
      etcdserverpb::PutResponse resp;
      const grpc::Status s = kv_->Put(&ctx, req, &resp);
      std::lock_guard lock(mu_);
      if (s.ok()) {
        revisions_.push_back(resp.header().revision());
        acked_.push_back(std::chrono::steady_clock::now());
      } else {
        failures_.push_back(std::to_string(s.error_code()) + ": " + s.error_message());
      }
      // About 100 writes a second: kube-apiserver's steady trickle, not a benchmark.
      std::this_thread::sleep_for(milliseconds(10));
    }
  }

  std::unique_ptr<etcdserverpb::KV::Stub> kv_;
  const std::string prefix_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<int64_t> revisions_;                            // guarded by mu_
  std::vector<std::string> failures_;                         // guarded by mu_
  std::vector<std::chrono::steady_clock::time_point> acked_;  // guarded by mu_
  std::thread thread_;
};

// A prefix watch through the proxy from `start_revision`; remembers each event's revision.
class Watcher {
 public:
  Watcher(std::shared_ptr<grpc::Channel> channel, const std::string& prefix, int64_t start_revision)
      : stub_(etcdserverpb::Watch::NewStub(channel)) {
    ctx_.AddMetadata("hasleader", "true");
    stream_ = stub_->Watch(&ctx_);
    etcdserverpb::WatchRequest req;
    auto* create = req.mutable_create_request();
    create->set_key(prefix);
    std::string end = prefix;
    end.back()++;
    create->set_range_end(end);
    create->set_start_revision(start_revision);
    stream_->Write(req);
    thread_ = std::thread([this] { Run(); });
  }
  ~Watcher() { Stop(); }
  void Stop() {
    ctx_.TryCancel();
    if (thread_.joinable()) thread_.join();
  }
  std::vector<int64_t> revisions() const {
    std::lock_guard lock(mu_);
    return revisions_;
  }
  bool WaitFor(int64_t revision, milliseconds timeout) {
    return Eventually(
        [&] {
          std::lock_guard lock(mu_);
          return !revisions_.empty() && revisions_.back() >= revision;
        },
        timeout);
  }
  int canceled() const { return canceled_; }

 private:
  void Run() {
    etcdserverpb::WatchResponse resp;
    while (stream_->Read(&resp)) {
      if (resp.canceled()) ++canceled_;
      std::lock_guard lock(mu_);
      for (const auto& e : resp.events()) revisions_.push_back(e.kv().mod_revision());
    }
  }

  std::unique_ptr<etcdserverpb::Watch::Stub> stub_;
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReaderWriter<etcdserverpb::WatchRequest, etcdserverpb::WatchResponse>>
      stream_;
  mutable std::mutex mu_;
  std::vector<int64_t> revisions_;  // guarded by mu_
  std::atomic<int> canceled_{0};
  std::thread thread_;
};

class MaintenanceTest : public ClusterProxySuite {
 protected:
  // A fresh cluster for each test: they stop members and move the leader.
  void SetUp() override {
    // Streams of a drained member move within 200 ms (instead of 1 s) to keep the test short.
    ASSERT_NO_FATAL_FAILURE(
        StartSuite("ehp-maintenance", {.flags = {"--stream-close-window=200ms"}}));
    ASSERT_TRUE(WaitFor(AllHealthyWithLeader, seconds(10)));
  }
  void TearDown() override { StopSuite(); }

  static bool AllHealthyWithLeader(const HealthChecker::View& v) {
    return AllHealthy(v) && v.quorum.has_leader;
  }
  // The name of the member the quorum names as leader ("" when none).
  std::string LeaderName() {
    const auto v = proxy_->health().Snapshot();
    for (const auto& m : v.members) {
      if (v.quorum.has_leader && m.probe.member_id == v.quorum.leader) return m.name;
    }
    return "";
  }
  HttpResult Post(const std::string& target) { return Http(proxy_->admin_port(), "POST", target); }
  std::string Status() { return Http(proxy_->admin_port(), "GET", "/status").body; }
  std::string Events() { return Http(proxy_->admin_port(), "GET", "/events").body; }

  // Writes `mib` MiB through the proxy in batches and deletes it again: free pages that a
  // defragmentation gives back.
  void FillAndFree(int mib) {
    auto kv = etcdserverpb::KV::NewStub(Channel());
    const std::string value(4096, 'x');
    for (int batch = 0; batch < mib * 256 / 64; ++batch) {
      etcdserverpb::TxnRequest txn;
      for (int i = 0; i < 64; ++i) {
        auto* put = txn.add_success()->mutable_request_put();
        put->set_key("fill/" + std::to_string(batch) + "/" + std::to_string(i));
        put->set_value(value);
      }
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + seconds(10));
      etcdserverpb::TxnResponse resp;
      ASSERT_TRUE(kv->Txn(&ctx, txn, &resp).ok());
    }
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + seconds(10));
    etcdserverpb::DeleteRangeRequest del;
    del.set_key("fill/");
    del.set_range_end("fill0");
    etcdserverpb::DeleteRangeResponse resp;
    ASSERT_TRUE(kv->DeleteRange(&ctx, del, &resp).ok());
    // Compacted, the deleted values' pages are free for Defragment to give back.
    grpc::ClientContext cctx;
    cctx.set_deadline(std::chrono::system_clock::now() + seconds(10));
    etcdserverpb::CompactionRequest compact;
    compact.set_revision(resp.header().revision());
    compact.set_physical(true);
    etcdserverpb::CompactionResponse cresp;
    ASSERT_TRUE(kv->Compact(&cctx, compact, &cresp).ok());
  }
};

// Scenario: every member defragmented through the endpoint while a writer and a prefix watch run
// through the proxy: the plan puts the leader last, a second request and a move-leader are
// refused while it runs, never more than one member is out at once, each member's database
// shrinks, no write fails and the watch gets every acknowledged write once and in order.
TEST_F(MaintenanceTest, DefragmentsEveryMemberUnderLoad) {
  FillAndFree(24);
  ASSERT_TRUE(WaitFor(AllHealthyWithLeader, seconds(10)));
  std::map<std::string, int64_t> size_before;
  for (const auto& m : proxy_->health().Snapshot().members) size_before[m.name] = m.probe.db_size;

  auto channel = Channel();
  Writer writer(channel, "maint/");
  ASSERT_TRUE(writer.WaitForMore(5, seconds(10)));
  Watcher watcher(channel, "maint/", writer.revisions().front());
  const std::string leader = LeaderName();
  ASSERT_FALSE(leader.empty());

  const HttpResult started = Post("/maintenance/defragment");
  ASSERT_EQ(started.status, 202) << started.body;
  EXPECT_NE(started.headers.find("application/json"), std::string::npos);
  EXPECT_NE(started.body.find("\"operation\":\"defragment\",\"plan\":["), std::string::npos);
  EXPECT_NE(started.body.find(",\"" + leader + "\"]}"), std::string::npos)
      << "the leader is not last: " << started.body;

  const HttpResult again = Post("/maintenance/defragment");
  EXPECT_EQ(again.status, 409);
  EXPECT_NE(again.body.find("\"error\":\"running\""), std::string::npos) << again.body;
  const HttpResult move = Post("/members/" + leader + "/move-leader");
  EXPECT_EQ(move.status, 409);
  EXPECT_NE(move.body.find("\"error\":\"running\""), std::string::npos) << move.body;
  EXPECT_NE(Status().find("\"maintenance\":{\"operation\":\"defragment\""), std::string::npos);

  // Until it ends: never two members out at once, never none usable.
  int most_out = 0;
  std::set<std::string> drained_seen;
  const bool finished = Eventually(
      [&] {
        const auto v = proxy_->health().Snapshot();
        int out = 0;
        for (const auto& m : v.members) {
          if (m.state != HealthState::kHealthy) ++out;
          if (m.state == HealthState::kDrained) drained_seen.insert(m.name);
        }
        most_out = std::max(most_out, out);
        return Status().find("\"maintenance\":null") != std::string::npos;
      },
      seconds(120), milliseconds(20));
  ASSERT_TRUE(finished) << Status();
  writer.Stop();
  const std::string status = Status();
  EXPECT_NE(status.find("\"last_maintenance\":{\"operation\":\"defragment\""), std::string::npos);
  EXPECT_NE(status.find("\"result\":\"done\""), std::string::npos) << status;
  EXPECT_EQ(most_out, 1);
  EXPECT_EQ(drained_seen.size(), 3u);
  ASSERT_TRUE(WaitFor(AllHealthyWithLeader, seconds(10)));

  const std::string events = Events();
  for (const auto& [name, before] : size_before) {
    EXPECT_NE(events.find("\"member\":\"" + name +
                          "\",\"from\":\"drained\",\"to\":\"drained\",\"reason\":\"drained\","
                          "\"operation\":\"defragment\",\"step\":\"defragmented in "),
              std::string::npos)
        << name << " " << events;
  }
  EXPECT_NE(events.find("\"step\":\"finished\""), std::string::npos);
  for (const auto& m : proxy_->health().Snapshot().members) {
    EXPECT_LT(m.probe.db_size, size_before[m.name] / 2)
        << m.name << " was not defragmented: " << size_before[m.name] << " -> " << m.probe.db_size;
  }

  EXPECT_TRUE(writer.failures().empty()) << writer.failures().front();
  const std::vector<int64_t> written = writer.revisions();
  ASSERT_GT(written.size(), 50u);
  ASSERT_TRUE(watcher.WaitFor(written.back(), seconds(10)));
  watcher.Stop();
  EXPECT_EQ(watcher.revisions(), written) << "the watch missed, repeated or reordered events";
  EXPECT_EQ(watcher.canceled(), 0);
}

// Scenario: refused while a member is out (killed, evicted), naming it; a single-member proxy
// never defragments its only member; over https only a verified client certificate may start
// either operation.
TEST_F(MaintenanceTest, Refusals) {
  cluster_->StopMember(2);
  const std::string stopped = cluster_->ClientTarget(2);
  ASSERT_TRUE(WaitFor(
      [](const HealthChecker::View& v) { return v.members[2].state == HealthState::kEvicted; },
      seconds(10)));
  const HttpResult out = Post("/maintenance/defragment");
  EXPECT_EQ(out.status, 409);
  EXPECT_NE(out.body.find("\"error\":\"member_out\""), std::string::npos) << out.body;
  EXPECT_NE(out.body.find("member " + stopped + " is evicted"), std::string::npos) << out.body;
  EXPECT_NE(Status().find("\"maintenance\":null,\"last_maintenance\":null"), std::string::npos);
  for (const auto& m : proxy_->health().Snapshot().members) {
    EXPECT_NE(m.state, HealthState::kDrained) << m.name;
  }
  cluster_->StartMember(2);
  ASSERT_TRUE(WaitFor(AllHealthyWithLeader, seconds(30)));

  {
    auto single =
        StartProxy(ProxyConfig(cluster_->ClientUrl(0), *certs_, {"--stream-close-window=200ms"}));
    ASSERT_TRUE(single->health().WaitForFirstRound(seconds(5)));
    const HttpResult alone = Http(single->admin_port(), "POST", "/maintenance/defragment");
    EXPECT_EQ(alone.status, 409);
    EXPECT_NE(alone.body.find("\"error\":\"too_few_members\""), std::string::npos) << alone.body;
  }

  Config config = SuiteConfig();
  std::string error;
  config.metrics_addr = *ParseHttpAddress("https://127.0.0.1:0", &error);
  auto https = StartProxy(config);
  const auto curl = [&](const std::string& path, bool with_cert) {
    std::vector<std::string> argv = {"curl", "-s",           "-o",         "/dev/null",
                                     "-w",   "%{http_code}", "--cacert",   certs_->ca(),
                                     "-X",   "POST",         "--max-time", "5"};
    if (with_cert)
      argv.insert(argv.end(), {"--cert", certs_->client(), "--key", certs_->client_key()});
    argv.push_back("https://127.0.0.1:" + std::to_string(https->admin_port()) + path);
    return std::atoi(RunCommand(argv).output.c_str());
  };
  EXPECT_EQ(curl("/maintenance/defragment", false), 403);
  EXPECT_EQ(curl("/members/" + cluster_->ClientTarget(0) + "/move-leader", false), 403);
  // With the certificate the caller is let through: to a member that does not exist.
  EXPECT_EQ(curl("/members/no-such-member/move-leader", true), 404);
  const auto view = https->health().Snapshot();
  for (const auto& m : view.members) EXPECT_NE(m.state, HealthState::kDrained) << m.name;
}

// Scenario: move-leader refuses a follower (409) and an unknown member (404); on the leader it
// hands leadership to another member while a writer runs through the proxy: the answer names the
// new leader, etcd and /status agree, /events lists the step, and no write fails.
TEST_F(MaintenanceTest, MoveLeaderHandsLeadershipOver) {
  const std::string leader = LeaderName();
  ASSERT_FALSE(leader.empty());
  std::string follower;
  for (const auto& m : proxy_->health().Snapshot().members) {
    if (m.name != leader) follower = m.name;
  }
  const HttpResult refused = Post("/members/" + follower + "/move-leader");
  EXPECT_EQ(refused.status, 409);
  EXPECT_NE(refused.body.find("\"error\":\"not_leader\""), std::string::npos) << refused.body;
  EXPECT_EQ(Post("/members/127.0.0.1:1/move-leader").status, 404);
  EXPECT_EQ(LeaderName(), leader);

  Writer writer(Channel(), "move/");
  ASSERT_TRUE(writer.WaitForMore(5, seconds(10)));
  const HttpResult moved = Post("/members/" + leader + "/move-leader");
  ASSERT_EQ(moved.status, 200) << moved.body;
  EXPECT_NE(moved.body.find("\"from\":\"" + leader + "\""), std::string::npos) << moved.body;
  EXPECT_NE(moved.body.find("\"seen_by_probes\":true"), std::string::npos) << moved.body;
  const std::string new_leader = LeaderName();
  EXPECT_NE(new_leader, leader);
  EXPECT_NE(moved.body.find("\"to\":\"" + new_leader + "\""), std::string::npos) << moved.body;
  EXPECT_NE(Status().find("\"leader\":\"" + new_leader + "\""), std::string::npos);

  // etcd agrees: the new leader's own Status names itself.
  int index = 0;
  while (index < cluster_->size() && cluster_->ClientTarget(index) != new_leader) ++index;
  ASSERT_LT(index, cluster_->size());
  auto maintenance = etcdserverpb::Maintenance::NewStub(cluster_->Channel(index));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + seconds(5));
  etcdserverpb::StatusResponse st;
  ASSERT_TRUE(maintenance->Status(&ctx, etcdserverpb::StatusRequest(), &st).ok());
  EXPECT_EQ(st.leader(), st.header().member_id());

  ASSERT_TRUE(writer.WaitForMore(20, seconds(10)));
  writer.Stop();
  EXPECT_TRUE(writer.failures().empty()) << writer.failures().front();
  EXPECT_NE(moved.body.find("\"writes_held_ms\":"), std::string::npos) << moved.body;
  // Writes wait while leadership moves (a transfer takes tens of milliseconds; the probes see
  // it within a round or two); a write the old leader dropped would take etcd's 7 s timeout.
  const auto gap = std::chrono::duration_cast<milliseconds>(writer.LongestGap());
  std::cout << "move-leader: " << moved.body << "longest write gap " << gap.count() << " ms\n";
  EXPECT_LT(gap, seconds(2));
  const std::string events = Events();
  EXPECT_NE(events.find("\"operation\":\"move-leader\",\"step\":\"moved to " + new_leader),
            std::string::npos)
      << events;
  // The old leader is a follower now: asking again is refused.
  EXPECT_EQ(Post("/members/" + leader + "/move-leader").status, 409);
}

}  // namespace
}  // namespace ehp::testing
