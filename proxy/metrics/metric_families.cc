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

void CounterFamily::Inc(const std::vector<std::string>& label_values, double by) {
  std::lock_guard lock(mu_);
  values_[label_values] += by;
}

double CounterFamily::Value(const std::vector<std::string>& label_values) const {
  std::lock_guard lock(mu_);
  auto it = values_.find(label_values);
  return it == values_.end() ? 0 : it->second;
}

void CounterFamily::Render(std::string* out) const {
  WriteHeader(out, name_, help_, "counter");
  std::lock_guard lock(mu_);
  for (const auto& [labels, value] : values_) {
    WriteSample(out, name_, Zip(label_names_, labels), value);
  }
}

HistogramFamily::HistogramFamily(std::string name, std::string help,
                                 std::vector<std::string> label_names, std::vector<double> buckets)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      buckets_(std::move(buckets)) {}

void HistogramFamily::Observe(const std::vector<std::string>& label_values, double value) {
  const size_t bucket =
      std::lower_bound(buckets_.begin(), buckets_.end(), value) - buckets_.begin();
  std::lock_guard lock(mu_);
  Child& c = children_[label_values];
  if (c.counts.empty()) c.counts.resize(buckets_.size() + 1);
  c.counts[bucket]++;
  c.count++;
  c.sum += value;
}

uint64_t HistogramFamily::Count(const std::vector<std::string>& label_values) const {
  std::lock_guard lock(mu_);
  auto it = children_.find(label_values);
  return it == children_.end() ? 0 : it->second.count;
}

void HistogramFamily::Render(std::string* out) const {
  WriteHeader(out, name_, help_, "histogram");
  const std::string bucket_name = name_ + "_bucket";
  std::lock_guard lock(mu_);
  for (const auto& [values, c] : children_) {
    Labels labels = Zip(label_names_, values);
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= buckets_.size(); ++i) {
      cumulative += c.counts[i];
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
    WriteSample(out, name_ + "_sum", labels, c.sum);
    WriteSample(out, name_ + "_count", labels, static_cast<double>(c.count));
  }
}

}  // namespace ehp
