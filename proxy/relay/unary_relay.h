// Relays one unary call: read the client's request, classify it (read, write, ...), send it to
// the member the routing picks as a unary call, send the answer back with the member's metadata
// and status. A failed attempt goes to another member when the retry policy says it provably had
// no effect (or is a read) and the retry budget allows it. A linearizable read that has no answer
// after the hedge delay is also sent to a second member (a hedge); the first answer wins and the
// other copy is cancelled.
//
// Lifetime: the client's call is finished only once no attempt is in flight (a hedge about to be
// sent counts), so no callback can reach this object after OnDone deleted it.
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

class UnaryRelay final : public grpc::ServerGenericBidiReactor {
 public:
  UnaryRelay(grpc::CallbackServerContext* server_context, std::string method,
             const RelayContext& relay);

  // grpc::ServerGenericBidiReactor
  void OnReadDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  // One copy of the call, sent to one member.
  struct Attempt final : public MovableCall {
    Attempt(UnaryRelay* relay, std::shared_ptr<Member> member, bool hedge)
        : relay(relay), member(std::move(member)), hedge(hedge) {}
    // MovableCall: the member was evicted while this read was on it.
    void MoveOff() override { relay->MoveOff(this); }
    std::function<void()> DueForHedge(std::chrono::steady_clock::time_point now,
                                      std::chrono::microseconds delay) override {
      return relay->DueForHedge(this, now, delay);
    }

    UnaryRelay* const relay;
    const std::shared_ptr<Member> member;
    const bool hedge;  // sent by the hedge timer, next to a slow first copy
    const std::chrono::steady_clock::time_point sent = std::chrono::steady_clock::now();
    std::shared_ptr<grpc::ClientContext> call;
    grpc::ByteBuffer response;
    bool sent_hasleader = false;  // it carries "hasleader: true"
    bool movable = false;         // registered with its member
    bool moved_off = false;       // guarded by mu_: MoveOff() cancelled it
    bool done = false;            // guarded by mu_: its answer arrived
  };

  // A usable member this call has not tried yet; nullptr when none is left. Requires mu_.
  std::shared_ptr<Member> PickUntriedLocked() const;
  // Sends the call to a member, or holds it while none can take it. No attempt is in flight.
  void SendToMember();
  // No member can take the call now: hold it for one, or finish with `failure`.
  void WaitOrFail(const grpc::Status& failure);
  // Starts an attempt on `member`; the caller counted it in in_flight_ already, so the answer
  // cannot go out (and this object go away) before the attempt is registered.
  void SendTo(std::shared_ptr<Member> member, bool hedge);
  void OnAttemptDone(Attempt* attempt, const grpc::Status& status);
  std::function<void()> DueForHedge(Attempt* attempt, std::chrono::steady_clock::time_point now,
                                    std::chrono::microseconds delay);
  void MoveOff(Attempt* attempt);
  // Decides the client's answer: `status`, with `from`'s response and metadata when given.
  // Cancels the other attempts; the answer goes out once none is in flight. Requires mu_.
  void FinishLocked(const grpc::Status& status, Attempt* from);
  // Marks the answer for sending once none is in flight; Locked sends it.
  void MaybeSendAnswerLocked();
  void SendAnswer();

  // Holds mu_ and, when released, sends the answer if one was decided meanwhile. Finish() must
  // not run under mu_: OnDone may delete this object on another thread as soon as it is called,
  // and the unlock would then touch freed memory.
  class Locked {
   public:
    explicit Locked(UnaryRelay* relay) : relay_(relay), lock_(relay->mu_) {}
    ~Locked();

   private:
    UnaryRelay* const relay_;
    std::unique_lock<std::mutex> lock_;
  };

  grpc::CallbackServerContext* const server_context_;
  const std::string method_;
  const RelayContext relay_;
  const std::shared_ptr<const UpstreamPool> upstream_ = relay_.upstreams->Get();
  const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  grpc::ByteBuffer request_;
  CallClass class_;
  bool hedgeable_ = false;      // a linearizable read, and hedging is on
  bool despite_stall_ = false;  // waited out a stalled quorum: send even if it persists
  CallHold hold_{relay_, upstream_->leaderless_wait()};

  std::mutex mu_;
  std::vector<std::unique_ptr<Attempt>> attempts_;  // guarded by mu_; kept to the end
  std::vector<std::shared_ptr<Member>> tried_;      // guarded by mu_: since the call last waited
  const Member* last_member_ = nullptr;             // guarded by mu_: of the latest attempt
  int in_flight_ = 0;                               // guarded by mu_
  bool cancelled_ = false;                          // guarded by mu_: the client cancelled
  bool hedged_ = false;                             // guarded by mu_: the hedge was decided
  bool hedge_sent_ = false;                         // guarded by mu_: and sent
  bool finishing_ = false;                          // guarded by mu_: the answer is decided
  bool answered_ = false;                           // guarded by mu_: the answer is due
  bool send_answer_ = false;                        // guarded by mu_: and Locked sends it
  grpc::Status answer_status_;                      // guarded by mu_
  Attempt* answer_from_ = nullptr;                  // guarded by mu_
};

}  // namespace ehp
