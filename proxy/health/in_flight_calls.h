// The asynchronous gRPC calls an object has in flight, so that it can end them before it goes:
// a callback call must finish before the channel and stubs it was started on are destroyed
// (gRPC 1.51 frees its completion queue twice otherwise).
#pragma once

#include <grpcpp/client_context.h>

#include <algorithm>
#include <condition_variable>
#include <initializer_list>
#include <mutex>
#include <vector>

namespace ehp {

class InFlightCalls {
 public:
  // A call starts with these contexts; false (start nothing) once closing.
  bool Begin(std::initializer_list<grpc::ClientContext*> contexts) {
    std::lock_guard lock(mu_);
    if (closing_) return false;
    contexts_.insert(contexts_.end(), contexts);
    ++calls_;
    return true;
  }
  // The call is over: first its contexts are forgotten (before they are destroyed), then,
  // once nothing of the call is left, it is counted out.
  void Forget(std::initializer_list<grpc::ClientContext*> contexts) {
    std::lock_guard lock(mu_);
    for (grpc::ClientContext* c : contexts) std::erase(contexts_, c);
  }
  void End() {
    std::lock_guard lock(mu_);
    --calls_;
    idle_.notify_all();  // under the lock: the waiter may destroy this object once it wakes
  }
  // Cancels every call in flight and waits until each has ended; no call starts after it.
  void CancelAndWait() {
    std::unique_lock lock(mu_);
    closing_ = true;
    for (grpc::ClientContext* c : contexts_) c->TryCancel();
    idle_.wait(lock, [this] { return calls_ == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable idle_;
  std::vector<grpc::ClientContext*> contexts_;  // guarded by mu_
  int calls_ = 0;                               // guarded by mu_
  bool closing_ = false;                        // guarded by mu_
};

}  // namespace ehp
