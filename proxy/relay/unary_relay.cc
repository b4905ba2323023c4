#include "proxy/relay/unary_relay.h"

#include <spdlog/spdlog.h>

#include "proxy/relay/call_hold.h"
#include "proxy/relay/metadata.h"
#include "proxy/routing/retry_policy.h"

namespace ehp {
namespace {

// Classifies the call; Range and Txn need their request's bytes (usually one slice).
CallClass Classify(const std::string& method, const grpc::ByteBuffer& request) {
  if (!NeedsRequest(method)) return ClassifyMethod(method);
  std::vector<grpc::Slice> slices;
  if (!request.Dump(&slices).ok()) return ClassifyRequest(method, "\xff");  // unparsable
  if (slices.size() == 1) {
    return ClassifyRequest(
        method,
        std::string_view(reinterpret_cast<const char*>(slices[0].begin()), slices[0].size()));
  }
  std::string flat;
  for (const grpc::Slice& s : slices)
    flat.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return ClassifyRequest(method, flat);
}

}  // namespace

UnaryRelay::Locked::~Locked() {
  const bool send = std::exchange(relay_->send_answer_, false);
  lock_.unlock();
  if (send) relay_->SendAnswer();  // may delete the relay (OnDone): nothing may follow
}

UnaryRelay::UnaryRelay(grpc::CallbackServerContext* server_context, std::string method,
                       const RelayContext& relay)
    : server_context_(server_context), method_(std::move(method)), relay_(relay) {
  StartRead(&request_);
}

void UnaryRelay::OnReadDone(bool ok) {
  if (!ok) {
    // The client half-closed without a request, or the call is already cancelled (an oversized
    // request ends up here too; gRPC has then already failed it with RESOURCE_EXHAUSTED).
    Finish(grpc::Status(grpc::StatusCode::INTERNAL,
                        "etcd-health-proxy: unary call ended before its request arrived"));
    return;
  }
  class_ = Classify(method_, request_);
  hedgeable_ = class_.kind == CallKind::kRead && upstream_->hedge_delay().enabled();
  upstream_->retry_budget().OnCall();
  SendToMember();
}

std::shared_ptr<Member> UnaryRelay::PickUntriedLocked() const {
  const Member* tried[16];
  const size_t n = std::min(tried_.size(), std::size(tried));
  for (size_t i = 0; i < n; ++i) tried[i] = tried_[i].get();
  return upstream_->Pick(class_, std::span<const Member* const>(tried, n), despite_stall_);
}

void UnaryRelay::SendToMember() {
  std::shared_ptr<Member> member;
  {
    Locked lock(this);
    member = PickUntriedLocked();
    if (member != nullptr) ++in_flight_;  // taken by SendTo
  }
  if (member == nullptr) {
    WaitOrFail(
        grpc::Status(grpc::StatusCode::UNAVAILABLE, upstream_->UnavailableMessage(class_.kind)));
    return;
  }
  hold_.End("sent");
  SendTo(std::move(member), false);
}

void UnaryRelay::WaitOrFail(const grpc::Status& failure) {
  {
    Locked lock(this);
    if (cancelled_) {
      hold_.End("cancelled");
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "Cancelled"), nullptr);
      return;
    }
    // What was tried so far refused the call before acting on it (or it is a read): once a
    // member can take calls again, any of them may.
    tried_.clear();
  }
  grpc::Status outcome;
  switch (hold_.Wait(*server_context_, static_cast<int64_t>(request_.Length()),
                     [this] { SendToMember(); })) {
    case CallHold::Result::kWaiting:
      return;
    case CallHold::Result::kRefused:
      outcome = HoldRefused(*relay_.holder, failure.error_message());
      break;
    case CallHold::Result::kExpired:
      // Not for a write held because the leader answered no write in all that time: sending it
      // would add one more to those in doubt; the proxy's error says it was never sent.
      if (!despite_stall_ && upstream_->stalled()) {
        // A stall may be overload rather than a cut-off leader: after the wait, send anyway.
        despite_stall_ = true;
        SendToMember();
        return;
      }
      outcome = failure;
      break;
  }
  Locked lock(this);
  FinishLocked(outcome, nullptr);
}

