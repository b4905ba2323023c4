// How late each member is, measured in time rather than in Raft entries. A member that keeps its
// leader but applies late (a slow disk, a defragmentation, a throttled peer link) passes every
// other check while the watch streams on it fall behind; what kube-apiserver cares about is how
// old the data it serves is, so that is what is measured.
//
// The estimate, from the probes' Status answers over time:
//  - The quorum's commit index is the highest raft_index (etcd reports its commit index there)
//    any member answered with. The clock remembers when each value was first seen, a timeline
//    that only grows.
//  - A member that has applied index A has not applied entry A + 1. If the quorum's commit index
//    first reached A + 1 or more at time T, the member has been late since T at least: its apply
//    lag is now - T (0 when A is the newest commit seen).
//  - Its linearizable probe read waits until it has applied the leader's read index, so a late
//    member's reads also take longer than the others': its read lag is its probe read's latency
//    beyond the median of the other members' successful reads this round (a read that timed out
//    counts with the time it was given).
//  - Its watch streams' delivery delay: how long a revision had existed in the cluster when a
//    watch stream on the member delivered it (measured by the data path against the revision
//    timeline kept here, from the highest store revision any member reported each round),
//    beyond the least delay any other member's watches had that round (a delay every member
//    shows, such as the proxy's own threads running behind, is nobody's lag).
//  - Its lag is the largest of the three.
// Both are lower bounds. Commit indexes are sampled once per probe round, so the apply lag has
// the resolution of probe-interval (an entry committed just after a round counts from the next
// one); a timeline older than the horizon is forgotten, and a member behind all of it is late by
// at least the age of its oldest point. Differences in network distance to the members show in
// the read lag.
//
// Pure: probe results and time points in, lags out; not thread-safe (the probe loop owns it).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "proxy/health/probe_result.h"
#include "proxy/upstream/revision_timeline.h"

namespace ehp {

struct MemberLag {
  bool known = false;                  // Status answered with indexes this round
  std::chrono::microseconds apply{0};  // since the quorum first had committed the next entry
  std::chrono::microseconds read{0};   // its probe read beyond the others' median
  std::chrono::microseconds watch{0};  // the largest watch delivery delay since the last round
  // The largest watch lag of the last kWatchRecent, for people and scrapes (a round's value
  // lasts one probe-interval; a scrape every 15 s would miss it).
  std::chrono::microseconds watch_recent{0};
  bool applying = false;  // its applied index moved since the previous round
  std::chrono::microseconds total() const { return std::max({apply, read, watch}); }
};

class LagClock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  // Rounds within which an applied index that moved makes a member "applying": one, so that a
  // member cut off from its peers (which stops applying at once) is not taken for a late one
  // by the second round, when it is evicted.
  static constexpr int kProgressRounds = 1;
  // Revisions kept for the watch delay: enough for the delays max-lag-time cares about; an
  // older revision counts from the oldest point (a lower bound).
  static constexpr size_t kRevisionPoints = 1024;
  static constexpr std::chrono::seconds kWatchRecent{30};

  explicit LagClock(std::chrono::milliseconds horizon = std::chrono::minutes(10),
                    size_t max_points = 16384)
      : horizon_(horizon), max_points_(max_points) {}

  // Feeds one probe round (results in configuration order) judged at `now`, with each member's
  // largest watch delivery delay since the previous round (empty, or nullopt for a member:
  // none measured); returns each member's lag, same order.
  std::vector<MemberLag> Observe(
      std::span<const ProbeResult> results, TimePoint now,
      std::span<const std::optional<std::chrono::microseconds>> watch_delays = {});

  // When the cluster first held each revision, for the data path's watch delay measurements:
  // a new timeline after a round that saw a newer revision, else the previous one.
  std::shared_ptr<const RevisionTimeline> revisions() const { return revisions_; }

  // The newest commit index seen (0 before any).
  uint64_t committed() const { return points_.empty() ? 0 : points_.back().index; }
  // When the quorum was first seen to have committed `index` or more (the oldest point kept
  // when that is older than the timeline); nullopt when it has not been seen yet.
  std::optional<TimePoint> FirstCommitted(uint64_t index) const;
  size_t points() const { return points_.size(); }

 private:
  struct Point {
    uint64_t index;        // a commit index seen
    TimePoint first_seen;  // the round it was first seen in
  };
  void Record(std::span<const ProbeResult> results, TimePoint now);
  void RecordRevision(std::span<const ProbeResult> results, TimePoint now);

  const std::chrono::milliseconds horizon_;
  const size_t max_points_;
  std::deque<Point> points_;  // increasing in index and in time
  struct Progress {
    bool seen = false;
    uint64_t applied = 0;
    int rounds_since_move = kProgressRounds;    // stale until it is seen moving
    std::chrono::microseconds watch_recent{0};  // the largest watch lag since watch_recent_at
    TimePoint watch_recent_at{};
  };
  std::vector<Progress> progress_;
  std::shared_ptr<const RevisionTimeline> revisions_ = std::make_shared<const RevisionTimeline>();
};

}  // namespace ehp
