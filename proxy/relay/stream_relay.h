// Relays one streaming call (Watch, LeaseKeepAlive, Snapshot, or any method not known to be
// unary) between the client and one member, with back-pressure: at most one read and one write
// outstanding in each direction, so a slow reader on either side slows the other instead of
// making the proxy buffer.
//
// Lifetime: the object owns both halves and deletes itself when both the server reactor's and
// the member call's OnDone have run. Because reads and writes on the member call are started from
// the server reactor's callbacks, two holds (one per direction) keep the member call open until
// each direction is finished with it.
#pragma once

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/client_callback.h>

#include <atomic>
#include <memory>
#include <mutex>

#include "proxy/relay/call_hold.h"
#include "proxy/relay/relay_context.h"
#include "proxy/routing/call_class.h"

namespace ehp {

class StreamRelay final : public grpc::ServerGenericBidiReactor, public AbortableStream {
 public:
  StreamRelay(grpc::CallbackServerContext* server_context, std::string method,
              const RelayContext& relay);

  // grpc::ServerGenericBidiReactor: the client's side.
  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnSendInitialMetadataDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

  // AbortableStream
  void Abort(const grpc::Status& status) override;
  const std::string& member_name() const override { return member_->name(); }

 private:
  // The member's side.
  class MemberCall final : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
   public:
    explicit MemberCall(StreamRelay* relay) : relay_(relay) {}
    void OnReadInitialMetadataDone(bool ok) override { relay_->OnMemberInitialMetadata(ok); }
    void OnReadDone(bool ok) override { relay_->OnMemberReadDone(ok); }
    void OnWriteDone(bool ok) override { relay_->OnMemberWriteDone(ok); }
    void OnDone(const grpc::Status& status) override { relay_->OnMemberDone(status); }

   private:
    StreamRelay* const relay_;
  };

  // Picks a member and starts the member call, or holds the stream while none can take it.
  void Begin();
  // Finishes the client's call before any member call was started.
  void FailBeforeStart(const grpc::Status& status);
  // Cancels the member call (never sooner than CancelQueue::kMinAge after it started).
  void CancelMemberCall();

  void OnMemberInitialMetadata(bool ok);
  void OnMemberReadDone(bool ok);
  void OnMemberWriteDone(bool ok);
  void OnMemberDone(const grpc::Status& status);
  // The member's final status as the client should see it.
  grpc::Status ForClient(const grpc::Status& status) const;

  // Each direction releases its hold on the member call exactly once.
  void EndClientToMember();  // no more writes to the member
  void EndMemberToClient();  // no more reads from the member
  // Starts writing to_client_ to the client, or ends that direction if the call is over.
  void WriteToClientLocked();
  // Finishes the client's call once; later calls are no-ops. Requires mu_.
  void FinishLocked(const grpc::Status& status);
  void Unref();

  grpc::CallbackServerContext* const server_context_;
  const std::string method_;
  const RelayContext relay_;
  const std::shared_ptr<const UpstreamPool> upstream_ = relay_.upstreams->Get();
  const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::shared_ptr<Member> member_;
  std::shared_ptr<grpc::ClientContext> call_;
  std::chrono::steady_clock::time_point call_started_;
  MemberCall member_call_{this};
  uint64_t registry_id_ = 0;  // 0: not registered
  bool member_call_started_ = false;

  grpc::ByteBuffer to_member_;  // one message in flight client -> member
  grpc::ByteBuffer to_client_;  // one message in flight member -> client

  std::mutex mu_;
  enum class Headers { kWaiting, kSending, kSent };
  Headers headers_ = Headers::kWaiting;  // guarded by mu_: the client's initial metadata
  bool write_pending_ = false;           // guarded by mu_: to_client_ waits for the headers
  bool finished_ = false;                // guarded by mu_: Finish() was called
  bool cancelled_ = false;               // guarded by mu_: OnCancel() ran
  CallHold hold_{relay_, upstream_->leaderless_wait()};
  std::atomic<bool> client_to_member_ended_{false};
  std::atomic<bool> member_to_client_ended_{false};
  std::atomic<int> refs_{2};  // the two OnDone callbacks
};

}  // namespace ehp
