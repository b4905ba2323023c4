#include "proxy/relay/relay_context.h"

#include <spdlog/spdlog.h>

#include <array>

namespace ehp {

bool FailedBeforeSending(const grpc::Status& status, const grpc::ClientContext& call) {
  if (status.error_code() != grpc::StatusCode::UNAVAILABLE) return false;
  // A member that answered at all sent headers; etcd's own UNAVAILABLE errors ("etcdserver: ...")
  // are not connection failures and are left to the routing layer.
  if (!call.GetServerInitialMetadata().empty()) return false;
  const std::string& message = status.error_message();
  // "GOAWAY received": the member's GOAWAY named a last stream below this call's, or the call
  // was still queued on the connection; gRPC fails exactly those (never seen by the member).
  return message.find("failed to connect to all addresses") != std::string::npos ||
         message.find("Connection refused") != std::string::npos ||
         message.find("connections to all backends failing") != std::string::npos ||
         message.find("GOAWAY received") != std::string::npos;
}

grpc::Status RefuseForLimit(const RelayContext& relay, std::string_view limit,
                            const std::string& message) {
  if (relay.metrics != nullptr) relay.metrics->limit_refusals.Inc({std::string(limit)});
  uint64_t suppressed = 0;
  if (relay.refusal_log != nullptr &&
      relay.refusal_log->ShouldLog(std::chrono::steady_clock::now(), &suppressed)) {
    spdlog::warn("refusing new calls: {}{}", message, SuppressedNote(suppressed));
  }
  return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "etcd-health-proxy: " + message);
}

}  // namespace ehp

namespace ehp {
namespace {

// Prometheus label values for gRPC codes, as grpc-go and grpc_prometheus spell them.
const std::array<const char*, 17> kCodeNames = {
    "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
    "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
    "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
    "DataLoss", "Unauthenticated"};

}  // namespace

void RecordCall(const RelayContext& relay, const std::string& method, const grpc::Status& status,
                const Member* member, std::chrono::steady_clock::time_point start) {
  if (relay.metrics == nullptr) return;
  const auto [service, name] = SplitMethod(method);
  const size_t code = static_cast<size_t>(status.error_code());
  relay.metrics->calls.Inc({service, name, code < kCodeNames.size() ? kCodeNames[code] : "Unknown",
                            member ? member->name() : ""});
  relay.metrics->call_duration.Observe(
      {service, name},
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

void CountPlanStep(const RelayContext& relay, const CallPlan::Step& step) {
  ProxyMetrics* m = relay.metrics;
  if (m == nullptr) return;
  if (step.retried != RetryReason::kNone) m->retries.Inc({std::string(ToString(step.retried))});
  if (step.retry_refused != RetryReason::kNone) {
    m->retries_refused.Inc({std::string(ToString(step.retry_refused))});
  }
  if (step.hedge_outcome != nullptr) m->hedges.Inc({step.hedge_outcome});
  if (step.hold_outcome != nullptr) {
    m->held.Inc({step.hold_outcome});
    if (std::string_view(step.hold_outcome) != "refused") {
      m->hold_duration.Observe({}, std::chrono::duration<double>(step.held_for).count());
    }
  }
}

grpc::Status StreamEndForClient(const grpc::Status& status, const std::string& member) {
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE &&
      status.error_message() == "etcdserver: no leader") {
    return grpc::Status(
        grpc::StatusCode::UNAVAILABLE,
        "etcd-health-proxy: member " + member + " lost its raft leader; re-open the stream");
  }
  return status;
}

}  // namespace ehp
