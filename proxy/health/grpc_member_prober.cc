#include "proxy/health/grpc_member_prober.h"

#include <atomic>

#include "proxy/upstream/channel_factory.h"

namespace ehp {
namespace {

bool Contains(const std::string& text, std::string_view fragment) {
  return text.find(fragment) != std::string::npos;
}

// Both halves of one member's probe; the last to finish reports.
struct ProbeCall {
  ProbeResult result;
  std::function<void(ProbeResult)> done;
  std::atomic<int> pending{2};
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();

  grpc::ClientContext status_ctx;
  etcdserverpb::StatusRequest status_req;
  etcdserverpb::StatusResponse status_resp;

  grpc::ClientContext read_ctx;
  etcdserverpb::RangeRequest read_req;
  etcdserverpb::RangeResponse read_resp;

  void Finish() {
    if (pending.fetch_sub(1) != 1) return;
    done(std::move(result));
    delete this;
  }
  std::chrono::microseconds Elapsed() const {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                                 start);
  }
};

}  // namespace

ProbeResult::Status ClassifyStatusFailure(const grpc::Status& s) {
  if (s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) return ProbeResult::Status::kTimeout;
  const std::string& m = s.error_message();
  if (Contains(m, "andshake") || Contains(m, "SSL") || Contains(m, "ssl") ||
      Contains(m, "certificate")) {
    return ProbeResult::Status::kTls;
  }
  if (s.error_code() == grpc::StatusCode::UNAVAILABLE) return ProbeResult::Status::kUnreachable;
  return ProbeResult::Status::kError;
}

ProbeResult::Read ClassifyReadFailure(const grpc::Status& s) {
  switch (s.error_code()) {
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return ProbeResult::Read::kTimeout;
    case grpc::StatusCode::UNAVAILABLE:
      return Contains(s.error_message(), "no leader") ? ProbeResult::Read::kNoLeader
                                                      : ProbeResult::Read::kFailed;
    default:
      // Permission and auth errors come after the read index was confirmed: the member reached
      // its leader, which is all the probe asks.
      return ProbeResult::Read::kOk;
  }
}

GrpcMemberProber::GrpcMemberProber(const Config& config)
    : status_timeout_(config.probe_timeout), read_timeout_(config.probe_read_timeout) {
  ChannelFactory factory(config);
  for (const MemberUrl& url : config.endpoints) {
    Target t;
    // Index -1: a connection of its own, apart from the data connections.
    t.channel = factory.Create(url, -1);
    t.channel->GetState(true);
    t.maintenance = etcdserverpb::Maintenance::NewStub(t.channel);
    t.kv = etcdserverpb::KV::NewStub(t.channel);
    targets_.push_back(std::move(t));
  }
}

void GrpcMemberProber::Probe(size_t index, std::function<void(ProbeResult)> done) {
  Target& t = targets_[index];
  auto* call = new ProbeCall;
  call->done = std::move(done);
  const auto now = std::chrono::system_clock::now();

  call->status_ctx.set_deadline(now + status_timeout_);
  t.maintenance->async()->Status(&call->status_ctx, &call->status_req, &call->status_resp,
                                 [call](grpc::Status s) {
                                   ProbeResult& r = call->result;
                                   r.status_latency = call->Elapsed();
                                   if (!s.ok()) {
                                     r.status = ClassifyStatusFailure(s);
                                     r.status_error = s.error_message();
                                   } else {
                                     const auto& resp = call->status_resp;
                                     r.member_id = resp.header().member_id();
                                     r.cluster_id = resp.header().cluster_id();
                                     r.leader = resp.leader();
                                     r.raft_term = resp.raftterm();
                                     r.raft_index = resp.raftindex();
                                     r.applied_index = resp.raftappliedindex();
                                     r.db_size = resp.dbsize();
                                     r.is_learner = resp.islearner();
                                     r.errors.assign(resp.errors().begin(), resp.errors().end());
                                   }
                                   call->Finish();
                                 });

  call->read_ctx.set_deadline(now + read_timeout_);
  call->read_ctx.AddMetadata("hasleader", "true");
  call->read_req.set_key("etcd-health-proxy/probe");
  call->read_req.set_limit(1);
  call->read_req.set_keys_only(true);
  t.kv->async()->Range(&call->read_ctx, &call->read_req, &call->read_resp, [call](grpc::Status s) {
    ProbeResult& r = call->result;
    r.read_latency = call->Elapsed();
    if (!s.ok()) {
      r.read = ClassifyReadFailure(s);
      if (r.read != ProbeResult::Read::kOk) r.read_error = s.error_message();
    }
    call->Finish();
  });
}

}  // namespace ehp
