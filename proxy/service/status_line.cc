#include "proxy/service/status_line.h"

namespace ehp {
namespace {

constexpr int kMaxNamed = 3;  // members named with their reason before "and N more"

}  // namespace

std::string StatusLine(const HealthChecker::View& view) {
  if (view.rounds == 0) return "waiting for the first probe round";
  int named = 0;  // members not healthy
  std::string bad;
  for (const auto& m : view.members) {
    if (m.state == HealthState::kHealthy) continue;
    if (named++ >= kMaxNamed) continue;
    if (!bad.empty()) bad += ", ";
    bad += m.name + ": ";
    bad += m.state == HealthState::kEvicted ? std::string(ToString(m.reason))
                                            : std::string(ToString(m.state));
  }
  if (named > kMaxNamed) bad += " and " + std::to_string(named - kMaxNamed) + " more";
  std::string out = std::to_string(view.members.size() - named) + "/" +
                    std::to_string(view.members.size()) + " members healthy";
  if (!bad.empty()) out += " (" + bad + ")";

  std::string leader;
  if (view.quorum.has_leader) {
    for (const auto& m : view.members) {
      if (m.probe.member_id == view.quorum.leader) leader = m.name;
    }
  }
  out +=
      view.quorum.has_leader ? ", leader " + (leader.empty() ? "unknown" : leader) : ", no leader";
  if (view.quorum.stalled) out += ", quorum stalled: calls held";
  return out;
}

}  // namespace ehp
