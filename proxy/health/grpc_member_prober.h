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
#include "proxy/health/in_flight_calls.h"
#include "proxy/health/member_prober.h"
#include "proxy/health/probe_token.h"

namespace ehp {

class GrpcMemberProber final : public MemberProber {
 public:
  explicit GrpcMemberProber(const Config& config);
  // Cancels the probes in flight and waits for them: their callbacks use the channels.
  ~GrpcMemberProber() override;

  // MemberProber
  void Probe(size_t index, std::function<void(ProbeResult)> done) override;
  size_t size() const override { return targets_.size(); }

  // Maintenance calls to member `index` (configuration order) over the probes' connection and
  // credentials, with the probes' token when there is one (etcd auth: both need the root role).
  // Blocking; CancelMaintenanceCalls() ends the ones in flight, and any started after it.
  grpc::Status Defragment(size_t index, std::chrono::milliseconds timeout);
  // Sent to the leader: hands leadership to the member with id `target_id`.
  grpc::Status MoveLeader(size_t index, uint64_t target_id, std::chrono::milliseconds timeout);
  void CancelMaintenanceCalls();

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
  // Registers a maintenance call's context (false once cancelled), and forgets it.
  bool BeginMaintenance(grpc::ClientContext* ctx, Target& target);
  void EndMaintenance(grpc::ClientContext* ctx);

  std::chrono::milliseconds status_timeout_;
  std::chrono::milliseconds read_timeout_;
  std::string probe_user_;
  std::string password_file_;
  std::vector<Target> targets_;
  std::mutex maintenance_mu_;
  std::vector<grpc::ClientContext*> maintenance_calls_;  // guarded by maintenance_mu_
  bool maintenance_cancelled_ = false;                   // guarded by maintenance_mu_
  InFlightCalls probes_;                                 // probes and Authenticate calls in flight
};

// Maps a failed Status call to the layer that failed. Exposed for tests.
ProbeResult::Status ClassifyStatusFailure(const grpc::Status& status);
ProbeResult::Read ClassifyReadFailure(const grpc::Status& status);

}  // namespace ehp
