// A real etcd cluster in network namespaces (chaos/topology.sh): one namespace per member with
// a peer link and a client link, so a member can be cut off from its peers while the proxy still
// reaches it. The etcd is EHP_ETCD_VERSION's (topology.sh reads it). Certificates name the
// members' addresses. Needs root; everything is removed (processes by PID) on destruction.
#pragma once

#include <string>
#include <vector>

#include "tests/support/etcd_cluster.h"
#include "tests/support/process.h"

namespace ehp::testing {

class NetnsCluster {
 public:
  // Root, and `ip netns` works here.
  static bool Available();

  // Picks a random tag starting with `prefix` (1-2 letters) and makes the certificates.
  NetnsCluster(const std::string& prefix, int members);
  ~NetnsCluster();
  NetnsCluster(const NetnsCluster&) = delete;
  NetnsCluster& operator=(const NetnsCluster&) = delete;

  // Starts the members and waits until they are healthy; false with topology.sh's output.
  bool Up(std::string* output);

  // topology.sh COMMAND TAG ARGS... (cut, heal, signal ..., restart ...).
  CommandResult Topology(const std::string& command, const std::vector<std::string>& args = {});
  // Member i (0-based) cut from its peers, and back.
  bool Cut(int i);
  bool Heal(int i);

  const std::string& tag() const { return tag_; }
  const std::string& dir() const { return dir_; }
  const Certs& certs() const { return certs_; }
  const std::string& endpoints() const { return endpoints_; }  // comma-separated client URLs
  std::string ClientUrl(int i) const;

 private:
  int members_;
  std::string tag_;
  std::string dir_;
  Certs certs_;
  std::string endpoints_;
  bool up_ = false;
};

}  // namespace ehp::testing
