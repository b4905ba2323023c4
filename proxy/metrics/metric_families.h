// Labelled counters and histograms that the relay updates and /metrics renders. Each family
// keeps its children in a map under one mutex: a call touches it once, when it ends.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace ehp {

class CounterFamily {
 public:
  CounterFamily(std::string name, std::string help, std::vector<std::string> label_names);
  void Inc(const std::vector<std::string>& label_values, double by = 1);
  double Value(const std::vector<std::string>& label_values) const;
  void Render(std::string* out) const;

 private:
  const std::string name_, help_;
  const std::vector<std::string> label_names_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, double> values_;  // guarded by mu_
};

class HistogramFamily {
 public:
  HistogramFamily(std::string name, std::string help, std::vector<std::string> label_names,
                  std::vector<double> buckets);
  void Observe(const std::vector<std::string>& label_values, double value);
  uint64_t Count(const std::vector<std::string>& label_values) const;
  void Render(std::string* out) const;

 private:
  struct Child {
    std::vector<uint64_t> counts;  // per bucket, not cumulative
    uint64_t count = 0;
    double sum = 0;
  };
  const std::string name_, help_;
  const std::vector<std::string> label_names_;
  const std::vector<double> buckets_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, Child> children_;  // guarded by mu_
};

}  // namespace ehp
