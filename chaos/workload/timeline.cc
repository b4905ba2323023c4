#include "chaos/workload/timeline.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace ehp::chaos {
namespace {

constexpr size_t kMaxSeconds = 24 * 3600;  // bounds memory whatever the caller passes
constexpr size_t kMaxErrorKinds = 32;      // distinct messages kept; the rest are "other"

}  // namespace

void Timeline::Record(CallKind kind, bool ok, std::chrono::duration<double> end,
                      std::chrono::duration<double, std::milli> latency) {
  const size_t s = static_cast<size_t>(std::max(0.0, end.count()));
  if (s >= kMaxSeconds) return;
  if (seconds_.size() <= s) seconds_.resize(s + 1);
  Second& sec = seconds_[s];
  const float ms = static_cast<float>(latency.count());
  sec.latencies_ms.push_back(ms);
  if (kind == CallKind::kRead) {
    (ok ? sec.reads_ok : sec.reads_failed)++;
    (ok ? reads_ok_ : reads_failed_)++;
    reads_ms_.push_back(ms);
  } else {
    (ok ? sec.writes_ok : sec.writes_failed)++;
    (ok ? writes_ok_ : writes_failed_)++;
    writes_ms_.push_back(ms);
  }
}

void Timeline::RecordError(const std::string& message) {
  if (errors_.size() >= kMaxErrorKinds && !errors_.contains(message)) {
    errors_["other"]++;
    return;
  }
  errors_[message]++;
}

double Timeline::Percentile(std::vector<float> values, double q) {
  if (values.empty()) return 0;
  const size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(values.size())));
  const size_t index = std::min(values.size() - 1, rank == 0 ? 0 : rank - 1);
  std::nth_element(values.begin(), values.begin() + static_cast<long>(index), values.end());
  return values[index];
}

Timeline::Summary Timeline::Of(CallKind kind) const {
  const bool read = kind == CallKind::kRead;
  const auto& ms = read ? reads_ms_ : writes_ms_;
  Summary s;
  s.ok = read ? reads_ok_ : writes_ok_;
  s.failed = read ? reads_failed_ : writes_failed_;
  s.p50_ms = Percentile(ms, 0.50);
  s.p99_ms = Percentile(ms, 0.99);
  s.max_ms = ms.empty() ? 0 : *std::max_element(ms.begin(), ms.end());
  return s;
}

std::string Timeline::Csv() const {
  std::string out = "# second,reads_ok,reads_failed,writes_ok,writes_failed,p99_ms\n";
  char line[128];
  for (size_t i = 0; i < seconds_.size(); ++i) {
    const Second& s = seconds_[i];
    std::snprintf(line, sizeof line, "%zu,%lu,%lu,%lu,%lu,%.1f\n", i, s.reads_ok, s.reads_failed,
                  s.writes_ok, s.writes_failed, Percentile(s.latencies_ms, 0.99));
    out += line;
  }
  return out;
}

}  // namespace ehp::chaos
