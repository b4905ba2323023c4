// A Scheduler on a clock of the test's own: nothing runs until the test advances time, then the
// jobs due run on the test's thread, in time order, each with the clock set to its due time.
#pragma once

#include <map>
#include <mutex>
#include <utility>

#include "proxy/core/scheduler.h"

namespace ehp::testing {

class FakeScheduler final : public Scheduler {
 public:
  // Starts at an arbitrary, fixed point (never the epoch: code may treat that as "never").
  FakeScheduler() : now_(TimePoint() + std::chrono::hours(1000)) {}

  TimePoint Now() const override {
    std::lock_guard lock(mu_);
    return now_;
  }
  JobId At(TimePoint when, Job job) override {
    std::lock_guard lock(mu_);
    const JobId id = next_id_++;
    jobs_.emplace(std::make_pair(std::max(when, now_), id), std::move(job));
    return id;
  }
  void Cancel(JobId id) override {
    std::lock_guard lock(mu_);
    for (auto it = jobs_.begin(); it != jobs_.end(); ++it) {
      if (it->first.second == id) {
        jobs_.erase(it);
        return;
      }
    }
  }

  // Runs every job due up to now + `delay` (jobs they add included), then sets the clock there.
  // Returns how many ran.
  int Advance(Clock::duration delay) {
    const TimePoint until = Now() + delay;
    int ran = 0;
    for (;;) {
      Job job;
      {
        std::lock_guard lock(mu_);
        if (jobs_.empty() || jobs_.begin()->first.first > until) {
          now_ = until;
          return ran;
        }
        auto node = jobs_.extract(jobs_.begin());
        now_ = node.key().first;
        job = std::move(node.mapped());
      }
      job();
      ++ran;
    }
  }
  // Runs what is due now.
  int RunDue() { return Advance(Clock::duration::zero()); }

  size_t pending() const {
    std::lock_guard lock(mu_);
    return jobs_.size();
  }
  // When the next job is due; TimePoint::max() when none is queued.
  TimePoint next_due() const {
    std::lock_guard lock(mu_);
    return jobs_.empty() ? TimePoint::max() : jobs_.begin()->first.first;
  }

 private:
  mutable std::mutex mu_;
  TimePoint now_;                                    // guarded by mu_
  std::map<std::pair<TimePoint, JobId>, Job> jobs_;  // guarded by mu_
  JobId next_id_ = 1;                                // guarded by mu_
};

}  // namespace ehp::testing
