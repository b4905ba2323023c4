// Bounds the calls the proxy holds while no member can take them (an election, most often): a
// held call waits instead of failing, but waiting calls and their request bytes are capped, so
// a flood during an outage costs bounded memory and the excess fails at once.
#pragma once

#include <atomic>
#include <cstdint>

namespace ehp {

class CallHolder {
 public:
  CallHolder(int64_t max_calls, int64_t max_bytes) : max_calls_(max_calls), max_bytes_(max_bytes) {}

  // Takes a place for a call holding `bytes`; false when either bound would be exceeded.
  bool Admit(int64_t bytes);
  void Release(int64_t bytes);

  int64_t calls() const { return calls_.load(std::memory_order_relaxed); }
  int64_t bytes() const { return bytes_.load(std::memory_order_relaxed); }
  int64_t max_calls() const { return max_calls_; }
  int64_t max_bytes() const { return max_bytes_; }

 private:
  const int64_t max_calls_, max_bytes_;
  std::atomic<int64_t> calls_{0}, bytes_{0};
};

}  // namespace ehp
