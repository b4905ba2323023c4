#include "proxy/datapath/unary_call.h"

#include <spdlog/spdlog.h>

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

using Clock = std::chrono::steady_clock;

// Range and Txn are classified by their request: the first (only) message, unless compressed.
CallClass Classify(const std::string& method, const std::string& request) {
  if (!NeedsRequest(method)) return ClassifyMethod(method);
  if (request.size() < kGrpcPrefixSize || request[0] != 0) {
    return ClassifyRequest(method, "\xff");  // unreadable: the method's class, made a write
  }
  return ClassifyRequest(method, std::string_view(request).substr(kGrpcPrefixSize));
}

}  // namespace

void UnaryCall::Start(Worker& worker, const RelayContext& relay, H2Stream& client,
                      HeaderList headers, const std::string& method, bool end_stream) {
  auto* call = new UnaryCall(worker, relay, client, std::move(headers), method);
  client.set_handler(call);
  if (end_stream) call->Begin();
}

UnaryCall::UnaryCall(Worker& worker, const RelayContext& relay, H2Stream& client,
                     HeaderList headers, const std::string& method)
    : worker_(worker),
      relay_(relay),
      pool_(relay.upstreams->Get()),
      method_(method),
      client_(&client),
      headers_(std::move(headers)) {
  if (const auto timeout = ParseGrpcTimeout(FindHeader(headers_, "grpc-timeout"))) {
    deadline_ = start_ + *timeout;
  }
}

UnaryCall::~UnaryCall() {
  if (alive_) *alive_ = false;
}

// The client's side.

void UnaryCall::OnData(H2Stream& stream, const uint8_t* data, size_t len) {
  if (&stream != client_) {
    Attempt* a = AttemptOf(stream);
    // Its first message: the answer is known (the stream stays open, so this call does too).
    if (a != nullptr && a->response && !a->decided && !a->cancelled) Decide(*a);
    if (a == nullptr || a != committed_ || answered_) {
      stream.Consume(len);  // a copy that lost, or nobody to give it to
      return;
    }
    const bool ok = sizer_.Feed(
        data, len,
        [this](const uint8_t* p, size_t n) {
          client_->Write(std::string_view(reinterpret_cast<const char*>(p), n));
        },
        [this](bool, uint32_t length) {
          return length <= static_cast<uint64_t>(worker_.config().max_send_bytes);
        });
    if (!ok && !answered_) {
      answered_ = true;
      client_->EndWithTrailers(StatusTrailers(
          kResourceExhausted, "etcd-health-proxy: response message larger than max-send-bytes (" +
                                  std::to_string(worker_.config().max_send_bytes) + ")"));
      stream.Reset(NGHTTP2_CANCEL);
      a->cancelled = true;
      Finished(kResourceExhausted, a->member.get());
    }
    // Consumed once the client's connection took it (OnSent); what was not passed, now.
    if (!ok) stream.Consume(len);
    return;
  }
  if (plan_.has_value()) {  // data after the request ended: not ours to judge
    stream.Consume(len);
    return;
  }
  const size_t limit = static_cast<size_t>(worker_.config().max_recv_bytes) + kGrpcPrefixSize;
  if (request_.size() + len > limit) {
    stream.Consume(len);
    if (!answered_) {
      AnswerClient(kResourceExhausted,
                   "etcd-health-proxy: request message larger than "
                   "max-recv-bytes (" +
                       std::to_string(worker_.config().max_recv_bytes) + ")");
    }
    return;
  }
  request_.append(reinterpret_cast<const char*>(data), len);
  stream.Consume(len);  // kept here, bounded by max-recv-bytes
}

void UnaryCall::OnEnd(H2Stream& stream) {
  if (&stream == client_) {
    if (!answered_ && !plan_.has_value()) Begin();
    return;
  }
  // A member's data then END_STREAM without trailers: not gRPC, passed on as it came.
  if (AttemptOf(stream) == committed_ && committed_ != nullptr && !answered_) {
    answered_ = true;
    client_->End();
    Finished(kUnknown, committed_->member.get());
  }
}