void UnaryRelay::SendTo(std::shared_ptr<Member> member, bool hedge) {
  if (!member->TryBeginUnary(upstream_->max_member_calls())) {
    Locked lock(this);
    --in_flight_;
    if (hedge) {
      MaybeSendAnswerLocked();  // the first copy is still in flight; it decides
      return;
    }
    FinishLocked(RefuseForLimit(relay_, "max-member-calls",
                                "member " + member->name() + " has " +
                                    std::to_string(upstream_->max_member_calls()) +
                                    " unary calls in flight (max-member-calls)"),
                 nullptr);
    return;
  }
  Attempt* attempt;
  {
    Locked lock(this);
    if (cancelled_ || finishing_) {
      member->EndUnary();
      --in_flight_;
      if (finishing_) {
        MaybeSendAnswerLocked();
      } else {
        FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "Cancelled"), nullptr);
      }
      return;
    }
    tried_.push_back(member);
    last_member_ = member.get();
    attempts_.push_back(std::make_unique<Attempt>(this, member, hedge));
    attempt = attempts_.back().get();
    // The client's deadline carries over; its cancellation does through OnCancel.
    attempt->call = MemberCallContext(*server_context_);
  }
  attempt->sent_hasleader = CopyRequestMetadata(*server_context_, attempt->call.get(),
                                                class_.hasleader && upstream_->inject_hasleader());
  // Reads are registered so an eviction can move them; writes stay (their outcome is unknown).
  attempt->movable = class_.kind == CallKind::kRead || class_.kind == CallKind::kSerializableRead;
  if (attempt->movable) member->AddMovable(attempt);
  if (class_.kind == CallKind::kWrite) member->writes().Begin(attempt->sent);
  member->NextStub().UnaryCall(
      attempt->call.get(), method_, grpc::StubOptions(), &request_, &attempt->response,
      [this, attempt](grpc::Status status) { OnAttemptDone(attempt, status); });
}

std::function<void()> UnaryRelay::DueForHedge(Attempt* attempt,
                                              std::chrono::steady_clock::time_point now,
                                              std::chrono::microseconds delay) {
  // Called with the member's lock held: decide here, send after it is released.
  if (!hedgeable_ || attempt->hedge || now - attempt->sent < delay) return {};
  std::shared_ptr<Member> next;
  {
    Locked lock(this);
    if (hedged_ || finishing_ || cancelled_ || attempt->done) return {};
    hedged_ = true;  // once per call, sent or not
    next = PickUntriedLocked();
    if (next == nullptr || !upstream_->retry_budget().TrySpend(now)) {
      if (relay_.metrics != nullptr) relay_.metrics->hedges.Inc({"skipped"});
      return {};
    }
    hedge_sent_ = true;
    ++in_flight_;  // taken by SendTo: keeps this call alive until the hedge is sent
  }
  if (relay_.metrics != nullptr) relay_.metrics->hedges.Inc({"sent"});
  SPDLOG_DEBUG("{}: no answer from {} after {} us; hedging to {}", method_, attempt->member->name(),
               delay.count(), next->name());
  return [this, next = std::move(next)]() mutable { SendTo(std::move(next), true); };
}

