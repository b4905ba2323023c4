// The streams in flight, so that shutdown can end each of them with UNAVAILABLE (clients then
// reconnect elsewhere) instead of waiting for streams that may live for hours, and so that an
// evicted or drained member's streams can be moved: ended with a resumable error, spread over a
// window so their clients do not reconnect as one herd.
#pragma once

#include <grpcpp/support/status.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "proxy/core/job_group.h"

namespace ehp {

class AbortableStream {
 public:
  virtual ~AbortableStream() = default;
  // Ends the stream towards the client with `status` and cancels it towards the member.
  virtual void Abort(const grpc::Status& status) = 0;
  // Moves the stream off its member without ending it (a watch resumed on another member);
  // false when it cannot, and is to be aborted instead.
  virtual bool Move() { return false; }
  // What an eviction does to the stream: moves it, or, when it cannot move, aborts it with
  // `status`.
  virtual void MoveOrAbort(const grpc::Status& status) {
    if (!Move()) Abort(status);
  }
  // The member the stream is relayed to.
  virtual const std::string& member_name() const = 0;
};

class StreamRegistry {
 public:
  // At most `max_streams` streams are registered at once (--max-streams). A spread close runs
  // as jobs on `scheduler`.
  explicit StreamRegistry(std::shared_ptr<Scheduler> scheduler, size_t max_streams = SIZE_MAX);

  static constexpr uint64_t kClosing = 0;
  static constexpr uint64_t kFull = UINT64_MAX;
  // An id for Remove(); kClosing once closing, kFull at max_streams: the caller must refuse the
  // stream.
  uint64_t Add(AbortableStream* stream);
  size_t max_streams() const { return max_streams_; }
  // Must be called before the stream is destroyed.
  void Remove(uint64_t id);
  // The stream `id` is now relayed to `member`.
  void SetMember(uint64_t id, const std::string& member);
  // Refuses new streams from now on and aborts every registered one.
  void CloseAll(const grpc::Status& status);
  // Moves (or, when they cannot move, aborts) the streams relayed to one member, evenly over
  // `window` (at once when zero); returns how many. A stream that ends on its own or is on
  // another member by its turn is left alone.
  size_t CloseMember(const std::string& member, const grpc::Status& status,
                     std::chrono::milliseconds window = std::chrono::milliseconds(0));
  size_t size() const;
  // Waits until every stream has removed itself (its member call is over too), at most
  // `timeout`; false if some are left. The owner calls it before it is destroyed.
  bool WaitUntilEmpty(std::chrono::milliseconds timeout);
  std::map<std::string, size_t> CountByMember() const;

 private:
  struct Entry {
    AbortableStream* stream;
    std::string member;
  };
  // A job of a spread close: moves or aborts stream `id` if it is still on `member`.
  void CloseOne(uint64_t id, const std::string& member, const grpc::Status& status);

  const size_t max_streams_;
  mutable std::mutex mu_;
  std::condition_variable emptied_;
  std::map<uint64_t, Entry> streams_;  // guarded by mu_; in the order they opened
  uint64_t next_id_ = 1;               // guarded by mu_
  bool closing_ = false;               // guarded by mu_
  JobGroup jobs_;                      // the spread closes; last: closed before what they use
};

}  // namespace ehp
