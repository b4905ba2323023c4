// The admin plane under connection abuse from a local process: 500 slowloris connections (a
// request line, then a header line every half second), then 2,000 more that send nothing, all
// reopened as soon as they are closed. /livez and /metrics must answer 200 within a second at
// every poll, over http and over https, while the plane is held at its connection cap.
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "proxy/server/file_limit.h"
#include "tests/support/cluster_proxy_suite.h"
#include "tests/support/connection_flood.h"
#include "tests/support/http_client.h"

namespace ehp::testing {
namespace {

constexpr bool kTimingTargets = EHP_TIMING_TARGETS;

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

class AdminFloodTest : public ClusterProxySuite {
 protected:
  static void SetUpTestSuite() {
    RaiseFileLimit();  // the test holds 2,500 connections, the proxy as many again
    // Each test starts its own proxy (http or https admin plane).
    StartSuite("ehp-admin-flood", {.etcd = {.members = 1, .extra_flags = {}}, .proxy = false});
  }

  struct Answer {
    int status = 0;
    Clock::duration took{};
  };
  // One GET as a probe makes it: a new connection each time.
  static Answer Get(int port, bool tls, const std::string& target) {
    const auto start = Clock::now();
    Answer a;
    if (tls) {
      const CommandResult r =
          RunCommand({"curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "3",
                      "https://127.0.0.1:" + std::to_string(port) + target},
                     "", seconds(5));
      a.status = std::atoi(r.output.c_str());
    } else {
      a.status =
          HttpExchange(port,
                       "GET " + target + " HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n",
                       seconds(3))
              .status;
    }
    a.took = Clock::now() - start;
    return a;
  }

  // Floods the admin plane of a proxy (https when `tls`) and polls it every second.
  void Flood(bool tls) {
    Config config = SuiteConfig({"--admin-max-connections=1024"});
    if (tls) {
      std::string error;
      config.metrics_addr = *ParseHttpAddress("https://127.0.0.1:0", &error);
    }
    std::unique_ptr<ProxyServer> proxy = StartProxy(config);
    ASSERT_NE(proxy, nullptr);
    const int port = proxy->admin_port();

    Clock::duration slowest{};
    int polls = 0;
    const auto poll_for = [&](seconds span) {
      const auto end = Clock::now() + span;
      while (Clock::now() < end) {
        const auto next = Clock::now() + seconds(1);
        for (const char* target : {"/livez", "/metrics"}) {
          const Answer a = Get(port, tls, target);
          EXPECT_EQ(a.status, 200) << target << " at poll " << polls;
          if (kTimingTargets) {
            EXPECT_LT(a.took, seconds(1)) << target << " at poll " << polls;
          }
          slowest = std::max(slowest, a.took);
        }
        ++polls;
        std::this_thread::sleep_until(next);
      }
    };

    // Over http closed connections come back as fast as they can; over https a few hundred a
    // second (100 here): each TLS handshake costs the server about a millisecond of CPU, so an
    // unbounded reconnect flood is a CPU flood, which no connection policy can answer.
    ConnectionFlood flood(port, tls, tls ? 100 : 1000000);
    flood.Want(500, 0);
    poll_for(seconds(5));
    const int slow_open = flood.most_open();
    flood.Want(500, 2000);
    poll_for(seconds(8));
    const int most_open = flood.most_open();
    const int idle_opened = flood.idle_opened();
    const int closed = flood.closed_by_server();

    const std::string metrics =
        tls ? RunCommand({"curl", "-sk", "--max-time", "5",
                          "https://127.0.0.1:" + std::to_string(port) + "/metrics"})
                  .output
            : Http(port, "GET", "/metrics").body;
    const double evicted =
        MetricValue(metrics, "etcd_health_proxy_admin_connections_evicted_total");
    std::printf(
        "%s: %d polls, slowest answer %.0f ms; slowloris open at once %d, all %d; idle opened "
        "%d; closed by the server %d; evicted %.0f\n",
        tls ? "https" : "http", polls, std::chrono::duration<double, std::milli>(slowest).count(),
        slow_open, most_open, idle_opened, closed, evicted);
    EXPECT_GE(polls, 12);
    EXPECT_GE(slow_open, 450) << "the slowloris connections did not open";
    // Counted as they open, not as they stay: idle connections are the first the plane closes at
    // its cap, and over https the flood reopens only a hundred a second.
    EXPECT_GE(idle_opened, 2000) << "the idle connections did not open";
    // Held at the cap: the plane made room by closing waiting connections.
    EXPECT_GT(evicted, 0);
    EXPECT_GT(closed, 1000);
  }
};

// Scenario: the http admin plane under the flood keeps answering probes and scrapes.
TEST_F(AdminFloodTest, HttpProbesAnswerUnderFlood) { Flood(false); }

// Scenario: the same for the https admin plane (slowloris connections handshake first; the
// plane starts the 500 handshakes a few at a time, the newest connection first, so a probe's
// handshake does not wait behind them all).
TEST_F(AdminFloodTest, HttpsProbesAnswerUnderFlood) { Flood(true); }

}  // namespace
}  // namespace ehp::testing
