// What every relayed call needs from the proxy; owned by the relay service, outlives all calls.
#pragma once

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

// Counts a finished call and its duration. `member` is empty when no member took it.
void RecordCall(const RelayContext& relay, const std::string& method, const grpc::Status& status,
                const Member* member, std::chrono::steady_clock::time_point start);

// Counts what a call plan's step decided: retries, hedges, holds.
void CountPlanStep(const RelayContext& relay, const CallPlan::Step& step);

// A member's final status for a stream as the client should see it. etcd ends hasleader streams
// with "etcdserver: no leader" after ~3 election timeouts without a leader; clientv3 takes that
// exact error as final for a watch (it closes the watch instead of resuming it), so it is
// reworded: the client re-opens the stream and lands on a member that has a leader.
grpc::Status StreamEndForClient(const grpc::Status& status, const std::string& member);

// True when a failed call provably never reached a member: the connection could not be
// established, so the request was never written. Such a call is safe to send to another member,
// writes included.
bool FailedBeforeSending(const grpc::Status& status, const grpc::ClientContext& call);

}  // namespace ehp
