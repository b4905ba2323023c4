#include "proxy/relay/stream_registry.h"

namespace ehp {

bool StreamRegistry::Add(AbortableStream* stream) {
  std::lock_guard lock(mu_);
  if (closing_) return false;
  streams_.emplace(stream, stream->member_name());
  return true;
}

void StreamRegistry::Remove(AbortableStream* stream) {
  std::lock_guard lock(mu_);
  streams_.erase(stream);
}

void StreamRegistry::CloseAll(const grpc::Status& status) {
  // Holding mu_ keeps every stream alive while it is aborted: a stream removes itself (under
  // mu_) before it is deleted. Abort() must therefore never call back into the registry.
  std::lock_guard lock(mu_);
  closing_ = true;
  for (const auto& [s, member] : streams_) s->Abort(status);
}

size_t StreamRegistry::CloseMember(const std::string& member, const grpc::Status& status) {
  std::lock_guard lock(mu_);  // see CloseAll
  size_t n = 0;
  for (const auto& [s, name] : streams_) {
    if (name == member) {
      s->Abort(status);
      ++n;
    }
  }
  return n;
}

size_t StreamRegistry::size() const {
  std::lock_guard lock(mu_);
  return streams_.size();
}

}  // namespace ehp

namespace ehp {

std::map<std::string, size_t> StreamRegistry::CountByMember() const {
  std::lock_guard lock(mu_);
  std::map<std::string, size_t> out;
  for (const auto& [s, member] : streams_) out[member]++;
  return out;
}

}  // namespace ehp
