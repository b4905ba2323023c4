#include "proxy/server/proxy_server.h"

#include <array>

#include <spdlog/spdlog.h>

#include "proxy/config/settings.h"
#include "proxy/server/metrics_page.h"
#include "proxy/service/status_line.h"

namespace ehp {
namespace {

CertificateFiles AdminTlsFiles(const Config& c) {
  if (!c.metrics_addr.tls) return {};
  return {c.AdminCertFile(), c.AdminKeyFile(), c.AdminTrustedCaFile()};
}

}  // namespace

Backends::Backends(const Config& c, ProxyMetrics* metrics, std::shared_ptr<Scheduler> scheduler)
    : config(c),
      upstream(std::make_shared<UpstreamPool>(config)),
      prober(config),
      health(config, upstream.get(), &prober, std::move(scheduler), metrics) {}

Backends::~Backends() { health.Stop(); }

ProxyServer::ProxyServer(const Config& config)
    : config_(config),
      scheduler_(std::make_shared<ThreadScheduler>()),
      backends_(std::make_shared<Backends>(config_, &metrics_, scheduler_)),
      pools_(backends_->upstream),
      streams_(scheduler_, static_cast<size_t>(config.max_streams)),
      holder_(config.max_held_calls, config.max_held_bytes),
      admin_(config_.metrics_addr, &admin_backend_,
             AdminServer::Limits{.read_timeout = config_.admin_read_timeout,
                                 .header_timeout = config_.admin_header_timeout,
                                 .idle_timeout = config_.admin_idle_timeout,
                                 .max_sessions = static_cast<int>(config_.admin_max_connections)},
             AdminServer::Tls{.files = AdminTlsFiles(config_),
                              .require_client_cert = config_.metrics_client_cert_auth},
             [this] { metrics_.admin_evictions.Inc({}); }),
      certificates_(config_.cert_reload_interval, &metrics_.certificate_reloads, scheduler_) {
  MoveCallsOnEviction(*backends_);
  if (!config_.cert_file.empty()) {
    CertificateFiles files{config_.cert_file, config_.key_file, config_.trusted_ca_file};
    certificates_.Watch("client", files, [this](std::string* error) {
      return data_path_ != nullptr && data_path_->ReloadClientTls(error);
    });
  }
  WatchUpstreamCertificates(config_);
  if (config_.metrics_addr.tls) {
    certificates_.Watch("admin", AdminTlsFiles(config_),
                        [this](std::string* error) { return admin_.ReloadTls(error); });
  }
}

void ProxyServer::WatchUpstreamCertificates(const Config& config) {
  if (config.cert.empty() && config.cacert.empty()) return;
  certificates_.Watch("upstream", {config.cert, config.key, config.cacert},
                      [this](std::string* error) {
                        return data_path_ == nullptr || data_path_->ReloadMemberTls(error);
                      });
}

std::string ProxyServer::RenderMetrics() const {
  const auto b = backends();
  return RenderMetricsPage(metrics_, b->config, b->health, *b->upstream, streams_, holder_);
}

bool ProxyServer::SetDrained(const std::string& member, bool drained) {
  // Its streams and reads move in MoveCallsOnEviction.
  return backends()->health.SetDrained(member, drained);
}

void ProxyServer::MoveCallsOnEviction(Backends& b) {
  const std::chrono::milliseconds window = b.config.stream_close_window;
  b.health.SetOnUnusable([this, window](Member& member, UnhealthyReason reason) {
    // Reads still waiting on it go to another member now instead of hanging until their
    // deadline (a frozen or cut-off member may never answer).
    if (data_path_ != nullptr) data_path_->MoveOff(&member);
    // UNAVAILABLE with a message of our own: clientv3 re-opens watches (from the last revision
    // it saw) and keep-alive streams; they land on members that take calls.
    const size_t n = streams_.CloseMember(
        member.name(),
        grpc::Status(grpc::StatusCode::UNAVAILABLE,
                     "etcd-health-proxy: member " + member.name() + " is out of service (" +
                         std::string(ToString(reason)) + "); re-open the stream"),
        window);
    if (n > 0) {
      spdlog::info("member {} out of service ({}): moving {} stream(s) over {} ms", member.name(),
                   ToString(reason), n, window.count());
    }
  });
  // Reads waiting on a leader that cannot reach its quorum would hang: they wait for the stall
  // to pass instead (the routing holds them), and go out again then.
  b.health.SetOnStalled([this, pool = b.upstream.get()] {
    if (data_path_ == nullptr) return;
    for (const auto& m : pool->Members()->members) data_path_->MoveOff(m.get());
  });
}

std::shared_ptr<Backends> ProxyServer::backends() const {
  std::lock_guard lock(backends_mu_);
  return backends_;
}

std::vector<std::string> ProxyServer::Reload(const Config& next) {
  // The client listener and the admin plane are built once; a reload names what it ignored.
  static constexpr std::array kRestartOnly = {"listen-addr",
                                              "cert-file",
                                              "key-file",
                                              "trusted-ca-file",
                                              "insecure-listen",
                                              "max-recv-bytes",
                                              "max-send-bytes",
                                              "metrics-addr",
                                              "metrics-cert-file",
                                              "metrics-key-file",
                                              "metrics-trusted-ca-file",
                                              "metrics-client-cert-auth",
                                              "admin-read-timeout",
                                              "admin-header-timeout",
                                              "admin-idle-timeout",
                                              "admin-max-connections",
                                              "shutdown-grace",
                                              "max-held-calls",
                                              "max-held-bytes",
                                              "allowed-client-names",
                                              "max-concurrent-streams",
                                              "max-streams",
                                              "max-header-bytes",
                                              "handshake-timeout"};
  std::vector<std::string> restart;
  for (const char* name : kRestartOnly) {
    const Setting* setting = FindSetting(name);
    if (setting->show(next) != setting->show(config_)) restart.push_back(name);
  }

  auto fresh = std::make_shared<Backends>(next, &metrics_, scheduler_);
  MoveCallsOnEviction(*fresh);
  const auto old = backends();
  // Drained members stay drained across a reload.
  for (const auto& m : old->health.Snapshot().members) {
    if (m.state == HealthState::kDrained) fresh->health.SetDrained(m.name, true);
  }
  fresh->health.Start();
  if (!fresh->health.WaitForFirstRound(next.probe_timeout + std::chrono::seconds(3))) {
    spdlog::warn("reload: the new member set did not complete a probe round; switching anyway");
  }
  {
    std::lock_guard lock(backends_mu_);
    backends_ = fresh;
  }
  pools_.Set(fresh->upstream);
  WatchUpstreamCertificates(next);
  spdlog::info("reload: now relaying to {} member(s)", next.endpoints.size());
  // The old probes stop here; calls still running keep the old pool and its connections alive.
  old->health.Stop();
  return restart;
}

ProxyServer::~ProxyServer() {
  Shutdown();
  admin_.Stop();
}

bool ProxyServer::Start(std::string* error) {
  // The data path exists before the probe thread starts: its eviction hooks use it (MoveOff
  // does nothing until the data path has started).
  DataPath::Hooks hooks;
  hooks.client_refused = [this](const std::string& identity) { OnClientRefused(identity); };
  hooks.connection_refused = [this] { OnConnectionRefused(); };
  data_path_ = std::make_unique<DataPath>(
      config_, RelayContext{&pools_, &streams_, &methods_, &metrics_, &holder_, &call_refusal_log_},
      std::move(hooks));
  // Judge the members once before taking calls, so the first calls avoid bad members.
  HealthChecker& health = backends()->health;
  health.Start();
  if (!health.WaitForFirstRound(config_.probe_timeout + std::chrono::seconds(3))) {
    spdlog::warn("health: no probe round completed yet; serving with every member assumed usable");
  }
  // On failure the probe thread stops first: its hooks must not outlive the data path.
  if (!data_path_->Start(error)) {
    health.Stop();
    data_path_.reset();
    return false;
  }
  port_ = data_path_->port();
  if (!admin_.Start(error)) {
    health.Stop();
    data_path_->Stop(std::chrono::milliseconds(0));
    data_path_.reset();
    return false;
  }
  certificates_.Start();
  serving_.store(true, std::memory_order_release);
  spdlog::info("listening on {} ({}), relaying to {} member(s) on {} I/O thread(s)", Address(),
               config_.cert_file.empty()         ? "plaintext"
               : config_.trusted_ca_file.empty() ? "TLS"
                                                 : "mutual TLS",
               config_.endpoints.size(), data_path_->threads());
  return true;
}

void ProxyServer::OnClientRefused(const std::string& identity) {
  metrics_.clients_refused.Inc({});
  uint64_t suppressed = 0;
  if (client_refusal_log_.ShouldLog(std::chrono::steady_clock::now(), &suppressed)) {
    spdlog::warn("refused a client certificate: {} is not in allowed-client-names{}", identity,
                 SuppressedNote(suppressed));
  }
}

void ProxyServer::OnConnectionRefused() {
  metrics_.limit_refusals.Inc({"max-connections"});
  uint64_t suppressed = 0;
  if (call_refusal_log_.ShouldLog(std::chrono::steady_clock::now(), &suppressed)) {
    spdlog::warn("refusing new client connections: {} open (max-connections){}",
                 config_.max_connections, SuppressedNote(suppressed));
  }
}

bool ProxyServer::Alive(std::string* why) {
  for (const AdminBackend::Check& check : admin_backend_.LivenessChecks()) {
    if (check.ok) continue;
    *why = check.name + " stuck (" + check.detail + ")";
    return false;
  }
  return true;
}

std::string ProxyServer::StatusLine() const {
  return ehp::StatusLine(backends()->health.Snapshot());
}

std::string ProxyServer::Address() const {
  if (config_.listen_addr.is_unix) return config_.listen_addr.GrpcUri();
  ListenAddress bound = config_.listen_addr;
  bound.port = static_cast<uint16_t>(port_);
  return bound.GrpcUri();
}

void ProxyServer::Shutdown() {
  if (data_path_ == nullptr || stopped_) return;
  stopped_ = true;
  serving_.store(false, std::memory_order_release);
  const size_t streams = streams_.size();
  spdlog::info("shutting down: ending {} stream(s), up to {} ms for unary calls", streams,
               config_.shutdown_grace.count());
  const auto grace_end = std::chrono::steady_clock::now() + config_.shutdown_grace;
  // No new connections, and no new streams on the open ones; unary calls in flight go on,
  // streams end with UNAVAILABLE so that their clients re-open them elsewhere.
  data_path_->StopAccepting();
  data_path_->GoAway();
  streams_.CloseAll(
      grpc::Status(grpc::StatusCode::UNAVAILABLE, "etcd-health-proxy is shutting down"));
  data_path_->Stop(std::chrono::duration_cast<std::chrono::milliseconds>(
      std::max(grace_end - std::chrono::steady_clock::now(),
               std::chrono::steady_clock::duration(std::chrono::milliseconds(100)))));
  // Every connection is closed now, so every stream removed itself.
  if (!streams_.WaitUntilEmpty(std::chrono::seconds(10))) {
    spdlog::error("shutting down: {} stream(s) still registered", streams_.size());
  }
  backends()->health.Stop();
  certificates_.Stop();
  admin_.Stop();
  spdlog::info("shut down");
}

}  // namespace ehp
