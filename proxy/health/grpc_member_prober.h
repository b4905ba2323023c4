// Probes members over connections of their own (never queued behind a large LIST on the shared
// data connections): Maintenance.Status, and a linearizable Range (limit 1, keys only) with
// hasleader: true, each with its own deadline.
#pragma once

#include <memory>
#include <vector>

#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"
#include "proxy/config/proxy_config.h"
#include "proxy/health/member_prober.h"

namespace ehp {

class GrpcMemberProber final : public MemberProber {
 public:
  explicit GrpcMemberProber(const Config& config);

  // MemberProber
  void Probe(size_t index, std::function<void(ProbeResult)> done) override;
  size_t size() const override { return targets_.size(); }

 private:
  struct Target {
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<etcdserverpb::Maintenance::Stub> maintenance;
    std::unique_ptr<etcdserverpb::KV::Stub> kv;
  };
  std::chrono::milliseconds status_timeout_;
  std::chrono::milliseconds read_timeout_;
  std::vector<Target> targets_;
};

// Maps a failed Status call to the layer that failed. Exposed for tests.
ProbeResult::Status ClassifyStatusFailure(const grpc::Status& status);
ProbeResult::Read ClassifyReadFailure(const grpc::Status& status);

}  // namespace ehp
