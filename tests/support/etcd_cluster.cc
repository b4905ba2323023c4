#include "tests/support/etcd_cluster.h"

#include <grpcpp/security/credentials.h>

#include <cstdio>
#include <sstream>
#include <thread>

namespace ehp::testing {

Certs GenerateCerts(const std::string& dir) {
  const CommandResult r =
      RunCommand({std::string(EHP_SOURCE_DIR) + "/tests/scripts/gen-certs.sh", dir});
  if (r.exit_code != 0) throw std::runtime_error("gen-certs.sh failed: " + r.output);
  return Certs{dir};
}

std::shared_ptr<grpc::ChannelCredentials> ClientCredentials(const std::string& ca,
                                                            const std::string& cert,
                                                            const std::string& key) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ReadFile(ca);
  if (!cert.empty()) {
    options.pem_cert_chain = ReadFile(cert);
    options.pem_private_key = ReadFile(key);
  }
  return grpc::SslCredentials(options);
}

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target,
                                           std::shared_ptr<grpc::ChannelCredentials> creds) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  args.SetMaxSendMessageSize(-1);
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(target, creds, args);
}

EtcdCluster::EtcdCluster(const std::string& dir, const Certs& certs, EtcdOptions options)
    : dir_(dir), certs_(certs), options_(std::move(options)) {
  for (int i = 0; i < options_.members; ++i) {
    members_.push_back(MemberProcess{"m" + std::to_string(i + 1), FreePort(), FreePort(), {}});
  }
}

EtcdCluster::~EtcdCluster() {
  for (auto& m : members_) m.process.Stop();
}

std::string EtcdCluster::ClientTarget(int i) const {
  return "127.0.0.1:" + std::to_string(members_[i].client_port);
}
std::string EtcdCluster::ClientUrl(int i) const { return "https://" + ClientTarget(i); }

std::string EtcdCluster::Endpoints() const {
  std::string out;
  for (int i = 0; i < size(); ++i) out += (i ? "," : "") + ClientUrl(i);
  return out;
}

std::vector<std::string> EtcdCluster::MemberArgs(int i) const {
  std::string cluster;
  for (const auto& m : members_) {
    cluster +=
        (cluster.empty() ? "" : ",") + m.name + "=https://127.0.0.1:" + std::to_string(m.peer_port);
  }
  const auto& m = members_[i];
  const std::string peer = "https://127.0.0.1:" + std::to_string(m.peer_port);
  const std::string cert = certs_.Path(options_.server_cert_name + ".pem");
  const std::string key = certs_.Path(options_.server_cert_name + "-key.pem");
  std::vector<std::string> args = {EtcdTool("etcd", options_.version),
                                   "--name",
                                   m.name,
                                   "--data-dir",
                                   dir_ + "/" + m.name + ".etcd",
                                   "--listen-client-urls",
                                   ClientUrl(i),
                                   "--advertise-client-urls",
                                   ClientUrl(i),
                                   "--listen-peer-urls",
                                   peer,
                                   "--initial-advertise-peer-urls",
                                   peer,
                                   "--initial-cluster",
                                   cluster,
                                   "--initial-cluster-state",
                                   "new",
                                   "--initial-cluster-token",
                                   "ehp-test",
                                   "--cert-file",
                                   cert,
                                   "--key-file",
                                   key,
                                   "--trusted-ca-file",
                                   certs_.ca(),
                                   "--client-cert-auth",
                                   "--peer-cert-file",
                                   certs_.server(),
                                   "--peer-key-file",
                                   certs_.server_key(),
                                   "--peer-trusted-ca-file",
                                   certs_.ca(),
                                   "--peer-client-cert-auth",
                                   "--logger",
                                   "zap",
                                   "--log-level",
                                   "warn"};
  args.insert(args.end(), options_.extra_flags.begin(), options_.extra_flags.end());
  return args;
}

void EtcdCluster::StartMember(int i) {
  members_[i].process = Process(MemberArgs(i), dir_ + "/" + members_[i].name + ".log");
}

void EtcdCluster::StopMember(int i) { members_[i].process.Stop(); }

void EtcdCluster::SignalMember(int i, int sig) { members_[i].process.Signal(sig); }

namespace {

// The last lines of a member's log, for the reason a start failed.
std::string LogTail(const std::string& path, size_t lines = 15) {
  const std::string text = ReadFile(path);
  size_t at = text.size();
  for (size_t n = 0; n <= lines && at != std::string::npos && at > 0; ++n) {
    at = text.rfind('\n', at - 1);
  }
  return at == std::string::npos ? text : text.substr(at + 1);
}

}  // namespace

bool EtcdCluster::Start(std::chrono::seconds timeout) {
  // A member that exits at once usually lost its port to another process between FreePort and
  // its bind: the whole cluster starts again on fresh ports (the peers name each other's).
  for (int attempt = 1; attempt <= 3; ++attempt) {
    const StartOutcome outcome = TryStart(timeout);
    if (outcome == StartOutcome::kReady) return true;
    for (auto& m : members_) {
      m.process.Stop();
      std::fprintf(stderr, "etcd member %s (attempt %d, %s): last log lines:\n%s\n", m.name.c_str(),
                   attempt,
                   outcome == StartOutcome::kExited ? "a member exited" : "no leader in time",
                   LogTail(dir_ + "/" + m.name + ".log").c_str());
    }
    if (outcome == StartOutcome::kTimedOut) return false;
    for (auto& m : members_) {
      RemoveTree(dir_ + "/" + m.name + ".etcd");
      m.client_port = FreePort();
      m.peer_port = FreePort();
    }
  }
  return false;
}

EtcdCluster::StartOutcome EtcdCluster::TryStart(std::chrono::seconds timeout) {
  for (int i = 0; i < size(); ++i) StartMember(i);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (int i = 0; i < size(); ++i) {
    auto stub = etcdserverpb::Maintenance::NewStub(Channel(i));
    for (;;) {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
      etcdserverpb::StatusRequest req;
      etcdserverpb::StatusResponse resp;
      if (stub->Status(&ctx, req, &resp).ok() && resp.leader() != 0) break;
      for (auto& m : members_) {
        if (!m.process.running()) return StartOutcome::kExited;
      }
      if (std::chrono::steady_clock::now() > deadline) return StartOutcome::kTimedOut;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  return StartOutcome::kReady;
}

std::shared_ptr<grpc::Channel> EtcdCluster::Channel(int i) const {
  return MakeChannel(ClientTarget(i),
                     ClientCredentials(certs_.ca(), certs_.client(), certs_.client_key()));
}

std::string EtcdCluster::Metrics(int i) const {
  const CommandResult r =
      RunCommand({"curl", "-s", "--cacert", certs_.ca(), "--cert", certs_.client(), "--key",
                  certs_.client_key(), ClientUrl(i) + "/metrics"});
  return r.output;
}

double MetricValue(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  std::string line;
  double sum = 0;
  while (std::getline(in, line)) {
    if (line.rfind(name, 0) != 0) continue;
    const char next = line.size() > name.size() ? line[name.size()] : '\0';
    if (next != ' ' && next != '{') continue;
    sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

}  // namespace ehp::testing
