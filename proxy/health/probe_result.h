// What one probe round learned about one member. Filled by the prober (I/O), read by the pure
// round evaluation.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "proxy/health/auth_refusal.h"

namespace ehp {

struct ProbeResult {
  // Maintenance.Status. kAuth: etcd refused it for want of an identity (auth enabled): the member
  // answered, so it is reachable; only the linearizable read below is left to judge it by.
  enum class Status { kOk, kUnreachable, kTls, kTimeout, kError, kAuth };
  Status status = Status::kOk;
  std::string status_error;               // gRPC message when status != kOk
  AuthRefusal auth = AuthRefusal::kNone;  // why, when status == kAuth
  bool token_sent = false;                // the probes carried a --probe-user token
  std::string authenticate_error;         // the last Authenticate failure (--probe-user)
  uint64_t member_id = 0;
  uint64_t cluster_id = 0;
  uint64_t leader = 0;  // 0: no leader
  uint64_t raft_term = 0;
  uint64_t raft_index = 0;
  uint64_t applied_index = 0;
  int64_t revision = 0;  // the member's store revision (Status header)
  int64_t db_size = 0;
  bool is_learner = false;
  std::vector<std::string> errors;  // StatusResponse.errors: "etcdserver: no leader", alarms

  // The linearizable probe read (Range, limit 1, hasleader: true).
  enum class Read { kOk, kNoLeader, kTimeout, kFailed };
  Read read = Read::kOk;
  std::string read_error;
  int64_t read_revision = 0;  // the read's header revision: the store's after the read index

  std::chrono::microseconds status_latency{0};
  std::chrono::microseconds read_latency{0};

  bool HasError(std::string_view fragment) const;
  // The member answered and its linearizable read worked: it reached a quorum this round
  // (with or without an identity etcd accepts for Status).
  bool ReadProvesQuorum() const {
    return (status == Status::kOk || status == Status::kAuth) && read == Read::kOk;
  }
};

// "ok", "unreachable", "tls", "timeout", "error", "auth" (logs, /status "probe").
std::string_view ToString(ProbeResult::Status status);
// "ok", "no_leader", "timeout", "failed" (logs).
std::string_view ToString(ProbeResult::Read read);

}  // namespace ehp
