// The Scheduler of the running proxy: one thread (named ehp-timer) running the jobs in time
// order on the steady clock. A job that takes long delays the ones after it, so jobs only
// start work that runs elsewhere (probes are asynchronous) or do a little of their own.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>

#include "proxy/core/scheduler.h"

namespace ehp {

class ThreadScheduler final : public Scheduler {
 public:
  ThreadScheduler();
  // Drops the jobs not yet run and ends the thread (joined, unless this is a job of its own
  // dropping the last owner: the thread then ends by itself once the job returns).
  ~ThreadScheduler() override;

  TimePoint Now() const override { return Clock::now(); }
  JobId At(TimePoint when, Job job) override;
  void Cancel(JobId id) override;

 private:
  // What the thread uses, shared with it so that it may outlive the scheduler by one job.
  struct Queue {
    std::mutex mu;
    std::condition_variable wake;      // a job was added, or stopping
    std::condition_variable finished;  // the running job finished
    // By due time, then by id (the order of adding).
    std::map<std::pair<TimePoint, JobId>, Job> jobs;  // guarded by mu
    std::unordered_map<JobId, TimePoint> due;         // guarded by mu: jobs' keys by id
    JobId next_id = 1;                                // guarded by mu
    JobId running = 0;                                // guarded by mu; 0: none
    bool stopping = false;                            // guarded by mu
  };
  static void Loop(const std::shared_ptr<Queue>& queue);

  const std::shared_ptr<Queue> queue_ = std::make_shared<Queue>();
  std::thread thread_;
};

}  // namespace ehp
