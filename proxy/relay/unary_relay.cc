#include "proxy/relay/unary_relay.h"

#include <spdlog/spdlog.h>

#include "proxy/relay/metadata.h"

namespace ehp {

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
  SendToMember();
}

std::shared_ptr<Member> UnaryRelay::PickUntried() const {
  std::vector<const Member*> tried;
  tried.reserve(tried_.size());
  for (const auto& m : tried_) tried.push_back(m.get());
  return upstream_->Pick(tried);
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
  CopyRequestMetadata(*server_context_, call);
  member->NextStub().UnaryCall(call, method_, grpc::StubOptions(), &request_, &response_,
                               [this](grpc::Status status) { OnMemberDone(status); });
}

void UnaryRelay::OnMemberDone(const grpc::Status& status) {
  if (!status.ok() && FailedBeforeSending(status, *call_)) {
    if (std::shared_ptr<Member> next = PickUntried()) {
      SPDLOG_DEBUG("{} to {} failed before sending ({}); trying {}", method_, tried_.back()->name(),
                   status.error_message(), next->name());
      if (relay_.metrics != nullptr) relay_.metrics->retries.Inc({"connect_failed"});
      SendTo(std::move(next));
      return;
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
