// The binary as users run it: etcdctl pointed at the proxy gives the same answers as etcdctl
// pointed at a member, command by command.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <regex>
#include <thread>

#include "tests/support/cluster_proxy_suite.h"
#include "tests/support/proxy_process.h"

namespace ehp::testing {
namespace {

// I/O threads of the h2 data path (the grpc data path ignores it).
constexpr size_t kThreads = 2;

class EtcdctlTest : public ClusterProxySuite {
 protected:
  static void SetUpTestSuite() {
    // The proxy is the binary, run as users run it.
    ASSERT_NO_FATAL_FAILURE(
        StartSuite("ehp-etcdctl",
                   {.etcd = {.extra_flags = {"--experimental-watch-progress-notify-interval=1s"}},
                    .proxy = false}));
    // Debug logging: the auth test checks that not even debug lines carry secrets.
    binary_ = new ProxyProcess(*dir_, cluster_->Endpoints(), *certs_,
                               {"--log-level=debug", "--threads=" + std::to_string(kThreads)});
    ASSERT_TRUE(binary_->process().running()) << binary_->log();
  }
  static void TearDownTestSuite() {
    delete binary_;
    binary_ = nullptr;
    StopSuite();
  }

  CommandResult Via(const std::vector<std::string>& args, const std::string& in = "") {
    return Etcdctl(binary_->url(), *certs_, args, in);
  }
  CommandResult Direct(const std::vector<std::string>& args, const std::string& in = "") {
    return Etcdctl(cluster_->ClientUrl(0), *certs_, args, in);
  }
  // Same exit code and output through the proxy and direct; returns the proxy's output.
  // etcdctl's own log lines (JSON, with timestamps and connection ids) are left out.
  std::string Same(const std::vector<std::string>& args, const std::string& in = "") {
    const CommandResult via = Via(args, in);
    const CommandResult direct = Direct(args, in);
    EXPECT_EQ(via.exit_code, direct.exit_code) << via.output << "\nvs\n" << direct.output;
    EXPECT_EQ(WithoutLogLines(via.output), WithoutLogLines(direct.output));
    return WithoutLogLines(via.output);
  }
  static std::string WithoutLogLines(const std::string& text) {
    return WithoutEtcdctlLogLines(text);
  }
  int64_t Revision() {
    const std::string out = Via({"get", "nokey", "-w", "json"}).output;
    std::smatch m;
    EXPECT_TRUE(std::regex_search(out, m, std::regex("\"revision\":(\\d+)"))) << out;
    return std::stoll(m[1]);
  }

