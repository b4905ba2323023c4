#include "proxy/relay/watch_relay.h"

#include <spdlog/spdlog.h>

#include <string>

#include "proxy/relay/metadata.h"

namespace ehp {
namespace {

// A stream that keeps failing on every member it moves to is ended after this many moves within
// kResumeWindow: the client then sees the error and can decide.
constexpr int kMaxResumes = 5;
constexpr std::chrono::seconds kResumeWindow{10};

bool Parse(const grpc::ByteBuffer& buffer, google::protobuf::Message* message) {
  std::vector<grpc::Slice> slices;
  if (!buffer.Dump(&slices).ok()) return false;
  if (slices.size() == 1) {
    return message->ParseFromArray(slices[0].begin(), static_cast<int>(slices[0].size()));
  }
  std::string flat;
  for (const grpc::Slice& s : slices) {
    flat.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return message->ParseFromString(flat);
}

grpc::ByteBuffer Serialize(const google::protobuf::Message& message) {
  grpc::Slice slice(message.SerializeAsString());
  return grpc::ByteBuffer(&slice, 1);
}

}  // namespace

// Locking: mu_ guards the state of both sides. gRPC never runs a reaction inline from
// Start*/Finish/RemoveHold/TryCancel, so they are called under mu_. The registry is only called
// without mu_ held: it calls Move() and Abort() under its own lock.

WatchRelay::WatchRelay(grpc::CallbackServerContext* server_context, std::string method,
                       const RelayContext& relay)
    : server_context_(server_context), method_(std::move(method)), relay_(relay) {
  {
    std::lock_guard lock(mu_);
    holding_ = true;  // Connect is about to run
  }
  Connect(nullptr);
}

void WatchRelay::Connect(const Member* avoid) {
  CallClass call = ClassifyMethod(method_);
  call.kind = CallKind::kStream;
  const Member* tried[1] = {avoid};
  std::shared_ptr<Member> member =
      upstream_pool_->Pick(call, std::span<const Member* const>(tried, avoid != nullptr ? 1 : 0));
  // A stream not relayed yet waits up to leaderless-wait, one being moved longer.
  CallHold& hold = registry_id_ == 0 ? hold_ : move_hold_;
  // The registry is told where the stream is before it starts there (not under mu_). Only one
  // Connect runs at a time (holding_), so registry_id_ and member_name_ are not contended.
  grpc::Status refused;
  if (member != nullptr) {
    member_name_ = member->name();
    if (registry_id_ == 0) {
      registry_id_ = relay_.streams->Add(this);
      if (registry_id_ == StreamRegistry::kClosing) {
        refused = grpc::Status(grpc::StatusCode::UNAVAILABLE, "etcd-health-proxy is shutting down");
      } else if (registry_id_ == StreamRegistry::kFull) {
        registry_id_ = StreamRegistry::kClosing;  // nothing to remove
        refused = RefuseForLimit(
            relay_, "max-streams",
            std::to_string(relay_.streams->max_streams()) + " streams open (max-streams)");
      }
    } else {
      relay_.streams->SetMember(registry_id_, member_name_);
    }
  }
  bool unused;
  {
    std::lock_guard lock(mu_);
    holding_ = false;
    if (finished_ || cancelled_) {
      hold.End("cancelled");
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "Cancelled"));
    } else if (!refused.ok()) {
      FinishLocked(refused);
    } else if (member != nullptr) {
      hold.End("sent");
      ConnectLocked(std::move(member));
    } else {
      // Wait for a member that can take it rather than fail (an election is over in seconds).
      const grpc::Status unavailable(grpc::StatusCode::UNAVAILABLE,
                                     upstream_pool_->UnavailableMessage());
      switch (hold.Wait(*server_context_, 0, [this] { Connect(nullptr); })) {
        case CallHold::Result::kWaiting:
          holding_ = true;
          break;
        case CallHold::Result::kRefused:
          FinishLocked(HoldRefused(*relay_.holder, unavailable.error_message()));
          break;
        case CallHold::Result::kExpired:
          FinishLocked(unavailable);
          break;
      }
    }
    unused = UnusedLocked();
  }
  if (unused) Destroy();
}

