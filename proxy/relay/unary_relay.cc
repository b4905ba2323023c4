#include "proxy/relay/unary_relay.h"

#include <spdlog/spdlog.h>

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
  return upstream_->Pick(class_, tried);
}

void UnaryRelay::SendToMember() {
  std::shared_ptr<Member> member = PickUntried();
  if (member == nullptr) {
    // Fail fast with the reasons, never hang: the health checker knows no member can serve.
    FinishCall(grpc::Status(grpc::StatusCode::UNAVAILABLE, upstream_->UnavailableMessage()), false);
    return;
  }
  SendTo(std::move(member));
}

void UnaryRelay::SendTo(std::shared_ptr<Member> member) {
  tried_.push_back(member);
  grpc::ClientContext* call;
  {
    std::lock_guard lock(mu_);
    if (cancelled_) {
      FinishCall(grpc::Status(grpc::StatusCode::CANCELLED, "Cancelled"), false);
      return;
    }
    // Deadline and cancellation of the client's call carry over to the member's.
    call_ = grpc::ClientContext::FromCallbackServerContext(*server_context_);
    call = call_.get();
  }
  sent_hasleader_ = CopyRequestMetadata(*server_context_, call,
                                        class_.hasleader && upstream_->inject_hasleader());
  member->AddLoad(1);
  member->NextStub().UnaryCall(call, method_, grpc::StubOptions(), &request_, &response_,
                               [this](grpc::Status status) { OnMemberDone(status); });
}

void UnaryRelay::OnMemberDone(const grpc::Status& status) {
  tried_.back()->AddLoad(-1);
  if (!status.ok()) {
    const RetryReason reason = DecideRetry(
        class_.kind, AttemptOutcome{status.error_code(), status.error_message(),
                                    FailedBeforeSending(status, *call_), sent_hasleader_});
    std::shared_ptr<Member> next = reason == RetryReason::kNone ? nullptr : PickUntried();
    if (next != nullptr && std::chrono::system_clock::now() < server_context_->deadline()) {
      const std::string label(ToString(reason));
      if (upstream_->retry_budget().TrySpend(std::chrono::steady_clock::now())) {
        SPDLOG_DEBUG("{} to {} failed ({}: {}); trying {}", method_, tried_.back()->name(), label,
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
  RecordCall(relay_, method_, status, tried_.empty() ? nullptr : tried_.back().get(), start_);
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

void UnaryRelay::OnDone() { delete this; }

}  // namespace ehp
