#include "proxy/upstream/revision_timeline.h"

#include <algorithm>

namespace ehp {

std::optional<RevisionTimeline::TimePoint> RevisionTimeline::FirstSeen(int64_t revision) const {
  if (points_.empty() || points_.back().revision < revision) return std::nullopt;
  const auto it = std::lower_bound(points_.begin(), points_.end(), revision,
                                   [](const Point& p, int64_t r) { return p.revision < r; });
  return it->first_seen;
}

std::chrono::microseconds RevisionTimeline::Age(int64_t revision, TimePoint now) const {
  const auto since = FirstSeen(revision);
  if (!since || now <= *since) return std::chrono::microseconds(0);
  return std::chrono::duration_cast<std::chrono::microseconds>(now - *since);
}

}  // namespace ehp
