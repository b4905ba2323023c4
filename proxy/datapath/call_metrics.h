// What a finished call adds to the metrics (calls_total by service, method, code and member;
// call_duration_seconds by service and method), for one I/O thread. The children of those
// families are looked up once per method, code and member and kept: the per-call path then
// builds no label strings and takes no lock.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <unordered_map>

#include "proxy/metrics/proxy_metrics.h"

namespace ehp {

class CallMetrics {
 public:
  explicit CallMetrics(ProxyMetrics* metrics) : metrics_(metrics) {}

  // A call of `method` ended with gRPC code `code`; `member` is empty when no member took it.
  void Record(std::string_view method, int code, std::string_view member,
              std::chrono::steady_clock::time_point start);

 private:
  struct Cells {
    CounterFamily::Child* calls;
    HistogramFamily::Child* duration;
  };
  struct Key {
    std::string_view method, member;
    int code;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const;
  };

  ProxyMetrics* const metrics_;
  // The views of a key point into `names_`'s strings, which never move (node-based).
  std::unordered_map<Key, Cells, KeyHash> cells_;
  std::unordered_map<std::string, char> names_;
};

}  // namespace ehp
