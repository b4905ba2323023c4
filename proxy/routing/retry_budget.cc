#include "proxy/routing/retry_budget.h"

#include <algorithm>

namespace ehp {

RetryBudget::RetryBudget(double ratio, double per_second, double burst)
    : ratio_(ratio), per_second_(per_second), burst_(burst), tokens_(std::min(burst, per_second)) {}

bool RetryBudget::TrySpend(Clock::time_point now) {
  std::lock_guard lock(mu_);
  // Credit for calls since the last spend, and for the time that passed.
  const uint64_t calls = calls_.load(std::memory_order_relaxed);
  tokens_ += static_cast<double>(calls - calls_seen_) * ratio_;
  calls_seen_ = calls;
  if (started_ && now > last_refill_) {
    tokens_ += std::chrono::duration<double>(now - last_refill_).count() * per_second_;
  }
  started_ = true;
  last_refill_ = now;
  tokens_ = std::min(tokens_, burst_);
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

}  // namespace ehp
