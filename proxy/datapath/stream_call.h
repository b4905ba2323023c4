// A streaming call relayed by the data path itself (Watch, LeaseKeepAlive, Snapshot, election
// Observe, KV.RangeStream, and any method not known as unary): the client's stream paired with
// one member stream at a time, data passed both ways with flow control (what one side sent is
// consumed, letting it send more, once the other side's queue is short), the member's response
// headers and trailers passed on as they came.
//
// It waits (held, like a unary call) while no member can take it. When its member is evicted or
// drained, the StreamRegistry ends it with UNAVAILABLE, spread over stream-close-window with the
// member's other streams, so that its client re-opens it elsewhere. A Watch moves instead: a
// WatchFilter follows its watchers, and the stream is opened on another member with every
// watcher re-created from the revision after the last one delivered; the client sees no break.
// A Watch the member ends with UNAVAILABLE ("no leader", a lost connection) moves the same way.
//
// Lifetime and threads: created on the client's request, on its connection's I/O thread, which
// runs everything of it; deletes itself once the client's stream and its member stream are
// closed. The registry reaches it from other threads only by posting onto that thread.
#pragma once

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "proxy/core/block_pool.h"
#include "proxy/datapath/watch_filter.h"
#include "proxy/h2/grpc_framing.h"
#include "proxy/h2/stream.h"
#include "proxy/relay/relay_context.h"
#include "proxy/routing/call_plan.h"

namespace ehp {

class PoolRouter;
class Worker;

class StreamCall final : public StreamHandler, public AbortableStream {
 public:
  EHP_POOLED_NEW

  // `headers`: the client's request headers; `method`: their :path.
  static void Start(Worker& worker, const RelayContext& relay, H2Stream& client, HeaderList headers,
                    std::string method, bool end_stream);

  // StreamHandler: the client's stream and the member stream report here.
  void OnHeaders(H2Stream& stream, HeaderList headers, HeadersKind kind, bool end_stream) override;
  void OnData(H2Stream& stream, const uint8_t* data, size_t len) override;
  void OnEnd(H2Stream& stream) override;
  void OnSent(H2Stream& stream, size_t bytes) override;
  void OnClose(H2Stream& stream, uint32_t error_code) override;

  // AbortableStream, from any thread: the work is posted onto the call's thread.
  void Abort(const grpc::Status& status) override;
  void MoveOrAbort(const grpc::Status& status) override;
  const std::string& member_name() const override { return member_name_; }

 private:
  using Clock = std::chrono::steady_clock;

  StreamCall(Worker& worker, const RelayContext& relay, H2Stream& client, HeaderList headers,
             std::string method);
  ~StreamCall() override;

  // Opens the stream on a member that can take it, another than `avoid` if there is one, or
  // holds it until one can (`max_wait` at most).
  void Connect(const Member* avoid, std::chrono::milliseconds max_wait);
  void Execute(CallPlan::Step step);
  void Open(std::shared_ptr<Member> member);
  // A watch response said how current the member is: reports its delivery delay to the member
  // (against the revision timeline the health checker publishes).
  void MeasureWatchDelay(const WatchTracker::Delivery& delivery);
  // Passes what waits for the member stream to it.
  void PumpToMember();
  // Consumes what each side sent once the other side's queue is short (flow control).
  void Settle();

  // The member stream ended with `trailers` (or a status of the proxy's own, when it broke off).
  void MemberEnded(HeaderList trailers);
  // Moves a Watch to another member; false when it cannot (the caller ends it instead).
  bool Resume(const char* cause);
  // Leaves the member stream: reset unless over; its events no longer reach this call.
  void Detach();
  // Ends the client's side with a status of the proxy's own.
  void EndClient(int code, const std::string& message);
  void Finished(int code);
  void MaybeDelete();

  Worker& worker_;
  const RelayContext& relay_;
  const std::shared_ptr<const UpstreamPool> pool_;
  const std::string method_;
  const CallClass class_;
  const Clock::time_point start_ = Clock::now();
  std::optional<Clock::time_point> deadline_;
  H2Stream* client_;
  HeaderList headers_;
  std::unique_ptr<WatchFilter> watch_;  // a Watch: its messages are followed

  std::shared_ptr<Member> member_;  // the member it is (or was last) relayed to
  std::string member_name_;
  H2Stream* upstream_ = nullptr;
  uint64_t registry_id_ = 0;  // 0: not registered

  // While it looks for a member.
  std::unique_ptr<PoolRouter> router_;
  std::optional<CallPlan> plan_;
  std::optional<boost::asio::steady_timer> hold_timer_;

  std::string resend_;                // a Watch's re-creations, for the member it moves to
  std::string to_member_;             // client bytes not given to a member yet
  GrpcMessageSizer to_member_sizer_;  // max-recv-bytes (streams other than Watch)
  GrpcMessageSizer to_client_sizer_;  // max-send-bytes (streams other than Watch)
  size_t client_owed_ = 0;            // client bytes passed on and not consumed yet
  size_t member_owed_ = 0;            // member bytes passed on and not consumed yet
  bool client_ended_ = false;         // the client half-closed
  bool response_started_ = false;     // response headers went to the client
  bool answered_ = false;             // the client's side is ended (or the client is gone)
  bool recorded_ = false;
  // Moves within kResumeWindow (a stream failing on every member is ended after a few).
  Clock::time_point resumes_since_{};
  int recent_resumes_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ehp