void UnaryCall::OnSent(H2Stream& stream, size_t bytes) {
  // Response bytes left through the client's connection: the member may send that many more.
  if (&stream == client_ && committed_ != nullptr && committed_->stream != nullptr) {
    committed_->stream->Consume(bytes);
  }
}

void UnaryCall::Begin() {
  class_ = Classify(method_, request_);
  hedgeable_ = class_.kind == CallKind::kRead && pool_->hedge_delay().enabled();
  pool_->retry_budget().OnCall();
  router_.emplace(*pool_);
  CallPlan::Settings settings;
  settings.leaderless_wait = pool_->leaderless_wait();
  settings.hedging = hedgeable_;
  settings.request_bytes = static_cast<int64_t>(request_.size());
  settings.deadline = deadline_;
  plan_.emplace(class_, settings, *router_, pool_->retry_budget(), relay_.holder);
  Execute(plan_->Start(Clock::now()));
}

// The plan's steps.

void UnaryCall::Execute(CallPlan::Step step) {
  CountPlanStep(relay_, step);
  switch (step.action) {
    case CallPlan::Action::kNone:
      break;
    case CallPlan::Action::kSend:
      Send(step.attempt, router_->Get(step.member), step.hedge);
      return;  // Send may have deleted this call
    case CallPlan::Action::kHold: {
      if (!hold_timer_) {
        hold_timer_.emplace(worker_.io());
        alive_ = std::make_shared<bool>(true);
      }
      hold_timer_->expires_at(step.wake_at);
      hold_timer_->async_wait([this, alive = alive_](const boost::system::error_code& ec) {
        if (ec || !*alive || client_ == nullptr) return;
        Execute(plan_->Wake(Clock::now()));
      });
      break;
    }
    case CallPlan::Action::kAnswer:
      Commit(*attempts_[step.attempt]);
      break;
    case CallPlan::Action::kFail:
      FailWith(step.failure);
      break;
  }
  MaybeDelete();
}

void UnaryCall::Send(int index, std::shared_ptr<Member> member, bool hedge) {
  if (static_cast<size_t>(index) >= attempts_.size()) attempts_.resize(index + 1);
  if (index == 0) {
    attempts_[0] = &first_attempt_;
  } else {
    attempts_[index] = more_attempts_.emplace_back(std::make_unique<Attempt>()).get();
  }
  Attempt& a = *attempts_[index];
  a.call = this;
  a.index = index;
  a.member = member;
  a.hedge = hedge;
  a.sent = Clock::now();
  if (!member->TryBeginUnary(pool_->max_member_calls())) {
    a.ended = true;
    Execute(plan_->Refused(index));
    return;
  }
  a.sent_hasleader = AdjustForMember(
      headers_, *member, class_.hasleader && pool_->inject_hasleader(), deadline_, a.sent);
  MemberConnection* connection = worker_.LinksTo(member).Pick();
  a.stream = connection != nullptr ? connection->Open(headers_, this, false) : nullptr;
  if (a.stream == nullptr) {
    EndAttempt(a, kUnavailable);
    Execute(plan_->Failed(
        index,
        AttemptOutcome{kUnavailable,
                       "etcd-health-proxy: cannot connect to member " + member->name(), true,
                       a.sent_hasleader},
        Clock::now()));
    return;
  }
  a.stream->WriteBorrowed(request_);  // request_ outlives every attempt's stream
  a.stream->End();
  if (class_.kind == CallKind::kWrite) member->writes().Begin(a.sent);
  // Reads are listed so an eviction can move them; writes stay (their outcome is unknown).
  if (class_.kind == CallKind::kRead || class_.kind == CallKind::kSerializableRead) {
    worker_.AddMovable(*member, a.movable);
  }
  if (hedgeable_ && !hedge) worker_.AddHedgeable(a.hedgeable);
}

UnaryCall::Attempt* UnaryCall::AttemptOf(const H2Stream& stream) {
  for (auto& a : attempts_) {
    if (a && a->stream == &stream) return a;
  }
  return nullptr;
}

// The members' side.

