// Whether a failed attempt may be sent to another member. A call is sent again only when it
// provably had no effect, or when it is a read (repeating a read changes nothing). A write that
// failed ambiguously ("request timed out": it may have been applied) is never sent again.
// Pure: the attempt's outcome in, a decision out.
#pragma once

#include <string_view>

#include "proxy/routing/call_class.h"

namespace ehp {

enum class RetryReason {
  kNone,             // do not retry: the error goes back to the client unchanged
  kConnectFailed,    // the connection failed before the request was written
  kNoLeader,         // refused by the member's hasleader check, before its handler ran
  kLearner,          // learners refuse most calls before running them
  kProposalDropped,  // "raft proposal dropped": raft refused it before it entered the log
  kTooManyRequests,  // "etcdserver: too many requests": refused before proposing (apply lag)
  kLeaderChanged,    // reads only
  kTimedOut,         // reads only: "etcdserver: request timed out"
  kUnavailable,      // reads only: any other UNAVAILABLE from the member
  kMemberEvicted,    // reads only: the proxy cancelled it because its member was evicted
};

struct AttemptOutcome {
  int code = 0;                        // grpc::StatusCode
  std::string_view message;            // the member's error message
  bool failed_before_sending = false;  // never reached the member (not written to it)
  bool sent_hasleader = false;         // the attempt carried "hasleader: true"
};

RetryReason DecideRetry(CallKind kind, const AttemptOutcome& outcome);

// Metric label: "connect_failed", "no_leader", ...
std::string_view ToString(RetryReason reason);

}  // namespace ehp
