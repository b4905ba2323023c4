#include "tests/support/proxy_fixture.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "proxy/config/config_loader.h"

namespace ehp::testing {

std::vector<std::string> DataPathFlags() {
  const char* path = std::getenv("EHP_TEST_DATA_PATH");
  if (path == nullptr || *path == '\0') return {};
  return {std::string("--data-path=") + path};
}

std::string DataPathUnderTest() {
  const char* path = std::getenv("EHP_TEST_DATA_PATH");
  return path == nullptr || *path == '\0' ? Config().data_path : std::string(path);
}

Config ProxyConfig(const std::string& endpoints, const Certs& certs,
                   const std::vector<std::string>& flags) {
  std::vector<std::string> args = {
      "--endpoints=" + endpoints,         "--cacert=" + certs.ca(),
      "--cert=" + certs.client(),         "--key=" + certs.client_key(),
      "--listen-addr=127.0.0.1:0",        "--cert-file=" + certs.server(),
      "--key-file=" + certs.server_key(), "--trusted-ca-file=" + certs.ca(),
      "--cert-reload-interval=1s",        "--shutdown-grace=2s",
      "--metrics-addr=127.0.0.1:0"};
  for (std::string& flag : DataPathFlags()) args.push_back(std::move(flag));
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