void WatchRelay::ConnectLocked(std::shared_ptr<Member> member) {
  auto* up = new Upstream(this, member);
  // The client's deadline carries over; its cancellation does through OnCancel.
  up->call = MemberCallContext(*server_context_);
  CopyRequestMetadata(*server_context_, up->call.get(),
                      ClassifyMethod(method_).hasleader && upstream_pool_->inject_hasleader());
  ++live_upstreams_;
  upstream_ = up;
  last_member_ = member;
  member->AddLoad(1);
  member->NextStub().PrepareBidiStreamingCall(up->call.get(), method_, grpc::StubOptions(), up);
  up->AddHold();  // removed by ReleaseLocked
  up->StartCall();
  ReadUpstreamLocked();
  PumpToMemberLocked();
}

// Client -> member.

void WatchRelay::OnReadDone(bool ok) {
  std::lock_guard lock(mu_);
  client_reading_ = false;
  if (ok) {
    to_member_.emplace_back();
    to_member_.back().buffer.Swap(&from_client_);
  } else {
    client_half_closed_ = true;
  }
  PumpToMemberLocked();
}

void WatchRelay::PumpToMemberLocked() {
  Upstream* up = upstream_;
  if (up != nullptr && !up->ended && !up->writing) {
    if (!to_member_.empty()) {
      up->write_buffer.Swap(&to_member_.front().buffer);
      const bool resent = to_member_.front().resent;
      to_member_.pop_front();
      etcdserverpb::WatchRequest request;
      if (!resent && Parse(up->write_buffer, &request)) tracker_.Sent(request);
      up->writing = true;
      up->StartWrite(&up->write_buffer);
    } else if (client_half_closed_ && !up->writes_done) {
      up->writes_done = true;
      up->writing = true;
      up->StartWritesDone();
    }
  }
  // One request at a time: the next is read once the previous one went to a member.
  if (to_member_.empty() && !client_reading_ && !client_half_closed_ && !finished_) {
    client_reading_ = true;
    StartRead(&from_client_);
  }
}

void WatchRelay::OnUpstreamWriteDone(Upstream* up, bool ok) {
  std::lock_guard lock(mu_);
  up->writing = false;
  if (!ok) {
    // The member's stream is over; its status comes in OnDone. A request that may not have
    // arrived is known to the tracker and is sent again if the stream moves.
    up->ended = true;
    ReleaseLocked(up);
    return;
  }
  if (up == upstream_) PumpToMemberLocked();
}

// Member -> client.

void WatchRelay::ReadUpstreamLocked() {
  Upstream* up = upstream_;
  if (up == nullptr || up->ended || up->reading || finished_ || !to_client_.empty()) return;
  up->reading = true;
  up->StartRead(&up->read_buffer);
}

void WatchRelay::OnUpstreamReadDone(Upstream* up, bool ok) {
  std::lock_guard lock(mu_);
  up->reading = false;
  if (!ok || up->ended || finished_) {
    // Over, or being moved: what it still delivered is not passed on nor tracked, so the new
    // member sends it again.
    up->ended = true;
    ReleaseLocked(up);
    return;
  }
  etcdserverpb::WatchResponse response, replacement;
  WatchTracker::Verdict verdict = WatchTracker::Verdict::kForward;
  if (Parse(up->read_buffer, &response)) verdict = tracker_.Received(response, &replacement);
  switch (verdict) {
    case WatchTracker::Verdict::kForward:
      to_client_.emplace_back();
      to_client_.back().Swap(&up->read_buffer);
      break;
    case WatchTracker::Verdict::kDrop:
      break;
    case WatchTracker::Verdict::kReplace:
      to_client_.push_back(Serialize(replacement));
      break;
  }
  PumpToClientLocked();
  ReadUpstreamLocked();
}

void WatchRelay::PumpToClientLocked() {
  if (client_writing_ || finish_sent_) return;
  if (cancelled_) to_client_.clear();
  if (!to_client_.empty()) {
    client_writing_ = true;
    StartWrite(&to_client_.front());
    return;
  }
  if (finished_) {
    finish_sent_ = true;
    Finish(finish_status_);
  }
}

void WatchRelay::OnWriteDone(bool ok) {
  std::lock_guard lock(mu_);
  client_writing_ = false;
  to_client_.pop_front();
  if (!ok) {  // the client is gone
    cancelled_ = true;
    FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "Cancelled"));
    return;
  }
  PumpToClientLocked();
  ReadUpstreamLocked();
}

// Endings and moves.

void WatchRelay::ReleaseLocked(Upstream* up) {
  if (up->released || up->reading) return;  // a read in flight fails and releases it
  up->released = true;
  up->RemoveHold();
}

