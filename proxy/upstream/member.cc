#include "proxy/upstream/member.h"

namespace ehp {

Member::Member(std::string name, MemberUrl url, std::string zone,
               std::vector<std::shared_ptr<grpc::Channel>> channels)
    : name_(std::move(name)),
      url_(std::move(url)),
      zone_(std::move(zone)),
      channels_(std::move(channels)) {
  for (const auto& channel : channels_)
    stubs_.push_back(std::make_unique<grpc::GenericStub>(channel));
}

grpc::GenericStub& Member::NextStub() {
  const uint32_t i = next_.fetch_add(1, std::memory_order_relaxed);
  return *stubs_[i % stubs_.size()];
}

bool Member::Reachable() const {
  if (failing_links_.load(std::memory_order_relaxed) > 0) return false;
  for (const auto& channel : channels_) {
    if (channel->GetState(false) != GRPC_CHANNEL_TRANSIENT_FAILURE) return true;
  }
  return false;
}

int Member::ReadyConnections() const {
  int ready = 0;
  for (const auto& channel : channels_) ready += channel->GetState(false) == GRPC_CHANNEL_READY;
  return ready;
}

void Member::AddMovable(MovableCall* call) {
  std::lock_guard lock(movable_mu_);
  call->prev_ = nullptr;
  call->next_ = movable_;
  if (movable_ != nullptr) movable_->prev_ = call;
  movable_ = call;
  ++movable_count_;
}

void Member::RemoveMovable(MovableCall* call) {
  std::lock_guard lock(movable_mu_);
  if (call->prev_ != nullptr) {
    call->prev_->next_ = call->next_;
  } else {
    movable_ = call->next_;
  }
  if (call->next_ != nullptr) call->next_->prev_ = call->prev_;
  call->prev_ = call->next_ = nullptr;
  --movable_count_;
}

size_t Member::MoveCallsOff() {
  // Under the lock, so no call is destroyed while it is being moved (RemoveMovable waits).
  std::lock_guard lock(movable_mu_);
  for (MovableCall* call = movable_; call != nullptr; call = call->next_) call->MoveOff();
  return movable_count_;
}

void Member::CollectHedges(std::chrono::steady_clock::time_point now,
                           std::chrono::microseconds delay,
                           std::vector<std::function<void()>>* due) {
  std::lock_guard lock(movable_mu_);
  for (MovableCall* call = movable_; call != nullptr; call = call->next_) {
    if (auto hedge = call->DueForHedge(now, delay)) due->push_back(std::move(hedge));
  }
}

void Member::Connect() {
  for (const auto& channel : channels_) channel->GetState(true);
}

}  // namespace ehp
