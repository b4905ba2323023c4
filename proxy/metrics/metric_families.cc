#include "proxy/metrics/metric_families.h"

#include <algorithm>
#include <limits>

#include "proxy/metrics/prometheus_text.h"

namespace ehp {
namespace {

Labels Zip(const std::vector<std::string>& names, const std::vector<std::string>& values) {
  Labels out;
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
    out.emplace_back(names[i], values[i]);
  }
  return out;
}

}  // namespace

CounterFamily::CounterFamily(std::string name, std::string help,
                             std::vector<std::string> label_names)
    : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}

CounterFamily::Child& CounterFamily::Get(const std::vector<std::string>& label_values) {
  std::lock_guard lock(mu_);
  return values_.try_emplace(label_values).first->second;
}

double CounterFamily::Value(const std::vector<std::string>& label_values) const {
  std::lock_guard lock(mu_);
  auto it = values_.find(label_values);
  return it == values_.end() ? 0 : it->second.value();
}

void CounterFamily::Render(std::string* out) const {
  WriteHeader(out, name_, help_, "counter");
  std::lock_guard lock(mu_);
  for (const auto& [labels, child] : values_) {
    WriteSample(out, name_, Zip(label_names_, labels), child.value());
  }
}

HistogramFamily::HistogramFamily(std::string name, std::string help,
                                 std::vector<std::string> label_names, std::vector<double> buckets)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      buckets_(std::move(buckets)) {}

size_t HistogramFamily::Bucket(double value) const {
  return std::lower_bound(buckets_.begin(), buckets_.end(), value) - buckets_.begin();
}

HistogramFamily::Child& HistogramFamily::Get(const std::vector<std::string>& label_values) {
  std::lock_guard lock(mu_);
  return children_.try_emplace(label_values, buckets_.size()).first->second;
}

uint64_t HistogramFamily::Count(const std::vector<std::string>& label_values) const {
  std::lock_guard lock(mu_);
  auto it = children_.find(label_values);
  return it == children_.end() ? 0 : it->second.count_.load(std::memory_order_relaxed);
}

void HistogramFamily::Render(std::string* out) const {
  WriteHeader(out, name_, help_, "histogram");
  const std::string bucket_name = name_ + "_bucket";
  std::lock_guard lock(mu_);
  for (const auto& [values, c] : children_) {
    Labels labels = Zip(label_names_, values);
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= buckets_.size(); ++i) {
      cumulative += c.counts_[i].load(std::memory_order_relaxed);
      Labels with_le = labels;
      char le[32];
      if (i < buckets_.size()) {
        std::snprintf(le, sizeof le, "%g", buckets_[i]);
      } else {
        std::snprintf(le, sizeof le, "+Inf");
      }
      with_le.emplace_back("le", le);
      WriteSample(out, bucket_name, with_le, static_cast<double>(cumulative));
    }
    WriteSample(out, name_ + "_sum", labels, c.sum_.load(std::memory_order_relaxed));
    WriteSample(out, name_ + "_count", labels,
                static_cast<double>(c.count_.load(std::memory_order_relaxed)));
  }
}

}  // namespace ehp
