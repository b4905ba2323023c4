// etcd with auth enabled behind the proxy, on the etcd EHP_ETCD_VERSION names (CTest runs it on
// 3.4, 3.5.16 and the newest 3.5). etcd 3.5.28 and later answer Maintenance.Status only to a
// user with the root role, and the proxy's certificate (CN etcd-client) is no etcd user here:
// without a probe identity the proxy must keep serving, evict nobody for auth, judge members
// by what still works and say what to configure; with --probe-user it judges as without auth.
#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <csignal>
#include <regex>
#include <thread>
#include <tuple>

#include "proxy/health/auth_refusal.h"
#include "tests/support/cluster_proxy_suite.h"
#include "tests/support/http_client.h"
#include "tests/support/proxy_process.h"

namespace ehp::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// "3.5.30" >= "3.5.28"?
bool VersionAtLeast(const std::string& version, int major, int minor, int patch) {
  int a = 0, b = 0, c = 0;
  std::sscanf(version.c_str(), "%d.%d.%d", &a, &b, &c);
  return std::tie(a, b, c) >= std::tie(major, minor, patch);
}

size_t Count(const std::string& text, const std::string& fragment) {
  size_t n = 0;
  for (size_t at = text.find(fragment); at != std::string::npos; at = text.find(fragment, at + 1)) {
    ++n;
  }
  return n;
}

class AuthTest : public ClusterProxySuite {
 protected:
  static void SetUpTestSuite() {
    // The proxy starts test by test, with the probe identity each is about.
    ASSERT_NO_FATAL_FAILURE(StartSuite("ehp-auth", {.proxy = false}));
    // root and the probe user have the root role; alice may only read app/. The proxy's
    // certificate CN (etcd-client) is no user.
    for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
             {"user", "add", "root:rootpw"},
             {"user", "grant-role", "root", "root"},
             {"user", "add", "probe:probepw"},
             {"user", "grant-role", "probe", "root"},
             {"role", "add", "reader"},
             {"role", "grant-permission", "reader", "read", "app/", "--prefix"},
             {"user", "add", "alice:alicepw"},
             {"user", "grant-role", "alice", "reader"},
             {"put", "app/k", "v0"},
             {"auth", "enable"}}) {
      const CommandResult r = Etcdctl(cluster_->ClientUrl(0), *certs_, args);
      ASSERT_EQ(r.exit_code, 0) << r.output;
    }
  }

  void SetUp() override {
    ASSERT_NE(cluster_, nullptr);
    // The proxy's log, at debug level: checked for what it says, and for what it must not.
    log_ = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(20000);
    log_->set_pattern("%l %v");
    spdlog::default_logger()->sinks().push_back(log_);
    spdlog::set_level(spdlog::level::debug);
    password_file_ = *dir_ + "/probe-password";
  }
  void TearDown() override {
    StopSuiteProxy();
    auto& sinks = spdlog::default_logger()->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), log_), sinks.end());
    spdlog::set_level(spdlog::level::info);
    for (int i = 0; i < cluster_->size(); ++i) cluster_->SignalMember(i, SIGCONT);
  }

  void StartProxyWith(std::vector<std::string> flags) {
    // Not a test of timing: a probe read slowed by a loaded machine must not look like a cut.
    flags.push_back("--probe-read-timeout=400ms");
    StartSuiteProxy(SuiteConfig(flags));
    ASSERT_NE(proxy_, nullptr);
    ASSERT_TRUE(proxy_->health().WaitForFirstRound(seconds(5)));
  }
  std::string Log() const {
    std::string out;
    for (const std::string& line : log_->last_formatted()) out += line;
    return out;
  }
  // etcdctl through the proxy; its own log lines (JSON: a retry after "invalid auth token" when
  // its new token has not been applied on the member yet, say) are left out of the output.
  CommandResult Via(const std::vector<std::string>& args, const std::string& in = "") {
    CommandResult r = Etcdctl("https://" + proxy_->Address(), *certs_, args, in);
    r.output = WithoutEtcdctlLogLines(r.output);
    return r;
  }
  // Whether the member refuses Status to the proxy's certificate without a token, asked direct.
  static bool DirectStatusRefused() {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + seconds(5));
    etcdserverpb::StatusResponse resp;
    const grpc::Status s =
        etcdserverpb::Maintenance::NewStub(cluster_->Channel(0))->Status(&ctx, {}, &resp);
    return ClassifyAuthRefusal(s.error_code(), s.error_message()) != AuthRefusal::kNone;
  }
  // Reads and writes through the proxy with etcdctl's own token, as kube-apiserver's peers do.
  void ExpectCallsWork(const std::string& value) {
    const CommandResult put = Via({"--user=root:rootpw", "put", "app/k", value});
    EXPECT_EQ(put.output, "OK\n") << put.output;
    const CommandResult get = Via({"--user=root:rootpw", "get", "app/k", "--print-value-only"});
    EXPECT_EQ(get.output, value + "\n") << get.output;
    EXPECT_EQ(Via({"--user=alice:alicepw", "get", "app/k", "--print-value-only"}).output,
              value + "\n");
    const CommandResult denied = Via({"--user=alice:alicepw", "put", "app/k", "x"});
    EXPECT_NE(denied.output.find("permission denied"), std::string::npos) << denied.output;
  }
  // Freezes member `i` (SIGSTOP) until it is evicted for a timeout, then thaws it until every
  // member takes calls again.
  void FreezeEvictsAndThawReadmits(int i) {
    cluster_->SignalMember(i, SIGSTOP);
    EXPECT_TRUE(WaitFor(
        [i](const HealthChecker::View& v) {
          return v.members[i].state == HealthState::kEvicted &&
                 v.members[i].reason == UnhealthyReason::kTimeout;
        },
        seconds(5)))
        << "a frozen member was not evicted for timeout";
    cluster_->SignalMember(i, SIGCONT);
    EXPECT_TRUE(WaitFor(AllHealthy, seconds(15))) << "the thawed member was not readmitted";
  }

  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> log_;
  std::string password_file_;
};

