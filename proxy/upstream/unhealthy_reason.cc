#include "proxy/upstream/unhealthy_reason.h"

namespace ehp {

std::string_view ToString(UnhealthyReason reason) {
  switch (reason) {
    case UnhealthyReason::kNone:
      return "none";
    case UnhealthyReason::kUnreachable:
      return "unreachable";
    case UnhealthyReason::kTls:
      return "tls";
    case UnhealthyReason::kTimeout:
      return "timeout";
    case UnhealthyReason::kNoLeader:
      return "no_leader";
    case UnhealthyReason::kStaleLeader:
      return "stale_leader";
    case UnhealthyReason::kLagging:
      return "lagging";
    case UnhealthyReason::kAlarm:
      return "alarm";
    case UnhealthyReason::kLearner:
      return "learner";
    case UnhealthyReason::kPartitioned:
      return "partitioned";
    case UnhealthyReason::kDrained:
      return "drained";
    case UnhealthyReason::kClusterMismatch:
      return "cluster_mismatch";
  }
  return "unknown";
}

}  // namespace ehp
