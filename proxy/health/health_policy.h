// The thresholds the health decisions use; built from the configuration.
#pragma once

#include <chrono>
#include <cstdint>

namespace ehp {

struct HealthPolicy {
  int unreachable_threshold = 2;  // consecutive failed Status probes before eviction
  int suspect_threshold = 2;      // consecutive rounds "partitioned" before eviction
  int readmit_rounds = 3;         // consecutive good rounds before an evicted member is used
  uint64_t max_lag = 5000;        // applied-index entries a member may trail the most advanced
  // How late (LagClock) a member may be before it is evicted as lagging; 0: not judged.
  std::chrono::milliseconds max_lag_time{1000};
  // A member evicted again within flap_window of its readmission is held out for
  // holdout_base * 2^(flaps-1), at most holdout_max, before readmission may start.
  std::chrono::milliseconds flap_window{60000};
  std::chrono::milliseconds holdout_base{2000};
  std::chrono::milliseconds holdout_max{60000};
};

}  // namespace ehp
