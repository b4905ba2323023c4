// Cancels calls to members, but never sooner than kMinAge after they started. gRPC 1.51 sends
// RST_STREAM for a call cancelled after its stream id was taken but before its HEADERS went out;
// etcd's TLS listener (Go's HTTP/2 server) treats RST_STREAM on a stream it never saw as a
// protocol error: GOAWAY PROTOCOL_ERROR, and the connection closes with every call on it, the
// writes among them failing ambiguously. A call this young is cancelled a little later instead.
#pragma once

#include <grpcpp/client_context.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

namespace ehp {

class CancelQueue {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds kMinAge{100};

  CancelQueue() = default;
  // Cancels whatever is still waiting, at once.
  ~CancelQueue();
  CancelQueue(const CancelQueue&) = delete;
  CancelQueue& operator=(const CancelQueue&) = delete;

  // Cancels `call` (started at `started`) now, or at started + kMinAge; the queue keeps the
  // context alive until then (cancelling a call that has ended is harmless).
  void Cancel(std::shared_ptr<grpc::ClientContext> call, Clock::time_point started);

  size_t waiting() const;

 private:
  void Loop();

  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::multimap<Clock::time_point, std::shared_ptr<grpc::ClientContext>> due_;  // guarded by mu_
  bool stopping_ = false;                                                       // guarded by mu_
  std::thread thread_;  // started with the first deferred cancel
};

// The context of a call to a member on behalf of a client's call: the client's deadline, and no
// automatic cancellation (the relay cancels through a CancelQueue when the client does).
std::shared_ptr<grpc::ClientContext> MemberCallContext(const grpc::CallbackServerContext& client);

}  // namespace ehp
