// The /metrics page: gauges read from every component at scrape time, then the counter and
// histogram families the components update as things happen. Here, at the top, so metrics/
// depends on nothing above it.
#pragma once

#include <string>

namespace ehp {

struct Config;
struct ProxyMetrics;
class HealthChecker;
class UpstreamPool;
class StreamRegistry;
class CallHolder;

std::string RenderMetricsPage(const ProxyMetrics& metrics, const Config& config,
                              const HealthChecker& health, const UpstreamPool& upstream,
                              const StreamRegistry& streams, const CallHolder& holder);

// Seconds since the epoch at which the PEM certificate in `path` expires; -1 if unreadable.
double CertificateNotAfter(const std::string& path);

}  // namespace ehp
