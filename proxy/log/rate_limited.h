// A log line that may be written at most once per interval, with the count of the ones held
// back, so a flood of refused connections or calls cannot flood the log too.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace ehp {

class RateLimitedLog {
 public:
  explicit RateLimitedLog(std::chrono::milliseconds interval = std::chrono::seconds(10))
      : interval_ns_(std::chrono::nanoseconds(interval).count()) {}

  // True when this occurrence is to be logged; then *suppressed is how many were held back
  // since the previous logged one.
  bool ShouldLog(std::chrono::steady_clock::time_point now, uint64_t* suppressed) {
    const int64_t t = now.time_since_epoch().count();
    int64_t next = next_ns_.load(std::memory_order_relaxed);
    if (t >= next && next_ns_.compare_exchange_strong(next, t + interval_ns_)) {
      *suppressed = held_.exchange(0, std::memory_order_relaxed);
      return true;
    }
    held_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }

 private:
  const int64_t interval_ns_;
  std::atomic<int64_t> next_ns_{INT64_MIN};
  std::atomic<uint64_t> held_{0};
};

// " (12 more not logged)" after a line that held others back; empty otherwise.
inline std::string SuppressedNote(uint64_t suppressed) {
  return suppressed == 0 ? std::string() : " (" + std::to_string(suppressed) + " more not logged)";
}

}  // namespace ehp
