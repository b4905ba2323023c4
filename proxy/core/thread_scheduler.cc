#include "proxy/core/thread_scheduler.h"

#include <pthread.h>

namespace ehp {

ThreadScheduler::ThreadScheduler() {
  thread_ = std::thread([queue = queue_] {
    pthread_setname_np(pthread_self(), "ehp-timer");
    Loop(queue);
  });
}

ThreadScheduler::~ThreadScheduler() {
  {
    std::lock_guard lock(queue_->mu);
    queue_->stopping = true;
    queue_->jobs.clear();
    queue_->due.clear();
  }
  queue_->wake.notify_all();
  if (std::this_thread::get_id() == thread_.get_id()) {
    thread_.detach();
  } else {
    thread_.join();
  }
}

Scheduler::JobId ThreadScheduler::At(TimePoint when, Job job) {
  JobId id;
  bool earliest;
  {
    std::lock_guard lock(queue_->mu);
    id = queue_->next_id++;
    const auto it = queue_->jobs.emplace(std::make_pair(when, id), std::move(job)).first;
    queue_->due.emplace(id, when);
    earliest = it == queue_->jobs.begin();
  }
  if (earliest) queue_->wake.notify_one();
  return id;
}

void ThreadScheduler::Cancel(JobId id) {
  std::unique_lock lock(queue_->mu);
  if (const auto it = queue_->due.find(id); it != queue_->due.end()) {
    queue_->jobs.erase(std::make_pair(it->second, id));
    queue_->due.erase(it);
    return;
  }
  if (std::this_thread::get_id() == thread_.get_id()) return;  // a job cancelling itself
  queue_->finished.wait(lock, [&] { return queue_->running != id; });
}

void ThreadScheduler::Loop(const std::shared_ptr<Queue>& queue) {
  std::unique_lock lock(queue->mu);
  while (!queue->stopping) {
    if (queue->jobs.empty()) {
      queue->wake.wait(lock);
      continue;
    }
    const TimePoint due = queue->jobs.begin()->first.first;
    if (Clock::now() < due) {
      queue->wake.wait_until(lock, due);
      continue;
    }
    auto node = queue->jobs.extract(queue->jobs.begin());
    queue->running = node.key().second;
    queue->due.erase(queue->running);
    lock.unlock();
    node.mapped()();
    node.mapped() = nullptr;  // what the job holds goes before Cancel returns
    lock.lock();
    queue->running = 0;
    queue->finished.notify_all();
  }
}

}  // namespace ehp
