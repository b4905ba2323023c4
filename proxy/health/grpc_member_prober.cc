#include "proxy/health/grpc_member_prober.h"

#include <spdlog/spdlog.h>

#include <atomic>

#include "proxy/config/secret_file.h"
#include "proxy/health/channel_factory.h"

namespace ehp {
namespace {

bool Contains(const std::string& text, std::string_view fragment) {
  return text.find(fragment) != std::string::npos;
}

// Authenticate is a Raft proposal plus a bcrypt check: give it far longer than a probe.
constexpr std::chrono::seconds kAuthenticateTimeout{5};

// Both halves of one member's probe; the last to finish reports.
struct ProbeCall {
  InFlightCalls* in_flight = nullptr;
  ProbeResult result;
  std::function<void(ProbeResult)> done;
  std::atomic<int> pending{2};
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  std::string token;  // sent with both halves; empty: none

  grpc::ClientContext status_ctx;
  etcdserverpb::StatusRequest status_req;
  etcdserverpb::StatusResponse status_resp;

  grpc::ClientContext read_ctx;
  etcdserverpb::RangeRequest read_req;
  etcdserverpb::RangeResponse read_resp;

  void Finish() {
    if (pending.fetch_sub(1) != 1) return;
    done(std::move(result));
    InFlightCalls* const calls = in_flight;
    calls->Forget({&status_ctx, &read_ctx});
    delete this;
    calls->End();
  }
  std::chrono::microseconds Elapsed() const {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                                 start);
  }
};

struct AuthenticateCall {
  grpc::ClientContext ctx;
  etcdserverpb::AuthenticateRequest req;
  etcdserverpb::AuthenticateResponse resp;
};

}  // namespace

