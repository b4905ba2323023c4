#include "tests/support/etcd_version.h"

#include <unistd.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <regex>
#include <stdexcept>

#include "tests/support/process.h"

namespace ehp::testing {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

std::string FetchedDir() {
  const std::string dir = Env("EHP_ETCD_DIR");
  return dir.empty() ? EHP_ETCD_DIR : dir;
}

}  // namespace

std::string EtcdVersionName() {
  const std::string v = Env("EHP_ETCD_VERSION");
  return v.empty() ? "3.4" : v;
}

std::string EtcdTool(const std::string& tool, const std::string& version) {
  const std::string v = version.empty() ? EtcdVersionName() : version;
  if (v == "3.4") return tool;  // Debian 12's, in PATH
  const std::string path = FetchedDir() + "/bin/" + v + "/" + tool;
  if (access(path.c_str(), X_OK) != 0) {
    throw std::runtime_error("etcd " + v + ": " + path +
                             " is missing; the build fetches it (tests/scripts/fetch-etcd.sh " +
                             FetchedDir() + ")");
  }
  return path;
}

std::string EtcdServerVersion(const std::string& version) {
  static std::mutex mu;
  static std::map<std::string, std::string> known;
  const std::string v = version.empty() ? EtcdVersionName() : version;
  std::lock_guard lock(mu);
  auto it = known.find(v);
  if (it != known.end()) return it->second;
  const CommandResult r = RunCommand({EtcdTool("etcd", v), "--version"});
  std::smatch m;
  if (!std::regex_search(r.output, m, std::regex("etcd Version: (\\S+)"))) {
    throw std::runtime_error("etcd " + v + " --version said: " + r.output);
  }
  return known[v] = m[1];
}

}  // namespace ehp::testing
