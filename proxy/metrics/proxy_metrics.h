// Every metric the proxy exports, declared in one place. Names follow Prometheus conventions
// (base units, _total counters, _seconds histograms) and are a contract: never rename one.
#pragma once

#include <string>
#include <string_view>

#include "proxy/metrics/metric_families.h"

namespace ehp {

struct ProxyMetrics {
  // Updated as calls end (relay) and as members change state (health checker).
  CounterFamily calls{"etcd_health_proxy_calls_total",
                      "Calls relayed, by gRPC service, method, status code and member.",
                      {"service", "method", "code", "member"}};
  HistogramFamily call_duration{
      "etcd_health_proxy_call_duration_seconds",
      "Duration of relayed calls as the client sees them (streams: their whole life).",
      {"service", "method"},
      {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}};
  CounterFamily retries{"etcd_health_proxy_retries_total",
                        "Calls sent again to another member, by reason.",
                        {"reason"}};
  CounterFamily retries_refused{"etcd_health_proxy_retries_refused_total",
                                "Retries not made because the retry budget was spent, by the "
                                "reason the call would have been retried.",
                                {"reason"}};
  CounterFamily hedges{"etcd_health_proxy_hedges_total",
                       "Linearizable reads also sent to a second member because the first was "
                       "slow (hedge-after), by outcome: sent, hedge_won or first_won (which copy "
                       "answered first), skipped (no other usable member, or the retry budget "
                       "was spent).",
                       {"outcome"}};
  CounterFamily watch_resumes{
      "etcd_health_proxy_watch_resumes_total",
      "Watch streams moved to another member with every watcher re-created from its next "
      "revision (resume-watches), by cause: evicted (the member was evicted or drained) or ended "
      "(the member ended the stream with UNAVAILABLE).",
      {"cause"}};
  CounterFamily certificate_reloads{
      "etcd_health_proxy_certificate_reloads_total",
      "Certificate files seen rewritten on disk, by listener (client, upstream, admin) and "
      "result (success, or failure: the previous files stay in use).",
      {"listener", "result"}};
  CounterFamily clients_refused{
      "etcd_health_proxy_client_certificates_refused_total",
      "Client TLS handshakes refused because the certificate, though signed by the trusted CA, "
      "names no client in allowed-client-names.",
      {}};
  CounterFamily admin_evictions{
      "etcd_health_proxy_admin_connections_evicted_total",
      "Admin plane connections closed to admit a new one because admin-max-connections were "
      "open (the oldest that had not completed a request, else the oldest idle one).",
      {}};
  CounterFamily limit_refusals{"etcd_health_proxy_limit_refusals_total",
                               "New calls refused with RESOURCE_EXHAUSTED because a cap was "
                               "reached, by the setting (max-streams, max-member-calls).",
                               {"limit"}};
  CounterFamily held{"etcd_health_proxy_held_calls_total",
                     "Calls and streams held because no member could take them, by outcome: "
                     "sent (a member took it), expired (leaderless-wait or its deadline passed), "
                     "refused (max-held-calls or max-held-bytes reached), cancelled.",
                     {"outcome"}};
  HistogramFamily hold_duration{"etcd_health_proxy_hold_duration_seconds",
                                "How long held calls waited for a usable member.",
                                {},
                                {0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10}};
  CounterFamily evictions{"etcd_health_proxy_evictions_total",
                          "Members evicted, by member and reason.",
                          {"member", "reason"}};
  HistogramFamily eviction_detection{
      "etcd_health_proxy_eviction_detection_seconds",
      "Time from a member's first bad probe round to its eviction (0 for immediate reasons).",
      {"member"},
      {0.1, 0.25, 0.5, 1, 2, 5, 10, 30}};
  HistogramFamily readmission{"etcd_health_proxy_readmission_seconds",
                              "Time from a member's eviction to its readmission.",
                              {"member"},
                              {1, 2, 5, 10, 30, 60, 120, 300, 600}};

  // The families above, in Prometheus text (the gauges read at scrape time come first, from
  // the server: see proxy/server/metrics_page.h).
  void RenderFamilies(std::string* out) const;
};

// "/etcdserverpb.KV/Range" -> {"etcdserverpb.KV", "Range"}.
std::pair<std::string, std::string> SplitMethod(std::string_view path);

}  // namespace ehp
