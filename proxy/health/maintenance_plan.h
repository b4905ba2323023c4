// The decisions of the maintenance endpoints, apart from their I/O: whether a defragmentation
// may start, in which order members go, whether the next one may be taken out, when one has
// caught up, and to whom leadership should move. Pure: member views in, decisions out.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "proxy/health/member_health.h"
#include "proxy/upstream/unhealthy_reason.h"

namespace ehp {

// One member as the last probe round saw it.
struct MaintenanceMember {
  std::string name;
  uint64_t member_id = 0;                     // from its Status; 0 when it did not answer
  HealthState state = HealthState::kHealthy;  // with the drain
  UnhealthyReason reason = UnhealthyReason::kNone;
  // Its last verdict was good and it is healthy underneath any drain: in step with the quorum,
  // its linearizable read working, not late.
  bool good = false;
  bool leader = false;  // the quorum's leader
  uint64_t lag_entries = 0;
  std::chrono::microseconds lag_time{0};
  std::chrono::microseconds read_latency{0};

  bool usable() const { return state == HealthState::kHealthy; }
};

// Why an operation is refused; empty code: it is not.
struct MaintenanceRefusal {
  std::string code;     // "running", "member_out", "too_few_members", "unknown_member", ...
  std::string message;  // for people
  bool refused() const { return !code.empty(); }
};

// Whether a defragmentation of every member may start: not while another maintenance operation
// runs (`running` names it; empty: none), not while any member is out (evicted, on probation,
// drained), and not with fewer than two members (one would be the last usable).
MaintenanceRefusal CheckDefragment(std::span<const MaintenanceMember> members,
                                   const std::string& running);

// The order members are defragmented in: configuration order, the leader last (a follower
// shows any trouble first, and writes are not disturbed until the end).
std::vector<size_t> DefragmentOrder(std::span<const MaintenanceMember> members);

// Whether member `index` may be taken out now: every other member takes calls, so it is never
// the last usable one and never a second one out.
MaintenanceRefusal CheckTakeOut(std::span<const MaintenanceMember> members, size_t index);

// Counts good rounds in a row after a member's maintenance; caught up after `needed` of them.
class CatchUp {
 public:
  explicit CatchUp(int needed) : needed_(needed) {}
  // Feeds one probe round's view of the member; true once caught up.
  bool Observe(const MaintenanceMember& member) {
    good_rounds_ = member.good ? good_rounds_ + 1 : 0;
    return good_rounds_ >= needed_;
  }
  int good_rounds() const { return good_rounds_; }

 private:
  const int needed_;
  int good_rounds_ = 0;
};

// POST /members/{name}/move-leader: the member to hand leadership to.
struct LeaderMoveChoice {
  int status = 200;  // 200, 404 (no member of that name), 409 (refused)
  MaintenanceRefusal refusal;
  size_t leader = 0;  // index of {name}
  size_t target = 0;  // index of the member to lead
};
// Refused while another operation runs, when {name} is not the quorum's leader, or when no
// other member is healthy: usable, good, with a member id. Among those, the healthiest: fewest
// entries behind, then least late, then the fastest probe read, then configuration order.
LeaderMoveChoice ChooseLeaderTarget(std::span<const MaintenanceMember> members,
                                    const std::string& name, const std::string& running);

}  // namespace ehp