void UnaryRelay::OnAttemptDone(Attempt* attempt, const grpc::Status& status) {
  attempt->member->EndUnary();
  if (attempt->movable) attempt->member->RemoveMovable(attempt);
  if (class_.kind == CallKind::kWrite) {
    attempt->member->writes().End(std::chrono::steady_clock::now(),
                                  AnsweredByQuorum(status.error_code()));
  }
  if (status.ok() && hedgeable_) {
    upstream_->hedge_delay().Observe(std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - attempt->sent));
  }
  std::shared_ptr<Member> next;
  RetryReason reason;
  grpc::Status failure = status;
  {
    Locked lock(this);
    attempt->done = true;
    --in_flight_;
    if (finishing_) {  // a copy that lost (cancelled), or the client is gone
      MaybeSendAnswerLocked();
      return;
    }
    if (status.ok()) {
      if (hedge_sent_ && relay_.metrics != nullptr) {
        relay_.metrics->hedges.Inc({attempt->hedge ? "hedge_won" : "first_won"});
      }
      FinishLocked(status, attempt);
      return;
    }
    // The other copy is still in flight and may yet answer: it decides.
    if (in_flight_ > 0) return;
    const bool moved_off = attempt->moved_off && !cancelled_;
    reason = moved_off ? RetryReason::kMemberEvicted
                       : DecideRetry(class_.kind,
                                     AttemptOutcome{status.error_code(), status.error_message(),
                                                    FailedBeforeSending(status, *attempt->call),
                                                    attempt->sent_hasleader});
    if (reason == RetryReason::kNone) {
      FinishLocked(status, attempt);
      return;
    }
    if (moved_off) {
      failure = grpc::Status(grpc::StatusCode::UNAVAILABLE,
                             "etcd-health-proxy: member " + attempt->member->name() +
                                 " was evicted while the call waited on it");
    }
    const std::string label(ToString(reason));
    next = PickUntriedLocked();
    if (next != nullptr) {
      // A call that never reached a member (a refused connection, a GOAWAY before it) costs
      // the cluster nothing when sent again: the budget is for retries that add load.
      if (reason != RetryReason::kConnectFailed &&
          !upstream_->retry_budget().TrySpend(std::chrono::steady_clock::now())) {
        if (relay_.metrics != nullptr) relay_.metrics->retries_refused.Inc({label});
        FinishLocked(status, attempt);
        return;
      }
      SPDLOG_DEBUG("{} to {} failed ({}: {}); trying {}", method_, attempt->member->name(), label,
                   status.error_message(), next->name());
      ++in_flight_;  // taken by SendTo
    }
    if (relay_.metrics != nullptr) relay_.metrics->retries.Inc({label});
  }
  if (next == nullptr) {
    // Every member refused or failed it without acting on it: hold it until one can.
    WaitOrFail(failure);
    return;
  }
  SendTo(std::move(next), false);
}

void UnaryRelay::FinishLocked(const grpc::Status& status, Attempt* from) {
  if (finishing_) return;
  finishing_ = true;
  answer_status_ = status;
  answer_from_ = from;
  for (const auto& a : attempts_) {
    if (!a->done && a.get() != from) upstream_->cancels().Cancel(a->call, a->sent);
  }
  MaybeSendAnswerLocked();
}

void UnaryRelay::MaybeSendAnswerLocked() {
  if (!finishing_ || answered_ || in_flight_ > 0) return;
  answered_ = true;
  send_answer_ = true;  // by Locked, once mu_ is released
}

void UnaryRelay::SendAnswer() {
  // Nothing else touches the call now: the answer is decided and no attempt is in flight.
  const Attempt* from = answer_from_;
  if (from != nullptr) {
    CopyInitialMetadata(*from->call, server_context_);
    CopyTrailingMetadata(*from->call, server_context_);
  }
  RecordCall(relay_, method_, answer_status_, from != nullptr ? from->member.get() : last_member_,
             start_);
  if (from != nullptr && answer_status_.ok()) {
    StartWriteAndFinish(&answer_from_->response, grpc::WriteOptions(), answer_status_);
  } else {
    Finish(answer_status_);
  }
}

void UnaryRelay::OnCancel() {
  std::lock_guard lock(mu_);
  cancelled_ = true;
  for (const auto& a : attempts_) {
    if (!a->done) upstream_->cancels().Cancel(a->call, a->sent);
  }
}

void UnaryRelay::MoveOff(Attempt* attempt) {
  std::lock_guard lock(mu_);
  attempt->moved_off = true;
  if (!attempt->done) upstream_->cancels().Cancel(attempt->call, attempt->sent);
}

void UnaryRelay::OnDone() { delete this; }

}  // namespace ehp