void WatchRelay::Upstream::OnDone(const grpc::Status& status) {
  relay_->OnUpstreamDone(this, status);
}

void WatchRelay::OnUpstreamDone(Upstream* up, const grpc::Status& status) {
  bool connect = false;
  bool unused = false;
  const Member* avoid = up->member.get();  // compared, never followed
  {
    std::lock_guard lock(mu_);
    --live_upstreams_;
    up->member->AddLoad(-1);
    if (up == upstream_) {
      upstream_ = nullptr;
      if (finished_) {
        // Aborted, or the client is gone: nothing more to do.
      } else if (cancelled_) {
        FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "Cancelled"));
      } else if (ResumeLocked(status, up->member->name())) {
        connect = true;
        holding_ = true;  // Connect is about to run
      } else {
        CopyTrailingMetadata(*up->call, server_context_);
        FinishLocked(StreamEndForClient(status, up->member->name()));
      }
    }
    unused = UnusedLocked();
  }
  delete up;
  if (connect) {
    Connect(avoid);
  } else if (unused) {
    Destroy();
  }
}

bool WatchRelay::ResumeLocked(const grpc::Status& status, const std::string& from) {
  const bool evicted = std::exchange(moving_, false);
  if (!evicted && status.error_code() != grpc::StatusCode::UNAVAILABLE) return false;
  if (!tracker_.CanResume()) return false;
  const auto now = std::chrono::steady_clock::now();
  if (now - resumes_since_ > kResumeWindow) {
    resumes_since_ = now;
    recent_resumes_ = 0;
  }
  if (++recent_resumes_ > kMaxResumes) {
    spdlog::warn("watch stream moved {} times in {} s; ending it with the member's error: {}",
                 kMaxResumes, kResumeWindow.count(), status.error_message());
    return false;
  }
  WatchTracker::Resumption r = tracker_.Resume();
  for (auto it = r.requests.rbegin(); it != r.requests.rend(); ++it) {
    to_member_.push_front(ToMember{Serialize(*it), true});
  }
  for (const auto& response : r.to_client) to_client_.push_back(Serialize(response));
  PumpToClientLocked();
  if (relay_.metrics != nullptr) relay_.metrics->watch_resumes.Inc({evicted ? "evicted" : "ended"});
  SPDLOG_DEBUG("watch stream leaves {} ({}): {} watcher(s) resume on another member", from,
               evicted ? "evicted" : status.error_message(), tracker_.watchers());
  return true;
}

bool WatchRelay::Move() {
  std::lock_guard lock(mu_);
  if (finished_) return false;
  if (upstream_ == nullptr) return holding_;  // between members already
  if (upstream_->ended || !tracker_.CanResume()) return false;
  moving_ = true;
  upstream_->ended = true;
  upstream_pool_->cancels().Cancel(upstream_->call, upstream_->started);
  ReleaseLocked(upstream_);
  return true;
}

void WatchRelay::Abort(const grpc::Status& status) {
  std::lock_guard lock(mu_);
  FinishLocked(status);
}

void WatchRelay::OnCancel() {
  std::lock_guard lock(mu_);
  cancelled_ = true;
  // Cancel the member's stream; its OnDone finishes ours. A stream between members finishes
  // when Connect runs.
  if (upstream_ != nullptr) upstream_pool_->cancels().Cancel(upstream_->call, upstream_->started);
  if (upstream_ == nullptr && !holding_)
    FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "Cancelled"));
}

void WatchRelay::FinishLocked(const grpc::Status& status) {
  if (finished_) return;
  finished_ = true;
  finish_status_ = status;
  RecordCall(relay_, method_, status, last_member_.get(), start_);
  if (upstream_ != nullptr && !upstream_->ended) {
    upstream_->ended = true;
    upstream_pool_->cancels().Cancel(upstream_->call, upstream_->started);
    ReleaseLocked(upstream_);
  }
  PumpToClientLocked();  // finishes once the write in flight is done
}

void WatchRelay::OnDone() {
  bool unused;
  {
    std::lock_guard lock(mu_);
    server_done_ = true;
    unused = UnusedLocked();
  }
  if (unused) Destroy();
}

bool WatchRelay::UnusedLocked() const { return server_done_ && live_upstreams_ == 0 && !holding_; }

void WatchRelay::Destroy() {
  if (registry_id_ != StreamRegistry::kClosing) relay_.streams->Remove(registry_id_);
  delete this;
}

}  // namespace ehp
