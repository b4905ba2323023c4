// What every relayed call needs from the proxy; owned by the ProxyServer, outlives all calls.
#pragma once

#include <grpcpp/support/status.h>

#include <chrono>

#include "proxy/log/rate_limited.h"
#include "proxy/metrics/proxy_metrics.h"
#include "proxy/relay/method_table.h"
#include "proxy/relay/stream_registry.h"
#include "proxy/routing/call_holder.h"
#include "proxy/routing/call_plan.h"
#include "proxy/upstream/upstream_pool.h"

namespace ehp {

struct RelayContext {
  // The current member set; each call takes the pool once and keeps it to its end, so a reload
  // never pulls members from under a call.
  const SnapshotCell<UpstreamPool>* upstreams;
  StreamRegistry* streams;
  const MethodTable* methods;
  ProxyMetrics* metrics;        // may be null
  CallHolder* holder;           // bounds the calls held while no member can take them
  RateLimitedLog* refusal_log;  // may be null
};

// The RESOURCE_EXHAUSTED status of a call refused because the cap `limit` (a setting's name) was
// reached, counted in limit_refusals and logged at most every few seconds.
grpc::Status RefuseForLimit(const RelayContext& relay, std::string_view limit,
                            const std::string& message);

// The error for a call that could not be held: `reasons` (why no member could take it) and the
// bounds that were reached.
grpc::Status HoldRefused(const CallHolder& holder, const std::string& reasons);

// Counts what a call plan's step decided: retries, hedges, holds.
void CountPlanStep(const RelayContext& relay, const CallPlan::Step& step);

}  // namespace ehp