// Scenario: no probe identity. Calls with etcdctl's own --user work through the proxy and no
// member is evicted for auth; where etcd refuses Status (3.5.28 and later), /status, /readyz
// and one log line say what to configure, and members are judged by their linearizable probe
// read: a frozen member is still evicted (timeout), and the member left alone when the two
// others stop is evicted for no leader (its hasleader read is refused).
TEST_F(AuthTest, WithoutProbeIdentityServesAndJudgesByTheRead) {
  StartProxyWith({});
  const bool refused = DirectStatusRefused();
  // The fact the support matrix states, checked against the binary that runs.
  EXPECT_EQ(refused, VersionAtLeast(cluster_->ServerVersion(), 3, 5, 28))
      << "etcd " << cluster_->ServerVersion();
  ExpectCallsWork("v1");
  // Several seconds of rounds in which nothing may be evicted or held back: an absence, so a
  // fixed time rather than a condition.
  std::this_thread::sleep_for(seconds(2));
  HealthChecker::View v = proxy_->health().Snapshot();
  EXPECT_GT(v.rounds, 10u);
  EXPECT_EQ(v.evictions, 0u);
  EXPECT_TRUE(AllHealthy(v));
  const std::string status = Http(proxy_->admin_port(), "GET", "/status").body;
  const HttpResult ready = Http(proxy_->admin_port(), "GET", "/readyz?verbose");
  EXPECT_EQ(ready.status, 200) << ready.body;
  EXPECT_NE(status.find("\"probe_identity\":\"certificate CN \\\"etcd-client\\\"\""),
            std::string::npos)
      << status;
  if (refused) {
    for (const auto& m : v.members) {
      EXPECT_EQ(m.probe.status, ProbeResult::Status::kAuth) << m.probe.status_error;
    }
    EXPECT_EQ(Count(status, "\"probe\":\"auth\""), 3u) << status;
    EXPECT_NE(status.find("\"probe_auth\":{\"refused\":3,"), std::string::npos) << status;
    EXPECT_NE(status.find("set --probe-user and --probe-password-file"), std::string::npos)
        << status;
    EXPECT_NE(ready.body.find("[+]probe-auth ok: degraded on 3/3 members: etcd refuses"),
              std::string::npos)
        << ready.body;
    EXPECT_NE(status.find("\"quorum\":false"), std::string::npos) << status;  // no leader known
    // Said once, loudly.
    EXPECT_EQ(Count(Log(), "error probe identity: etcd refuses the health probes'"), 1u) << Log();
  } else {
    EXPECT_NE(status.find("\"probe_auth\":null"), std::string::npos) << status;
    EXPECT_EQ(Count(status, "\"probe\":\"ok\""), 3u) << status;
    EXPECT_TRUE(v.quorum.has_leader);
    EXPECT_EQ(Log().find("probe identity:"), std::string::npos) << Log();
  }
  EXPECT_EQ(MetricValue(proxy_->RenderMetrics(), "etcd_health_proxy_member_probe_auth_refused"),
            refused ? 3 : 0);

  FreezeEvictsAndThawReadmits(2);

  // Two members stop: the one left has no leader, which its refused hasleader read proves even
  // when its Status is refused.
  cluster_->StopMember(1);
  cluster_->StopMember(2);
  EXPECT_TRUE(WaitFor(
      [](const HealthChecker::View& v) {
        return v.members[0].state == HealthState::kEvicted &&
               v.members[0].reason == UnhealthyReason::kNoLeader;
      },
      seconds(10)))
      << "the lone member was not evicted for no_leader";
  cluster_->StartMember(1);
  cluster_->StartMember(2);
  EXPECT_TRUE(WaitFor(AllHealthy, seconds(30))) << "members not readmitted after the restart";
  ExpectCallsWork("v2");
  // Nobody was ever taken out for auth: every eviction had a cause the probes proved.
  for (const auto& e : proxy_->health().Events()) {
    if (e.member == proxy_->health().Snapshot().members[0].name) {
      EXPECT_NE(e.reason, UnhealthyReason::kUnreachable);
    }
  }
}