void UnaryCall::OnHeaders(H2Stream& stream, HeaderList headers, HeadersKind kind, bool end_stream) {
  if (&stream == client_) return;  // request trailers: not in gRPC's unary calls
  Attempt* a = AttemptOf(stream);
  if (a == nullptr || a->cancelled) return;
  if (a->decided) {
    // The trailers after the committed answer's messages.
    if (kind != HeadersKind::kTrailers || a != committed_ || answered_) return;
    const auto status = StatusOf(headers);
    answered_ = true;
    client_->EndWithTrailers(std::move(headers));
    Finished(status ? status->code : kUnknown, a->member.get());
    return;
  }
  if (kind == HeadersKind::kResponse) {
    if (a->response) return;
    a->response = true;
    a->headers = std::move(headers);
    a->trailers_only = end_stream;
    if (!end_stream) return;  // its first message or its trailers decide
  } else {
    a->trailers = std::move(headers);
    a->complete = true;
  }
  Decide(*a);
}

void UnaryCall::Decide(Attempt& a) {
  a.decided = true;
  const auto status = a.trailers_only ? StatusOf(a.headers)
                      : a.complete    ? StatusOf(a.trailers)
                                      : std::nullopt;
  const auto now = Clock::now();
  if (status && status->code != 0) {
    // An error with no message: the plan decides whether another member may have the call.
    EndAttempt(a, status->code);
    Execute(plan_->Failed(
        a.index, AttemptOutcome{status->code, status->message, false, a.sent_hasleader}, now));
    return;
  }
  if (hedgeable_) {
    pool_->hedge_delay().Observe(
        std::chrono::duration_cast<std::chrono::microseconds>(now - a.sent));
  }
  EndAttempt(a, 0);
  Execute(plan_->Answered(a.index));
}

void UnaryCall::OnClose(H2Stream& stream, uint32_t error_code) {
  if (&stream == client_) {
    client_ = nullptr;
    if (!answered_) {
      answered_ = true;
      if (plan_) CountPlanStep(relay_, plan_->Cancelled(Clock::now()));
      Finished(kCancelled, nullptr);
    }
    if (hold_timer_) hold_timer_->cancel();
    CancelOthers(nullptr);
    MaybeDelete();
    return;
  }
  Attempt* a = AttemptOf(stream);
  if (a == nullptr) return;
  a->stream = nullptr;
  if (a == committed_) {
    // The member's answer broke off after it began.
    if (!answered_ && client_ != nullptr) {
      answered_ = true;
      const std::string message =
          "etcd-health-proxy: the answer of member " + a->member->name() + " broke off (" +
          (error_code == kConnectionLost ? std::string("connection lost")
                                         : std::string(nghttp2_http2_strerror(error_code))) +
          ")";
      client_->EndWithTrailers(StatusTrailers(kUnavailable, message));
      Finished(kUnavailable, a->member.get());
    }
    MaybeDelete();
    return;
  }
  if (!a->decided && !a->cancelled && plan_ && !plan_->finished()) {
    // No answer: never sent (refused by the member's HTTP/2 layer, or the connection failed
    // before the HEADERS went out) is provably unprocessed; anything else is unknown.
    const bool unsent = !a->response && (error_code == NGHTTP2_REFUSED_STREAM ||
                                         (error_code == kConnectionLost && !stream.headers_sent()));
    const std::string message =
        error_code == kConnectionLost
            ? "etcd-health-proxy: the connection to member " + a->member->name() + " was lost"
            : "etcd-health-proxy: member " + a->member->name() + " reset the call (" +
                  nghttp2_http2_strerror(error_code) + ")";
    EndAttempt(*a, kUnavailable);
    Execute(plan_->Failed(
        a->index, AttemptOutcome{kUnavailable, message, unsent, a->sent_hasleader}, Clock::now()));
    return;
  }
  EndAttempt(*a, a->cancelled ? kCancelled : kUnavailable);
  MaybeDelete();
}

// Endings.

