#include "proxy/relay/relay_service.h"

#include "proxy/relay/stream_relay.h"
#include "proxy/relay/unary_relay.h"
#include "proxy/relay/watch_relay.h"

namespace ehp {

grpc::ServerGenericBidiReactor* RelayService::CreateReactor(
    grpc::GenericCallbackServerContext* context) {
  // Unary calls take their own path: one upstream unary call instead of a relayed stream halves
  // the round trips inside the proxy.
  if (relay_.methods->IsUnary(context->method())) {
    return new UnaryRelay(context, context->method(), relay_);
  }
  // Watch streams are followed, so they can move between members without a break.
  if (context->method() == "/etcdserverpb.Watch/Watch" &&
      relay_.upstreams->Get()->resume_watches()) {
    return new WatchRelay(context, context->method(), relay_);
  }
  return new StreamRelay(context, context->method(), relay_);
}

}  // namespace ehp
