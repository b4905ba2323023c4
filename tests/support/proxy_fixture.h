// An in-process proxy in front of a test cluster, configured as a user would with mTLS on both
// sides, listening on a free loopback port.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "proxy/config/proxy_config.h"
#include "proxy/server/proxy_server.h"
#include "tests/support/etcd_cluster.h"

namespace ehp::testing {

// A valid Config for `endpoints` with the given certificates (listener on 127.0.0.1:0), plus
// `flags` as a user would add them.
Config ProxyConfig(const std::string& endpoints, const Certs& certs,
                   const std::vector<std::string>& flags = {});

// Starts a proxy; fails the calling test on error.
std::unique_ptr<ProxyServer> StartProxy(const Config& config);

// A mutual-TLS client channel to the proxy, as a legitimate client would open it.
std::shared_ptr<grpc::Channel> ProxyChannel(const ProxyServer& proxy, const Certs& certs);

}  // namespace ehp::testing
