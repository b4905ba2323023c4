#include "tests/support/netns_cluster.h"

#include <unistd.h>

#include <random>
#include <sstream>

namespace ehp::testing {
namespace {

const std::string kTopology = std::string(EHP_SOURCE_DIR) + "/chaos/topology.sh";

std::string FirstLine(const std::string& s) { return s.substr(0, s.find('\n')); }

}  // namespace

bool NetnsCluster::Available() {
  return geteuid() == 0 && RunCommand({"ip", "netns", "list"}).exit_code == 0;
}

NetnsCluster::NetnsCluster(const std::string& prefix, int members)
    : members_(members), dir_(MakeTempDir("ehp-netns")) {
  std::mt19937 rng(std::random_device{}());
  tag_ = prefix + std::to_string(rng() % 1000);
  const std::string sans =
      FirstLine(RunCommand({kTopology, "sans", tag_, std::to_string(members)}).output);
  const CommandResult certs =
      RunCommand({"env", "EXTRA_SANS=" + sans,
                  std::string(EHP_SOURCE_DIR) + "/tests/scripts/gen-certs.sh", dir_ + "/certs"});
  if (certs.exit_code != 0) throw std::runtime_error("gen-certs.sh failed: " + certs.output);
  certs_ = Certs{dir_ + "/certs"};
  endpoints_ =
      FirstLine(RunCommand({kTopology, "endpoints", tag_, std::to_string(members)}).output);
}

NetnsCluster::~NetnsCluster() {
  // Also after a partial `up`: whatever it made goes.
  RunCommand({kTopology, "down", tag_, dir_});
  RemoveTree(dir_);
}

bool NetnsCluster::Up(std::string* output) {
  const CommandResult up =
      RunCommand({kTopology, "up", tag_, std::to_string(members_), certs_.dir, dir_}, "",
                 std::chrono::seconds(90));
  *output = up.output;
  up_ = up.exit_code == 0;
  return up_;
}

CommandResult NetnsCluster::Topology(const std::string& command,
                                     const std::vector<std::string>& args) {
  std::vector<std::string> argv = {kTopology, command, tag_};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv);
}

bool NetnsCluster::Cut(int i) { return Topology("cut", {std::to_string(i + 1)}).exit_code == 0; }
bool NetnsCluster::Heal(int i) { return Topology("heal", {std::to_string(i + 1)}).exit_code == 0; }

std::string NetnsCluster::ClientUrl(int i) const {
  std::istringstream in(endpoints_);
  std::string url;
  for (int k = 0; k <= i && std::getline(in, url, ','); ++k) {
  }
  return url;
}

}  // namespace ehp::testing
