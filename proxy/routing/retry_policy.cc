#include "proxy/routing/retry_policy.h"

namespace ehp {
namespace {

constexpr int kUnavailable = 14;       // grpc::StatusCode::UNAVAILABLE
constexpr int kResourceExhausted = 8;  // grpc::StatusCode::RESOURCE_EXHAUSTED

bool Contains(std::string_view message, std::string_view text) {
  return message.find(text) != std::string_view::npos;
}

}  // namespace

RetryReason DecideRetry(CallKind kind, const AttemptOutcome& outcome) {
  if (outcome.failed_before_sending) return RetryReason::kConnectFailed;
  // Raft dropped the proposal on the member before appending it (no leader, a leader transfer
  // under way, too many uncommitted entries): it never entered the log, so sending it again is
  // safe, writes included. etcd maps no code to it: it arrives as UNKNOWN.
  if (outcome.message == "raft proposal dropped") return RetryReason::kProposalDropped;
  // The member's apply trails its commit by more than 5000 entries; it refuses before
  // proposing. Another member, less behind, may take it.
  if (outcome.code == kResourceExhausted && outcome.message == "etcdserver: too many requests") {
    return RetryReason::kTooManyRequests;
  }
  if (outcome.code != kUnavailable) return RetryReason::kNone;
  const std::string_view m = outcome.message;
  // etcd's interceptors refuse these before the handler runs, so nothing was proposed. "no
  // leader" comes from the interceptor only when the call asked for it with hasleader; without
  // it, a member without a leader can also fail a forwarded lease call that way.
  if (m == "etcdserver: no leader" && (outcome.sent_hasleader || kind != CallKind::kWrite)) {
    return RetryReason::kNoLeader;
  }
  if (m == "etcdserver: rpc not supported for learner") return RetryReason::kLearner;
  if (kind == CallKind::kWrite) return RetryReason::kNone;  // ambiguous: may have been applied
  if (Contains(m, "etcdserver: leader changed")) return RetryReason::kLeaderChanged;
  if (Contains(m, "etcdserver: request timed out")) return RetryReason::kTimedOut;
  return RetryReason::kUnavailable;
}

std::string_view ToString(RetryReason reason) {
  switch (reason) {
    case RetryReason::kNone:
      return "none";
    case RetryReason::kConnectFailed:
      return "connect_failed";
    case RetryReason::kNoLeader:
      return "no_leader";
    case RetryReason::kLearner:
      return "learner";
    case RetryReason::kProposalDropped:
      return "proposal_dropped";
    case RetryReason::kTooManyRequests:
      return "too_many_requests";
    case RetryReason::kLeaderChanged:
      return "leader_changed";
    case RetryReason::kTimedOut:
      return "timed_out";
    case RetryReason::kUnavailable:
      return "unavailable";
    case RetryReason::kMemberEvicted:
      return "member_evicted";
  }
  return "none";
}

}  // namespace ehp