// Scenario: --probe-user with the root role. The probes carry its token: every member answers
// Status, so the leader and term are known and judged as without auth; a frozen member is
// evicted and readmitted. Changing the user's password (etcd drops its tokens) and the file
// makes the proxy renew the token without evicting anyone. The password is never logged.
TEST_F(AuthTest, ProbeUserGivesFullJudgement) {
  WriteFile(password_file_, "probepw\n");
  StartProxyWith({"--probe-user=probe", "--probe-password-file=" + password_file_});
  const auto all_ok = [](const HealthChecker::View& v) {
    for (const auto& m : v.members) {
      if (m.probe.status != ProbeResult::Status::kOk || !m.probe.token_sent) return false;
    }
    return v.quorum.has_leader && AllHealthy(v);
  };
  ASSERT_TRUE(WaitFor(all_ok, seconds(10))) << Log();
  const HealthChecker::View v = proxy_->health().Snapshot();
  EXPECT_GT(v.quorum.term, 0u);
  for (const auto& m : v.members) {
    EXPECT_TRUE(m.probe.token_sent);
    EXPECT_EQ(m.probe.leader, v.quorum.leader);
  }
  // The leader the proxy names is the one etcd names, asked direct as root.
  const CommandResult direct = Etcdctl(cluster_->ClientUrl(0), *certs_,
                                       {"--user=root:rootpw", "endpoint", "status", "-w", "json"});
  std::smatch m;
  ASSERT_TRUE(std::regex_search(direct.output, m, std::regex("\"leader\":(\\d+)")))
      << direct.output;
  EXPECT_EQ(std::stoull(m[1]), v.quorum.leader);
  const std::string status = Http(proxy_->admin_port(), "GET", "/status").body;
  EXPECT_NE(status.find("\"probe_auth\":null"), std::string::npos) << status;
  EXPECT_NE(status.find("\"quorum\":true"), std::string::npos) << status;
  EXPECT_NE(status.find("\"probe_identity\":\"user \\\"probe\\\"\""), std::string::npos) << status;
  ExpectCallsWork("v3");

  // A follower frozen: evicted for timeout, readmitted after.
  int follower = 0;
  while (v.members[follower].probe.member_id == v.quorum.leader) ++follower;
  FreezeEvictsAndThawReadmits(follower);
  const uint64_t evictions = proxy_->health().Snapshot().evictions;

  // New password: etcd drops the user's tokens; the proxy reads the file again.
  WriteFile(password_file_, "probepw2\n");
  const CommandResult passwd = Etcdctl(
      cluster_->ClientUrl(0), *certs_,
      {"--user=root:rootpw", "user", "passwd", "probe", "--interactive=false"}, "probepw2\n");
  ASSERT_EQ(passwd.exit_code, 0) << passwd.output;
  EXPECT_TRUE(
      Eventually([&] { return Log().find("new token for user probe") != std::string::npos; },
                 seconds(10), milliseconds(50)))
      << Log();
  EXPECT_TRUE(WaitFor(all_ok, seconds(10))) << Log();
  EXPECT_EQ(proxy_->health().Snapshot().evictions, evictions);
  ExpectCallsWork("v4");
  Etcdctl(cluster_->ClientUrl(0), *certs_,
          {"--user=root:rootpw", "user", "passwd", "probe", "--interactive=false"}, "probepw\n");

  const std::string log = Log();
  for (const char* secret : {"probepw", "probepw2", "rootpw", "alicepw"}) {
    EXPECT_EQ(log.find(secret), std::string::npos) << secret << " in the proxy log";
    EXPECT_EQ(status.find(secret), std::string::npos) << secret << " in /status";
  }
}

