#include "proxy/datapath/call_metrics.h"

#include <array>

namespace ehp {
namespace {

// Prometheus label values for gRPC codes, as grpc-go and grpc_prometheus spell them.
constexpr std::array<const char*, 17> kCodeNames = {
    "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
    "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
    "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
    "DataLoss", "Unauthenticated"};

}  // namespace

size_t CallMetrics::KeyHash::operator()(const Key& k) const {
  const std::hash<std::string_view> h;
  return h(k.method) ^ (h(k.member) * 31) ^ (static_cast<size_t>(k.code) << 7);
}

void CallMetrics::Record(std::string_view method, int code, std::string_view member,
                         std::chrono::steady_clock::time_point start) {
  if (metrics_ == nullptr) return;
  auto it = cells_.find(Key{method, member, code});
  if (it == cells_.end()) {
    // Kept strings for the key's views: a handful of methods and members per thread.
    const std::string_view m = names_.try_emplace(std::string(method)).first->first;
    const std::string_view n = names_.try_emplace(std::string(member)).first->first;
    const auto [service, name] = SplitMethod(method);
    const size_t c = static_cast<size_t>(code);
    Cells cells{
        &metrics_->calls.Get({service, name, c < kCodeNames.size() ? kCodeNames[c] : "Unknown",
                              std::string(member)}),
        &metrics_->call_duration.Get({service, name})};
    it = cells_.emplace(Key{m, n, code}, cells).first;
  }
  it->second.calls->Inc();
  metrics_->call_duration.Observe(
      *it->second.duration,
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

}  // namespace ehp
