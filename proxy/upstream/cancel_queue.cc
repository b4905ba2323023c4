#include "proxy/upstream/cancel_queue.h"

#include <grpcpp/server_context.h>

namespace ehp {

CancelQueue::~CancelQueue() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  for (auto& [when, call] : due_) call->TryCancel();
}

void CancelQueue::Cancel(std::shared_ptr<grpc::ClientContext> call, Clock::time_point started) {
  const Clock::time_point when = started + kMinAge;
  if (Clock::now() >= when) {
    call->TryCancel();
    return;
  }
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      due_.emplace(when, std::move(call));
      if (!thread_.joinable()) thread_ = std::thread([this] { Loop(); });
      wake_.notify_one();
      return;
    }
  }
  call->TryCancel();  // the queue is going away: at once
}

size_t CancelQueue::waiting() const {
  std::lock_guard lock(mu_);
  return due_.size();
}

void CancelQueue::Loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (due_.empty()) {
      wake_.wait(lock);
      continue;
    }
    const Clock::time_point next = due_.begin()->first;
    if (Clock::now() < next) {
      wake_.wait_until(lock, next);
      continue;
    }
    std::shared_ptr<grpc::ClientContext> call = std::move(due_.begin()->second);
    due_.erase(due_.begin());
    lock.unlock();
    call->TryCancel();
    call.reset();  // the last reference may be this one: destroyed outside the lock
    lock.lock();
  }
}

std::shared_ptr<grpc::ClientContext> MemberCallContext(const grpc::CallbackServerContext& client) {
  auto call = std::make_shared<grpc::ClientContext>();
  const auto deadline = client.deadline();
  if (deadline != std::chrono::system_clock::time_point::max()) call->set_deadline(deadline);
  return call;
}

}  // namespace ehp
