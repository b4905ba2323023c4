#include "proxy/relay/stream_registry.h"

namespace ehp {

// Holding mu_ keeps every registered stream alive while it is aborted: a stream removes itself
// (under mu_) before it is deleted. Abort() and Move() must therefore never call back into the
// registry.

StreamRegistry::StreamRegistry(std::shared_ptr<Scheduler> scheduler, size_t max_streams)
    : max_streams_(max_streams), jobs_(std::move(scheduler)) {}

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
  // Before taking mu_: Close waits for a spread close in progress, which takes mu_.
  jobs_.Close();
  std::lock_guard lock(mu_);
  closing_ = true;
  for (const auto& [id, e] : streams_) e.stream->Abort(status);
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
  const auto start = jobs_.Now();
  size_t k = 0;
  for (const auto& [id, e] : streams_) {
    if (e.member != member) continue;
    jobs_.At(start + window * k++ / n,
             [this, id, member, status] { CloseOne(id, member, status); });
  }
  return n;
}

void StreamRegistry::CloseOne(uint64_t id, const std::string& member, const grpc::Status& status) {
  std::lock_guard lock(mu_);
  if (auto it = streams_.find(id); it != streams_.end() && it->second.member == member) {
    it->second.stream->MoveOrAbort(status);
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