ProbeResult::Status ClassifyStatusFailure(const grpc::Status& s) {
  if (s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) return ProbeResult::Status::kTimeout;
  // Refused for want of an identity: the member answered (etcd 3.5.28+ with auth enabled).
  if (ClassifyAuthRefusal(s.error_code(), s.error_message()) != AuthRefusal::kNone) {
    return ProbeResult::Status::kAuth;
  }
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
    : status_timeout_(config.probe_timeout),
      read_timeout_(config.probe_read_timeout),
      probe_user_(config.probe_user),
      password_file_(config.probe_password_file) {
  ChannelFactory factory(config);
  for (const MemberUrl& url : config.endpoints) {
    Target t;
    t.name = url.Authority();
    // Index -1: a connection of its own, apart from the data connections.
    t.channel = factory.Create(url, -1);
    t.channel->GetState(true);
    t.maintenance = etcdserverpb::Maintenance::NewStub(t.channel);
    t.kv = etcdserverpb::KV::NewStub(t.channel);
    if (!probe_user_.empty()) {
      t.auth = etcdserverpb::Auth::NewStub(t.channel);
      t.token = std::make_shared<TokenState>();
    }
    targets_.push_back(std::move(t));
  }
}

GrpcMemberProber::~GrpcMemberProber() { probes_.CancelAndWait(); }

void GrpcMemberProber::Authenticate(Target& t) {
  std::string password, error;
  auto* call = new AuthenticateCall;
  if (!ReadSecretFile(password_file_, &password, &error)) {
    error = "probe-password-file: " + error;
  } else {
    call->req.set_name(probe_user_);
    call->req.set_password(std::move(password));
  }
  const auto finished = [state = t.token, name = t.name, user = probe_user_, call](
                            const grpc::Status& s, const std::string& failure) {
    std::unique_lock lock(state->mu);
    const bool ok = s.ok() && failure.empty() && !call->resp.token().empty();
    if (ok) {
      const bool was_failing = !state->logged_error.empty();
      const bool renewed = !state->token.token().empty();
      state->token.Succeeded(call->resp.token());
      state->logged_error.clear();
      lock.unlock();
      if (renewed) {
        spdlog::info("probe identity: new token for user {} at {} (etcd refused the last one)",
                     user, name);
      } else if (was_failing) {
        spdlog::info("probe identity: user {} authenticated at {}", user, name);
      }
    } else {
      const std::string why = !failure.empty() ? failure
                              : s.ok()         ? "etcd returned no token"
                                               : s.error_message();
      const auto now = std::chrono::steady_clock::now();
      state->token.Failed(why, now);
      const auto pause =
          std::chrono::duration_cast<std::chrono::milliseconds>(state->token.next_attempt() - now);
      // Once per distinct failure: a wrong password is said once, not every few seconds.
      const bool log = why != state->logged_error;
      state->logged_error = why;
      lock.unlock();
      // With auth off there is nothing to fix: the probes need no token.
      const auto level = why.find("authentication is not enabled") != std::string::npos
                             ? spdlog::level::info
                             : spdlog::level::warn;
      if (log) {
        spdlog::log(level,
                    "probe identity: Authenticate as user {} at {} failed: {} (from "
                    "--probe-user/--probe-password-file); next attempt in {} ms",
                    user, name, why, pause.count());
      }
    }
    delete call;
  };
  if (!error.empty()) {
    finished(grpc::Status::OK, error);
    return;
  }
  if (!probes_.Begin({&call->ctx})) {
    finished(grpc::Status::CANCELLED, "the prober is stopping");
    return;
  }
  call->ctx.set_deadline(std::chrono::system_clock::now() + kAuthenticateTimeout);
  t.auth->async()->Authenticate(&call->ctx, &call->req, &call->resp,
                                [finished, call, calls = &probes_](grpc::Status s) {
                                  calls->Forget({&call->ctx});
                                  finished(s, "");
                                  calls->End();
                                });
}

void GrpcMemberProber::Probe(size_t index, std::function<void(ProbeResult)> done) {
  Target& t = targets_[index];
  auto* call = new ProbeCall;
  call->in_flight = &probes_;
  if (!probes_.Begin({&call->status_ctx, &call->read_ctx})) {
    delete call;
    ProbeResult stopping;
    stopping.status = ProbeResult::Status::kError;
    stopping.status_error = "the prober is stopping";
    stopping.read = ProbeResult::Read::kFailed;
    done(std::move(stopping));
    return;
  }
  call->done = std::move(done);
  const auto now = std::chrono::system_clock::now();

  bool authenticate = false;
  if (t.token) {
    std::lock_guard lock(t.token->mu);
    call->token = t.token->token.token();
    call->result.authenticate_error = t.token->token.last_error();
    if (t.token->token.ShouldAuthenticate(std::chrono::steady_clock::now())) {
      t.token->token.Started();
      authenticate = true;
    }
  }
  if (authenticate) Authenticate(t);  // for the next rounds; this one goes with what there is
  call->result.token_sent = !call->token.empty();
  // A refusal of the token in use asks for a new one.
  const auto refused = [state = t.token, call](const grpc::Status& s) {
    const AuthRefusal refusal = ClassifyAuthRefusal(s.error_code(), s.error_message());
    if (state == nullptr || refusal == AuthRefusal::kNone) return;
    std::lock_guard lock(state->mu);
    state->token.Refused(call->token, refusal);
  };

  call->status_ctx.set_deadline(now + status_timeout_);
  if (!call->token.empty()) call->status_ctx.AddMetadata("token", call->token);
  t.maintenance->async()->Status(
      &call->status_ctx, &call->status_req, &call->status_resp, [call, refused](grpc::Status s) {
        ProbeResult& r = call->result;
        r.status_latency = call->Elapsed();
        if (!s.ok()) {
          r.status = ClassifyStatusFailure(s);
          r.status_error = s.error_message();
          r.auth = ClassifyAuthRefusal(s.error_code(), s.error_message());
          refused(s);
        } else {
          const auto& resp = call->status_resp;
          r.member_id = resp.header().member_id();
          r.cluster_id = resp.header().cluster_id();
          r.leader = resp.leader();
          r.raft_term = resp.raftterm();
          r.raft_index = resp.raftindex();
          r.applied_index = resp.raftappliedindex();
          r.revision = resp.header().revision();
          r.db_size = resp.dbsize();
          r.is_learner = resp.islearner();
          r.errors.assign(resp.errors().begin(), resp.errors().end());
        }
        call->Finish();
      });

  call->read_ctx.set_deadline(now + read_timeout_);
  call->read_ctx.AddMetadata("hasleader", "true");
  if (!call->token.empty()) call->read_ctx.AddMetadata("token", call->token);
  call->read_req.set_key("etcd-health-proxy/probe");
  call->read_req.set_limit(1);
  call->read_req.set_keys_only(true);
  t.kv->async()->Range(&call->read_ctx, &call->read_req, &call->read_resp,
                       [call, refused](grpc::Status s) {
                         ProbeResult& r = call->result;
                         r.read_latency = call->Elapsed();
                         if (!s.ok()) {
                           r.read = ClassifyReadFailure(s);
                           if (r.read != ProbeResult::Read::kOk) r.read_error = s.error_message();
                           refused(s);
                         } else {
                           r.read_revision = call->read_resp.header().revision();
                         }
                         call->Finish();
                       });
}

bool GrpcMemberProber::BeginMaintenance(grpc::ClientContext* ctx, Target& target) {
  if (target.token) {
    std::lock_guard lock(target.token->mu);
    if (!target.token->token.token().empty()) {
      ctx->AddMetadata("token", target.token->token.token());
    }
  }
  std::lock_guard lock(maintenance_mu_);
  if (maintenance_cancelled_) return false;
  maintenance_calls_.push_back(ctx);
  return true;
}

void GrpcMemberProber::EndMaintenance(grpc::ClientContext* ctx) {
  std::lock_guard lock(maintenance_mu_);
  std::erase(maintenance_calls_, ctx);
}

void GrpcMemberProber::CancelMaintenanceCalls() {
  std::lock_guard lock(maintenance_mu_);
  maintenance_cancelled_ = true;
  for (grpc::ClientContext* ctx : maintenance_calls_) ctx->TryCancel();
}

grpc::Status GrpcMemberProber::Defragment(size_t index, std::chrono::milliseconds timeout) {
  Target& t = targets_.at(index);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + timeout);
  if (!BeginMaintenance(&ctx, t)) return grpc::Status(grpc::StatusCode::CANCELLED, "shutting down");
  etcdserverpb::DefragmentRequest req;
  etcdserverpb::DefragmentResponse resp;
  const grpc::Status s = t.maintenance->Defragment(&ctx, req, &resp);
  EndMaintenance(&ctx);
  return s;
}

grpc::Status GrpcMemberProber::MoveLeader(size_t index, uint64_t target_id,
                                          std::chrono::milliseconds timeout) {
  Target& t = targets_.at(index);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + timeout);
  if (!BeginMaintenance(&ctx, t)) return grpc::Status(grpc::StatusCode::CANCELLED, "shutting down");
  etcdserverpb::MoveLeaderRequest req;
  req.set_targetid(target_id);
  etcdserverpb::MoveLeaderResponse resp;
  const grpc::Status s = t.maintenance->MoveLeader(&ctx, req, &resp);
  EndMaintenance(&ctx);
  return s;
}

}  // namespace ehp