  static inline ProxyProcess* binary_ = nullptr;
};

// Scenario: put, get (linearizable, serializable, prefix, limit, revision), del.
TEST_F(EtcdctlTest, KeyValueCommands) {
  ASSERT_EQ(Via({"put", "app/a", "1"}).output, "OK\n");
  const std::string rev = std::to_string(Revision());
  ASSERT_EQ(Via({"put", "app/a", "2"}).output, "OK\n");
  ASSERT_EQ(Via({"put", "app/b", "3"}).output, "OK\n");
  EXPECT_EQ(Same({"get", "app/a"}), "app/a\n2\n");
  EXPECT_EQ(Same({"get", "app/a", "--consistency=s"}), "app/a\n2\n");
  EXPECT_EQ(Same({"get", "app/", "--prefix"}), "app/a\n2\napp/b\n3\n");
  EXPECT_EQ(Same({"get", "app/", "--prefix", "--limit=1", "--keys-only"}), "app/a\n\n");
  EXPECT_EQ(Same({"get", "app/a", "--rev=" + rev}), "app/a\n1\n");
  EXPECT_EQ(Via({"del", "app/b"}).output, "1\n");
  EXPECT_EQ(Same({"del", "app/b"}), "0\n");
  const std::string count = Via({"get", "app/", "--prefix", "-w", "fields"}).output;
  EXPECT_NE(count.find("\"Count\" : 1"), std::string::npos) << count;
}

// Scenario: a transaction read from stdin, as etcdctl's interactive mode takes it.
TEST_F(EtcdctlTest, Txn) {
  ASSERT_EQ(Via({"put", "txn/k", "v"}).output, "OK\n");
  const std::string script = "mod(\"txn/k\") = \"1\"\n\nput txn/k never\n\nget txn/k\n\n";
  EXPECT_EQ(Same({"txn"}, script), "FAILURE\n\ntxn/k\nv\n");
}

// Scenario: compaction through the proxy, then reads of compacted revisions fail the same way.
TEST_F(EtcdctlTest, Compaction) {
  Via({"put", "cmp/k", "1"});
  const std::string old_rev = std::to_string(Revision());
  Via({"put", "cmp/k", "2"});
  const std::string rev = std::to_string(Revision());
  EXPECT_EQ(Via({"compaction", rev}).output, "compacted revision " + rev + "\n");
  const std::string out = Same({"get", "cmp/k", "--rev=" + old_rev});
  EXPECT_NE(out.find("required revision has been compacted"), std::string::npos) << out;
  Same({"compaction", rev});  // compacting again is the same error both ways
}

// Scenario: watch from a revision (runs until a timeout ends it). etcdctl 3.4 has no flag for
// progress notifications; relay_test covers them.
TEST_F(EtcdctlTest, Watch) {
  const std::string rev = std::to_string(Revision() + 1);
  Via({"put", "watch/a", "1"});
  Via({"put", "watch/b", "2"});
  const auto watch = [&](const std::string& endpoint) {
    return RunCommand({"timeout", "2", EtcdTool("etcdctl"), "--endpoints=" + endpoint,
                       "--cacert=" + certs_->ca(), "--cert=" + certs_->client(),
                       "--key=" + certs_->client_key(), "watch", "watch/", "--prefix",
                       "--rev=" + rev});
  };
  const CommandResult via = watch(binary_->url());
  const CommandResult direct = watch(cluster_->ClientUrl(0));
  EXPECT_NE(via.output.find("PUT\nwatch/a\n1\nPUT\nwatch/b\n2\n"), std::string::npos) << via.output;
  EXPECT_EQ(via.output, direct.output);
}

// Scenario: lease grant, keep-alive, time-to-live with keys, list and revoke.
TEST_F(EtcdctlTest, Leases) {
  const std::string granted = Via({"lease", "grant", "100"}).output;
  std::smatch m;
  ASSERT_TRUE(
      std::regex_search(granted, m, std::regex("lease ([0-9a-f]+) granted with TTL\\(100s\\)")))
      << granted;
  const std::string id = m[1];
  ASSERT_EQ(Via({"put", "leased", "x", "--lease=" + id}).output, "OK\n");
  EXPECT_NE(Via({"lease", "keep-alive", "--once", id}).output.find("keepalived with TTL(100)"),
            std::string::npos);
  const std::string ttl = Via({"lease", "timetolive", id, "--keys"}).output;
  EXPECT_NE(ttl.find("attached keys([leased])"), std::string::npos) << ttl;
  EXPECT_NE(Same({"lease", "list"}).find(id), std::string::npos);
  EXPECT_EQ(Via({"lease", "revoke", id}).output, "lease " + id + " revoked\n");
  EXPECT_EQ(Same({"get", "leased"}), "");
  EXPECT_EQ(Same({"lease", "revoke", id}).find("requested lease not found") != std::string::npos,
            true);
}

// Scenario: member list, endpoint status and health, snapshot save.
TEST_F(EtcdctlTest, ClusterAndMaintenance) {
  const std::string members = Same({"member", "list"});
  EXPECT_EQ(std::count(members.begin(), members.end(), '\n'), 3);
  const std::string status = Via({"endpoint", "status"}).output;
  EXPECT_NE(status.find(binary_->url() + ", "), std::string::npos) << status;
  // The version is the members' own (kube-apiserver enables features by it): the third field,
  // as a member reports it direct.
  const auto version = [](const std::string& line) {
    std::smatch m;
    return std::regex_search(line, m, std::regex("^[^,]+, [0-9a-f]+, ([^,]+), ")) ? m[1].str()
                                                                                  : "?";
  };
  const std::string direct = Direct({"endpoint", "status"}).output;
  EXPECT_EQ(version(status), version(direct)) << status << direct;
  EXPECT_EQ(version(direct), cluster_->ServerVersion()) << direct;
  EXPECT_NE(Via({"endpoint", "health"}).output.find(binary_->url() + " is healthy"),
            std::string::npos);
  const std::string file = *dir_ + "/snap.db";
  const CommandResult saved = Via({"snapshot", "save", file});
  EXPECT_EQ(saved.exit_code, 0) << saved.output;
  const CommandResult st =
      RunCommand({EtcdTool("etcdctl"), "snapshot", "status", file, "-w", "table"});
  EXPECT_EQ(st.exit_code, 0) << st.output;
  EXPECT_NE(st.output.find("TOTAL KEYS"), std::string::npos);
}

// Scenario: a value over 1 MiB written with etcdctl (from stdin) reads back whole.
TEST_F(EtcdctlTest, LargeValue) {
  const std::string big(1100 * 1024, 'z');
  ASSERT_EQ(Via({"put", "big"}, big).output, "OK\n");
  EXPECT_EQ(Same({"get", "big", "--print-value-only"}), big + "\n");
}

// Scenario: a client that disappears mid-watch (SIGKILL) leaves no watch stream open at etcd.
TEST_F(EtcdctlTest, VanishedWatcherLeavesNoUpstreamStream) {
  const auto streams = [&] {
    double sum = 0;
    for (int i = 0; i < cluster_->size(); ++i) {
      sum += MetricValue(cluster_->Metrics(i), "etcd_debugging_mvcc_watch_stream_total");
    }
    return sum;
  };
  const double before = streams();
  Process watcher({EtcdTool("etcdctl"), "--endpoints=" + binary_->url(), "--cacert=" + certs_->ca(),
                   "--cert=" + certs_->client(), "--key=" + certs_->client_key(), "watch",
                   "vanish/", "--prefix"},
                  *dir_ + "/watcher.log");
  double during = before;
  Eventually(
      [&] {
        during = streams();
        return during > before;
      },
      std::chrono::seconds(5), std::chrono::milliseconds(50));
  EXPECT_EQ(during, before + 1);
  watcher.Signal(SIGKILL);
  watcher.Wait(std::chrono::seconds(5));
  double after = during;
  Eventually(
      [&] {
        after = streams();
        return after <= before;
      },
      std::chrono::seconds(5), std::chrono::milliseconds(50));
  EXPECT_EQ(after, before);
}

// Scenario: with auth enabled through the proxy, the token etcdctl obtains is passed on later
// calls; wrong passwords and missing tokens fail as they do direct.
TEST_F(EtcdctlTest, AuthTokens) {
  ASSERT_EQ(Via({"user", "add", "root:rootpw"}).exit_code, 0);
  ASSERT_EQ(Via({"user", "grant-role", "root", "root"}).exit_code, 0);
  ASSERT_EQ(Via({"role", "add", "reader"}).exit_code, 0);
  ASSERT_EQ(Via({"role", "grant-permission", "reader", "read", "auth/", "--prefix"}).exit_code, 0);
  ASSERT_EQ(Via({"user", "add", "alice:alicepw"}).exit_code, 0);
  ASSERT_EQ(Via({"user", "grant-role", "alice", "reader"}).exit_code, 0);
  ASSERT_EQ(Via({"put", "auth/k", "v"}).exit_code, 0);
  const CommandResult enabled = Via({"auth", "enable"});
  ASSERT_EQ(enabled.output, "Authentication Enabled\n") << enabled.output;

  EXPECT_EQ(Same({"--user=root:rootpw", "get", "auth/k"}), "auth/k\nv\n");
  EXPECT_EQ(Same({"--user=alice:alicepw", "get", "auth/k"}), "auth/k\nv\n");
  const std::string denied = Same({"--user=alice:alicepw", "put", "auth/k", "w"});
  EXPECT_NE(denied.find("permission denied"), std::string::npos) << denied;
  const std::string wrong = Same({"--user=alice:nope", "get", "auth/k"});
  EXPECT_NE(wrong.find("authentication failed"), std::string::npos) << wrong;
  Same({"get", "auth/k"});  // no token: etcd decides from the client certificate, same both ways

  EXPECT_EQ(Via({"--user=root:rootpw", "auth", "disable"}).output, "Authentication Disabled\n");
  // Passwords and tokens passed through; none of them reached the proxy's (debug) log.
  const std::string log = binary_->log();
  for (const char* secret : {"rootpw", "alicepw", "nope", "token"}) {
    EXPECT_EQ(log.find(secret), std::string::npos) << secret << " in the proxy log:\n" << log;
  }
}

// Scenario: the proxy keeps a few connections per member, however many clients connect (each
// etcdctl call here is a new client connection).
TEST_F(EtcdctlTest, FewConnectionsPerMember) {
  for (int i = 0; i < 12; ++i) ASSERT_EQ(Via({"get", "app/a"}).exit_code, 0);
  const std::string port = cluster_->ClientTarget(1).substr(10);
  const CommandResult ss =
      RunCommand({"ss", "-Htnp", "state", "established", "dport", "=", ":" + port});
  const std::string pid = "pid=" + std::to_string(binary_->process().pid()) + ",";
  size_t connections = 0;
  for (size_t at = ss.output.find(pid); at != std::string::npos; at = ss.output.find(pid, at + 1)) {
    ++connections;
  }
  EXPECT_GE(connections, 1u) << ss.output;
  // One data connection per I/O thread (upstream-connections, 2, spread over the threads: at
  // least one each), plus the health probes' own one.
  const size_t most = kThreads + 1;
  EXPECT_LE(connections, most) << ss.output;
}

}  // namespace
}  // namespace ehp::testing
