// Labelled counters and histograms that the relay updates and /metrics renders. Each family
// keeps its children in a map under one mutex, taken to find or add a child; a child itself is
// updated with atomics, so a caller that keeps it touches no lock.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace ehp {

class CounterFamily {
 public:
  // One child (one set of label values): a counter updated without the family's lock.
  class Child {
   public:
    void Inc(double by = 1) { value_.fetch_add(by, std::memory_order_relaxed); }
    double value() const { return value_.load(std::memory_order_relaxed); }

   private:
    std::atomic<double> value_{0};
  };

  CounterFamily(std::string name, std::string help, std::vector<std::string> label_names);
  void Inc(const std::vector<std::string>& label_values, double by = 1) {
    Get(label_values).Inc(by);
  }
  // The child for `label_values`, created at 0 if new; it lives as long as the family, so the
  // per-call path may keep it (see RecordCall).
  Child& Get(const std::vector<std::string>& label_values);
  double Value(const std::vector<std::string>& label_values) const;
  void Render(std::string* out) const;

 private:
  const std::string name_, help_;
  const std::vector<std::string> label_names_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, Child> values_;  // guarded by mu_; nodes never move
};

class HistogramFamily {
 public:
  class Child {
   public:
    explicit Child(size_t buckets) : counts_(buckets + 1) {}
    // `bucket`: the index of the first bound not below the value (HistogramFamily::Bucket).
    void Observe(size_t bucket, double value) {
      counts_[bucket].fetch_add(1, std::memory_order_relaxed);
      count_.fetch_add(1, std::memory_order_relaxed);
      sum_.fetch_add(value, std::memory_order_relaxed);
    }

   private:
    friend class HistogramFamily;
    std::vector<std::atomic<uint64_t>> counts_;  // per bucket, not cumulative
    std::atomic<uint64_t> count_{0};
    std::atomic<double> sum_{0};
  };

  HistogramFamily(std::string name, std::string help, std::vector<std::string> label_names,
                  std::vector<double> buckets);
  void Observe(const std::vector<std::string>& label_values, double value) {
    Observe(Get(label_values), value);
  }
  void Observe(Child& child, double value) const { child.Observe(Bucket(value), value); }
  // As CounterFamily::Get.
  Child& Get(const std::vector<std::string>& label_values);
  uint64_t Count(const std::vector<std::string>& label_values) const;
  void Render(std::string* out) const;

 private:
  size_t Bucket(double value) const;

  const std::string name_, help_;
  const std::vector<std::string> label_names_;
  const std::vector<double> buckets_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, Child> children_;  // guarded by mu_; nodes never move
};

}  // namespace ehp
