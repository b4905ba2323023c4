// Creates the health probes' gRPC connections to etcd members (their own, apart from the data
// path's): credentials (TLS with certificate files re-read on change, or plaintext for http://
// members) and channel arguments.
#pragma once

#include <grpcpp/channel.h>
#include <grpcpp/security/credentials.h>

#include <memory>
#include <string>

#include "proxy/config/proxy_config.h"

namespace ehp {

class ChannelFactory {
 public:
  explicit ChannelFactory(const Config& config);

  // A new connection to `member`; `index` makes it distinct from the member's other connections
  // (gRPC would otherwise share one TCP connection between channels with equal arguments).
  std::shared_ptr<grpc::Channel> Create(const MemberUrl& member, int index) const;

 private:
  const Config config_;
  std::shared_ptr<grpc::ChannelCredentials> tls_credentials_;
};

}  // namespace ehp
