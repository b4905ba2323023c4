// The YAML files shipped in config/: every one parses, the example configuration loads, and the
// kube-apiserver sidecar manifest is consistent: kube-apiserver dials the proxy's listener, the
// proxy's flags load, its files are mounted, and kubelet probes hit admin routes that exist.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <map>

#include "proxy/admin/admin_router.h"
#include "proxy/config/config_loader.h"

namespace ehp {
namespace {

namespace fs = std::filesystem;
const fs::path kConfigDir = fs::path(EHP_SOURCE_DIR) / "config";

TEST(ShippedFilesTest, EveryYamlFileParses) {
  int files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(kConfigDir)) {
    const auto ext = entry.path().extension();
    if (ext != ".yaml" && ext != ".yml") continue;
    ++files;
    EXPECT_NO_THROW({
      const auto docs = YAML::LoadAllFromFile(entry.path().string());
      EXPECT_FALSE(docs.empty()) << entry.path();
    }) << entry.path();
  }
  EXPECT_GE(files, 4);  // example, alerts, alert tests, the manifest
}

// Errors other than unreadable certificate files (which exist only on a real node).
std::vector<std::string> RealErrors(const LoadResult& r) {
  std::vector<std::string> out;
  for (const auto& e : r.errors) {
    if (e.find("cannot read \"/etc/") == std::string::npos) out.push_back(e);
  }
  return out;
}

TEST(ShippedFilesTest, ExampleConfigLoads) {
  const LoadResult r = LoadConfig({"--config=" + (kConfigDir / "example.yaml").string()});
  EXPECT_TRUE(RealErrors(r).empty()) << ::testing::PrintToString(RealErrors(r));
  EXPECT_EQ(r.config.endpoints.size(), 3u);
}

// "--name=value" flags of a container's command or args.
std::map<std::string, std::string> Flags(const YAML::Node& container) {
  std::map<std::string, std::string> out;
  for (const char* key : {"command", "args"}) {
    if (!container[key]) continue;
    for (const auto& item : container[key]) {
      const std::string s = item.as<std::string>();
      const auto eq = s.find('=');
      if (s.rfind("--", 0) == 0 && eq != std::string::npos) out[s.substr(0, eq)] = s.substr(eq + 1);
    }
  }
  return out;
}

bool Mounted(const YAML::Node& container, const std::string& path) {
  for (const auto& m : container["volumeMounts"]) {
    if (path.rfind(m["mountPath"].as<std::string>() + "/", 0) == 0) return true;
  }
  return false;
}

class NullBackend : public AdminBackend {
 public:
  std::string MetricsText() override { return ""; }
  std::vector<Check> LivenessChecks() override { return {{"loop", true, ""}}; }
  std::vector<Check> ReadinessChecks() override { return {{"ready", true, ""}}; }
  std::string StatusJson() override { return "{}"; }
  std::string EventsJson() override { return "{}"; }
  bool SetDrained(const std::string&, bool) override { return false; }
  Action StartDefragment() override { return {409, "{}"}; }
  Action MoveLeader(const std::string&) override { return {404, "{}"}; }
};

TEST(ShippedFilesTest, SidecarManifestIsConsistent) {
  const YAML::Node pod = YAML::LoadFile((kConfigDir / "kubernetes/kube-apiserver.yaml").string());
  ASSERT_EQ(pod["kind"].as<std::string>(), "Pod");
  EXPECT_TRUE(pod["spec"]["hostNetwork"].as<bool>());
  YAML::Node apiserver, proxy;
  for (const auto& c : pod["spec"]["containers"]) {
    if (c["name"].as<std::string>() == "kube-apiserver") apiserver.reset(c);
    if (c["name"].as<std::string>() == "etcd-health-proxy") proxy.reset(c);
  }
  ASSERT_TRUE(apiserver && proxy);
  auto api_flags = Flags(apiserver);
  auto proxy_flags = Flags(proxy);

  // kube-apiserver's only etcd server is the proxy's listener, over TLS.
  const std::string listen = proxy_flags["--listen-addr"];
  EXPECT_EQ(api_flags["--etcd-servers"], "https://" + listen);
  // Its client certificate is one the proxy's CA verifies: both use the etcd CA.
  EXPECT_EQ(api_flags["--etcd-cafile"], proxy_flags["--trusted-ca-file"]);
  EXPECT_FALSE(proxy_flags["--cert-file"].empty());

  // The proxy's flags load (only the certificate files, absent here, are missing).
  std::vector<std::string> args;
  for (const auto& a : proxy["args"]) args.push_back(a.as<std::string>());
  const LoadResult loaded = LoadConfig(args);
  EXPECT_TRUE(RealErrors(loaded).empty()) << ::testing::PrintToString(RealErrors(loaded));
  EXPECT_EQ(loaded.config.endpoints.size(), 3u);

  // Every file either container reads is on a mounted volume.
  for (const char* f :
       {"--cacert", "--cert", "--key", "--cert-file", "--key-file", "--trusted-ca-file"}) {
    ASSERT_FALSE(proxy_flags[f].empty()) << f;
    EXPECT_TRUE(Mounted(proxy, proxy_flags[f])) << f << "=" << proxy_flags[f];
  }
  for (const char* f : {"--etcd-cafile", "--etcd-certfile", "--etcd-keyfile"}) {
    EXPECT_TRUE(Mounted(apiserver, api_flags[f])) << f;
  }

  // The declared ports are the ones the flags use.
  const std::string metrics = proxy_flags["--metrics-addr"];
  const int listen_port = std::stoi(listen.substr(listen.rfind(':') + 1));
  const int admin_port = std::stoi(metrics.substr(metrics.rfind(':') + 1));
  std::vector<int> declared;
  for (const auto& p : proxy["ports"]) declared.push_back(p["containerPort"].as<int>());
  EXPECT_NE(std::find(declared.begin(), declared.end(), listen_port), declared.end());
  EXPECT_NE(std::find(declared.begin(), declared.end(), admin_port), declared.end());

  // kubelet probes go to the admin port, on paths the admin plane serves.
  NullBackend backend;
  int probes = 0;
  for (const char* probe : {"livenessProbe", "readinessProbe", "startupProbe"}) {
    const YAML::Node get = proxy[probe]["httpGet"];
    ASSERT_TRUE(get) << probe;
    ++probes;
    EXPECT_EQ(get["port"].as<int>(), admin_port) << probe;
    EXPECT_EQ(get["scheme"].as<std::string>(),
              metrics.rfind("https://", 0) == 0 ? "HTTPS" : "HTTP");
    const AdminResponse r = RouteAdmin({"GET", get["path"].as<std::string>(), false}, backend);
    EXPECT_EQ(r.status, 200) << probe << " " << get["path"].as<std::string>();
  }
  EXPECT_EQ(probes, 3);
  EXPECT_EQ(proxy["readinessProbe"]["httpGet"]["path"].as<std::string>(), "/readyz");
  EXPECT_EQ(proxy["livenessProbe"]["httpGet"]["path"].as<std::string>(), "/livez");

  // Resources and a locked-down container.
  EXPECT_TRUE(proxy["resources"]["requests"]["cpu"]);
  EXPECT_TRUE(proxy["resources"]["requests"]["memory"]);
  EXPECT_TRUE(proxy["resources"]["limits"]["memory"]);
  EXPECT_FALSE(proxy["securityContext"]["allowPrivilegeEscalation"].as<bool>());
  EXPECT_TRUE(proxy["securityContext"]["readOnlyRootFilesystem"].as<bool>());
}

}  // namespace
}  // namespace ehp
