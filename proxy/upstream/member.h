// One etcd member: its address and zone, and what the data path's calls and the routing share
// about it (load, write progress, whether its connections come up).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "proxy/config/address.h"
#include "proxy/routing/write_progress.h"

namespace ehp {

class Member {
 public:
  Member(std::string name, MemberUrl url, std::string zone)
      : name_(std::move(name)), url_(std::move(url)), zone_(std::move(zone)) {}

  const std::string& name() const { return name_; }  // its host:port (its URL's authority)
  const MemberUrl& url() const { return url_; }
  const std::string& zone() const { return zone_; }  // empty when not configured

  // False while an I/O thread of the data path cannot connect to it: a call sent now would
  // fail before reaching the member.
  bool Reachable() const { return failing_links_.load(std::memory_order_relaxed) == 0; }
  // One I/O thread's connections to the member started (or stopped) failing.
  void LinksFailing(bool failing) {
    failing_links_.fetch_add(failing ? 1 : -1, std::memory_order_relaxed);
  }
  // A data connection to the member was established (+1) or closed (-1).
  void ConnectionUp(int delta) { connections_.fetch_add(delta, std::memory_order_relaxed); }
  // Data connections established right now, over all I/O threads.
  int ReadyConnections() const { return connections_.load(std::memory_order_relaxed); }

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

  // Watch delivery delay: how long a revision had existed in the cluster when a watch stream on
  // the member delivered it. I/O threads report each measurement; the probe loop takes the
  // largest since its previous round (nullopt: none measured).
  void ObserveWatchDelay(std::chrono::microseconds delay) {
    const int64_t us = delay.count();
    int64_t seen = watch_delay_us_.load(std::memory_order_relaxed);
    while (us > seen &&
           !watch_delay_us_.compare_exchange_weak(seen, us, std::memory_order_relaxed)) {
    }
  }
  std::optional<std::chrono::microseconds> TakeWatchDelay() {
    const int64_t us = watch_delay_us_.exchange(-1, std::memory_order_relaxed);
    if (us < 0) return std::nullopt;
    return std::chrono::microseconds(us);
  }

  // Whether writes sent to the member are being answered (see WriteProgress).
  WriteProgress& writes() { return writes_; }
  const WriteProgress& writes() const { return writes_; }

 private:
  const std::string name_;
  const MemberUrl url_;
  const std::string zone_;
  std::atomic<int64_t> load_{0};
  std::atomic<int64_t> unary_{0};
  std::atomic<int> failing_links_{0};
  std::atomic<int> connections_{0};
  std::atomic<int64_t> watch_delay_us_{-1};  // -1: none since the last TakeWatchDelay
  WriteProgress writes_;
};

}  // namespace ehp
