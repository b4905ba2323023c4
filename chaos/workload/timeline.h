// What a client saw, second by second: calls that succeeded and failed by kind, and their
// latencies, for the drill report's table (percentiles, longest gaps) and its plotted timeline.
// Pure: the caller gives the time of each call, relative to the start of the run.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ehp::chaos {

enum class CallKind { kRead, kWrite };

class Timeline {
 public:
  struct Second {
    uint64_t reads_ok = 0, reads_failed = 0, writes_ok = 0, writes_failed = 0;
    std::vector<float> latencies_ms;  // every call that ended in this second
  };
  struct Summary {
    uint64_t ok = 0, failed = 0;
    double p50_ms = 0, p99_ms = 0, max_ms = 0;
  };

  // A call of `kind` that ended `end` after the start of the run, having taken `latency`.
  void Record(CallKind kind, bool ok, std::chrono::duration<double> end,
              std::chrono::duration<double, std::milli> latency);
  // A failed call's error, tallied by message for the report.
  void RecordError(const std::string& message);

  Summary Of(CallKind kind) const;
  const std::vector<Second>& seconds() const { return seconds_; }
  const std::map<std::string, uint64_t>& errors() const { return errors_; }
  // One line per second: second,reads_ok,reads_failed,writes_ok,writes_failed,p99_ms
  std::string Csv() const;

  // The value below which `q` (0-1) of `values` fall (nearest rank); 0 when empty.
  static double Percentile(std::vector<float> values, double q);

 private:
  std::vector<Second> seconds_;
  std::vector<float> reads_ms_, writes_ms_;
  uint64_t reads_ok_ = 0, reads_failed_ = 0, writes_ok_ = 0, writes_failed_ = 0;
  std::map<std::string, uint64_t> errors_;
};

}  // namespace ehp::chaos
