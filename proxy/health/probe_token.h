// The token the probes of one member carry when --probe-user is set: when to call Authenticate
// (no token yet, or etcd said the one sent is invalid or stale), with a growing pause after a
// failure so a wrong password or a member without a leader does not cost etcd a bcrypt check
// every probe round. Pure: time is passed in; not thread-safe (the prober locks it).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "proxy/health/auth_refusal.h"

namespace ehp {

class ProbeToken {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  ProbeToken(std::chrono::milliseconds first_pause = std::chrono::seconds(1),
             std::chrono::milliseconds max_pause = std::chrono::seconds(10))
      : first_pause_(first_pause), max_pause_(max_pause), pause_(first_pause) {}

  // What the probes send now; empty before the first Authenticate succeeds. A token etcd
  // called invalid is still sent until its successor arrives (it is refused the same way, and
  // the probes go on being judged by what still works).
  const std::string& token() const { return token_; }

  // Whether to start an Authenticate call now.
  bool ShouldAuthenticate(TimePoint now) const {
    return !in_flight_ && (token_.empty() || renew_) && now >= next_attempt_;
  }
  void Started() { in_flight_ = true; }
  void Succeeded(std::string token);
  // Authenticate failed with `error`: the next attempt waits, twice as long as the last time.
  void Failed(std::string error, TimePoint now);

  // A probe that carried `sent` was refused with `refusal`: etcd no longer takes that token.
  void Refused(std::string_view sent, AuthRefusal refusal);

  // The last Authenticate failure; empty once one succeeds.
  const std::string& last_error() const { return last_error_; }
  TimePoint next_attempt() const { return next_attempt_; }

 private:
  const std::chrono::milliseconds first_pause_;
  const std::chrono::milliseconds max_pause_;
  std::chrono::milliseconds pause_;
  std::string token_;
  std::string last_error_;
  bool in_flight_ = false;
  bool renew_ = false;
  TimePoint next_attempt_{};
};

}  // namespace ehp
