// Relays one unary call: read the client's request, classify it (read, write, ...), send it to
// the member the routing picks as a unary call, send the answer back with the member's metadata
// and status. A failed attempt goes to another member when the retry policy says it provably had
// no effect (or is a read) and the retry budget allows it.
#pragma once

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/support/byte_buffer.h>

#include <memory>
#include <mutex>
#include <vector>

#include "proxy/relay/call_hold.h"
#include "proxy/relay/relay_context.h"
#include "proxy/routing/call_class.h"

namespace ehp {

class UnaryRelay final : public grpc::ServerGenericBidiReactor, public MovableCall {
 public:
  UnaryRelay(grpc::CallbackServerContext* server_context, std::string method,
             const RelayContext& relay);

  // grpc::ServerGenericBidiReactor
  void OnReadDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

  // MovableCall: the member was evicted while this read was on it.
  void MoveOff() override;

 private:
  // A usable member this call has not tried yet; nullptr when none is left.
  std::shared_ptr<Member> PickUntried() const;
  // Sends the call to a member, or holds it while none can take it.
  void SendToMember();
  // No member can take the call now: hold it for one, or finish with `failure`.
  void WaitOrFail(const grpc::Status& failure);
  void SendTo(std::shared_ptr<Member> member);
  void OnMemberDone(const grpc::Status& status);
  // Finish() that also counts the call.
  void FinishCall(const grpc::Status& status, bool with_response);

  grpc::CallbackServerContext* const server_context_;
  const std::string method_;
  const RelayContext relay_;
  const std::shared_ptr<const UpstreamPool> upstream_ = relay_.upstreams->Get();
  const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  CallClass class_;
  bool sent_hasleader_ = false;
  bool despite_stall_ = false;  // waited out a stalled quorum: send even if it persists  // the
                                // current attempt carries "hasleader: true"

  std::mutex mu_;
  std::unique_ptr<grpc::ClientContext> call_;   // guarded by mu_; the current attempt
  std::vector<std::shared_ptr<Member>> tried_;  // members tried since the call last waited
  std::shared_ptr<Member> member_;              // of the current (last) attempt
  CallHold hold_{relay_, upstream_->leaderless_wait()};
  bool cancelled_ = false;  // guarded by mu_
  bool moved_off_ = false;  // guarded by mu_: MoveOff() cancelled the attempt
  bool movable_ = false;    // the attempt is registered with its member
};

}  // namespace ehp
