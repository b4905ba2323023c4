#include "proxy/relay/relay_context.h"

namespace ehp {

bool FailedBeforeSending(const grpc::Status& status, const grpc::ClientContext& call) {
  if (status.error_code() != grpc::StatusCode::UNAVAILABLE) return false;
  // A member that answered at all sent headers; etcd's own UNAVAILABLE errors ("etcdserver: ...")
  // are not connection failures and are left to the routing layer.
  if (!call.GetServerInitialMetadata().empty()) return false;
  const std::string& message = status.error_message();
  return message.find("failed to connect to all addresses") != std::string::npos ||
         message.find("Connection refused") != std::string::npos ||
         message.find("connections to all backends failing") != std::string::npos;
}

}  // namespace ehp