// Scenario: a wrong password in --probe-password-file. Authenticate fails; the proxy says so
// (and, where etcd refuses Status, what to check) without the password, and evicts nobody.
TEST_F(AuthTest, WrongProbePasswordIsSaidAndEvictsNobody) {
  WriteFile(password_file_, "wrong-secret\n");
  StartProxyWith({"--probe-user=probe", "--probe-password-file=" + password_file_});
  const bool refused = DirectStatusRefused();
  EXPECT_TRUE(
      Eventually([&] { return Log().find("Authenticate as user probe") != std::string::npos; },
                 seconds(5), milliseconds(50)))
      << Log();
  ExpectCallsWork("v5");
  // A second of rounds with the wrong password, in which nobody may be evicted.
  std::this_thread::sleep_for(seconds(1));
  const HealthChecker::View v = proxy_->health().Snapshot();
  EXPECT_TRUE(AllHealthy(v));
  EXPECT_EQ(v.evictions, 0u);
  const std::string status = Http(proxy_->admin_port(), "GET", "/status").body;
  if (refused) {
    EXPECT_NE(status.find("Authenticate as \\\"probe\\\" fails (etcdserver: authentication "
                          "failed, invalid user ID or password)"),
              std::string::npos)
        << status;
    EXPECT_EQ(Count(Log(), "error probe identity: etcd refuses"), 1u) << Log();
  } else {
    EXPECT_NE(status.find("\"probe_auth\":null"), std::string::npos) << status;
  }
  EXPECT_EQ(Log().find("wrong-secret"), std::string::npos) << Log();
  EXPECT_EQ(status.find("wrong-secret"), std::string::npos) << status;
}

}  // namespace
}  // namespace ehp::testing
