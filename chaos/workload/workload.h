// A long-lived client workload shaped like kube-apiserver's, for fault drills: linearizable gets
// and lists; compare-and-swap Txns (create if absent, update or delete if mod_revision matches)
// started at a steady rate whatever the answers (open loop, as requests arrive at an API
// server); a prefix watch that checks every write is seen exactly once, in revision order; and
// a lease kept alive. It runs either through one channel (the proxy) or over several, one per
// member, round-robin and retrying as clientv3 does (the direct baseline).
#pragma once

#include <grpcpp/channel.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "chaos/workload/timeline.h"

namespace ehp::chaos {

struct WorkloadStats {
  uint64_t reads_ok = 0, reads_failed = 0;
  uint64_t writes_ok = 0, writes_failed = 0;  // ok includes CAS misses (succeeded=false)
  uint64_t writes_in_flight_max = 0;
  double longest_write_gap_ms = 0;  // longest stretch without a successful write
  double longest_read_ms = 0;
  uint64_t watch_events = 0, watch_duplicates = 0, watch_out_of_order = 0, watch_missed = 0;
  uint64_t watch_restarts = 0;  // streams ended with an error clientv3 resumes from
  uint64_t watch_errors = 0;    // errors clientv3 hands to the application ("no leader", ...)
  // Delivery delay of the watch: from a write's acknowledgement to its event reaching the watch
  // (0 when the event came first), over every acknowledged write the watch delivered.
  double watch_delay_p99_ms = 0, watch_delay_max_ms = 0;
  uint64_t keepalive_restarts = 0;
  bool lease_alive = false;
  // At the end every key whose last write was acknowledged (and not followed by a failed one) is
  // read back: it must hold that write's value, or be absent after an acknowledged delete.
  uint64_t keys_checked = 0, lost_writes = 0;
  Timeline timeline;
  std::vector<std::string> errors;  // the first few, for the test log
  std::string Summary() const;
};

class Workload {
 public:
  Workload(std::vector<std::shared_ptr<grpc::Channel>> channels, std::string prefix);
  ~Workload();
  void Start();
  // Stops the load, waits for the watch to catch up with the last write, checks the lease.
  WorkloadStats Stop();
  // Counters so far, for a progress line.
  struct Progress {
    uint64_t reads_ok, reads_failed, writes_ok, writes_failed, watch_events;
  };
  Progress progress() const;
  // Writes in flight right now.
  uint64_t writes_in_flight() const { return in_flight_.load(); }

 private:
  struct Shared;
  struct Key;
  void Reader();
  void Writer();
  void Watcher();
  void LeaseKeeper();
  void CheckAcknowledgedWrites(WorkloadStats* stats);

  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  const std::string prefix_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> in_flight_{0};
  std::shared_ptr<Shared> shared_;
  std::thread writer_;
  std::vector<std::thread> threads_;
};

}  // namespace ehp::chaos
