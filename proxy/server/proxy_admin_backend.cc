#include "proxy/server/proxy_admin_backend.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <ctime>
#include <thread>

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

// The members as MaintenancePlan sees them, from one probe round's view.
std::vector<MaintenanceMember> MaintenanceMembers(const HealthChecker::View& view) {
  std::vector<MaintenanceMember> out;
  for (const auto& m : view.members) {
    MaintenanceMember x;
    x.name = m.name;
    const bool answered = m.probe.status == ProbeResult::Status::kOk;
    x.member_id = answered ? m.probe.member_id : 0;
    x.state = m.state;
    x.reason = m.reason;
    x.good = view.rounds > 0 && m.health == HealthState::kHealthy &&
             m.verdict.kind == MemberVerdict::Kind::kGood && !m.verdict.spared;
    x.leader = answered && view.quorum.has_leader && m.probe.member_id == view.quorum.leader;
    x.lag_entries = m.verdict.lag;
    x.lag_time = m.verdict.lag_time.total();
    x.read_latency = m.probe.read_latency;
    out.push_back(std::move(x));
  }
  return out;
}

std::string RefusalJson(const MaintenanceRefusal& r) {
  return "{\"error\":" + Quote(r.code) + ",\"message\":" + Quote(r.message) + "}\n";
}

std::string NameList(const std::vector<std::string>& names) {
  std::string out = "[";
  for (size_t i = 0; i < names.size(); ++i) out += (i ? "," : "") + Quote(names[i]);
  return out + "]";
}

std::string MaintenanceJson(const std::optional<MaintenanceRunner::Progress>& p, bool outcome) {
  if (!p) return "null";
  std::string out = "{\"operation\":" + Quote(p->operation) + ",\"plan\":" + NameList(p->plan);
  if (!outcome) {
    out += ",\"member\":" + (p->member.empty() ? std::string("null") : Quote(p->member)) +
           ",\"step\":" + (p->step.empty() ? std::string("null") : Quote(p->step));
  }
  out += ",\"done\":" + NameList(p->done) + ",\"started\":" + Quote(FormatTime(p->started));
  if (outcome) {
    out += ",\"result\":" + Quote(p->result) + ",\"finished\":" + Quote(FormatTime(p->finished));
  }
  return out + "}";
}

// A MoveLeader call waits for the transfer; give etcd its own request timeout and more.
constexpr std::chrono::seconds kMoveLeaderTimeout{10};
// Before MoveLeader, how long writes already sent to the leader may take to end.
constexpr std::chrono::seconds kWritesInFlightTimeout{1};
// After MoveLeader returns, how long the answer waits for the probes to see the new leader.
constexpr std::chrono::seconds kMoveLeaderSeenTimeout{2};

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

ProxyAdminBackend::ProxyAdminBackend(ProxyServer* server) : server_(server) {
  const Config& c = server_->config();
  MaintenanceTimings timings;
  timings.timeout = c.maintenance_timeout;
  timings.settle = c.stream_close_window + std::chrono::milliseconds(500);
  timings.caught_up_rounds = c.readmit_rounds;
  maintenance_ =
      std::make_unique<MaintenanceRunner>(static_cast<MaintenanceCluster*>(this), timings);
}

ProxyAdminBackend::~ProxyAdminBackend() { maintenance_->Stop(); }

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
           ",\"watch_delay_seconds\":" + Seconds(m.verdict.lag_time.watch_recent) +
           ",\"probe\":" + Quote(ToString(m.probe.status)) +
           ",\"since\":" + Quote(FormatTime(ToSystem(m.since))) + "}";
  }
  out +=
      "],\"leader\":" + leader + ",\"quorum\":" + (view.quorum.has_leader ? "true" : "false") +
      ",\"maintenance\":" + MaintenanceJson(maintenance_->Current(), false) +
      ",\"last_maintenance\":" + MaintenanceJson(maintenance_->Last(), true) +
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
        (e.operation.empty()
             ? std::string()
             : ",\"operation\":" + Quote(e.operation) + ",\"step\":" + Quote(e.step)) +
        "}";
  }
  return out + "]}\n";
}

bool ProxyAdminBackend::SetDrained(const std::string& member, bool drained) {
  return server_->SetDrained(member, drained);
}

