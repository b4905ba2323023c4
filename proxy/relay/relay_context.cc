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
