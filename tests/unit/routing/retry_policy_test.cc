// Which failed attempts may go to another member: provably no effect, or a read.
#include "proxy/routing/retry_policy.h"

#include <gtest/gtest.h>

namespace ehp {
namespace {

constexpr int kUnavailable = 14;
constexpr int kDeadline = 4;
constexpr int kPermission = 7;

RetryReason Decide(CallKind kind, int code, std::string_view message, bool before = false,
                   bool hasleader = true) {
  return DecideRetry(kind, AttemptOutcome{code, message, before, hasleader});
}

TEST(RetryPolicyTest, ConnectionFailedBeforeSendingRetriesEverything) {
  for (CallKind k : {CallKind::kRead, CallKind::kWrite, CallKind::kMemberLocal}) {
    EXPECT_EQ(Decide(k, kUnavailable, "failed to connect to all addresses", true),
              RetryReason::kConnectFailed);
  }
}

TEST(RetryPolicyTest, RefusedBeforeTheHandlerRetriesWrites) {
  EXPECT_EQ(Decide(CallKind::kWrite, kUnavailable, "etcdserver: no leader"),
            RetryReason::kNoLeader);
  EXPECT_EQ(Decide(CallKind::kWrite, kUnavailable, "etcdserver: rpc not supported for learner"),
            RetryReason::kLearner);
  // Without hasleader, "no leader" on a write did not come from the interceptor.
  EXPECT_EQ(Decide(CallKind::kWrite, kUnavailable, "etcdserver: no leader", false, false),
            RetryReason::kNone);
  EXPECT_EQ(Decide(CallKind::kRead, kUnavailable, "etcdserver: no leader", false, false),
            RetryReason::kNoLeader);
}

// Scenario: a member without a leader (or in a leader transfer) drops the proposal before it
// enters the log: writes too go to another member. etcd sends it as UNKNOWN; the exact message
// is what counts.
TEST(RetryPolicyTest, DroppedProposalsAreResentWritesIncluded) {
  constexpr int kUnknown = 2;
  for (CallKind k : {CallKind::kWrite, CallKind::kRead, CallKind::kMemberLocal}) {
    EXPECT_EQ(Decide(k, kUnknown, "raft proposal dropped"), RetryReason::kProposalDropped);
    EXPECT_EQ(Decide(k, kUnknown, "raft proposal dropped", false, false),
              RetryReason::kProposalDropped);  // no hasleader needed: raft itself refused
  }
  EXPECT_EQ(Decide(CallKind::kWrite, kUnknown, "raft proposal dropped, maybe"), RetryReason::kNone);
  EXPECT_EQ(Decide(CallKind::kWrite, kUnknown, "etcdserver: request timed out"),
            RetryReason::kNone);
}

// Scenario: a member whose apply trails its commit refuses before proposing: the call goes to
// another member, writes included. The proxy's own RESOURCE_EXHAUSTED (a limit) never reaches
// this decision, and other RESOURCE_EXHAUSTED answers (a message too large) are final.
TEST(RetryPolicyTest, TooManyRequestsGoesToAnotherMember) {
  constexpr int kExhausted = 8;
  for (CallKind k : {CallKind::kWrite, CallKind::kRead, CallKind::kSerializableRead}) {
    EXPECT_EQ(Decide(k, kExhausted, "etcdserver: too many requests"),
              RetryReason::kTooManyRequests);
  }
  EXPECT_EQ(Decide(CallKind::kWrite, kExhausted, "grpc: received message larger than max"),
            RetryReason::kNone);
  EXPECT_EQ(Decide(CallKind::kWrite, kUnavailable, "etcdserver: too many requests"),
            RetryReason::kNone);  // not etcd's code for it
  EXPECT_EQ(ToString(RetryReason::kTooManyRequests), "too_many_requests");
  EXPECT_EQ(ToString(RetryReason::kProposalDropped), "proposal_dropped");
}

TEST(RetryPolicyTest, AmbiguousWriteFailuresGoBackUnchanged) {
  EXPECT_EQ(Decide(CallKind::kWrite, kUnavailable, "etcdserver: request timed out"),
            RetryReason::kNone);
  EXPECT_EQ(Decide(CallKind::kWrite, kUnavailable, "etcdserver: leader changed"),
            RetryReason::kNone);
  EXPECT_EQ(Decide(CallKind::kWrite, kUnavailable, "Socket closed"), RetryReason::kNone);
  EXPECT_EQ(Decide(CallKind::kWrite, kDeadline, "Deadline Exceeded"), RetryReason::kNone);
}

TEST(RetryPolicyTest, ReadsRetryOnUnavailable) {
  EXPECT_EQ(Decide(CallKind::kRead, kUnavailable, "etcdserver: leader changed"),
            RetryReason::kLeaderChanged);
  EXPECT_EQ(Decide(CallKind::kRead, kUnavailable,
                   "etcdserver: request timed out, possibly due to previous leader failure"),
            RetryReason::kTimedOut);
  EXPECT_EQ(Decide(CallKind::kSerializableRead, kUnavailable, "Socket closed"),
            RetryReason::kUnavailable);
  EXPECT_EQ(Decide(CallKind::kMemberLocal, kUnavailable, "Connection reset"),
            RetryReason::kUnavailable);
}

TEST(RetryPolicyTest, OtherCodesAreAnswers) {
  for (CallKind k : {CallKind::kRead, CallKind::kWrite}) {
    EXPECT_EQ(Decide(k, 0, ""), RetryReason::kNone);
    EXPECT_EQ(Decide(k, kPermission, "etcdserver: permission denied"), RetryReason::kNone);
    EXPECT_EQ(Decide(k, kDeadline, "context deadline exceeded"), RetryReason::kNone);
    EXPECT_EQ(Decide(k, 11, "etcdserver: mvcc: required revision has been compacted"),
              RetryReason::kNone);
  }
}

TEST(RetryPolicyTest, ReasonLabels) {
  EXPECT_EQ(ToString(RetryReason::kConnectFailed), "connect_failed");
  EXPECT_EQ(ToString(RetryReason::kNoLeader), "no_leader");
  EXPECT_EQ(ToString(RetryReason::kUnavailable), "unavailable");
}

}  // namespace
}  // namespace ehp
