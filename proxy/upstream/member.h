// One etcd member and the pool of HTTP/2 connections the proxy keeps to it.
#pragma once

#include <grpcpp/channel.h>
#include <grpcpp/generic/generic_stub.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "proxy/config/address.h"
#include "proxy/routing/write_progress.h"

namespace ehp {

// A call in flight on a member that the proxy may cancel and send elsewhere (a read).
class MovableCall {
 public:
  virtual ~MovableCall() = default;
  // Cancels the attempt on this member; the call then retries on another one.
  virtual void MoveOff() = 0;
  // Asked every few milliseconds while the call waits on the member: a read that has waited
  // `delay` may send a second copy to another member. Returns what to run once the member's
  // lock is released (empty: nothing to do).
  virtual std::function<void()> DueForHedge(std::chrono::steady_clock::time_point now,
                                            std::chrono::microseconds delay) = 0;

 private:
  friend class Member;
  // Links in the member's list of calls (guarded by its lock): registering a read allocates
  // nothing.
  MovableCall* prev_ = nullptr;
  MovableCall* next_ = nullptr;
};

class Member {
 public:
  Member(std::string name, MemberUrl url, std::string zone,
         std::vector<std::shared_ptr<grpc::Channel>> channels);

  const std::string& name() const { return name_; }
  const MemberUrl& url() const { return url_; }
  const std::string& zone() const { return zone_; }  // empty when not configured

  // The stub for the next call: calls rotate over the member's connections.
  grpc::GenericStub& NextStub();

  // False when every connection is failing to connect (TRANSIENT_FAILURE), or an I/O thread of
  // the h2 data path cannot connect to it: a call sent now would fail before reaching the member.
  bool Reachable() const;
  // The h2 data path's connections of one thread to the member started (or stopped) failing.
  void LinksFailing(bool failing) {
    failing_links_.fetch_add(failing ? 1 : -1, std::memory_order_relaxed);
  }

  // Connections that are established right now (READY).
  int ReadyConnections() const;

  // Calls and streams outstanding on the member, for load-aware picking.
  int64_t load() const { return load_.load(std::memory_order_relaxed); }
  void AddLoad(int64_t delta) { load_.fetch_add(delta, std::memory_order_relaxed); }

  // A unary call starts on the member unless `max` are in flight already (--max-member-calls);
  // it then counts in load() too, until EndUnary().
  bool TryBeginUnary(int64_t max) {
    if (unary_.fetch_add(1, std::memory_order_relaxed) >= max) {
      unary_.fetch_sub(1, std::memory_order_relaxed);
      return false;
    }
    AddLoad(1);
    return true;
  }
  void EndUnary() {
    unary_.fetch_sub(1, std::memory_order_relaxed);
    AddLoad(-1);
  }

  // Whether writes sent to the member are being answered (see WriteProgress).
  WriteProgress& writes() { return writes_; }
  const WriteProgress& writes() const { return writes_; }

  // Reads in flight, so that an eviction can move them instead of letting them hang on a
  // member that will not answer (frozen, cut off). Remove() before the call is destroyed.
  void AddMovable(MovableCall* call);
  void RemoveMovable(MovableCall* call);
  // Calls MoveOff() on each registered call; returns how many.
  size_t MoveCallsOff();
  // Adds the hedges due on the member's registered calls to `due` (see DueForHedge).
  void CollectHedges(std::chrono::steady_clock::time_point now, std::chrono::microseconds delay,
                     std::vector<std::function<void()>>* due);

  // Starts connecting every idle connection, so the first calls do not pay for the handshake.
  void Connect();

 private:
  const std::string name_;
  const MemberUrl url_;
  const std::string zone_;
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::vector<std::unique_ptr<grpc::GenericStub>> stubs_;
  std::atomic<uint32_t> next_{0};
  std::atomic<int64_t> load_{0};
  std::atomic<int64_t> unary_{0};
  std::atomic<int> failing_links_{0};
  WriteProgress writes_;
  std::mutex movable_mu_;
  MovableCall* movable_ = nullptr;  // guarded by movable_mu_: head of the list
  size_t movable_count_ = 0;        // guarded by movable_mu_
};

}  // namespace ehp
