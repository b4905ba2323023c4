// The streams in flight, so that shutdown can end each of them with UNAVAILABLE (clients then
// reconnect elsewhere) instead of waiting for streams that may live for hours.
#pragma once

#include <grpcpp/support/status.h>

#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

namespace ehp {

class AbortableStream {
 public:
  virtual ~AbortableStream() = default;
  // Ends the stream towards the client with `status` and cancels it towards the member.
  virtual void Abort(const grpc::Status& status) = 0;
  // The member the stream is relayed to.
  virtual const std::string& member_name() const = 0;
};

class StreamRegistry {
 public:
  // False once closing: the caller must refuse the stream.
  bool Add(AbortableStream* stream);
  // Must be called before the stream is destroyed.
  void Remove(AbortableStream* stream);
  // Refuses new streams from now on and aborts every registered one.
  void CloseAll(const grpc::Status& status);
  // Aborts the streams relayed to one member (drain); returns how many.
  size_t CloseMember(const std::string& member, const grpc::Status& status);
  size_t size() const;
  std::map<std::string, size_t> CountByMember() const;

 private:
  mutable std::mutex mu_;
  std::unordered_map<AbortableStream*, std::string> streams_;  // guarded by mu_
  bool closing_ = false;                                       // guarded by mu_
};

}  // namespace ehp
