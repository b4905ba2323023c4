// Time and timed jobs for every periodic loop (probe rounds, certificate checks, service
// notifications). Behind an interface so that tests drive those loops with a clock of their own
// (tests/fakes/fake_scheduler.h) instead of sleeping; the real one is ThreadScheduler.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

namespace ehp {

class Scheduler {
 public:
  using Clock = std::chrono::steady_clock;
  using TimePoint = Clock::time_point;
  using JobId = uint64_t;
  using Job = std::function<void()>;

  virtual ~Scheduler() = default;

  virtual TimePoint Now() const = 0;
  // Runs `job` once, on the scheduler's thread, at `when` or as soon after as that thread is
  // free; jobs due at the same time run in the order they were added.
  virtual JobId At(TimePoint when, Job job) = 0;
  // Takes a job out before it runs. When it is running on another thread, returns only once it
  // has finished, so what the job uses may be destroyed after Cancel.
  virtual void Cancel(JobId id) = 0;
};

}  // namespace ehp
