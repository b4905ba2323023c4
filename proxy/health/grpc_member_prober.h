// Probes members over connections of their own (never queued behind a large LIST on the shared
// data connections): Maintenance.Status, and a linearizable Range (limit 1, keys only) with
// hasleader: true, each with its own deadline. With --probe-user both carry a token from
// Authenticate (one per member, renewed when etcd refuses it); without, etcd takes the CN of
// the proxy's client certificate as the user (--client-cert-auth) or none.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"
#include "proxy/config/proxy_config.h"
#include "proxy/health/member_prober.h"
#include "proxy/health/probe_token.h"

namespace ehp {

class GrpcMemberProber final : public MemberProber {
 public:
  explicit GrpcMemberProber(const Config& config);

  // MemberProber
  void Probe(size_t index, std::function<void(ProbeResult)> done) override;
  size_t size() const override { return targets_.size(); }

 private:
  // One member's token; shared with the calls in flight, which may end after the prober.
  struct TokenState {
    std::mutex mu;
    ProbeToken token;          // guarded by mu
    std::string logged_error;  // guarded by mu: the Authenticate failure last logged
  };
  struct Target {
    std::string name;  // host:port
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<etcdserverpb::Maintenance::Stub> maintenance;
    std::unique_ptr<etcdserverpb::KV::Stub> kv;
    std::unique_ptr<etcdserverpb::Auth::Stub> auth;
    std::shared_ptr<TokenState> token;  // null without --probe-user
  };
  void Authenticate(Target& target);

  std::chrono::milliseconds status_timeout_;
  std::chrono::milliseconds read_timeout_;
  std::string probe_user_;
  std::string password_file_;
  std::vector<Target> targets_;
};

// Maps a failed Status call to the layer that failed. Exposed for tests.
ProbeResult::Status ClassifyStatusFailure(const grpc::Status& status);
ProbeResult::Read ClassifyReadFailure(const grpc::Status& status);

}  // namespace ehp
