// What one probe round learned about one member. Filled by the prober (I/O), read by the pure
// round evaluation.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace ehp {

struct ProbeResult {
  // Maintenance.Status.
  enum class Status { kOk, kUnreachable, kTls, kTimeout, kError };
  Status status = Status::kOk;
  std::string status_error;  // gRPC message when status != kOk
  uint64_t member_id = 0;
  uint64_t cluster_id = 0;
  uint64_t leader = 0;  // 0: no leader
  uint64_t raft_term = 0;
  uint64_t raft_index = 0;
  uint64_t applied_index = 0;
  int64_t db_size = 0;
  bool is_learner = false;
  std::vector<std::string> errors;  // StatusResponse.errors: "etcdserver: no leader", alarms

  // The linearizable probe read (Range, limit 1, hasleader: true).
  enum class Read { kOk, kNoLeader, kTimeout, kFailed };
  Read read = Read::kOk;
  std::string read_error;

  std::chrono::microseconds status_latency{0};
  std::chrono::microseconds read_latency{0};

  bool HasError(std::string_view fragment) const;
};

}  // namespace ehp
