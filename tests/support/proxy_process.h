// The etcd-health-proxy binary as a child process, for tests that exercise it as users do
// (etcdctl, signals, exit codes).
#pragma once

#include <string>
#include <vector>

#include "tests/support/etcd_cluster.h"
#include "tests/support/process.h"

namespace ehp::testing {

class ProxyProcess {
 public:
  // Starts the binary with mTLS on both sides towards `endpoints`, plus `extra` flags and `env`
  // variables (NAME=value), on a free port, and waits until it listens.
  ProxyProcess(const std::string& dir, const std::string& endpoints, const Certs& certs,
               const std::vector<std::string>& extra = {},
               const std::vector<std::string>& env = {});
  // A proxy that crashed (a signal no test sends, or a sanitizer's report) leaves the end of
  // its log on stderr: the test's directory, and the log with it, is removed afterwards.
  ~ProxyProcess();

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string url() const { return "https://" + address(); }
  Process& process() { return process_; }
  std::string log() const { return ReadFile(log_path_); }

 private:
  int port_;
  std::string log_path_;
  Process process_;
};

// etcdctl (of EHP_ETCD_VERSION) with the test client certificate against `endpoint`.
CommandResult Etcdctl(const std::string& endpoint, const Certs& certs,
                      const std::vector<std::string>& args, const std::string& stdin_text = "");

// etcdctl's output without its own log lines (JSON, with timestamps and connection ids).
std::string WithoutEtcdctlLogLines(const std::string& output);

}  // namespace ehp::testing
