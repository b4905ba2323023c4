#include "proxy/health/maintenance_plan.h"

#include <tuple>

namespace ehp {
namespace {

MaintenanceRefusal Refuse(std::string code, std::string message) {
  return MaintenanceRefusal{std::move(code), std::move(message)};
}

std::string Describe(const MaintenanceMember& m) {
  std::string out = "member " + m.name + " is " + std::string(ToString(m.state));
  if (m.reason != UnhealthyReason::kNone && m.state != HealthState::kDrained) {
    out += " (" + std::string(ToString(m.reason)) + ")";
  }
  return out;
}

}  // namespace

MaintenanceRefusal CheckDefragment(std::span<const MaintenanceMember> members,
                                   const std::string& running) {
  if (!running.empty()) {
    return Refuse("running", "a maintenance operation runs already (" + running + ")");
  }
  if (members.size() < 2) {
    return Refuse("too_few_members",
                  "a single member cannot be defragmented through the proxy: it would take the "
                  "last usable member out");
  }
  for (const MaintenanceMember& m : members) {
    if (!m.usable()) return Refuse("member_out", Describe(m) + ": every member must take calls");
  }
  return {};
}

std::vector<size_t> DefragmentOrder(std::span<const MaintenanceMember> members) {
  std::vector<size_t> order;
  for (size_t i = 0; i < members.size(); ++i) {
    if (!members[i].leader) order.push_back(i);
  }
  for (size_t i = 0; i < members.size(); ++i) {
    if (members[i].leader) order.push_back(i);
  }
  return order;
}

MaintenanceRefusal CheckTakeOut(std::span<const MaintenanceMember> members, size_t index) {
  if (index >= members.size()) return Refuse("unknown_member", "no such member");
  int others_usable = 0;
  for (size_t i = 0; i < members.size(); ++i) {
    if (i == index) continue;
    if (!members[i].usable()) return Refuse("member_out", Describe(members[i]));
    ++others_usable;
  }
  if (others_usable == 0) {
    return Refuse("too_few_members", "member " + members[index].name + " is the last usable one");
  }
  return {};
}

LeaderMoveChoice ChooseLeaderTarget(std::span<const MaintenanceMember> members,
                                    const std::string& name, const std::string& running) {
  LeaderMoveChoice out;
  size_t i = 0;
  while (i < members.size() && members[i].name != name) ++i;
  if (i == members.size()) {
    out.status = 404;
    out.refusal = Refuse("unknown_member", "no member named \"" + name + "\"");
    return out;
  }
  out.leader = i;
  out.status = 409;
  if (!running.empty()) {
    out.refusal = Refuse("running", "a maintenance operation runs (" + running + ")");
    return out;
  }
  if (!members[i].leader) {
    out.refusal = Refuse("not_leader", "member " + name + " is not the leader");
    return out;
  }
  const auto rank = [](const MaintenanceMember& m) {
    return std::make_tuple(m.lag_entries, m.lag_time, m.read_latency);
  };
  bool found = false;
  for (size_t j = 0; j < members.size(); ++j) {
    const MaintenanceMember& m = members[j];
    if (j == i || !m.usable() || !m.good || m.member_id == 0) continue;
    if (!found || rank(m) < rank(members[out.target])) out.target = j;
    found = true;
  }
  if (!found) {
    out.refusal = Refuse("no_target", "no other member is healthy enough to take leadership");
    return out;
  }
  out.status = 200;
  return out;
}

}  // namespace ehp
