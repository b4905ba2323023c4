// ehp-loadgen: the kube-apiserver-shaped workload (chaos/workload) against etcd endpoints for a
// bounded time, with a progress line every second, then a JSON summary and a per-second CSV
// timeline for the drill report. One endpoint: everything goes through it (the proxy,
// grpc-proxy, HAProxy). Several: one connection each, round-robin with retries of UNAVAILABLE,
// as clientv3 does (connecting direct).
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "chaos/workload/workload.h"
#include "proxy/log/logging.h"

namespace {

using ehp::chaos::CallKind;
using ehp::chaos::Timeline;
using ehp::chaos::Workload;
using ehp::chaos::WorkloadStats;

constexpr int kMaxDurationSeconds = 3600;

const char kUsage[] =
    "usage: ehp-loadgen --endpoints=HOST:PORT[,HOST:PORT...] [options]\n"
    "  --endpoints=LIST    one: all calls through it; several: round-robin as clientv3 does\n"
    "  --cacert=FILE       CA of the servers (TLS when given)\n"
    "  --cert=FILE --key=FILE   client certificate\n"
    "  --server-name=NAME  name to check in the server certificate (default: the host)\n"
    "  --connections=N     connections per endpoint (1-16, default 1); calls go round-robin\n"
    "                      over all of them, as over several clients\n"
    "  --duration=SECONDS  how long the load runs (1-3600, default 30)\n"
    "  --prefix=PREFIX     key prefix of this run (default /ehp-drill/)\n"
    "  --json=FILE         summary as JSON\n"
    "  --timeline=FILE     per-second CSV: second,reads_ok,reads_failed,writes_ok,writes_failed,"
    "p99_ms\n"
    "  --quiet             no progress line\n";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> Split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

std::string JsonString(const std::string& s) { return "\"" + ehp::JsonEscape(s) + "\""; }

std::string KindJson(const Timeline::Summary& s) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "{\"ok\":%lu,\"failed\":%lu,\"p50_ms\":%.1f,\"p99_ms\":%.1f,\"max_ms\":%.1f}", s.ok,
                s.failed, s.p50_ms, s.p99_ms, s.max_ms);
  return buf;
}

