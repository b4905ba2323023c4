// The set of etcd members calls can go to, and the choice of one for each call.
//
// The member set is an immutable snapshot read without locks on every call; health checking
// (and configuration reload) replace it as a whole.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "proxy/config/proxy_config.h"
#include "proxy/core/snapshot_cell.h"
#include "proxy/log/rate_limited.h"
#include "proxy/routing/call_class.h"
#include "proxy/routing/hedge_delay.h"
#include "proxy/routing/member_picker.h"
#include "proxy/routing/retry_budget.h"
#include "proxy/upstream/member.h"
#include "proxy/upstream/revision_timeline.h"
#include "proxy/upstream/unhealthy_reason.h"

namespace ehp {

// Whether a member takes calls, as the health checker last decided.
struct MemberStatus {
  bool usable = true;
  UnhealthyReason reason = UnhealthyReason::kNone;
  bool leader = false;  // the member a majority names as leader
  bool fresh = true;    // trails by no more than serializable-max-lag
  bool operator==(const MemberStatus&) const = default;
};

struct MemberSet {
  std::vector<std::shared_ptr<Member>> members;
  std::vector<MemberStatus> status;  // same order as members
  // No member's linearizable read has worked for a few rounds though a leader is named: writes
  // and linearizable reads are held until that passes (see QuorumView::stalled).
  bool stalled = false;
};

class UpstreamPool {
 public:
  // The configured members (the data path's I/O threads connect to them).
  explicit UpstreamPool(const Config& config);
  ~UpstreamPool();

  // The member for a new call of class `call` among the usable ones (see PickMember), skipping
  // members in `tried`; nullptr when none is left.
  // While the quorum is stalled, writes and linearizable reads get nullptr (they wait) unless
  // `despite_stall`.
  std::shared_ptr<Member> Pick(CallClass call, std::span<const Member* const> tried = {},
                               bool despite_stall = false) const;
  bool stalled() const { return members_.Get()->stalled; }

  // Routing settings of this member set (they change with a reload).
  RetryBudget& retry_budget() const { return retry_budget_; }
  HedgeDelay& hedge_delay() const { return hedge_delay_; }
  bool inject_hasleader() const { return inject_hasleader_; }
  bool resume_watches() const { return resume_watches_; }
  std::chrono::milliseconds leaderless_wait() const { return leaderless_wait_; }
  int64_t max_member_calls() const { return max_member_calls_; }

  // The error for a call that no member can take, naming each member's reason, e.g.
  // "etcd-health-proxy: no etcd member is usable (m1: no_leader, m2: unreachable)".
  // For a write held because the leader answers none (write-stall-after), says so instead.
  std::string UnavailableMessage(CallKind kind = CallKind::kRead) const;

  // Replaces the members' statuses (same order as Members()), keeping the members.
  void PublishStatus(std::vector<MemberStatus> status, bool stalled = false);

  std::shared_ptr<const MemberSet> Members() const { return members_.Get(); }
  // Whether `member` is one of this pool's.
  bool Has(const Member* member) const;
  void Publish(std::shared_ptr<const MemberSet> members) { members_.Set(std::move(members)); }

  // When the cluster first held each revision (the health checker publishes it; watch streams
  // measure their delivery delay against it). Null before the first probe round.
  std::shared_ptr<const RevisionTimeline> Revisions() const { return revisions_.Get(); }
  void PublishRevisions(std::shared_ptr<const RevisionTimeline> timeline) {
    revisions_.Set(std::move(timeline));
  }

 private:
  SnapshotCell<MemberSet> members_;
  SnapshotCell<RevisionTimeline> revisions_;
  const PickPolicy policy_;
  const std::string local_zone_;
  const bool inject_hasleader_;
  const bool resume_watches_;
  const std::chrono::milliseconds leaderless_wait_;
  const std::chrono::milliseconds write_stall_after_;
  const int64_t max_member_calls_;
  mutable RetryBudget retry_budget_;
  mutable HedgeDelay hedge_delay_;
  mutable RateLimitedLog stuck_log_{std::chrono::seconds(1)};
};

}  // namespace ehp
