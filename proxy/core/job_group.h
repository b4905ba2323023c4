// The jobs one object keeps on a Scheduler, ended together when the object goes: Close() drops
// those not yet run, waits for one running on another thread, and refuses new ones. Work that
// finishes on other threads (a probe's answer) posts its follow-up through a Handle, which stays
// safe to use after the group and its owner are gone: the job is then dropped.
#pragma once

#include <map>
#include <memory>
#include <mutex>

#include "proxy/core/scheduler.h"

namespace ehp {

class JobGroup {
 public:
  explicit JobGroup(std::shared_ptr<Scheduler> scheduler);
  ~JobGroup() { Close(); }
  JobGroup(const JobGroup&) = delete;
  JobGroup& operator=(const JobGroup&) = delete;

  class Handle {
   public:
    Scheduler::TimePoint Now() const { return scheduler_->Now(); }
    // False (and `job` dropped) once the group is closed.
    bool At(Scheduler::TimePoint when, Scheduler::Job job) const;
    bool After(Scheduler::Clock::duration delay, Scheduler::Job job) const {
      return At(Now() + delay, std::move(job));
    }
    bool Post(Scheduler::Job job) const { return At(Now(), std::move(job)); }

   private:
    friend class JobGroup;
    struct State {
      std::mutex mu;
      bool closed = false;                             // guarded by mu
      uint64_t next_token = 1;                         // guarded by mu
      std::map<uint64_t, Scheduler::JobId> scheduled;  // guarded by mu: queued or running
    };
    std::shared_ptr<Scheduler> scheduler_;
    std::shared_ptr<State> state_;
  };

  const Handle& handle() const { return handle_; }
  Scheduler::TimePoint Now() const { return handle_.Now(); }
  bool At(Scheduler::TimePoint when, Scheduler::Job job) const {
    return handle_.At(when, std::move(job));
  }
  bool After(Scheduler::Clock::duration delay, Scheduler::Job job) const {
    return handle_.After(delay, std::move(job));
  }
  bool Post(Scheduler::Job job) const { return handle_.Post(std::move(job)); }
  void Close();

 private:
  Handle handle_;
};

}  // namespace ehp
