#include "proxy/relay/relay_context.h"

#include <spdlog/spdlog.h>

#include <array>

namespace ehp {

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

grpc::Status HoldRefused(const CallHolder& holder, const std::string& reasons) {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                      reasons + "; not held: " + std::to_string(holder.calls()) +
                          " calls are waiting already (max-held-calls " +
                          std::to_string(holder.max_calls()) + ", max-held-bytes " +
                          std::to_string(holder.max_bytes()) + ")");
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

}  // namespace ehp
