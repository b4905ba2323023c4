#include "proxy/health/lag_clock.h"

#include <algorithm>

namespace ehp {
namespace {

using std::chrono::microseconds;

bool ReadMeasured(const ProbeResult& r) {
  return r.read == ProbeResult::Read::kOk || r.read == ProbeResult::Read::kTimeout;
}

}  // namespace

std::optional<LagClock::TimePoint> LagClock::FirstCommitted(uint64_t index) const {
  if (points_.empty() || points_.back().index < index) return std::nullopt;
  const auto it = std::lower_bound(points_.begin(), points_.end(), index,
                                   [](const Point& p, uint64_t i) { return p.index < i; });
  return it->first_seen;
}

void LagClock::Record(std::span<const ProbeResult> results, TimePoint now) {
  uint64_t commit = 0;
  bool all_answered = !results.empty();
  for (const ProbeResult& r : results) {
    if (r.status != ProbeResult::Status::kOk) {
      all_answered = false;
      continue;
    }
    commit = std::max(commit, r.raft_index);
  }
  // Commit indexes never go back in one cluster; a lower one from every member at once is
  // another cluster behind the same endpoints (or a restore from a snapshot): start over.
  if (all_answered && commit < committed()) points_.clear();
  if (commit > committed()) points_.push_back(Point{commit, now});
  while (points_.size() > 1 &&
         (points_.size() > max_points_ || now - points_.front().first_seen > horizon_)) {
    points_.pop_front();
  }
}

void LagClock::RecordRevision(std::span<const ProbeResult> results, TimePoint now) {
  int64_t revision = 0;
  bool all_answered = !results.empty();
  for (const ProbeResult& r : results) {
    revision = std::max({revision, r.revision, r.read_revision});
    all_answered = all_answered && r.status == ProbeResult::Status::kOk;
  }
  const int64_t newest = revisions_->newest();
  if (revision == newest || revision == 0) return;
  // Lower than before from every member at once: another cluster behind the same endpoints,
  // or a restore: start over. From some only: the newest members did not answer this round.
  if (revision < newest && !all_answered) return;
  std::vector<RevisionTimeline::Point> points;
  if (revision > newest) {
    const auto& old = revisions_->points();
    const size_t keep = std::min(old.size(), kRevisionPoints - 1);
    points.reserve(keep + 1);
    points.assign(old.end() - keep, old.end());
  }
  points.push_back({revision, now});
  revisions_ = std::make_shared<const RevisionTimeline>(std::move(points));
}

std::vector<MemberLag> LagClock::Observe(
    std::span<const ProbeResult> results, TimePoint now,
    std::span<const std::optional<std::chrono::microseconds>> watch_delays) {
  Record(results, now);
  RecordRevision(results, now);
  progress_.resize(results.size());
  std::vector<MemberLag> out(results.size());

  std::vector<microseconds> reads;  // successful probe reads this round
  for (const ProbeResult& r : results) {
    if (r.ReadProvesQuorum()) reads.push_back(r.read_latency);
  }

  for (size_t i = 0; i < results.size(); ++i) {
    const ProbeResult& r = results[i];
    MemberLag& lag = out[i];
    Progress& p = progress_[i];
    if (r.status == ProbeResult::Status::kOk) {
      // The first answer is where progress is measured from, not progress.
      p.rounds_since_move = p.seen && r.applied_index > p.applied ? 0 : p.rounds_since_move + 1;
      p.applied = r.applied_index;
      p.seen = true;
      lag.known = true;
      if (const auto since = FirstCommitted(r.applied_index + 1)) {
        lag.apply = std::chrono::duration_cast<microseconds>(now - *since);
      }
    } else {
      ++p.rounds_since_move;
    }
    p.rounds_since_move = std::min(p.rounds_since_move, kProgressRounds);
    lag.applying = p.rounds_since_move < kProgressRounds;
    // The watch delay beyond the least any other member's watches had this round: a delay
    // every member shows (the proxy's own threads behind, say) is nobody's lag.
    if (i < watch_delays.size() && watch_delays[i]) {
      std::optional<microseconds> others;
      for (size_t j = 0; j < watch_delays.size(); ++j) {
        if (j != i && watch_delays[j])
          others = std::min(others.value_or(*watch_delays[j]), *watch_delays[j]);
      }
      lag.watch = std::max(microseconds(0), *watch_delays[i] - others.value_or(microseconds(0)));
    }
    if (lag.watch >= p.watch_recent || now - p.watch_recent_at > kWatchRecent) {
      p.watch_recent = lag.watch;
      p.watch_recent_at = now;
    }
    lag.watch_recent = p.watch_recent;

    // The median of the other members' successful reads.
    if (ReadMeasured(r)) {
      std::vector<microseconds> others = reads;
      if (r.ReadProvesQuorum()) {
        others.erase(std::find(others.begin(), others.end(), r.read_latency));
      }
      if (!others.empty()) {
        const auto mid = others.begin() + others.size() / 2;
        std::nth_element(others.begin(), mid, others.end());
        lag.read = std::max(microseconds(0), r.read_latency - *mid);
      }
    }
  }
  return out;
}

}  // namespace ehp
