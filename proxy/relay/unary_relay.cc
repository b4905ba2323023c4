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
  upstream_->retry_budget().OnCall();
  SendToMember();
}

std::shared_ptr<Member> UnaryRelay::PickUntried() const {
  std::vector<const Member*> tried;
  tried.reserve(tried_.size());
  for (const auto& m : tried_) tried.push_back(m.get());
  return upstream_->Pick(class_, tried, despite_stall_);
}

void UnaryRelay::SendToMember() {
  std::shared_ptr<Member> member = PickUntried();
  if (member == nullptr) {
    WaitOrFail(grpc::Status(grpc::StatusCode::UNAVAILABLE, upstream_->UnavailableMessage()));
    return;
  }
  hold_.End("sent");
  SendTo(std::move(member));
}

void UnaryRelay::WaitOrFail(const grpc::Status& failure) {
  {
    std::lock_guard lock(mu_);
    if (cancelled_) {
      hold_.End("cancelled");
      FinishCall(grpc::Status(grpc::StatusCode::CANCELLED, "Cancelled"), false);
      return;
    }
  }
  // What was tried so far refused the call before acting on it (or it is a read): once a
  // member can take calls again, any of them may.
  tried_.clear();
  switch (hold_.Wait(*server_context_, static_cast<int64_t>(request_.Length()),
                     [this] { SendToMember(); })) {
    case CallHold::Result::kWaiting:
      return;
    case CallHold::Result::kRefused:
      FinishCall(HoldRefused(*relay_.holder, failure.error_message()), false);
      return;
    case CallHold::Result::kExpired:
      if (!despite_stall_ && upstream_->stalled()) {
        // A stall may be overload rather than a cut-off leader: after the wait, send anyway.
        despite_stall_ = true;
        SendToMember();
        return;
      }
      FinishCall(failure, false);
      return;
  }
}

void UnaryRelay::SendTo(std::shared_ptr<Member> member) {
  if (!member->TryBeginUnary(upstream_->max_member_calls())) {
    FinishCall(RefuseForLimit(relay_, "max-member-calls",
                              "member " + member->name() + " has " +
                                  std::to_string(upstream_->max_member_calls()) +
                                  " unary calls in flight (max-member-calls)"),
               false);
    return;
  }
  tried_.push_back(member);
  member_ = member;
  grpc::ClientContext* call;
  {
    std::lock_guard lock(mu_);
    if (cancelled_) {
      member->EndUnary();
      FinishCall(grpc::Status(grpc::StatusCode::CANCELLED, "Cancelled"), false);
      return;
    }
    // Deadline and cancellation of the client's call carry over to the member's.
    call_ = grpc::ClientContext::FromCallbackServerContext(*server_context_);
    call = call_.get();
  }
  sent_hasleader_ = CopyRequestMetadata(*server_context_, call,
                                        class_.hasleader && upstream_->inject_hasleader());
  // Reads are registered so an eviction can move them; writes stay (their outcome is unknown).
  movable_ = class_.kind == CallKind::kRead || class_.kind == CallKind::kSerializableRead;
  if (movable_) member->AddMovable(this);
  member->NextStub().UnaryCall(call, method_, grpc::StubOptions(), &request_, &response_,
                               [this](grpc::Status status) { OnMemberDone(status); });
}

void UnaryRelay::OnMemberDone(const grpc::Status& status) {
  member_->EndUnary();
  bool moved_off = false;
  if (movable_) {
    member_->RemoveMovable(this);
    std::lock_guard lock(mu_);
    moved_off = std::exchange(moved_off_, false) && !cancelled_;
  }
  if (!status.ok()) {
    const RetryReason reason =
        moved_off
            ? RetryReason::kMemberEvicted
            : DecideRetry(class_.kind,
                          AttemptOutcome{status.error_code(), status.error_message(),
                                         FailedBeforeSending(status, *call_), sent_hasleader_});
    if (reason != RetryReason::kNone) {
      const std::string label(ToString(reason));
      std::shared_ptr<Member> next = PickUntried();
      if (next == nullptr) {
        // Every member refused or failed it without acting on it: hold it until one can.
        if (relay_.metrics != nullptr) relay_.metrics->retries.Inc({label});
        WaitOrFail(moved_off ? grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                            "etcd-health-proxy: member " + member_->name() +
                                                " was evicted while the call waited on it")
                             : status);
        return;
      }
      if (upstream_->retry_budget().TrySpend(std::chrono::steady_clock::now())) {
        SPDLOG_DEBUG("{} to {} failed ({}: {}); trying {}", method_, member_->name(), label,
                     status.error_message(), next->name());
        if (relay_.metrics != nullptr) relay_.metrics->retries.Inc({label});
        SendTo(std::move(next));
        return;
      }
      if (relay_.metrics != nullptr) relay_.metrics->retries_refused.Inc({label});
    }
  }
  CopyInitialMetadata(*call_, server_context_);
  CopyTrailingMetadata(*call_, server_context_);
  FinishCall(status, status.ok());
}

void UnaryRelay::FinishCall(const grpc::Status& status, bool with_response) {
  RecordCall(relay_, method_, status, member_.get(), start_);
  if (with_response) {
    StartWriteAndFinish(&response_, grpc::WriteOptions(), status);
  } else {
    Finish(status);
  }
}

void UnaryRelay::OnCancel() {
  std::lock_guard lock(mu_);
  cancelled_ = true;
  if (call_) call_->TryCancel();
}

void UnaryRelay::MoveOff() {
  std::lock_guard lock(mu_);
  moved_off_ = true;
  if (call_) call_->TryCancel();
}

void UnaryRelay::OnDone() { delete this; }

}  // namespace ehp
