#include "proxy/datapath/stream_call.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include "proxy/datapath/member_links.h"
#include "proxy/datapath/member_request.h"
#include "proxy/datapath/pool_router.h"
#include "proxy/datapath/worker.h"
#include "proxy/h2/grpc_status.h"

namespace ehp {
namespace {

constexpr int kCancelled = 1;
constexpr int kUnknown = 2;
constexpr int kResourceExhausted = 8;
constexpr int kUnavailable = 14;

constexpr std::string_view kWatch = "/etcdserverpb.Watch/Watch";

// A side's bytes are consumed (the sender may send more) while the other side's queue is
// shorter than this: a slow reader holds at most this plus one flow-control window here.
constexpr size_t kLowWater = 64 * 1024;

// A watch that keeps failing on every member it moves to is ended after this many moves within
// kResumeWindow: its client then sees the error and can decide.
constexpr int kMaxResumes = 5;
constexpr std::chrono::seconds kResumeWindow{10};

// etcd ends hasleader streams with "etcdserver: no leader" after ~3 election timeouts without a
// leader; clientv3 takes that exact error as final for a watch (it closes the watch instead of
// resuming it), so it is reworded: the client re-opens the stream and lands on a member that
// has a leader.
void RewordNoLeader(HeaderList& trailers, const std::string& member) {
  const auto status = StatusOf(trailers);
  if (!status || status->code != kUnavailable || status->message != "etcdserver: no leader") {
    return;
  }
  for (HeaderField& f : trailers) {
    if (f.name == "grpc-message") {
      f.value = PercentEncode("etcd-health-proxy: member " + member +
                              " lost its raft leader; re-open the stream");
    }
  }
}

}  // namespace

void StreamCall::Start(Worker& worker, const RelayContext& relay, H2Stream& client,
                       HeaderList headers, std::string method, bool end_stream) {
  auto* call = new StreamCall(worker, relay, client, std::move(headers), std::move(method));
  client.set_handler(call);
  call->client_ended_ = end_stream;
  call->Connect(nullptr, call->pool_->leaderless_wait());
}

StreamCall::StreamCall(Worker& worker, const RelayContext& relay, H2Stream& client,
                       HeaderList headers, std::string method)
    : worker_(worker),
      relay_(relay),
      pool_(relay.upstreams->Get()),
      method_(std::move(method)),
      class_(ClassifyStream(method_)),
      client_(&client),
      headers_(std::move(headers)) {
  if (const auto timeout = ParseGrpcTimeout(FindHeader(headers_, "grpc-timeout"))) {
    deadline_ = start_ + *timeout;
  }
  if (method_ == kWatch) {
    watch_ = std::make_unique<WatchFilter>(static_cast<size_t>(
        std::min(worker_.config().max_recv_bytes, worker_.config().max_send_bytes)));
  }
}

StreamCall::~StreamCall() {
  *alive_ = false;
  if (registry_id_ != 0) relay_.streams->Remove(registry_id_);
}

// Finding a member.

void StreamCall::Connect(const Member* avoid, std::chrono::milliseconds max_wait) {
  if (avoid != nullptr) {
    const Member* tried[1] = {avoid};
    if (std::shared_ptr<Member> m = pool_->Pick(class_, tried)) {
      Open(std::move(m));
      return;
    }
  }
  router_ = std::make_unique<PoolRouter>(*pool_);
  CallPlan::Settings settings;
  settings.leaderless_wait = max_wait;
  settings.deadline = deadline_;
  plan_.emplace(class_, settings, *router_, pool_->retry_budget(), relay_.holder);
  Execute(plan_->Start(Clock::now()));
}

void StreamCall::Execute(CallPlan::Step step) {
  CountPlanStep(relay_, step);
  switch (step.action) {
    case CallPlan::Action::kSend: {
      std::shared_ptr<Member> member = router_->Get(step.member);
      plan_.reset();
      router_.reset();
      Open(std::move(member));
      return;
    }
    case CallPlan::Action::kHold:
      if (!hold_timer_) hold_timer_.emplace(worker_.io());
      hold_timer_->expires_at(step.wake_at);
      hold_timer_->async_wait([this, alive = alive_](const boost::system::error_code& ec) {
        if (ec || !*alive || answered_ || !plan_) return;
        Execute(plan_->Wake(Clock::now()));
      });
      return;
    case CallPlan::Action::kFail: {
      const std::string reasons = pool_->UnavailableMessage(class_.kind);
      plan_.reset();
      router_.reset();
      if (step.failure == CallPlan::Failure::kHoldRefused) {
        const grpc::Status s = HoldRefused(*relay_.holder, reasons);
        EndClient(s.error_code(), s.error_message());
      } else {
        EndClient(kUnavailable, reasons);
      }
      MaybeDelete();
      return;
    }
    case CallPlan::Action::kNone:
    case CallPlan::Action::kAnswer:
      return;  // not steps of a stream's plan (it sends one copy and is done)
  }
}

void StreamCall::Open(std::shared_ptr<Member> member) {
  if (answered_) return;
  member_name_ = member->name();
  if (registry_id_ == 0) {
    const uint64_t id = relay_.streams->Add(this);
    if (id == StreamRegistry::kClosing) {
      EndClient(kUnavailable, "etcd-health-proxy is shutting down");
      MaybeDelete();
      return;
    }
    if (id == StreamRegistry::kFull) {
      const grpc::Status s = RefuseForLimit(
          relay_, "max-streams",
          std::to_string(relay_.streams->max_streams()) + " streams open (max-streams)");
      EndClient(s.error_code(), s.error_message());
      MaybeDelete();
      return;
    }
    registry_id_ = id;
  } else {
    relay_.streams->SetMember(registry_id_, member_name_);
  }
  member_ = std::move(member);
  AdjustForMember(headers_, *member_, class_.hasleader && pool_->inject_hasleader(), deadline_,
                  Clock::now());
  MemberConnection* connection = worker_.LinksTo(member_).Pick();
  upstream_ = connection != nullptr ? connection->Open(headers_, this, false) : nullptr;
  if (upstream_ == nullptr) {
    // Never sent: a watch looks for another member; any other stream says why it ended.
    MemberEnded(StatusTrailers(kUnavailable,
                               "etcd-health-proxy: cannot connect to member " + member_name_));
    return;
  }
  member_->AddLoad(1);
  PumpToMember();
}

// Client -> member.

void StreamCall::PumpToMember() {
  if (upstream_ != nullptr && !resend_.empty()) upstream_->Write(std::exchange(resend_, {}));
  if (upstream_ == nullptr || to_member_.empty()) {
    if (upstream_ != nullptr && client_ended_ && !upstream_->ended()) upstream_->End();
    return;
  }
  std::string pending = std::move(to_member_);
  to_member_.clear();
  if (watch_) {
    std::string out;
    if (!watch_->FromClient(reinterpret_cast<const uint8_t*>(pending.data()), pending.size(),
                            &out)) {
      EndClient(kResourceExhausted,
                "etcd-health-proxy: request message larger than "
                "max-recv-bytes or max-send-bytes");
      MaybeDelete();
      return;
    }
    upstream_->Write(out);
  } else {
    const bool ok = to_member_sizer_.Feed(
        reinterpret_cast<const uint8_t*>(pending.data()), pending.size(),
        [this](const uint8_t* p, size_t n) {
          upstream_->Write(std::string_view(reinterpret_cast<const char*>(p), n));
        },
        [this](bool, uint32_t length) {
          return length <= static_cast<uint64_t>(worker_.config().max_recv_bytes);
        });
    if (!ok) {
      EndClient(kResourceExhausted,
                "etcd-health-proxy: request message larger than "
                "max-recv-bytes (" +
                    std::to_string(worker_.config().max_recv_bytes) + ")");
      MaybeDelete();
      return;
    }
  }
  if (client_ended_ && !upstream_->ended()) upstream_->End();
  Settle();
}

void StreamCall::Settle() {
  if (client_ != nullptr && client_owed_ > 0 &&
      to_member_.size() + (upstream_ != nullptr ? upstream_->queued() : 0) < kLowWater) {
    client_->Consume(std::exchange(client_owed_, 0));
  }
  if (upstream_ != nullptr && member_owed_ > 0 &&
      (client_ == nullptr || client_->queued() < kLowWater)) {
    upstream_->Consume(std::exchange(member_owed_, 0));
  }
}

void StreamCall::OnData(H2Stream& stream, const uint8_t* data, size_t len) {
  if (&stream == client_) {
    if (answered_) {
      stream.Consume(len);  // the answer is given: the rest of the request is not wanted
      return;
    }
    to_member_.append(reinterpret_cast<const char*>(data), len);
    client_owed_ += len;
    PumpToMember();
    return;
  }
  if (&stream != upstream_ || answered_ || client_ == nullptr) {
    stream.Consume(len);
    return;
  }
  // Everything the member sent before was taken by the client: a late delivery now is the
  // member's, not the proxy's flow control holding it back.
  const bool flowing = member_owed_ == 0;
  member_owed_ += len;
  if (watch_) {
    std::string out;
    if (!watch_->FromMember(data, len, &out)) {
      EndClient(kResourceExhausted,
                "etcd-health-proxy: response message larger than "
                "max-recv-bytes or max-send-bytes");
      MaybeDelete();
      return;
    }
    if (!out.empty()) client_->Write(out);
    const WatchTracker::Delivery delivery = watch_->TakeDelivery();
    if (flowing && (delivery.live_event != 0 || delivery.progress != 0)) {
      MeasureWatchDelay(delivery);
    }
  } else {
    const bool ok = to_client_sizer_.Feed(
        data, len,
        [this](const uint8_t* p, size_t n) {
          client_->Write(std::string_view(reinterpret_cast<const char*>(p), n));
        },
        [this](bool, uint32_t length) {
          return length <= static_cast<uint64_t>(worker_.config().max_send_bytes);
        });
    if (!ok) {
      EndClient(kResourceExhausted,
                "etcd-health-proxy: response message larger than "
                "max-send-bytes (" +
                    std::to_string(worker_.config().max_send_bytes) + ")");
      MaybeDelete();
      return;
    }
  }
  Settle();
}

void StreamCall::MeasureWatchDelay(const WatchTracker::Delivery& delivery) {
  const std::shared_ptr<const RevisionTimeline> revisions = pool_->Revisions();
  const auto now = std::chrono::steady_clock::now();
  std::chrono::microseconds delay{0};
  // A live event: how long its revision had existed. A progress revision P: how long P + 1 had
  // existed (the member had not applied it yet).
  if (delivery.live_event != 0) delay = revisions->Age(delivery.live_event, now);
  if (delivery.progress != 0) delay = std::max(delay, revisions->Age(delivery.progress + 1, now));
  member_->ObserveWatchDelay(delay);
}

void StreamCall::OnEnd(H2Stream& stream) {
  if (&stream == client_) {
    client_ended_ = true;
    PumpToMember();
    return;
  }
  if (&stream != upstream_) return;
  // The member's data then END_STREAM without trailers: not gRPC, passed on as it came.
  if (client_ != nullptr && !answered_) {
    answered_ = true;
    client_->End();
    Finished(kUnknown);
  }
}

void StreamCall::OnSent(H2Stream& /*stream*/, size_t /*bytes*/) { Settle(); }

// Member -> client.

void StreamCall::OnHeaders(H2Stream& stream, HeaderList headers, HeadersKind kind,
                           bool end_stream) {
  if (&stream == client_) {
    // Trailers from a client: rare in gRPC, passed on like the rest.
    if (upstream_ != nullptr) upstream_->EndWithTrailers(std::move(headers));
    client_ended_ = true;
    return;
  }
  if (&stream != upstream_ || answered_ || client_ == nullptr) return;
  if (kind == HeadersKind::kTrailers || end_stream) {
    MemberEnded(std::move(headers));
    return;
  }
  // A watch moved to another member answers again: the client has its headers already.
  if (response_started_) return;
  response_started_ = true;
  client_->connection().SubmitResponse(*client_, headers, false);
}

void StreamCall::MemberEnded(HeaderList trailers) {
  const auto status = StatusOf(trailers);
  if (watch_ && status && status->code == kUnavailable && Resume("ended")) return;
  Detach();
  if (client_ == nullptr || answered_) {
    MaybeDelete();
    return;
  }
  RewordNoLeader(trailers, member_name_);
  answered_ = true;
  if (response_started_) {
    client_->EndWithTrailers(std::move(trailers));
  } else {
    client_->connection().SubmitResponse(*client_, trailers, true);
    if (!client_->remote_ended()) client_->ResetAfterEnd();
  }
  Finished(status ? status->code : kUnknown);
  MaybeDelete();
}

// Endings and moves.

void StreamCall::OnClose(H2Stream& stream, uint32_t error_code) {
  if (&stream == client_) {
    client_ = nullptr;
    if (!answered_) {
      answered_ = true;
      Finished(kCancelled);
    }
    if (plan_) {
      CountPlanStep(relay_, plan_->Cancelled(Clock::now()));
      plan_.reset();
    }
    Detach();  // dropped unsent if its HEADERS are still queued
    MaybeDelete();
    return;
  }
  if (&stream != upstream_) return;
  // The member's stream broke off without trailers.
  member_->AddLoad(-1);
  upstream_ = nullptr;
  member_owed_ = 0;  // the connection takes back what its stream did not consume
  if (answered_ || client_ == nullptr) {
    MaybeDelete();
    return;
  }
  MemberEnded(StatusTrailers(
      kUnavailable,
      error_code == kConnectionLost
          ? "etcd-health-proxy: the connection to member " + member_name_ + " was lost"
          : "etcd-health-proxy: member " + member_name_ + " reset the stream (" +
                nghttp2_http2_strerror(error_code) + ")"));
}

void StreamCall::Detach() {
  if (upstream_ == nullptr) return;
  upstream_->set_handler(nullptr);
  upstream_->Reset(NGHTTP2_CANCEL);  // a no-op once the stream is over
  upstream_ = nullptr;
  member_owed_ = 0;
  member_->AddLoad(-1);
}

bool StreamCall::Resume(const char* cause) {
  if (!watch_ || !pool_->resume_watches() || !watch_->CanResume() || client_ == nullptr ||
      answered_) {
    return false;
  }
  const auto now = Clock::now();
  if (now - resumes_since_ > kResumeWindow) {
    resumes_since_ = now;
    recent_resumes_ = 0;
  }
  if (++recent_resumes_ > kMaxResumes) {
    spdlog::warn("watch stream moved {} times in {} s; ending it", kMaxResumes,
                 kResumeWindow.count());
    return false;
  }
  const Member* from = member_.get();  // compared, never followed
  Detach();
  std::string to_client;
  // The re-creations go first (a move during a move re-creates each watcher once), then what
  // the client sent since, which the filter has not seen yet.
  resend_ = watch_->Resume(&to_client);
  if (!to_client.empty()) client_->Write(to_client);
  if (relay_.metrics != nullptr) relay_.metrics->watch_resumes.Inc({cause});
  SPDLOG_DEBUG("watch stream leaves {} ({}): {} watcher(s) resume on another member", member_name_,
               cause, watch_->watchers());
  // A watch that was relayed already waits longer for a usable member: ending it would only
  // have its client re-open it into the same wait.
  Connect(from, 10 * pool_->leaderless_wait());
  return true;
}

void StreamCall::EndClient(int code, const std::string& message) {
  Detach();
  if (plan_) {
    if (plan_->held()) CountPlanStep(relay_, plan_->Cancelled(Clock::now()));
    plan_.reset();
  }
  if (client_ == nullptr || answered_) return;
  answered_ = true;
  if (response_started_) {
    client_->EndWithTrailers(StatusTrailers(code, message));
  } else {
    client_->connection().SubmitResponse(*client_, TrailersOnly(code, message), true);
    // The answer is complete: the client need not send the rest of its request (RFC 9113 8.1).
    if (!client_->remote_ended()) client_->ResetAfterEnd();
  }
  Finished(code);
}

void StreamCall::Abort(const grpc::Status& status) {
  boost::asio::post(worker_.io(), [this, alive = alive_, status] {
    if (!*alive) return;
    EndClient(status.error_code(), status.error_message());
    MaybeDelete();
  });
}

void StreamCall::MoveOrAbort(const grpc::Status& status) {
  boost::asio::post(worker_.io(), [this, alive = alive_, status] {
    if (!*alive || answered_) return;
    // Between members already (held): it does not go back to the one being left.
    if (upstream_ == nullptr && watch_ && plan_) return;
    if (Resume("evicted")) return;
    EndClient(status.error_code(), status.error_message());
    MaybeDelete();
  });
}

void StreamCall::Finished(int code) {
  if (recorded_) return;
  recorded_ = true;
  worker_.call_metrics().Record(method_, code, member_ ? member_->name() : std::string_view(),
                                start_);
}

void StreamCall::MaybeDelete() {
  if (client_ == nullptr && upstream_ == nullptr) delete this;
}

}  // namespace ehp
