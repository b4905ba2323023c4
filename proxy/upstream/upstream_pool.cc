#include "proxy/upstream/upstream_pool.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace ehp {
namespace {

std::shared_ptr<const MemberSet> BuildMembers(const Config& config) {
  auto set = std::make_shared<MemberSet>();
  for (const MemberUrl& url : config.endpoints) {
    std::string zone;
    for (const auto& [name, z] : config.member_zones) {
      if (name == url.Authority()) zone = z;
    }
    set->members.push_back(std::make_shared<Member>(url.Authority(), url, std::move(zone)));
    set->status.push_back(MemberStatus{});
  }
  return set;
}

// A fast per-thread random source (splitmix64); picking needs spread, not secrecy.
uint64_t NextRandom() {
  thread_local uint64_t state =
      static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
      reinterpret_cast<uintptr_t>(&state);
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

UpstreamPool::UpstreamPool(const Config& config)
    : members_(BuildMembers(config)),
      revisions_(std::make_shared<const RevisionTimeline>()),
      policy_{.writes_to_leader = config.write_routing == "leader"},
      local_zone_(config.local_zone),
      inject_hasleader_(config.inject_hasleader),
      resume_watches_(config.resume_watches),
      leaderless_wait_(config.leaderless_wait),
      write_stall_after_(config.write_stall_after),
      max_member_calls_(config.max_member_calls),
      retry_budget_(config.retry_budget),
      hedge_delay_(config.hedge_after, config.hedge_min) {}

UpstreamPool::~UpstreamPool() = default;

std::shared_ptr<Member> UpstreamPool::Pick(CallClass call, std::span<const Member* const> tried,
                                           bool despite_stall) const {
  const std::shared_ptr<const MemberSet> set = members_.Get();
  if (set->stalled && !despite_stall &&
      (call.kind == CallKind::kWrite || call.kind == CallKind::kRead)) {
    return nullptr;
  }
  const size_t n = set->members.size();
  // Writes skip members whose writes are not being answered.
  const bool gate_writes =
      call.kind == CallKind::kWrite && write_stall_after_ > std::chrono::milliseconds(0);
  const auto now =
      gate_writes ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
  // Small fixed-size scratch: member sets are a handful of entries.
  PickCandidate candidates[16];
  const size_t count = std::min<size_t>(n, std::size(candidates));
  for (size_t i = 0; i < count; ++i) {
    const Member* m = set->members[i].get();
    const MemberStatus& st = set->status[i];
    PickCandidate& c = candidates[i];
    c.excluded = !st.usable || std::find(tried.begin(), tried.end(), m) != tried.end();
    if (c.excluded) continue;
    c.reachable = m->Reachable();
    c.leader = st.leader;
    c.fresh = st.fresh;
    c.local_zone = !local_zone_.empty() && m->zone() == local_zone_;
    c.load = m->load();
    c.writes_stuck = gate_writes && m->writes().Stuck(now, write_stall_after_);
    uint64_t suppressed = 0;
    if (c.writes_stuck && c.leader && stuck_log_.ShouldLog(now, &suppressed)) {
      spdlog::warn(
          "member {} (leader): {} write(s) in flight and none answered for over {} ms; new "
          "writes wait for it or the next leader (write-stall-after){}",
          m->name(), m->writes().in_flight(), write_stall_after_.count(),
          SuppressedNote(suppressed));
    }
  }
  const auto index = PickMember(std::span(candidates, count), call, policy_, NextRandom());
  return index ? set->members[*index] : nullptr;
}

}  // namespace ehp

namespace ehp {

std::string UpstreamPool::UnavailableMessage(CallKind kind) const {
  const std::shared_ptr<const MemberSet> set = members_.Get();
  if (kind == CallKind::kWrite && !set->stalled && write_stall_after_.count() > 0) {
    const auto now = std::chrono::steady_clock::now();
    for (size_t i = 0; i < set->members.size(); ++i) {
      const Member& m = *set->members[i];
      if (!set->status[i].usable || !set->status[i].leader ||
          !m.writes().Stuck(now, write_stall_after_)) {
        continue;
      }
      // Stable text (no counts): clients and reports group errors by message.
      return "etcd-health-proxy: the leader answers no writes (" + m.name() +
             ": none of the writes in flight answered since this one arrived; "
             "write-stall-after); this write was not sent";
    }
  }
  std::string out = set->stalled
                        ? "etcd-health-proxy: no member can reach a raft quorum (linearizable "
                          "reads fail on every member; the leader may be cut off) ("
                        : "etcd-health-proxy: no etcd member is usable (";
  for (size_t i = 0; i < set->members.size(); ++i) {
    const MemberStatus& st = set->status[i];
    out += (i ? ", " : "") + set->members[i]->name() + ": " +
           std::string(st.usable ? (set->stalled ? "no_quorum_read" : "unreachable")
                                 : ToString(st.reason));
  }
  return out + ")";
}

bool UpstreamPool::Has(const Member* member) const {
  for (const auto& m : members_.Get()->members) {
    if (m.get() == member) return true;
  }
  return false;
}

void UpstreamPool::PublishStatus(std::vector<MemberStatus> status, bool stalled) {
  const std::shared_ptr<const MemberSet> current = members_.Get();
  auto next = std::make_shared<MemberSet>();
  next->members = current->members;
  next->status = std::move(status);
  next->status.resize(next->members.size());
  next->stalled = stalled;
  members_.Set(std::move(next));
}

}  // namespace ehp
