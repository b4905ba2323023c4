#include "proxy/metrics/proxy_metrics.h"

namespace ehp {

std::pair<std::string, std::string> SplitMethod(std::string_view path) {
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  const size_t slash = path.find('/');
  if (slash == std::string_view::npos) return {std::string(path), ""};
  return {std::string(path.substr(0, slash)), std::string(path.substr(slash + 1))};
}

void ProxyMetrics::RenderFamilies(std::string* out) const {
  calls.Render(out);
  call_duration.Render(out);
  retries.Render(out);
  retries_refused.Render(out);
  hedges.Render(out);
  watch_resumes.Render(out);
  certificate_reloads.Render(out);
  held.Render(out);
  clients_refused.Render(out);
  admin_evictions.Render(out);
  limit_refusals.Render(out);
  hold_duration.Render(out);
  evictions.Render(out);
  eviction_detection.Render(out);
  readmission.Render(out);
}

}  // namespace ehp