void UnaryCall::Commit(Attempt& a) {
  committed_ = &a;
  CancelOthers(&a);
  if (client_ == nullptr || answered_) return;
  if (!a.response) {
    // The attempt never got an answer (no connection, reset): say why, as UNAVAILABLE.
    AnswerClient(kUnavailable,
                 "etcd-health-proxy: member " + a.member->name() + " could not take the call");
    return;
  }
  client_->connection().SubmitResponse(*client_, a.headers, a.trailers_only);
  if (a.trailers_only || a.complete) {
    answered_ = true;
    const auto status = StatusOf(a.trailers_only ? a.headers : a.trailers);
    if (a.complete) client_->EndWithTrailers(std::move(a.trailers));
    Finished(status ? status->code : 0, a.member.get());
  }
}

void UnaryCall::FailWith(CallPlan::Failure failure) {
  CancelOthers(nullptr);
  if (client_ == nullptr || answered_) return;
  const Attempt* last = nullptr;
  for (const auto& a : attempts_) {
    if (a) last = a;
  }
  const std::string name = last != nullptr ? last->member->name() : "";
  switch (failure) {
    case CallPlan::Failure::kNone:
    case CallPlan::Failure::kUnavailable:
      AnswerClient(kUnavailable, pool_->UnavailableMessage(class_.kind));
      return;
    case CallPlan::Failure::kHoldRefused: {
      const grpc::Status s = HoldRefused(*relay_.holder, pool_->UnavailableMessage(class_.kind));
      AnswerClient(s.error_code(), s.error_message());
      return;
    }
    case CallPlan::Failure::kMemberCallsCap: {
      const grpc::Status s =
          RefuseForLimit(relay_, "max-member-calls",
                         "member " + name + " has " + std::to_string(pool_->max_member_calls()) +
                             " unary calls in flight (max-member-calls)");
      AnswerClient(s.error_code(), s.error_message());
      return;
    }
    case CallPlan::Failure::kMemberEvicted:
      AnswerClient(kUnavailable, "etcd-health-proxy: member " + name +
                                     " was evicted while the call waited on it");
      return;
  }
}

void UnaryCall::AnswerClient(int code, const std::string& message) {
  if (client_ == nullptr || answered_) return;
  answered_ = true;
  client_->connection().SubmitResponse(*client_, TrailersOnly(code, message), true);
  // The answer is complete: the client need not send the rest of its request (RFC 9113 8.1).
  if (!client_->remote_ended()) client_->ResetAfterEnd();
  Finished(code, nullptr);
}

void UnaryCall::CancelOthers(const Attempt* keep) {
  for (auto& a : attempts_) {
    if (!a || a == keep || a->stream == nullptr || a->cancelled) continue;
    a->cancelled = true;
    a->stream->Reset(NGHTTP2_CANCEL);  // dropped unsent if its HEADERS are still queued
  }
}

void UnaryCall::MoveOff(Attempt& a) {
  if (a.stream == nullptr || a.cancelled || a.decided || !plan_) return;
  plan_->MovedOff(a.index);
  a.stream->Reset(NGHTTP2_CANCEL);  // its close comes back as a failure the plan retries
}

bool UnaryCall::CheckHedge(Attempt& a, Clock::time_point now) {
  if (a.stream == nullptr || a.decided || !plan_ || plan_->finished()) return true;
  if (now - a.sent < pool_->hedge_delay().Get()) return false;
  Execute(plan_->HedgeDue(a.index, now));
  return true;
}

void UnaryCall::EndAttempt(Attempt& a, int code) {
  if (a.ended) return;
  a.ended = true;
  a.movable.Unlink();
  a.hedgeable.Unlink();
  a.member->EndUnary();
  if (class_.kind == CallKind::kWrite) {
    a.member->writes().End(Clock::now(), AnsweredByQuorum(static_cast<grpc::StatusCode>(code)));
  }
}

void UnaryCall::Finished(int code, const Member* member) {
  if (recorded_) return;
  recorded_ = true;
  answer_code_ = code;
  worker_.call_metrics().Record(method_, code, member ? member->name() : std::string_view(),
                                start_);
}

void UnaryCall::MaybeDelete() {
  if (client_ != nullptr) return;
  for (const auto& a : attempts_) {
    if (a && a->stream != nullptr) return;
  }
  for (auto& a : attempts_) {
    if (a) EndAttempt(*a, kCancelled);
  }
  delete this;
}

}  // namespace ehp
