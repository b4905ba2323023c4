// Why a member does not take calls. Each value is also a metric label and a /status string, so
// the names are a contract: never rename one.
#pragma once

#include <string_view>

namespace ehp {

enum class UnhealthyReason {
  kNone,
  kUnreachable,  // connection refused or reset, DNS failure
  kTls,          // TLS handshake failed (certificate, name, CA)
  kTimeout,      // Status did not answer within probe-timeout
  kNoLeader,     // the member reports no Raft leader
  kStaleLeader,  // it claims another leader at an older term than the quorum (isolated ex-leader)
  kLagging,      // its applied index trails the cluster by more than max-lag
  kAlarm,        // CORRUPT alarm
  kLearner,      // learners never take calls
  kPartitioned,  // its linearizable probe fails while a majority's succeeds
  kDrained,      // taken out by an operator
  kClusterMismatch,  // a different cluster_id than the others: a configuration error
};

std::string_view ToString(UnhealthyReason reason);

}  // namespace ehp
