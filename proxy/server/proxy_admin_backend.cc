#include "proxy/server/proxy_admin_backend.h"

#include <cstdio>
#include <ctime>

#include "proxy/log/logging.h"
#include "proxy/server/proxy_server.h"

namespace ehp {
namespace {

std::string Quote(std::string_view s) { return "\"" + JsonEscape(s) + "\""; }

std::string Hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(v));
  return buf;
}

std::chrono::system_clock::time_point ToSystem(std::chrono::steady_clock::time_point t) {
  return std::chrono::system_clock::now() -
         std::chrono::duration_cast<std::chrono::system_clock::duration>(
             std::chrono::steady_clock::now() - t);
}

std::string Seconds(std::chrono::microseconds d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", d.count() / 1e6);
  return buf;
}

// The admin heartbeat runs every second; this many missed ones mean the thread is stuck.
constexpr double kAdminLoopLimitSeconds = 10;

}  // namespace

std::string FormatTime(std::chrono::system_clock::time_point t) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

std::string ProxyAdminBackend::MetricsText() { return server_->RenderMetrics(); }

std::vector<AdminBackend::Check> ProxyAdminBackend::LivenessChecks() {
  const Config& c = server_->config();
  // A round normally completes every probe-interval; allow many missed ones before calling the
  // loop stuck.
  const double limit =
      std::max(5.0, std::chrono::duration<double>(c.probe_interval * 20 + c.probe_timeout).count());
  const double since = server_->backends()->health.SecondsSinceLastRound();
  char detail[64];
  std::snprintf(detail, sizeof detail, "last probe round %.1fs ago", since);
  // The admin thread answers this very request, but the watchdog asks from another thread.
  const double admin_since = server_->admin_heartbeat_age();
  char admin_detail[64];
  std::snprintf(admin_detail, sizeof admin_detail, "last heartbeat %.1fs ago", admin_since);
  return {{"health-loop", since < limit, detail},
          {"admin-loop", admin_since < kAdminLoopLimitSeconds, admin_detail}};
}

std::vector<AdminBackend::Check> ProxyAdminBackend::ReadinessChecks() {
  const auto view = server_->backends()->health.Snapshot();
  int usable = 0;
  for (const auto& m : view.members) usable += m.state == HealthState::kHealthy;
  const std::string detail =
      std::to_string(usable) + "/" + std::to_string(view.members.size()) + " members usable";
  // Never fails readiness: the proxy serves without an identity; the detail says what to set.
  std::string auth_detail;
  if (!view.probe_auth.advice.empty()) {
    auth_detail = "degraded on " + std::to_string(view.probe_auth.refused) + "/" +
                  std::to_string(view.members.size()) + " members: " + view.probe_auth.advice;
  } else if (view.probe_auth.refused > 0) {
    auth_detail = "token being renewed on " + std::to_string(view.probe_auth.refused) + "/" +
                  std::to_string(view.members.size()) + " members";
  }
  return {{"listener", server_->serving(), ""},
          {"usable-member", usable > 0, detail},
          {"first-probe-round", view.rounds > 0, ""},
          {"probe-auth", true, auth_detail}};
}

std::string ProxyAdminBackend::StatusJson() {
  const auto view = server_->backends()->health.Snapshot();
  std::string out = "{\"members\":[";
  std::string leader = "null";
  for (size_t i = 0; i < view.members.size(); ++i) {
    const auto& m = view.members[i];
    if (view.quorum.has_leader && m.probe.member_id == view.quorum.leader) leader = Quote(m.name);
    if (i) out += ",";
    out += "{\"name\":" + Quote(m.name) + ",\"endpoint\":" + Quote(m.endpoint) +
           ",\"zone\":" + (m.zone.empty() ? "null" : Quote(m.zone)) +
           ",\"state\":" + Quote(ToString(m.state)) + ",\"reason\":" +
           (m.state == HealthState::kHealthy ? "null" : Quote(ToString(m.reason))) +
           ",\"member_id\":" + Quote(Hex(m.probe.member_id)) +
           ",\"leader\":" + (m.probe.leader ? Quote(Hex(m.probe.leader)) : "null") +
           ",\"raft_term\":" + std::to_string(m.probe.raft_term) +
           ",\"raft_index\":" + std::to_string(m.probe.raft_index) +
           ",\"applied_index\":" + std::to_string(m.probe.applied_index) +
           ",\"lag\":" + std::to_string(m.verdict.lag) + ",\"lag_seconds\":" +
           (m.verdict.lag_time.known ? Seconds(m.verdict.lag_time.total()) : "null") +
           ",\"probe\":" + Quote(ToString(m.probe.status)) +
           ",\"since\":" + Quote(FormatTime(ToSystem(m.since))) + "}";
  }
  out +=
      "],\"leader\":" + leader + ",\"quorum\":" + (view.quorum.has_leader ? "true" : "false") +
      ",\"stalled\":" + (server_->backends()->upstream->stalled() ? "true" : "false") +
      ",\"probe_rounds\":" + std::to_string(view.rounds) +
      ",\"probe_identity\":" + Quote(view.identity) + ",\"probe_auth\":" +
      (view.probe_auth.refused == 0
           ? std::string("null")
           : "{\"refused\":" + std::to_string(view.probe_auth.refused) +
                 ",\"error\":" + Quote(view.probe_auth.error) + ",\"configure\":" +
                 (view.probe_auth.advice.empty() ? "null" : Quote(view.probe_auth.advice)) + "}") +
      "}\n";
  return out;
}

std::string ProxyAdminBackend::EventsJson() {
  std::string out = "{\"events\":[";
  bool first = true;
  const auto backends = server_->backends();
  for (const auto& e : backends->health.Events()) {
    if (!first) out += ",";
    first = false;
    out +=
        "{\"time\":" + Quote(FormatTime(e.time)) + ",\"member\":" + Quote(e.member) +
        ",\"from\":" + Quote(ToString(e.from)) + ",\"to\":" + Quote(ToString(e.to)) +
        ",\"reason\":" + (e.reason == UnhealthyReason::kNone ? "null" : Quote(ToString(e.reason))) +
        "}";
  }
  return out + "]}\n";
}

bool ProxyAdminBackend::SetDrained(const std::string& member, bool drained) {
  return server_->SetDrained(member, drained);
}

}  // namespace ehp
