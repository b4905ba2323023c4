// When the cluster was first seen holding each revision, as the probes saw it (the highest store
// revision any member reported, once per probe round). The data path asks it how long a
// revision a member's watch stream delivers had existed by then: the watch delivery delay that
// max-lag-time judges. Immutable once built; the health checker publishes a new one through
// UpstreamPool when a round saw a newer revision.
//
// Times are lower bounds: a revision is "first seen" at the first round after it was written,
// up to probe-interval late; a revision older than every point kept counts from the oldest point.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

namespace ehp {

class RevisionTimeline {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  struct Point {
    int64_t revision;      // a revision the cluster held
    TimePoint first_seen;  // the round it was first seen in
  };

  RevisionTimeline() = default;
  // `points` increase in revision and in time.
  explicit RevisionTimeline(std::vector<Point> points) : points_(std::move(points)) {}

  // When the cluster first held `revision` or a newer one; nullopt when no round has seen it.
  std::optional<TimePoint> FirstSeen(int64_t revision) const;
  // How long `revision` had existed at `now` (zero when it was not seen yet, or when `now`
  // is before it was).
  std::chrono::microseconds Age(int64_t revision, TimePoint now) const;

  int64_t newest() const { return points_.empty() ? 0 : points_.back().revision; }
  const std::vector<Point>& points() const { return points_; }

 private:
  std::vector<Point> points_;
};

}  // namespace ehp
