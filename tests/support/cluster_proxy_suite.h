// What the integration suites share: a temporary directory with certificates, a real etcd
// cluster, and an in-process proxy in front of it. A suite derives from ClusterProxySuite, calls
// StartSuite in SetUpTestSuite (or in SetUp, for a fresh cluster per test) and StopSuite in the
// matching tear-down, and keeps only what is particular to it.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/etcd_cluster.h"
#include "tests/support/eventually.h"
#include "tests/support/proxy_fixture.h"

namespace ehp::testing {

struct SuiteOptions {
  EtcdOptions etcd = {};
  // False for suites that run the proxy binary, or start their own proxies test by test.
  bool proxy = true;
  std::vector<std::string> flags = {};          // the proxy's, as a user would add them
  std::function<void(Config&)> configure = {};  // then applied to its Config
};

class ClusterProxySuite : public ::testing::Test {
 protected:
  // Makes a temporary directory named after `name` with certificates in certs/, starts the
  // cluster and (options.proxy) the proxy. A cluster that does not start fails the caller, with
  // the directory its logs are in; wrap the call in ASSERT_NO_FATAL_FAILURE where that matters.
  static void StartSuite(const std::string& name, SuiteOptions options = {});
  // Stops the proxy and the cluster and removes the directory; fine after a failed start.
  static void StopSuite();
  // So a suite started in SetUpTestSuite needs no tear-down of its own.
  static void TearDownTestSuite() { StopSuite(); }

  // The suite's cluster endpoints and certificates as a proxy configuration, plus `flags`.
  static Config SuiteConfig(const std::vector<std::string>& flags = {});
  // Starts the suite's proxy with `config`, in place of one already running.
  static void StartSuiteProxy(const Config& config);
  static void StopSuiteProxy();

  // Member i's client target (127.0.0.1:port), as the proxy names it.
  static std::string Member(int i) { return cluster_->ClientTarget(i); }
  static int admin_port() { return proxy_->admin_port(); }
  // A new mutual-TLS channel to the suite's proxy, as a legitimate client opens it.
  static std::shared_ptr<grpc::Channel> Channel() { return ProxyChannel(*proxy_, *certs_); }

  // Range and Put through the suite's proxy on a new channel, with a deadline.
  static grpc::Status ProxyRange(const std::string& key,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(5));
  static grpc::Status ProxyPut(const std::string& key, const std::string& value,
                               std::chrono::milliseconds timeout = std::chrono::seconds(5));

  // Waits until the admin plane's /status contains `fragment`.
  static bool WaitForStatus(const std::string& fragment, std::chrono::milliseconds timeout);
  // Waits until `pred` holds for the proxy's health view.
  template <typename Pred>
  static bool WaitFor(Pred pred, std::chrono::milliseconds timeout) {
    return Eventually([&] { return pred(proxy_->health().Snapshot()); }, timeout);
  }
  static bool AllHealthy(const HealthChecker::View& v);

  static inline std::string* dir_ = nullptr;
  static inline Certs* certs_ = nullptr;
  static inline EtcdCluster* cluster_ = nullptr;
  static inline ProxyServer* proxy_ = nullptr;
};

}  // namespace ehp::testing
