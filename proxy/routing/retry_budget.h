// Caps retries at a share of the calls, so a sick cluster is not hammered by the proxy's own
// retries: each call earns `ratio` of a retry, each retry spends one, and a small floor per
// second lets a quiet proxy still retry. Thread-safe; time is passed in, so tests drive it.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>

namespace ehp {

class RetryBudget {
 public:
  using Clock = std::chrono::steady_clock;

  // `ratio`: retries allowed per call (0.1 = 10% extra load). `per_second`: retries allowed per
  // second whatever the traffic. `burst`: the most that can be saved up.
  RetryBudget(double ratio, double per_second = 10, double burst = 100);

  // Called once per call (not per attempt).
  void OnCall() { calls_.fetch_add(1, std::memory_order_relaxed); }

  // Spends one retry; false when the budget is exhausted.
  bool TrySpend(Clock::time_point now);

 private:
  const double ratio_, per_second_, burst_;
  std::atomic<uint64_t> calls_{0};
  std::mutex mu_;
  double tokens_;                  // guarded by mu_
  uint64_t calls_seen_ = 0;        // guarded by mu_
  Clock::time_point last_refill_;  // guarded by mu_
  bool started_ = false;           // guarded by mu_
};

}  // namespace ehp
