// What every relayed call needs from the proxy; owned by the relay service, outlives all calls.
#pragma once

#include "proxy/relay/method_table.h"
#include "proxy/relay/stream_registry.h"
#include "proxy/upstream/upstream_pool.h"

namespace ehp {

struct RelayContext {
  UpstreamPool* upstream;
  StreamRegistry* streams;
  const MethodTable* methods;
};

// True when a failed call provably never reached a member: the connection could not be
// established, so the request was never written. Such a call is safe to send to another member,
// writes included.
bool FailedBeforeSending(const grpc::Status& status, const grpc::ClientContext& call);

}  // namespace ehp
