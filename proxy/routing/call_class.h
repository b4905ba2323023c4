// What a call is, for routing and retries: a read, a write or a member-local call, whether it
// must reach the leader, and whether the proxy asks the member to refuse it without a leader.
// Pure: method names and request bytes in, a class out.
#pragma once

#include <string_view>

namespace ehp {

enum class CallKind {
  kRead,              // linearizable read: Range, read-only Txn, lease and auth queries
  kSerializableRead,  // Range with serializable=true: any member's local data
  kWrite,             // anything that changes the cluster; unknown methods count as writes
  kMemberLocal,       // Maintenance calls about the member that answers (Status, Hash, ...)
  kStream,            // Watch, LeaseKeepAlive, Snapshot, Observe: long-lived
};

struct CallClass {
  CallKind kind = CallKind::kWrite;
  // Goes to the quorum's leader whatever write-routing says: MoveLeader (etcd accepts it only
  // there) and LeaseKeepAlive (a follower forwards every renewal to the leader, and one cut
  // off from it stalls the stream until the lease expires).
  bool to_leader = false;
  bool hasleader = false;  // the call may carry "hasleader: true" (not member-local calls)
};

// The class from the method name alone: Range and Txn are reads here until their request says
// otherwise (ClassifyRequest).
CallClass ClassifyMethod(std::string_view method);

// The class of a unary call with its serialized request: a serializable Range, a Txn with a
// write in any branch. A request that does not parse keeps the method's class, made a write.
CallClass ClassifyRequest(std::string_view method, std::string_view request);

// The class of a streaming call (one the method table does not know as unary). KV.RangeStream
// (etcd 3.7: a Range answered in chunks; Kubernetes 1.37 calls it by default and falls back to
// Range on UNIMPLEMENTED) is a read: it goes where linearizable reads go and waits while the
// quorum is stalled. Every other stream is long-lived (kStream).
CallClass ClassifyStream(std::string_view method);

// Whether the method's class depends on its request (Range, Txn).
bool NeedsRequest(std::string_view method);

std::string_view ToString(CallKind kind);

}  // namespace ehp
