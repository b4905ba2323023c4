#include "tests/support/cluster_proxy_suite.h"

#include "tests/support/client_calls.h"
#include "tests/support/http_client.h"
#include "tests/support/process.h"

namespace ehp::testing {

void ClusterProxySuite::StartSuite(const std::string& name, SuiteOptions options) {
  dir_ = new std::string(MakeTempDir(name));
  certs_ = new Certs(GenerateCerts(*dir_ + "/certs"));
  cluster_ = new EtcdCluster(*dir_, *certs_, std::move(options.etcd));
  ASSERT_TRUE(cluster_->Start()) << "etcd cluster did not start; logs in " << *dir_;
  if (!options.proxy) return;
  Config config = SuiteConfig(options.flags);
  if (options.configure) options.configure(config);
  StartSuiteProxy(config);
}

void ClusterProxySuite::StopSuite() {
  StopSuiteProxy();
  delete cluster_;
  cluster_ = nullptr;
  if (dir_ != nullptr) RemoveTree(*dir_);
  delete certs_;
  certs_ = nullptr;
  delete dir_;
  dir_ = nullptr;
}

Config ClusterProxySuite::SuiteConfig(const std::vector<std::string>& flags) {
  return ProxyConfig(cluster_->Endpoints(), *certs_, flags);
}

void ClusterProxySuite::StartSuiteProxy(const Config& config) {
  StopSuiteProxy();
  proxy_ = StartProxy(config).release();
}

void ClusterProxySuite::StopSuiteProxy() {
  delete proxy_;
  proxy_ = nullptr;
}

grpc::Status ClusterProxySuite::ProxyRange(const std::string& key,
                                           std::chrono::milliseconds timeout) {
  return RangeKey(Channel(), key, timeout);
}

grpc::Status ClusterProxySuite::ProxyPut(const std::string& key, const std::string& value,
                                         std::chrono::milliseconds timeout) {
  return PutKey(Channel(), key, value, timeout);
}

bool ClusterProxySuite::WaitForStatus(const std::string& fragment,
                                      std::chrono::milliseconds timeout) {
  return Eventually(
      [&] { return Http(admin_port(), "GET", "/status").body.find(fragment) != std::string::npos; },
      timeout, std::chrono::milliseconds(50));
}

bool ClusterProxySuite::AllHealthy(const HealthChecker::View& v) {
  for (const auto& m : v.members) {
    if (m.state != HealthState::kHealthy) return false;
  }
  return true;
}

}  // namespace ehp::testing
