// The admin listener's connection policy on a plane of its own (no proxy, no etcd): at the cap a
// connection that has sent nothing is closed before one that has begun a request, and a silent
// connection ends at the head deadline, over http and https alike.
#include "proxy/admin/admin_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

#include "tests/support/etcd_cluster.h"
#include "tests/support/eventually.h"
#include "tests/support/process.h"

namespace ehp::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

class FakeBackend : public AdminBackend {
 public:
  std::string MetricsText() override { return "etcd_health_proxy_members 1\n"; }
  std::vector<Check> LivenessChecks() override { return {{"health-loop", true, ""}}; }
  std::vector<Check> ReadinessChecks() override { return {{"usable-member", true, ""}}; }
  std::string StatusJson() override { return "{}"; }
  std::string EventsJson() override { return "{}"; }
  bool SetDrained(const std::string&, bool) override { return false; }
  Action StartDefragment() override { return {409, "{}"}; }
  Action MoveLeader(const std::string&) override { return {404, "{}"}; }
};

int Connect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  return fd;
}

void Send(int fd, const std::string& text) {
  EXPECT_EQ(send(fd, text.data(), text.size(), MSG_NOSIGNAL), static_cast<ssize_t>(text.size()));
}

// Whether the server closes `fd` (end of stream or reset) within `wait`.
bool ClosedWithin(int fd, milliseconds wait) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(wait.count())) <= 0) return false;
  char c;
  return recv(fd, &c, 1, MSG_PEEK) <= 0;
}

// The first flight of a TLS client: the same bytes sent on many connections make as many
// handshakes for the server, at the cost of a send for the client.
std::string ClientHello() {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = SSL_new(ctx);
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl, in, out);
  SSL_connect(ssl);  // wants to read the server's answer
  std::string hello(static_cast<size_t>(BIO_pending(out)), '\0');
  BIO_read(out, hello.data(), static_cast<int>(hello.size()));
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  return hello;
}