AdminBackend::Action ProxyAdminBackend::StartDefragment() {
  std::vector<std::string> plan;
  const MaintenanceRefusal refusal = maintenance_->StartDefragment(&plan);
  if (refusal.refused()) return {409, RefusalJson(refusal)};
  return {202, "{\"operation\":\"defragment\",\"plan\":" + NameList(plan) + "}\n"};
}

AdminBackend::Action ProxyAdminBackend::MoveLeader(const std::string& member) {
  const std::shared_ptr<Backends> b = server_->backends();
  const std::vector<MaintenanceMember> members = MaintenanceMembers(b->health.Snapshot());
  const LeaderMoveChoice choice = ChooseLeaderTarget(members, member, maintenance_->Running());
  if (choice.status != 200) return {choice.status, RefusalJson(choice.refusal)};
  const MaintenanceMember& target = members[choice.target];
  b->health.RecordMaintenance(member, "move-leader", "to " + target.name);
  spdlog::info("maintenance: moving leadership from {} to {} ({:x})", member, target.name,
               target.member_id);
  // A leader handing leadership over drops the proposals it gets meanwhile (they time out after
  // 7 s): new writes wait, those in flight on it end first, and writes go again once the probes
  // name the new leader.
  struct Release {
    HealthChecker& health;
    ~Release() { health.HoldWrites(false); }
  } release{b->health};
  b->health.HoldWrites(true);
  const std::shared_ptr<Member> old_leader = b->upstream->Members()->members.at(choice.leader);
  const auto start = std::chrono::steady_clock::now();
  while (old_leader->writes().in_flight() > 0 &&
         std::chrono::steady_clock::now() - start < kWritesInFlightTimeout) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  const grpc::Status s = b->prober.MoveLeader(choice.leader, target.member_id, kMoveLeaderTimeout);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  if (!s.ok()) {
    b->health.RecordMaintenance(member, "move-leader", "failed: " + s.error_message());
    spdlog::error("maintenance: MoveLeader from {} to {} failed: {}", member, target.name,
                  s.error_message());
    return {502, RefusalJson({"etcd_refused", "MoveLeader failed: " + s.error_message()})};
  }
  bool seen = false;
  const auto seen_deadline = std::chrono::steady_clock::now() + kMoveLeaderSeenTimeout;
  while (!(seen = b->health.Snapshot().quorum.leader == target.member_id) &&
         std::chrono::steady_clock::now() < seen_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const auto held = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  b->health.RecordMaintenance(
      member, "move-leader",
      "moved to " + target.name + " in " + std::to_string(took.count()) + " ms");
  spdlog::info("maintenance: leadership moved from {} to {} in {} ms", member, target.name,
               took.count());
  return {200, "{\"from\":" + Quote(member) + ",\"to\":" + Quote(target.name) +
                   ",\"to_member_id\":" + Quote(Hex(target.member_id)) +
                   ",\"took_ms\":" + std::to_string(took.count()) +
                   ",\"writes_held_ms\":" + std::to_string(held.count()) +
                   ",\"seen_by_probes\":" + (seen ? "true" : "false") + "}\n"};
}

std::vector<MaintenanceMember> ProxyAdminBackend::Members(uint64_t* rounds) {
  const HealthChecker::View view = server_->backends()->health.Snapshot();
  *rounds = view.rounds;
  return MaintenanceMembers(view);
}

std::string ProxyAdminBackend::Defragment(const std::string& member,
                                          std::chrono::milliseconds timeout) {
  const std::shared_ptr<Backends> b = server_->backends();
  const auto set = b->upstream->Members();
  for (size_t i = 0; i < set->members.size(); ++i) {
    if (set->members[i]->name() != member) continue;
    const grpc::Status s = b->prober.Defragment(i, timeout);
    return s.ok() ? std::string()
                  : s.error_message() + " (code " + std::to_string(s.error_code()) + ")";
  }
  return "no member named " + member;
}

void ProxyAdminBackend::CancelCalls() { server_->backends()->prober.CancelMaintenanceCalls(); }

void ProxyAdminBackend::Record(const std::string& member, const std::string& operation,
                               const std::string& step) {
  server_->backends()->health.RecordMaintenance(member, operation, step);
}

}  // namespace ehp
