#include "proxy/relay/stream_registry.h"

namespace ehp {

// Holding mu_ keeps every registered stream alive while it is aborted: a stream removes itself
// (under mu_) before it is deleted. Abort() and Move() must therefore never call back into the
// registry.

StreamRegistry::~StreamRegistry() {
  {
    std::lock_guard lock(mu_);
    closing_ = true;
    pending_.clear();
  }
  wake_.notify_all();
  if (closer_.joinable()) closer_.join();
}

uint64_t StreamRegistry::Add(AbortableStream* stream) {
  std::lock_guard lock(mu_);
  if (closing_) return kClosing;
  if (streams_.size() >= max_streams_) return kFull;
  const uint64_t id = next_id_++;
  streams_.emplace(id, Entry{stream, stream->member_name()});
  return id;
}

void StreamRegistry::Remove(uint64_t id) {
  std::lock_guard lock(mu_);
  streams_.erase(id);
  if (streams_.empty()) emptied_.notify_all();
}

bool StreamRegistry::WaitUntilEmpty(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return emptied_.wait_for(lock, timeout, [this] { return streams_.empty(); });
}

void StreamRegistry::SetMember(uint64_t id, const std::string& member) {
  std::lock_guard lock(mu_);
  if (auto it = streams_.find(id); it != streams_.end()) it->second.member = member;
}

void StreamRegistry::CloseAll(const grpc::Status& status) {
  std::lock_guard lock(mu_);
  closing_ = true;
  pending_.clear();
  for (const auto& [id, e] : streams_) e.stream->Abort(status);
  wake_.notify_all();
}

size_t StreamRegistry::CloseMember(const std::string& member, const grpc::Status& status,
                                   std::chrono::milliseconds window) {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& [id, e] : streams_) n += e.member == member;
  if (window <= std::chrono::milliseconds(0) || n <= 1) {
    for (const auto& [id, e] : streams_) {
      if (e.member == member) e.stream->MoveOrAbort(status);
    }
    return n;
  }
  // The k-th of n streams ends at window * k / n: the first at once, the last just before the
  // window ends.
  const auto start = std::chrono::steady_clock::now();
  size_t k = 0;
  for (const auto& [id, e] : streams_) {
    if (e.member != member) continue;
    pending_.emplace(start + window * k++ / n, Pending{id, member, status});
  }
  if (!closer_.joinable()) closer_ = std::thread([this] { CloseLoop(); });
  wake_.notify_all();
  return n;
}

void StreamRegistry::CloseLoop() {
  std::unique_lock lock(mu_);
  while (!closing_) {
    if (pending_.empty()) {
      wake_.wait(lock);
      continue;
    }
    const auto next = pending_.begin()->first;
    if (std::chrono::steady_clock::now() < next) {
      wake_.wait_until(lock, next);
      continue;
    }
    const Pending p = pending_.begin()->second;
    pending_.erase(pending_.begin());
    if (auto it = streams_.find(p.id); it != streams_.end() && it->second.member == p.member) {
      it->second.stream->MoveOrAbort(p.status);
    }
  }
}

size_t StreamRegistry::size() const {
  std::lock_guard lock(mu_);
  return streams_.size();
}

std::map<std::string, size_t> StreamRegistry::CountByMember() const {
  std::lock_guard lock(mu_);
  std::map<std::string, size_t> out;
  for (const auto& [id, e] : streams_) out[e.member]++;
  return out;
}

}  // namespace ehp