// Reads until the server closes or `wait` passes.
std::string ReadAll(int fd, milliseconds wait) {
  std::string out;
  const auto end = Clock::now() + wait;
  char buf[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<milliseconds>(end - Clock::now()).count();
    pollfd p{fd, POLLIN, 0};
    if (left <= 0 || poll(&p, 1, static_cast<int>(left)) <= 0) break;
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

class AdminServerTest : public ::testing::Test {
 protected:
  void StartPlane(AdminServer::Limits limits, AdminServer::Tls tls = {}) {
    const bool https = !tls.files.cert.empty();
    HttpAddress address{.raw = https ? "https://127.0.0.1:0" : "http://127.0.0.1:0",
                        .tls = https,
                        .host = "127.0.0.1",
                        .port = 0};
    server_ = std::make_unique<AdminServer>(address, &backend_, limits, std::move(tls),
                                            [this] { evicted_++; });
    std::string error;
    ASSERT_TRUE(server_->Start(&error)) << error;
  }
  void TearDown() override {
    server_.reset();
    for (int fd : fds_) close(fd);
  }
  int Open() { return fds_.emplace_back(Connect(server_->port())); }
  // Waits until `n` connections have been evicted, at most a few seconds.
  bool EvictedReaches(int n) {
    Eventually([&] { return evicted_ >= n; }, seconds(5), milliseconds(10));
    return evicted_ == n;
  }

  FakeBackend backend_;
  std::atomic<int> evicted_{0};
  std::unique_ptr<AdminServer> server_;
  std::vector<int> fds_;
};

AdminServer::Limits LongDeadlines(int max_sessions) {
  return AdminServer::Limits{.read_timeout = seconds(30),
                             .header_timeout = seconds(30),
                             .idle_timeout = seconds(30),
                             .max_sessions = max_sessions};
}

// Scenario: at the cap, a request begun before a run of silent connections survives the next
// ones: the silent connections go, oldest first, and the request is answered when it ends.
TEST_F(AdminServerTest, SilentConnectionsAreClosedFirst) {
  StartPlane(LongDeadlines(8));
  const int probe = Open();
  Send(probe, "GET /livez HTTP/1.1\r\n");
  std::vector<int> silent;
  for (int i = 0; i < 7; ++i) silent.push_back(Open());
  for (int i = 0; i < 3; ++i) Open();  // three over the cap
  ASSERT_TRUE(EvictedReaches(3));
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(ClosedWithin(silent[i], seconds(2))) << i;
  for (int i = 3; i < 7; ++i) EXPECT_FALSE(ClosedWithin(silent[i], milliseconds(50))) << i;
  EXPECT_FALSE(ClosedWithin(probe, milliseconds(50)));
  Send(probe, "Host: probe\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(ReadAll(probe, seconds(5)).rfind("HTTP/1.1 200 ", 0), 0u);
}

// Scenario: with no silent connection left, the oldest unfinished request goes next.
TEST_F(AdminServerTest, ThenTheOldestUnfinishedRequest) {
  StartPlane(LongDeadlines(2));
  const int first = Open();
  Send(first, "GET /livez HTTP/1.1\r\n");
  const int second = Open();
  Send(second, "GET /livez HTTP/1.1\r\n");
  const int third = Open();
  Send(third, "GET /livez HTTP/1.1\r\n");
  ASSERT_TRUE(EvictedReaches(1));
  EXPECT_TRUE(ClosedWithin(first, seconds(2)));
  EXPECT_FALSE(ClosedWithin(second, milliseconds(50)));
  EXPECT_FALSE(ClosedWithin(third, milliseconds(50)));
}

// Scenario: a connection that never sends a byte is closed at the head deadline, not before.
TEST_F(AdminServerTest, SilentConnectionEndsAtHeadDeadline) {
  AdminServer::Limits limits = LongDeadlines(8);
  limits.header_timeout = milliseconds(500);
  StartPlane(limits);
  const auto start = Clock::now();
  const int a = Open();
  EXPECT_TRUE(ClosedWithin(a, seconds(3)));
  const auto took = Clock::now() - start;
  EXPECT_GE(took, milliseconds(450));
  EXPECT_LT(took, seconds(2));
  EXPECT_EQ(evicted_, 0);  // a timeout, not an eviction
}

// Scenario: 400 TLS clients send their first flight at once, then a probe connects: the plane
// starts handshakes a few at a time, the newest connection first, so the probe's handshake is
// done while most of the burst still waits for the server's answer.
TEST_F(AdminServerTest, HttpsProbeHandshakesAheadOfABurst) {
  const std::string dir = MakeTempDir("ehp-admin-server");
  const Certs certs = GenerateCerts(dir + "/certs");
  StartPlane(LongDeadlines(1024),
             AdminServer::Tls{.files = {certs.server(), certs.server_key(), certs.ca()}});
  const std::string hello = ClientHello();
  ASSERT_FALSE(hello.empty());
  std::vector<int> burst;
  for (int i = 0; i < 400; ++i) burst.push_back(Open());
  for (int fd : burst) Send(fd, hello);

  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, Open());
  EXPECT_EQ(SSL_connect(ssl), 1);
  int answered = 0;  // burst connections the server has answered by now
  for (int fd : burst) {
    pollfd p{fd, POLLIN, 0};
    answered += poll(&p, 1, 0);
  }
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  // Oldest first, the probe would come after all 400.
  EXPECT_LT(answered, 200);
  std::printf("the probe's handshake was done with %d of 400 earlier ones answered\n", answered);
  server_.reset();
  RemoveTree(dir);
}

// Scenario: over https, silent connections fill the plane; a client's handshake and request
// still get through (a silent one is closed for it) and silent ones end at the head deadline.
TEST_F(AdminServerTest, HttpsSilentConnections) {
  const std::string dir = MakeTempDir("ehp-admin-server");
  const Certs certs = GenerateCerts(dir + "/certs");
  AdminServer::Limits limits = LongDeadlines(4);
  limits.header_timeout = seconds(2);
  StartPlane(limits, AdminServer::Tls{.files = {certs.server(), certs.server_key(), ""}});
  std::vector<int> silent;
  for (int i = 0; i < 4; ++i) silent.push_back(Open());
  const CommandResult r =
      RunCommand({"curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5",
                  "https://127.0.0.1:" + std::to_string(server_->port()) + "/livez"},
                 "", seconds(10));
  EXPECT_EQ(r.output, "200");
  EXPECT_EQ(evicted_, 1);
  EXPECT_TRUE(ClosedWithin(silent[0], milliseconds(100)));
  for (int i = 1; i < 4; ++i) EXPECT_TRUE(ClosedWithin(silent[i], seconds(4))) << i;
  server_.reset();
  RemoveTree(dir);
}

}  // namespace
}  // namespace ehp::testing
