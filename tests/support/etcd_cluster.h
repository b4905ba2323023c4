// A real etcd cluster for integration tests: the etcd EHP_ETCD_VERSION names (etcd_version.h),
// members on free loopback ports, mutual TLS with certificates made by tests/scripts/gen-certs.sh.
// Torn down (by PID) on destruction.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"
#include "tests/support/etcd_version.h"
#include "tests/support/process.h"

namespace ehp::testing {

// Certificates in one directory (see gen-certs.sh for what each is).
struct Certs {
  std::string dir;
  std::string Path(const std::string& name) const { return dir + "/" + name; }
  std::string ca() const { return Path("ca.pem"); }
  std::string server() const { return Path("server.pem"); }
  std::string server_key() const { return Path("server-key.pem"); }
  std::string client() const { return Path("client.pem"); }
  std::string client_key() const { return Path("client-key.pem"); }
};

// Makes the certificates in `dir` with the project's script.
Certs GenerateCerts(const std::string& dir);

// gRPC channel credentials: TLS with the given CA and client certificate (empty: none).
std::shared_ptr<grpc::ChannelCredentials> ClientCredentials(const std::string& ca,
                                                            const std::string& cert,
                                                            const std::string& key);
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target,
                                           std::shared_ptr<grpc::ChannelCredentials> creds);

struct EtcdOptions {
  int members = 3;
  std::string server_cert_name = "server";  // which gen-certs.sh certificate the members serve
  std::vector<std::string> extra_flags;
  std::string version = {};  // EHP_ETCD_VERSION's when empty (see etcd_version.h)
};

class EtcdCluster {
 public:
  EtcdCluster(const std::string& dir, const Certs& certs, EtcdOptions options = {});
  ~EtcdCluster();

  // Starts every member and waits until each reports a leader; false (with the members' last
  // log lines on stderr) otherwise. A member that exits at once costs a new start on new ports.
  bool Start(std::chrono::seconds timeout = std::chrono::seconds(30));

  int size() const { return static_cast<int>(members_.size()); }
  // The etcd version the members run, as `etcd --version` says it ("3.5.30").
  std::string ServerVersion() const { return EtcdServerVersion(options_.version); }
  std::string ClientUrl(int i) const;                   // https://127.0.0.1:port
  std::string ClientTarget(int i) const;                // 127.0.0.1:port
  std::string Endpoints() const;                        // comma-separated client URLs
  std::shared_ptr<grpc::Channel> Channel(int i) const;  // a direct mTLS channel to member i
  // Member i's /metrics text (over mTLS).
  std::string Metrics(int i) const;

  void StopMember(int i);
  void StartMember(int i);
  // Sends `sig` to member i (SIGSTOP freezes it: connections accepted, nothing answered).
  void SignalMember(int i, int sig);

 private:
  struct MemberProcess {
    std::string name;
    int client_port;
    int peer_port;
    Process process;
  };
  enum class StartOutcome { kReady, kExited, kTimedOut };
  StartOutcome TryStart(std::chrono::seconds timeout);
  std::vector<std::string> MemberArgs(int i) const;

  std::string dir_;
  Certs certs_;
  EtcdOptions options_;
  std::vector<MemberProcess> members_;
};

// Sums a Prometheus metric (all label sets) from /metrics text; 0 when absent.
double MetricValue(const std::string& metrics_text, const std::string& name);

}  // namespace ehp::testing