std::string SummaryJson(const WorkloadStats& s, int duration) {
  std::string errors = "{";
  for (const auto& [message, count] : s.timeline.errors()) {
    if (errors.size() > 1) errors += ",";
    errors += JsonString(message) + ":" + std::to_string(count);
  }
  errors += "}";
  char buf[1024];
  std::snprintf(
      buf, sizeof buf,
      "{\"duration_s\":%d,\"reads\":%s,\"writes\":%s,\"longest_write_gap_ms\":%.0f,"
      "\"longest_read_ms\":%.0f,\"writes_in_flight_max\":%lu,\"watch\":{\"events\":%lu,"
      "\"missed\":%lu,\"duplicates\":%lu,\"out_of_order\":%lu,\"restarts\":%lu,\"errors\":%lu,"
      "\"delay_p99_ms\":%.1f,\"delay_max_ms\":%.1f},"
      "\"lease_alive\":%s,\"keepalive_restarts\":%lu,\"keys_checked\":%lu,\"lost_writes\":%lu,",
      duration, KindJson(s.timeline.Of(CallKind::kRead)).c_str(),
      KindJson(s.timeline.Of(CallKind::kWrite)).c_str(), s.longest_write_gap_ms, s.longest_read_ms,
      s.writes_in_flight_max, s.watch_events, s.watch_missed, s.watch_duplicates,
      s.watch_out_of_order, s.watch_restarts, s.watch_errors, s.watch_delay_p99_ms,
      s.watch_delay_max_ms, s.lease_alive ? "true" : "false", s.keepalive_restarts, s.keys_checked,
      s.lost_writes);
  return std::string(buf) + "\"errors\":" + errors + "}\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> flags = {{"duration", "30"}, {"prefix", "/ehp-drill/"}};
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    const auto eq = arg.find('=');
    if (arg == "--quiet") {
      flags["quiet"] = "1";
    } else if (arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      const std::string name = arg.substr(2, eq - 2);
      static const char* const kKnown[] = {"endpoints",   "cacert",     "cert",   "key",
                                           "server-name", "duration",   "prefix", "json",
                                           "timeline",    "connections"};
      if (std::find(std::begin(kKnown), std::end(kKnown), name) == std::end(kKnown)) {
        std::fprintf(stderr, "ehp-loadgen: --%s: unknown flag\n%s", name.c_str(), kUsage);
        return 2;
      }
      flags[name] = arg.substr(eq + 1);
    } else {
      std::fprintf(stderr, "ehp-loadgen: %s: expected --name=value\n%s", arg.c_str(), kUsage);
      return 2;
    }
  }
  const std::vector<std::string> endpoints = Split(flags["endpoints"]);
  int duration = 0, connections = 0;
  try {
    duration = std::stoi(flags["duration"]);
    connections = std::stoi(flags.contains("connections") ? flags["connections"] : "1");
  } catch (...) {
  }
  if (endpoints.empty() || duration < 1 || duration > kMaxDurationSeconds || connections < 1 ||
      connections > 16) {
    std::fprintf(stderr,
                 "ehp-loadgen: need --endpoints, --duration of 1-%d seconds and --connections of "
                 "1-16\n%s",
                 kMaxDurationSeconds, kUsage);
    return 2;
  }

  std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials();
  if (!flags["cacert"].empty()) {
    grpc::SslCredentialsOptions tls;
    tls.pem_root_certs = ReadFile(flags["cacert"]);
    if (!flags["cert"].empty()) {
      tls.pem_cert_chain = ReadFile(flags["cert"]);
      tls.pem_private_key = ReadFile(flags["key"]);
    }
    if (tls.pem_root_certs.empty()) {
      std::fprintf(stderr, "ehp-loadgen: --cacert: cannot read %s\n", flags["cacert"].c_str());
      return 2;
    }
    creds = grpc::SslCredentials(tls);
  }
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int c = 0; c < connections; ++c) {
    for (std::string e : endpoints) {
      for (const char* scheme : {"https://", "http://"}) {
        if (e.rfind(scheme, 0) == 0) e = e.substr(std::string(scheme).size());
      }
      grpc::ChannelArguments args;
      // Channels with equal arguments share one connection; this keeps them apart.
      args.SetInt("ehp.loadgen.connection", c);
      if (!flags["server-name"].empty()) {
        args.SetSslTargetNameOverride(flags["server-name"]);
      }
      args.SetMaxReceiveMessageSize(64 << 20);
      // gRPC 1.51's retry filter can abort the process when a server restarts mid-call (an empty
      // grpc-status in its trailing-metadata path); the workload retries as clientv3 does instead.
      args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
      // Like clientv3: reconnect quickly after a member comes back.
      args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
      channels.push_back(grpc::CreateCustomChannel(e, creds, args));
    }
  }

  Workload load(channels, flags["prefix"]);
  load.Start();
  const bool quiet = flags.contains("quiet");
  const auto start = std::chrono::steady_clock::now();
  Workload::Progress last{};
  for (int s = 1; s <= duration; ++s) {
    std::this_thread::sleep_until(start + std::chrono::seconds(s));
    const Workload::Progress p = load.progress();
    if (!quiet) {
      std::fprintf(stderr,
                   "t=%3ds  reads %4lu/s ok %3lu failed  writes %4lu/s ok %3lu failed  "
                   "watch %6lu events  in flight %lu\n",
                   s, p.reads_ok - last.reads_ok, p.reads_failed - last.reads_failed,
                   p.writes_ok - last.writes_ok, p.writes_failed - last.writes_failed,
                   p.watch_events, load.writes_in_flight());
    }
    last = p;
  }
  const WorkloadStats stats = load.Stop();
  std::fprintf(stderr, "%s\n", stats.Summary().c_str());
  if (!flags["json"].empty()) std::ofstream(flags["json"]) << SummaryJson(stats, duration);
  if (!flags["timeline"].empty()) std::ofstream(flags["timeline"]) << stats.timeline.Csv();
  return 0;
}
