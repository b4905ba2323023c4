#include "proxy/core/job_group.h"

#include <vector>

namespace ehp {

JobGroup::JobGroup(std::shared_ptr<Scheduler> scheduler) {
  handle_.scheduler_ = std::move(scheduler);
  handle_.state_ = std::make_shared<Handle::State>();
}

bool JobGroup::Handle::At(Scheduler::TimePoint when, Scheduler::Job job) const {
  std::lock_guard lock(state_->mu);
  if (state_->closed) return false;
  const uint64_t token = state_->next_token++;
  // Under the group's lock: the job, even if due at once on another thread, finds its entry.
  const Scheduler::JobId id = scheduler_->At(when, [state = state_, token, job = std::move(job)] {
    {
      std::lock_guard lock(state->mu);
      if (state->closed) return;
    }
    job();
    std::lock_guard lock(state->mu);
    state->scheduled.erase(token);
  });
  state_->scheduled.emplace(token, id);
  return true;
}

void JobGroup::Close() {
  std::vector<Scheduler::JobId> ids;
  {
    std::lock_guard lock(handle_.state_->mu);
    if (handle_.state_->closed) return;
    handle_.state_->closed = true;
    for (const auto& [token, id] : handle_.state_->scheduled) ids.push_back(id);
    handle_.state_->scheduled.clear();
  }
  for (const Scheduler::JobId id : ids) handle_.scheduler_->Cancel(id);
}

}  // namespace ehp
