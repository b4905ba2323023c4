#include "proxy/relay/stream_relay.h"

#include "proxy/relay/call_hold.h"
#include "proxy/relay/metadata.h"

namespace ehp {

// Locking: mu_ makes "is the client's call finished?" and the start of each server-side
// operation one step, so nothing is started on the client's call after Finish (its OnDone may
// already have run). gRPC never runs a reaction inline from Start*/Finish/RemoveHold, so calling
// them under mu_ cannot deadlock.

StreamRelay::StreamRelay(grpc::CallbackServerContext* server_context, std::string method,
                         const RelayContext& relay)
    : server_context_(server_context), method_(std::move(method)), relay_(relay) {
  Begin();
}

void StreamRelay::FailBeforeStart(const grpc::Status& status) {
  refs_.store(1);  // no member call: only the server reactor's OnDone is to come
  {
    std::lock_guard lock(mu_);
    if (finished_) return;
    finished_ = true;
  }
  // Not under mu_: with no member call holding a reference, OnDone may delete this object on
  // another thread as soon as Finish is called.
  RecordCall(relay_, method_, status, member_.get(), start_);
  Finish(status);
}

void StreamRelay::Begin() {
  const CallClass call = ClassifyStream(method_);
  member_ = upstream_->Pick(call);
  if (member_ == nullptr) {
    const grpc::Status unavailable(grpc::StatusCode::UNAVAILABLE, upstream_->UnavailableMessage());
    bool cancelled;
    {
      std::lock_guard lock(mu_);
      cancelled = cancelled_;
    }
    if (cancelled) {
      hold_.End("cancelled");
      FailBeforeStart(grpc::Status(grpc::StatusCode::CANCELLED, "Cancelled"));
      return;
    }
    // Wait for a member that can take it rather than fail (an election is over in seconds).
    switch (hold_.Wait(*server_context_, 0, [this] { Begin(); })) {
      case CallHold::Result::kWaiting:
        return;
      case CallHold::Result::kRefused:
        FailBeforeStart(HoldRefused(*relay_.holder, unavailable.error_message()));
        return;
      case CallHold::Result::kExpired:
        FailBeforeStart(unavailable);
        return;
    }
  }
  hold_.End("sent");
  {
    std::lock_guard lock(mu_);
    if (!cancelled_) {
      // The client's deadline carries over; its cancellation does through OnCancel.
      call_ = MemberCallContext(*server_context_);
      call_started_ = std::chrono::steady_clock::now();
    }
  }
  if (call_ == nullptr) {
    FailBeforeStart(grpc::Status(grpc::StatusCode::CANCELLED, "Cancelled"));
    return;
  }
  CopyRequestMetadata(*server_context_, call_.get(),
                      call.hasleader && upstream_->inject_hasleader());
  registry_id_ = relay_.streams->Add(this);
  if (registry_id_ == StreamRegistry::kClosing) {
    FailBeforeStart(
        grpc::Status(grpc::StatusCode::UNAVAILABLE, "etcd-health-proxy is shutting down"));
    return;
  }
  if (registry_id_ == StreamRegistry::kFull) {
    registry_id_ = StreamRegistry::kClosing;  // nothing to remove
    FailBeforeStart(RefuseForLimit(
        relay_, "max-streams",
        std::to_string(relay_.streams->max_streams()) + " streams open (max-streams)"));
    return;
  }
  member_->AddLoad(1);
  member_call_started_ = true;
  std::lock_guard lock(mu_);  // an Abort() from shutdown waits until both sides are started
  member_->NextStub().PrepareBidiStreamingCall(call_.get(), method_, grpc::StubOptions(),
                                               &member_call_);
  member_call_.AddMultipleHolds(2);
  member_call_.StartRead(&to_client_);
  member_call_.StartCall();
  if (finished_) {
    member_call_.StartWritesDone();
    EndClientToMember();
  } else {
    StartRead(&to_member_);
  }
}

// Client -> member.

void StreamRelay::OnReadDone(bool ok) {
  if (ok) {
    member_call_.StartWrite(&to_member_);
    return;
  }
  // The client half-closed (or its call ended): pass the half-close on.
  member_call_.StartWritesDone();
  EndClientToMember();
}

void StreamRelay::OnMemberWriteDone(bool ok) {
  std::lock_guard lock(mu_);
  if (ok && !finished_) {
    StartRead(&to_member_);
  } else {
    EndClientToMember();  // the member's stream is gone; its status arrives in OnMemberDone
  }
}

void StreamRelay::EndClientToMember() {
  if (!client_to_member_ended_.exchange(true)) member_call_.RemoveHold();
}

// Member -> client.

void StreamRelay::OnMemberInitialMetadata(bool ok) {
  std::lock_guard lock(mu_);
  if (ok && !finished_) {
    CopyInitialMetadata(*call_, server_context_);
    headers_ = Headers::kSending;
    StartSendInitialMetadata();
    return;
  }
  // Nothing to forward (the member sent none, or the call is over).
  headers_ = Headers::kSent;
  if (write_pending_) {
    write_pending_ = false;
    WriteToClientLocked();
  }
}

void StreamRelay::OnSendInitialMetadataDone(bool ok) {
  std::lock_guard lock(mu_);
  headers_ = Headers::kSent;
  if (!write_pending_) return;
  write_pending_ = false;
  if (ok) {
    WriteToClientLocked();
  } else {
    EndMemberToClient();  // the client is gone
  }
}

void StreamRelay::OnMemberReadDone(bool ok) {
  if (!ok) {
    EndMemberToClient();  // the member ended the stream; its status arrives in OnMemberDone
    return;
  }
  std::lock_guard lock(mu_);
  if (headers_ != Headers::kSent) {
    write_pending_ = true;  // the client's initial metadata must go first
    return;
  }
  WriteToClientLocked();
}

void StreamRelay::WriteToClientLocked() {
  if (finished_) {
    EndMemberToClient();
  } else {
    StartWrite(&to_client_);
  }
}

void StreamRelay::OnWriteDone(bool ok) {
  if (ok) {
    member_call_.StartRead(&to_client_);
  } else {
    EndMemberToClient();  // the client is gone
    CancelMemberCall();
  }
}

void StreamRelay::EndMemberToClient() {
  if (!member_to_client_ended_.exchange(true)) member_call_.RemoveHold();
}

// Endings.

void StreamRelay::OnMemberDone(const grpc::Status& status) {
  {
    std::lock_guard lock(mu_);
    if (!finished_) CopyTrailingMetadata(*call_, server_context_);
    FinishLocked(ForClient(status));
  }
  Unref();
}

grpc::Status StreamRelay::ForClient(const grpc::Status& status) const {
  return StreamEndForClient(status, member_->name());
}

void StreamRelay::OnCancel() {
  // The client cancelled or went away, or its deadline passed: cancel towards the member. Its
  // OnDone then finishes our side (Finish must be called even after a cancellation). A held
  // stream has no member call yet: the next hold tick sees cancelled_ and finishes.
  bool started;
  {
    std::lock_guard lock(mu_);
    cancelled_ = true;
    started = call_ != nullptr;
  }
  if (started) CancelMemberCall();
}

void StreamRelay::CancelMemberCall() { upstream_->cancels().Cancel(call_, call_started_); }

void StreamRelay::Abort(const grpc::Status& status) {
  {
    std::lock_guard lock(mu_);
    FinishLocked(status);
  }
  if (call_) CancelMemberCall();
}

void StreamRelay::FinishLocked(const grpc::Status& status) {
  if (finished_) return;
  finished_ = true;
  RecordCall(relay_, method_, status, member_.get(), start_);
  Finish(status);
}

void StreamRelay::OnDone() { Unref(); }

void StreamRelay::Unref() {
  if (refs_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  if (registry_id_ != 0) relay_.streams->Remove(registry_id_);
  if (member_call_started_) member_->AddLoad(-1);
  delete this;
}

}  // namespace ehp
