// Relays a Watch stream, and follows what it carries (WatchTracker) so the stream outlives its
// member: when the member is evicted or drained, or ends the stream with UNAVAILABLE ("no
// leader", a lost connection), the relay opens the stream on a usable member, re-creates every
// watcher there from the revision after the last one it delivered, with the client's watch ids,
// and goes on. The client's stream never breaks: no event is lost or repeated, and the answers to
// the re-creations are kept from it. Messages are otherwise relayed untouched, one at a time in
// each direction (back-pressure, as StreamRelay).
//
// Lifetime: the object deletes itself once the client's call is done (its OnDone ran), no
// member call is alive (each one's OnDone ran) and no hold timer is pending.
#pragma once

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/client_callback.h>

#include <chrono>
#include <deque>
#include <memory>
#include <mutex>

#include "proxy/relay/call_hold.h"
#include "proxy/relay/relay_context.h"
#include "proxy/relay/watch_tracker.h"

namespace ehp {

class WatchRelay final : public grpc::ServerGenericBidiReactor, public AbortableStream {
 public:
  WatchRelay(grpc::CallbackServerContext* server_context, std::string method,
             const RelayContext& relay);

  // grpc::ServerGenericBidiReactor: the client's side.
  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

  // AbortableStream
  void Abort(const grpc::Status& status) override;
  bool Move() override;
  const std::string& member_name() const override { return member_name_; }

 private:
  // One member's stream; a new one after each move.
  class Upstream final : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
   public:
    Upstream(WatchRelay* relay, std::shared_ptr<Member> member)
        : relay_(relay), member(std::move(member)) {}
    void OnReadDone(bool ok) override { relay_->OnUpstreamReadDone(this, ok); }
    void OnWriteDone(bool ok) override { relay_->OnUpstreamWriteDone(this, ok); }
    void OnWritesDoneDone(bool ok) override { relay_->OnUpstreamWriteDone(this, ok); }
    void OnDone(const grpc::Status& status) override;

    WatchRelay* const relay_;
    const std::shared_ptr<Member> member;
    std::shared_ptr<grpc::ClientContext> call;
    const std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    grpc::ByteBuffer read_buffer, write_buffer;
    // Guarded by the relay's mu_.
    bool reading = false;
    bool writing = false;
    bool ended = false;        // its read failed: the member's stream is over
    bool released = false;     // the hold that keeps it open was removed
    bool writes_done = false;  // the client's half-close was passed on
  };

  // Opens the stream on a usable member (other than `avoid`), or holds it until one is usable.
  void Connect(const Member* avoid);
  void ConnectLocked(std::shared_ptr<Member> member);
  void OnUpstreamReadDone(Upstream* up, bool ok);
  void OnUpstreamWriteDone(Upstream* up, bool ok);
  void OnUpstreamDone(Upstream* up, const grpc::Status& status);
  // Whether the stream that `from` ended with `status` moves to another member; if so, queues
  // the re-creations and counts the move.
  bool ResumeLocked(const grpc::Status& status, const std::string& from);

  // Writes the next queued request to the member, or passes on the client's half-close, or
  // reads the client's next request once nothing is queued.
  void PumpToMemberLocked();
  // Writes the next queued response to the client.
  void PumpToClientLocked();
  // Reads the member's next response once the client has taken the previous ones.
  void ReadUpstreamLocked();
  // Removes the hold on the member's stream once no read is outstanding: its OnDone may follow.
  void ReleaseLocked(Upstream* up);
  // Ends the client's call with `status` once its writes are done; later calls are no-ops.
  void FinishLocked(const grpc::Status& status);
  // True when nothing refers to this object any more: the caller deletes it after unlocking.
  bool UnusedLocked() const;
  // Leaves the registry and deletes this object.
  void Destroy();

  grpc::CallbackServerContext* const server_context_;
  const std::string method_;
  const RelayContext relay_;
  const std::shared_ptr<const UpstreamPool> upstream_pool_ = relay_.upstreams->Get();
  const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();

  std::mutex mu_;
  WatchTracker tracker_;                 // guarded by mu_
  Upstream* upstream_ = nullptr;         // guarded by mu_: the current member's stream
  int live_upstreams_ = 0;               // guarded by mu_: whose OnDone has not run
  std::shared_ptr<Member> last_member_;  // guarded by mu_: for metrics and messages
  // Written only by Connect, which never runs twice at once (holding_).
  std::string member_name_;       // read by the registry when the stream is added
  uint64_t registry_id_ = 0;      // 0 (kClosing): not registered
  grpc::ByteBuffer from_client_;  // guarded by mu_: the client read in flight
  struct ToMember {
    grpc::ByteBuffer buffer;
    bool resent = false;  // made by WatchTracker::Resume, which knows of it already
  };
  std::deque<ToMember> to_member_;          // guarded by mu_
  std::deque<grpc::ByteBuffer> to_client_;  // guarded by mu_: the first may be in flight
  bool client_reading_ = false;             // guarded by mu_
  bool client_writing_ = false;             // guarded by mu_
  bool client_half_closed_ = false;         // guarded by mu_
  bool cancelled_ = false;                  // guarded by mu_: the client cancelled or went away
  bool finished_ = false;                   // guarded by mu_: the client's answer is decided
  bool finish_sent_ = false;                // guarded by mu_: and Finish() was called
  grpc::Status finish_status_;              // guarded by mu_
  bool moving_ = false;                     // guarded by mu_: Move() cancelled the member's stream
  bool holding_ = false;      // guarded by mu_: a Connect is pending (or a hold timer)
  bool server_done_ = false;  // guarded by mu_: the client's OnDone ran
  std::chrono::steady_clock::time_point resumes_since_;  // guarded by mu_
  int recent_resumes_ = 0;                               // guarded by mu_
  CallHold hold_{relay_, upstream_pool_->leaderless_wait()};
  // A watch that was relayed already waits longer for a usable member: ending it would only have
  // its client re-open it into the same wait.
  CallHold move_hold_{relay_, 10 * upstream_pool_->leaderless_wait()};
};

}  // namespace ehp
