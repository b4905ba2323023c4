// Passive evidence that a member stopped committing writes: writes are in flight on it and none
// has been answered for a while. A leader cut off from its peers keeps taking writes until its
// probes fail (a few hundred milliseconds) and every write sent to it in that time fails after
// etcd's timeout; once this says "stuck", new writes wait (CallHold) instead, and go to whichever
// member leads when the stall ends. A probe round that proves the member still reaches its
// quorum (its linearizable read worked) counts as progress too, so one lost proposal does not
// hold writes until it times out. Pure: the caller passes the time.
#pragma once

#include <grpcpp/support/status_code_enum.h>

#include <atomic>
#include <chrono>
#include <cstdint>

namespace ehp {

class WriteProgress {
 public:
  using Clock = std::chrono::steady_clock;

  // A write was sent to the member.
  void Begin(Clock::time_point now);
  // A write sent with Begin() ended; `answered`: the member decided it (see AnsweredByQuorum).
  void End(Clock::time_point now, bool answered);
  // A probe that started at `probe_start` showed the member reaching its quorum.
  void Confirmed(Clock::time_point probe_start);
  // Writes are in flight and nothing has shown progress for `after`.
  bool Stuck(Clock::time_point now, std::chrono::milliseconds after) const;

  int64_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }

 private:
  void Advance(Clock::time_point t);

  std::atomic<int64_t> in_flight_{0};
  // When progress was last shown (ns on Clock): an answer, a confirmation, or the first write
  // sent while none was in flight.
  std::atomic<int64_t> progress_ns_{0};
};

// True when a write's status comes from the member having decided it (applied, or refused on its
// merits: a failed compare is OK in etcd; a bad request, a missing lease, no permission), as
// opposed to the member being unable to reach a decision (timeout, no leader, connection lost).
bool AnsweredByQuorum(grpc::StatusCode code);

}  // namespace ehp
