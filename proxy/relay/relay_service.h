// The catch-all gRPC service: every method of every etcd service (and any unknown one, which the
// member then answers) is relayed to a member with its bytes untouched.
#pragma once

#include <grpcpp/generic/async_generic_service.h>

#include "proxy/relay/relay_context.h"

namespace ehp {

class RelayService final : public grpc::CallbackGenericService {
 public:
  explicit RelayService(const RelayContext& relay) : relay_(relay) {}

  // grpc::CallbackGenericService
  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override;

 private:
  const RelayContext relay_;
};

}  // namespace ehp
