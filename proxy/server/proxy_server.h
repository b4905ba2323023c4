// The whole proxy for one Config: the member set and its health checking, the data path (the client
// listener and the relays), the admin plane. main() and the integration tests both run it through
// this class.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "proxy/admin/admin_server.h"
#include "proxy/config/proxy_config.h"
#include "proxy/core/thread_scheduler.h"
#include "proxy/datapath/data_path.h"
#include "proxy/health/grpc_member_prober.h"
#include "proxy/health/health_checker.h"
#include "proxy/log/rate_limited.h"
#include "proxy/metrics/proxy_metrics.h"
#include "proxy/relay/method_table.h"
#include "proxy/relay/stream_registry.h"
#include "proxy/server/proxy_admin_backend.h"
#include "proxy/tls/certificate_watcher.h"
#include "proxy/upstream/upstream_pool.h"

namespace ehp {

// Everything that depends on the member list and the probe settings; replaced as a whole when
// a reload changes them. Calls in flight keep the pool (and so their members) they started with.
struct Backends {
  Backends(const Config& config, ProxyMetrics* metrics, std::shared_ptr<Scheduler> scheduler);
  ~Backends();

  const Config config;
  std::shared_ptr<UpstreamPool> upstream;
  GrpcMemberProber prober;
  HealthChecker health;
};

class ProxyServer {
 public:
  explicit ProxyServer(const Config& config);
  ~ProxyServer();

  // Binds the client listener and starts serving. False, with *error, when it cannot bind.
  bool Start(std::string* error);

  // The port the listener is bound to (useful with port 0); 0 for unix sockets.
  int port() const { return port_; }
  // host:port or unix:///path that clients dial.
  std::string Address() const;

  // Stops accepting, ends every stream with UNAVAILABLE so clients reconnect elsewhere, and lets
  // unary calls finish within shutdown-grace. Returns when the server has stopped.
  void Shutdown();

  // Applies a new configuration (SIGHUP): member list, TLS files towards members and probe
  // settings take effect (a new member set is probed once before calls move to it); settings
  // that only a restart can change are left as they are and named in the result.
  std::vector<std::string> Reload(const Config& next);

  size_t open_streams() const { return streams_.size(); }
  // Drains or undrains a member: no new calls, and its open streams end with UNAVAILABLE so
  // their clients re-open them on other members. False when no member has that name.
  bool SetDrained(const std::string& member, bool drained);
  // The current member set, probes and health; hold the pointer while using them.
  std::shared_ptr<Backends> backends() const;
  // Shorthand for tests that do not reload.
  HealthChecker& health() const { return backends()->health; }
  const ProxyMetrics& metrics() const { return metrics_; }
  const CallHolder& holder() const { return holder_; }
  // The /metrics page.
  std::string RenderMetrics() const;
  // The configuration the proxy started with (listener settings never change at run time).
  const Config& config() const { return config_; }
  // True between a successful Start() and Shutdown(); read by the admin thread.
  bool serving() const { return serving_.load(std::memory_order_acquire); }
  // The admin plane's port (useful with port 0).
  int admin_port() const { return admin_.port(); }
  double admin_heartbeat_age() const { return admin_.SecondsSinceHeartbeat(); }
  // True while the health loop and the admin thread still turn (what /livez checks); *why
  // names the first that does not.
  bool Alive(std::string* why);
  // The timer thread the periodic jobs run on (the service notifier's too).
  const std::shared_ptr<Scheduler>& scheduler() const { return scheduler_; }
  // The one-line summary for the service manager ("3/3 members healthy, leader m2").
  std::string StatusLine() const;

 private:
  void WatchUpstreamCertificates(const Config& config);
  // A client certificate refused by --allowed-client-names: counted, logged (rate-limited).
  void OnClientRefused(const std::string& identity);
  // A client connection beyond --max-connections: counted, logged (rate-limited).
  void OnConnectionRefused();
  // When a member stops taking calls: resends its reads in flight and ends its streams (spread
  // over stream-close-window) so they re-open elsewhere.
  void MoveCallsOnEviction(Backends& backends);

  const Config config_;
  ProxyMetrics metrics_;
  // The timer thread every periodic job runs on (probe rounds, certificate checks); first, so
  // it outlives their owners.
  std::shared_ptr<Scheduler> scheduler_;
  mutable std::mutex backends_mu_;
  std::shared_ptr<Backends> backends_;  // guarded by backends_mu_
  SnapshotCell<UpstreamPool> pools_;    // the current backends' pool, for the per-call path
  // One line per 10 s at most for each kind of refusal, so one flood cannot hide the other.
  RateLimitedLog client_refusal_log_;
  RateLimitedLog call_refusal_log_;
  StreamRegistry streams_;
  MethodTable methods_;
  CallHolder holder_;
  ProxyAdminBackend admin_backend_{this};
  AdminServer admin_;
  CertificateWatcher certificates_;
  std::unique_ptr<DataPath> data_path_;  // the client listener and the relays
  int port_ = 0;
  bool stopped_ = false;
  std::atomic<bool> serving_{false};
};

}  // namespace ehp
