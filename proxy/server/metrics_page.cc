#include "proxy/server/metrics_page.h"

#include <grpcpp/grpcpp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <ctime>
#include <map>

#include "proxy/config/proxy_config.h"
#include "proxy/health/health_checker.h"
#include "proxy/metrics/prometheus_text.h"
#include "proxy/metrics/proxy_metrics.h"
#include "proxy/relay/stream_registry.h"
#include "proxy/routing/call_holder.h"
#include "proxy/upstream/upstream_pool.h"
#include "version.h"

namespace ehp {
namespace {

std::string Hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

double CertificateNotAfter(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return -1;
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (cert == nullptr) return -1;
  int days = 0, seconds = 0;
  double out = -1;
  if (ASN1_TIME_diff(&days, &seconds, nullptr, X509_get0_notAfter(cert)) == 1) {
    out = static_cast<double>(std::time(nullptr)) + days * 86400.0 + seconds;
  }
  X509_free(cert);
  return out;
}

std::string RenderMetricsPage(const ProxyMetrics& metrics, const Config& config,
                              const HealthChecker& health, const UpstreamPool& upstream,
                              const StreamRegistry& streams, const CallHolder& holder) {
  std::string out;
  out.reserve(16384);
  const HealthChecker::View view = health.Snapshot();
  const auto set = upstream.Members();

  WriteHeader(&out, "etcd_health_proxy_build_info", "Version of the running proxy.", "gauge");
  WriteSample(&out, "etcd_health_proxy_build_info",
              {{"version", EHP_VERSION}, {"grpc_version", grpc::Version()}}, 1);

  WriteHeader(&out, "etcd_health_proxy_member_healthy", "1 when the member takes calls, else 0.",
              "gauge");
  for (const auto& m : view.members) {
    WriteSample(&out, "etcd_health_proxy_member_healthy", {{"member", m.name}},
                m.state == HealthState::kHealthy ? 1 : 0);
  }
  WriteHeader(&out, "etcd_health_proxy_member_state",
              "The member's state: 1 for the current one of healthy, evicted, probation, drained.",
              "gauge");
  for (const auto& m : view.members) {
    for (HealthState s : {HealthState::kHealthy, HealthState::kEvicted, HealthState::kProbation,
                          HealthState::kDrained}) {
      WriteSample(&out, "etcd_health_proxy_member_state",
                  {{"member", m.name}, {"state", std::string(ToString(s))}}, m.state == s);
    }
  }
  WriteHeader(&out, "etcd_health_proxy_member_unhealthy_reason",
              "1 for the reason a member is not healthy (absent when healthy).", "gauge");
  for (const auto& m : view.members) {
    if (m.state == HealthState::kHealthy) continue;
    WriteSample(&out, "etcd_health_proxy_member_unhealthy_reason",
                {{"member", m.name}, {"reason", std::string(ToString(m.reason))}}, 1);
  }
  WriteHeader(&out, "etcd_health_proxy_member_leader",
              "1, labelled with the leader id (hex) the member reports; 0 with leader_id=\"0\" "
              "when it has none.",
              "gauge");
  for (const auto& m : view.members) {
    WriteSample(&out, "etcd_health_proxy_member_leader",
                {{"member", m.name}, {"leader_id", Hex(m.probe.leader)}}, m.probe.leader != 0);
  }
  const struct {
    const char* name;
    const char* help;
    double (*get)(const HealthChecker::MemberView&);
  } gauges[] = {
      {"etcd_health_proxy_member_raft_term", "Raft term the member reports.",
       [](const HealthChecker::MemberView& m) { return double(m.probe.raft_term); }},
      {"etcd_health_proxy_member_raft_index", "Raft index the member reports.",
       [](const HealthChecker::MemberView& m) { return double(m.probe.raft_index); }},
      {"etcd_health_proxy_member_applied_index", "Raft applied index the member reports.",
       [](const HealthChecker::MemberView& m) { return double(m.probe.applied_index); }},
      {"etcd_health_proxy_member_lag_entries",
       "Entries the member's applied index trails the most advanced member's.",
       [](const HealthChecker::MemberView& m) { return double(m.verdict.lag); }},
      {"etcd_health_proxy_member_lag_seconds",
       "How late the member is: since the quorum first had committed an entry it has not applied "
       "yet, how much longer its probe read took than the others', or how late its watch "
       "streams delivered revisions (the largest; see max-lag-time).",
       [](const HealthChecker::MemberView& m) { return m.verdict.lag_time.total().count() / 1e6; }},
      {"etcd_health_proxy_member_watch_delay_seconds",
       "The member's largest watch delay of the last 30 s: how long a revision had existed in "
       "the cluster when a watch stream on the member delivered it, beyond the other members' "
       "(0 when none was measured).",
       [](const HealthChecker::MemberView& m) {
         return m.verdict.lag_time.watch_recent.count() / 1e6;
       }},
      {"etcd_health_proxy_member_db_size_bytes", "Backend database size the member reports.",
       [](const HealthChecker::MemberView& m) { return double(m.probe.db_size); }},
      {"etcd_health_proxy_member_probe_status_seconds", "Latency of the last Status probe.",
       [](const HealthChecker::MemberView& m) { return m.probe.status_latency.count() / 1e6; }},
      {"etcd_health_proxy_member_probe_read_seconds",
       "Latency of the last linearizable probe read.",
       [](const HealthChecker::MemberView& m) { return m.probe.read_latency.count() / 1e6; }},
      {"etcd_health_proxy_member_probe_auth_refused",
       "1 when etcd refused the member's last Status probe for want of an identity (auth "
       "enabled): it is judged by its linearizable probe read alone; /status says what to "
       "configure.",
       [](const HealthChecker::MemberView& m) {
         return m.probe.status == ProbeResult::Status::kAuth ? 1.0 : 0.0;
       }},
  };
  for (const auto& g : gauges) {
    WriteHeader(&out, g.name, g.help, "gauge");
    for (const auto& m : view.members) WriteSample(&out, g.name, {{"member", m.name}}, g.get(m));
  }

  int usable = 0;
  for (const auto& m : view.members) usable += m.state == HealthState::kHealthy;
  WriteHeader(&out, "etcd_health_proxy_members", "Configured members.", "gauge");
  WriteSample(&out, "etcd_health_proxy_members", {}, double(view.members.size()));
  WriteHeader(&out, "etcd_health_proxy_members_usable", "Members that take calls.", "gauge");
  WriteSample(&out, "etcd_health_proxy_members_usable", {}, usable);
  std::map<std::string, int> zones;  // zone -> usable members
  for (const auto& m : view.members) {
    if (!m.zone.empty()) zones[m.zone] += m.state == HealthState::kHealthy;
  }
  WriteHeader(&out, "etcd_health_proxy_zone_members_usable",
              "Usable members per availability zone (members with a configured zone).", "gauge");
  for (const auto& [zone, n] : zones) {
    WriteSample(&out, "etcd_health_proxy_zone_members_usable", {{"zone", zone}}, n);
  }
  WriteHeader(&out, "etcd_health_proxy_quorum_has_leader",
              "1 when a majority of members report the same leader and term.", "gauge");
  WriteSample(&out, "etcd_health_proxy_quorum_has_leader", {}, view.quorum.has_leader);
  WriteHeader(&out, "etcd_health_proxy_quorum_stalled",
              "1 while a leader is named but no member's linearizable read works (writes and "
              "linearizable reads are held).",
              "gauge");
  WriteSample(&out, "etcd_health_proxy_quorum_stalled", {}, set->stalled);
  WriteHeader(&out, "etcd_health_proxy_probe_rounds_total", "Probe rounds judged.", "counter");
  WriteSample(&out, "etcd_health_proxy_probe_rounds_total", {}, double(view.rounds));

  const std::map<std::string, size_t> open = streams.CountByMember();
  WriteHeader(&out, "etcd_health_proxy_open_streams", "Streams relayed right now, per member.",
              "gauge");
  for (const auto& member : set->members) {
    auto it = open.find(member->name());
    WriteSample(&out, "etcd_health_proxy_open_streams", {{"member", member->name()}},
                it == open.end() ? 0 : double(it->second));
  }
  WriteHeader(&out, "etcd_health_proxy_upstream_connections",
              "Data connections to the member that are established, over all I/O threads.",
              "gauge");
  for (const auto& member : set->members) {
    WriteSample(&out, "etcd_health_proxy_upstream_connections", {{"member", member->name()}},
                member->ReadyConnections());
  }

  WriteHeader(&out, "etcd_health_proxy_certificate_expiry_timestamp_seconds",
              "When each configured certificate expires (Unix time).", "gauge");
  for (const auto& [kind, path] :
       {std::pair<const char*, const std::string&>{"listener", config.cert_file},
        {"upstream", config.cert},
        {"upstream_ca", config.cacert},
        {"client_ca", config.trusted_ca_file}}) {
    if (path.empty()) continue;
    const double t = CertificateNotAfter(path);
    if (t >= 0) {
      WriteSample(&out, "etcd_health_proxy_certificate_expiry_timestamp_seconds",
                  {{"certificate", kind}, {"file", path}}, t);
    }
  }

  WriteHeader(&out, "etcd_health_proxy_held_calls",
              "Calls and streams waiting now for a member that can take them.", "gauge");
  WriteSample(&out, "etcd_health_proxy_held_calls", {}, static_cast<double>(holder.calls()));
  WriteHeader(&out, "etcd_health_proxy_held_bytes", "Request bytes of the calls held now.",
              "gauge");
  WriteSample(&out, "etcd_health_proxy_held_bytes", {}, static_cast<double>(holder.bytes()));

  WriteHeader(&out, "etcd_health_proxy_limit",
              "Configured caps, by setting name, for alerts on usage near them (compare "
              "open_streams with max-streams, held_calls with max-held-calls).",
              "gauge");
  for (const auto& [name, value] :
       {std::pair<const char*, int64_t>{"max-streams", config.max_streams},
        {"max-member-calls", config.max_member_calls},
        {"max-concurrent-streams", config.max_concurrent_streams},
        {"max-held-calls", config.max_held_calls},
        {"max-held-bytes", config.max_held_bytes},
        {"max-connections", config.max_connections}}) {
    WriteSample(&out, "etcd_health_proxy_limit", {{"limit", name}}, static_cast<double>(value));
  }

  metrics.RenderFamilies(&out);
  return out;
}

}  // namespace ehp
