// One unary call relayed by the data path itself: the client's request is kept whole until a
// member's answer is known, so a copy that provably had no effect (refused before its
// handler ran, never sent, refused by the member's HTTP/2 layer) can go to another member; a
// slow linearizable read gets a second copy (hedge); the call waits while no member can take it.
// CallPlan decides all of that; this class does what it says over HTTP/2 streams.
//
// A member's answer is known at its first message, or at its status when it sends none: a
// trailers-only answer, or response HEADERS and then trailers with no DATA between them (how
// etcd's TLS listener, Go's net/http server, sends every error). The answer is committed once
// it is known and is not an error to retry: from then on the member's data and trailers pass
// to the client as they come, with flow control.
//
// Lifetime: created on the client's request, on its connection's thread; deletes itself once
// the client's stream and every member stream it opened are closed.
#pragma once

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/container/small_vector.hpp>

#include "proxy/core/block_pool.h"
#include "proxy/core/intrusive_list.h"
#include "proxy/datapath/pool_router.h"
#include "proxy/h2/grpc_framing.h"
#include "proxy/h2/stream.h"
#include "proxy/relay/relay_context.h"
#include "proxy/routing/call_plan.h"

namespace ehp {

class Worker;

class UnaryCall final : public StreamHandler {
 public:
  EHP_POOLED_NEW

  // `headers`: the client's request headers; `method`: their :path, as the method table keeps it
  // (it outlives every call).
  static void Start(Worker& worker, const RelayContext& relay, H2Stream& client, HeaderList headers,
                    const std::string& method, bool end_stream);

  // One copy of the call on one member, listed by the worker while in flight (so an eviction can
  // move it, and a hedge find it).
  struct Attempt {
    UnaryCall* call = nullptr;
    int index = 0;
    std::shared_ptr<Member> member;
    H2Stream* stream = nullptr;
    std::chrono::steady_clock::time_point sent;
    bool hedge = false;
    bool sent_hasleader = false;
    bool ended = false;      // accounted as over on its member
    bool cancelled = false;  // reset by us (the answer came from elsewhere, or the client left)
    bool response = false;   // its response headers arrived
    bool decided = false;    // its answer is known (see above)
    bool trailers_only = false;
    bool complete = false;     // its trailers came before any message
    HeaderList headers;        // the response headers (or the trailers-only answer)
    HeaderList trailers;       // with `complete`
    ListNode movable{this};    // in the worker's list of reads on its member
    ListNode hedgeable{this};  // in the worker's list of reads that may get a hedge
  };

  // From the worker: its member was evicted.
  void MoveOff(Attempt& attempt);
  // From the worker: the attempt has waited a while; hedge it if the delay is up. True when it
  // needs no more checks.
  bool CheckHedge(Attempt& attempt, std::chrono::steady_clock::time_point now);

  // StreamHandler (the client's stream and every attempt's report here).
  void OnHeaders(H2Stream& stream, HeaderList headers, HeadersKind kind, bool end_stream) override;
  void OnData(H2Stream& stream, const uint8_t* data, size_t len) override;
  void OnEnd(H2Stream& stream) override;
  void OnSent(H2Stream& stream, size_t bytes) override;
  void OnClose(H2Stream& stream, uint32_t error_code) override;

 private:
  UnaryCall(Worker& worker, const RelayContext& relay, H2Stream& client, HeaderList headers,
            const std::string& method);
  ~UnaryCall() override;

  void Begin();
  void Execute(CallPlan::Step step);
  void Send(int index, std::shared_ptr<Member> member, bool hedge);
  // The attempt's answer is known: the plan decides what becomes of it.
  void Decide(Attempt& attempt);
  void Commit(Attempt& attempt);
  void FailWith(CallPlan::Failure failure);
  // Answers the client with an error of the proxy's own, trailers-only.
  void AnswerClient(int code, const std::string& message);
  void CancelOthers(const Attempt* keep);
  // The attempt is over on its member: load, write progress, the worker's lists.
  void EndAttempt(Attempt& attempt, int code);
  Attempt* AttemptOf(const H2Stream& stream);
  void Finished(int code, const Member* member);
  void MaybeDelete();

  Worker& worker_;
  const RelayContext& relay_;
  const std::shared_ptr<const UpstreamPool> pool_;
  const std::string& method_;
  const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  H2Stream* client_;
  HeaderList headers_;
  std::string request_;
  std::optional<std::chrono::steady_clock::time_point> deadline_;
  CallClass class_;
  bool hedgeable_ = false;
  std::optional<PoolRouter> router_;
  std::optional<CallPlan> plan_;
  // By index; the first lives in the call itself (most calls have no other).
  boost::container::small_vector<Attempt*, 2> attempts_;
  Attempt first_attempt_;
  std::vector<std::unique_ptr<Attempt>> more_attempts_;
  Attempt* committed_ = nullptr;
  bool answered_ = false;  // the client's answer is complete (or the client is gone)
  bool recorded_ = false;
  int answer_code_ = 0;
  GrpcMessageSizer sizer_;  // the committed response's messages, against max-send-bytes
  std::optional<boost::asio::steady_timer> hold_timer_;
  std::shared_ptr<bool> alive_;  // made with the first hold: its timer may fire after this is gone
};

}  // namespace ehp
