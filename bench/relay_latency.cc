// Rough latency of a serializable Range, direct to a member vs through the proxy, measured in the
// same run with the two targets interleaved. Starts its own 3-member etcd cluster (TLS) on
// loopback and an in-process proxy. Prints percentiles and the added latency.
// Usage: relay_latency [requests-per-round=2000] [rounds=5]
#include <algorithm>
#include <cstdio>
#include <numeric>

#include "tests/support/etcd_cluster.h"
#include "tests/support/proxy_fixture.h"

using namespace ehp;
using namespace ehp::testing;

namespace {

std::vector<double> Measure(etcdserverpb::KV::Stub& kv, int n) {
  std::vector<double> us;
  us.reserve(n);
  etcdserverpb::RangeRequest req;
  req.set_key("bench/key");
  req.set_serializable(true);
  for (int i = 0; i < n; ++i) {
    grpc::ClientContext ctx;
    etcdserverpb::RangeResponse resp;
    const auto t0 = std::chrono::steady_clock::now();
    const grpc::Status s = kv.Range(&ctx, req, &resp);
    const auto t1 = std::chrono::steady_clock::now();
    if (!s.ok()) {
      std::fprintf(stderr, "Range failed: %s\n", s.error_message().c_str());
      std::exit(1);
    }
    us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  return us;
}

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(p * (v.size() - 1))];
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 2000;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 5;
  const std::string dir = MakeTempDir("ehp-bench");
  int rc = 0;
  {
    Certs certs = GenerateCerts(dir + "/certs");
    EtcdCluster cluster(dir, certs);
    if (!cluster.Start()) {
      std::fprintf(stderr, "etcd did not start (logs in %s)\n", dir.c_str());
      return 1;
    }
    // Through the proxy only member 1 is used, so both targets answer from the same member.
    Config config = ProxyConfig(cluster.ClientUrl(0), certs);
    config.log_level = "warn";
    auto proxy = StartProxy(config);
    auto direct = etcdserverpb::KV::NewStub(cluster.Channel(0));
    auto via = etcdserverpb::KV::NewStub(ProxyChannel(*proxy, certs));
    {
      grpc::ClientContext ctx;
      etcdserverpb::PutRequest put;
      put.set_key("bench/key");
      put.set_value(std::string(128, 'v'));
      etcdserverpb::PutResponse r;
      direct->Put(&ctx, put, &r);
    }
    Measure(*direct, 200);  // warm both paths
    Measure(*via, 200);
    std::vector<double> d50, d99, p50, p99;
    for (int r = 0; r < rounds; ++r) {
      const auto d = Measure(*direct, n);
      const auto p = Measure(*via, n);
      d50.push_back(Percentile(d, 0.5));
      d99.push_back(Percentile(d, 0.99));
      p50.push_back(Percentile(p, 0.5));
      p99.push_back(Percentile(p, 0.99));
      std::printf("round %d: direct p50 %.0f us p99 %.0f us | proxy p50 %.0f us p99 %.0f us\n",
                  r + 1, d50.back(), d99.back(), p50.back(), p99.back());
    }
    const auto med = [](std::vector<double> v) { return Percentile(std::move(v), 0.5); };
    std::printf(
        "serializable Range, %d sequential calls x %d rounds (medians of rounds):\n"
        "  direct  p50 %.0f us  p99 %.0f us\n"
        "  proxy   p50 %.0f us  p99 %.0f us\n"
        "  added   p50 %.0f us  p99 %.0f us  (ratio p50 %.2f)\n",
        n, rounds, med(d50), med(d99), med(p50), med(p99), med(p50) - med(d50), med(p99) - med(d99),
        med(p50) / med(d50));
  }
  RemoveTree(dir);
  return rc;
}
