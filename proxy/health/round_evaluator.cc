#include "proxy/health/round_evaluator.h"

#include <algorithm>
#include <map>

namespace ehp {
namespace {

using Kind = MemberVerdict::Kind;

MemberVerdict Verdict(Kind kind, UnhealthyReason reason) {
  MemberVerdict v;
  v.kind = kind;
  v.reason = reason;
  return v;
}

UnhealthyReason StatusFailureReason(ProbeResult::Status s) {
  switch (s) {
    case ProbeResult::Status::kTls:
      return UnhealthyReason::kTls;
    case ProbeResult::Status::kTimeout:
      return UnhealthyReason::kTimeout;
    default:
      return UnhealthyReason::kUnreachable;
  }
}

}  // namespace

RoundVerdict EvaluateRound(std::span<const ProbeResult> results, const HealthPolicy& policy,
                           std::span<const MemberLag> lags) {
  RoundVerdict out;
  const int majority = static_cast<int>(results.size()) / 2 + 1;

  // What the members that answered Status agree on.
  std::map<std::pair<uint64_t, uint64_t>, int> leader_votes;  // (leader, term) -> members
  std::map<uint64_t, int> cluster_votes;
  uint64_t max_applied = 0;
  int answered = 0;
  for (const ProbeResult& r : results) {
    // A member that refused Status for auth still shows by its read whether it reaches a quorum.
    if (r.ReadProvesQuorum() && r.status == ProbeResult::Status::kAuth) out.quorum.reads_ok++;
    if (r.status != ProbeResult::Status::kOk) continue;
    ++answered;
    cluster_votes[r.cluster_id]++;
    if (r.leader != 0) leader_votes[{r.leader, r.raft_term}]++;
    max_applied = std::max(max_applied, r.applied_index);
    if (r.read == ProbeResult::Read::kOk) out.quorum.reads_ok++;
  }
  for (const auto& [id, votes] : cluster_votes) {
    if (votes >= majority) out.quorum.cluster_id = id;
  }
  for (const auto& [leader_term, votes] : leader_votes) {
    if (votes >= majority) {
      out.quorum.has_leader = true;
      out.quorum.leader = leader_term.first;
      out.quorum.term = leader_term.second;
    }
  }
  const bool reads_work_on_majority = out.quorum.reads_ok >= majority;
  out.quorum.reads_majority = reads_work_on_majority;
  for (const ProbeResult& r : results) {
    if (out.quorum.has_leader && r.status == ProbeResult::Status::kOk &&
        r.member_id == out.quorum.leader && r.read == ProbeResult::Read::kOk) {
      out.quorum.leader_read_ok = true;
    }
  }
  out.quorum.stalled = answered >= majority && out.quorum.has_leader && out.quorum.reads_ok == 0;

  // Every member's Status timed out at once: the proxy's own threads were busy (a burst of new
  // streams, say) or the whole cluster is overloaded. Evicting would steer calls nowhere better
  // and would end every stream for nothing; a member that alone stops answering is still found.
  const bool all_timed_out =
      !results.empty() && std::all_of(results.begin(), results.end(), [](const ProbeResult& r) {
        return r.status == ProbeResult::Status::kTimeout;
      });
  const bool judge_time = policy.max_lag_time.count() > 0 && lags.size() == results.size();
  for (size_t i = 0; i < results.size(); ++i) {
    const ProbeResult& r = results[i];
    const MemberLag lag = i < lags.size() ? lags[i] : MemberLag{};
    // Later than max-lag-time; or its read fails (while the majority's work) and it is still
    // applying entries the quorum committed a while ago: the read waits for its apply, so the
    // member is late, not cut off (a cut-off member stops applying).
    const bool late = judge_time && lag.total() > policy.max_lag_time;
    const bool reads_wait_for_apply =
        judge_time && lag.known && lag.applying && lag.apply.count() > 0;
    if (all_timed_out) {
      out.members.push_back(Verdict(Kind::kUnconfirmed, UnhealthyReason::kTimeout));
      continue;
    }
    if (r.status == ProbeResult::Status::kAuth) {
      // Status refused for want of an identity: never a reason to evict by itself. What still
      // works decides: a hasleader refusal proves no leader; a read that came back (even
      // refused for permissions, which happens after its read index) proves the quorum.
      if (r.read == ProbeResult::Read::kNoLeader) {
        out.members.push_back(Verdict(Kind::kImmediate, UnhealthyReason::kNoLeader));
      } else if (r.read == ProbeResult::Read::kOk) {
        out.members.push_back(Verdict(Kind::kGood, UnhealthyReason::kNone));
      } else if (reads_work_on_majority) {
        out.members.push_back(Verdict(Kind::kSuspect, UnhealthyReason::kPartitioned));
      } else {
        out.members.push_back(Verdict(Kind::kUnconfirmed, UnhealthyReason::kNone));
      }
      continue;
    }
    if (r.status != ProbeResult::Status::kOk) {
      out.members.push_back(Verdict(Kind::kFailure, StatusFailureReason(r.status)));
      continue;
    }
    MemberVerdict v;
    if (out.quorum.cluster_id != 0 && r.cluster_id != out.quorum.cluster_id) {
      v = Verdict(Kind::kImmediate, UnhealthyReason::kClusterMismatch);
    } else if (r.is_learner) {
      v = Verdict(Kind::kImmediate, UnhealthyReason::kLearner);
    } else if (r.HasError("alarm:CORRUPT")) {
      v = Verdict(Kind::kImmediate, UnhealthyReason::kAlarm);
    } else if (r.leader == 0 || r.HasError("no leader") || r.read == ProbeResult::Read::kNoLeader) {
      v = Verdict(Kind::kImmediate, UnhealthyReason::kNoLeader);
    } else if (out.quorum.has_leader && r.leader != out.quorum.leader &&
               r.raft_term < out.quorum.term) {
      // An isolated ex-leader that has not stepped down yet: it may serve stale reads.
      v = Verdict(Kind::kImmediate, UnhealthyReason::kStaleLeader);
    } else if (r.read != ProbeResult::Read::kOk && reads_work_on_majority) {
      // Its reads cannot reach the leader while most members' can: cut off from its peers,
      // seen before etcd itself notices (1-2 s later); or waiting for its late apply.
      v = Verdict(Kind::kSuspect,
                  reads_wait_for_apply ? UnhealthyReason::kLagging : UnhealthyReason::kPartitioned);
    } else if (late) {
      v = Verdict(Kind::kFailure, UnhealthyReason::kLagging);
    } else if (max_applied - std::min(max_applied, r.applied_index) > policy.max_lag) {
      v = Verdict(Kind::kFailure, UnhealthyReason::kLagging);
    } else if (!out.quorum.has_leader || r.read != ProbeResult::Read::kOk ||
               r.leader != out.quorum.leader || r.raft_term != out.quorum.term) {
      // An election under way, reads failing everywhere (cluster-wide trouble is nobody's
      // fault), or not yet in step with the quorum: nothing to evict for, nothing confirmed.
      v = Verdict(Kind::kUnconfirmed, UnhealthyReason::kNone);
    }
    v.lag = max_applied - std::min(max_applied, r.applied_index);
    v.read_only = r.HasError("alarm:NOSPACE");
    out.members.push_back(v);
  }
  for (size_t i = 0; i < lags.size() && i < out.members.size(); ++i) {
    out.members[i].lag_time = lags[i];
  }
  return out;
}

}  // namespace ehp
