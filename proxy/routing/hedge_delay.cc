#include "proxy/routing/hedge_delay.h"

#include <algorithm>
#include <limits>

namespace ehp {

HedgeDelay::HedgeDelay(std::chrono::milliseconds fixed, std::chrono::milliseconds floor)
    : fixed_(fixed), floor_(floor) {
  const std::chrono::microseconds start =
      fixed > std::chrono::milliseconds(0)
          ? std::chrono::microseconds(fixed)
          : std::max<std::chrono::microseconds>(kStartDelay, floor_);
  current_us_.store(start.count(), std::memory_order_relaxed);
}

void HedgeDelay::Observe(std::chrono::microseconds latency) {
  if (fixed_.count() >= 0) return;  // fixed or off: nothing to learn
  std::unique_lock lock(mu_, std::try_to_lock);
  if (!lock.owns_lock()) return;
  const int64_t us = std::clamp<int64_t>(latency.count(), 0, std::numeric_limits<uint32_t>::max());
  ring_[count_ % ring_.size()] = static_cast<uint32_t>(us);
  ++count_;
  // Every 64 samples: cheap enough (a partial sort of at most 512 numbers) and quick to follow a
  // change in the cluster's latency.
  if (count_ >= kMinSamples && count_ % 64 == 0) Recompute();
}

void HedgeDelay::Recompute() {
  const size_t n = std::min(count_, ring_.size());
  std::array<uint32_t, 512> copy;
  std::copy_n(ring_.begin(), n, copy.begin());
  const size_t k = n * 95 / 100;
  std::nth_element(copy.begin(), copy.begin() + static_cast<std::ptrdiff_t>(k),
                   copy.begin() + static_cast<std::ptrdiff_t>(n));
  const int64_t p95 = std::min<int64_t>(copy[k], std::chrono::microseconds(kMaxAdaptive).count());
  current_us_.store(std::max<int64_t>(p95, floor_.count()), std::memory_order_relaxed);
}

}  // namespace ehp
