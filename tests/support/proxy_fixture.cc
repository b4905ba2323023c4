#include "tests/support/proxy_fixture.h"

#include <gtest/gtest.h>

#include "proxy/config/config_loader.h"

namespace ehp::testing {

Config ProxyConfig(const std::string& endpoints, const Certs& certs,
                   const std::vector<std::string>& flags) {
  std::vector<std::string> args = {
      "--endpoints=" + endpoints,         "--cacert=" + certs.ca(),
      "--cert=" + certs.client(),         "--key=" + certs.client_key(),
      "--listen-addr=127.0.0.1:0",        "--cert-file=" + certs.server(),
      "--key-file=" + certs.server_key(), "--trusted-ca-file=" + certs.ca(),
      "--cert-reload-interval=1s",        "--shutdown-grace=2s",
      "--metrics-addr=127.0.0.1:0"};
  args.insert(args.end(), flags.begin(), flags.end());
  LoadResult r = LoadConfig(args);
  EXPECT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors.front());
  return r.config;
}

std::unique_ptr<ProxyServer> StartProxy(const Config& config) {
  auto proxy = std::make_unique<ProxyServer>(config);
  std::string error;
  EXPECT_TRUE(proxy->Start(&error)) << error;
  return proxy;
}

std::shared_ptr<grpc::Channel> ProxyChannel(const ProxyServer& proxy, const Certs& certs) {
  return MakeChannel(proxy.Address(),
                     ClientCredentials(certs.ca(), certs.client(), certs.client_key()));
}

}  // namespace ehp::testing
