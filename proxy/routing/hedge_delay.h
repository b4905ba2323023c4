// How long a linearizable read waits for its member before a second copy goes to another one
// (a hedged read). Adaptive by default: the 95th percentile of recent successful reads, never
// below a floor, so only the slowest few percent are hedged and a member that stops answering
// (frozen, cut off, stalled on disk) costs a read that long rather than its whole deadline.
// Capped at kMaxAdaptive: the reads of an incident (seconds each during an election) must not
// leave the next incident unhedged.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>

namespace ehp {

class HedgeDelay {
 public:
  // fixed > 0: always that; fixed == 0: hedging is off; fixed < 0: adaptive, at least `floor`.
  HedgeDelay(std::chrono::milliseconds fixed, std::chrono::milliseconds floor);

  bool enabled() const { return fixed_.count() != 0; }
  // The delay for a read starting now.
  std::chrono::microseconds Get() const {
    return std::chrono::microseconds(current_us_.load(std::memory_order_relaxed));
  }
  // A successful read took `latency`. Samples that would wait for the lock are dropped: this
  // runs on the call path and a sample of the latencies is enough.
  void Observe(std::chrono::microseconds latency);

  // Samples before the adaptive delay replaces its starting value (kStartDelay, or the floor
  // when that is higher).
  static constexpr size_t kMinSamples = 64;
  static constexpr std::chrono::milliseconds kStartDelay{100};
  static constexpr std::chrono::milliseconds kMaxAdaptive{250};

 private:
  void Recompute();  // requires mu_

  const std::chrono::milliseconds fixed_;
  const std::chrono::microseconds floor_;
  std::atomic<int64_t> current_us_;
  std::mutex mu_;
  std::array<uint32_t, 512> ring_{};  // guarded by mu_: the last latencies, in microseconds
  size_t count_ = 0;                  // guarded by mu_: samples ever observed
};

}  // namespace ehp
