#include "proxy/server/proxy_server.h"

#include <array>

#include <grpcpp/resource_quota.h>
#include <grpcpp/server_builder.h>
#include <spdlog/spdlog.h>

#include "proxy/config/settings.h"
#include "proxy/server/listener_credentials.h"
#include "proxy/service/status_line.h"

namespace ehp {
namespace {

CertificateFiles AdminTlsFiles(const Config& c) {
  if (!c.metrics_addr.tls) return {};
  return {c.AdminCertFile(), c.AdminKeyFile(), c.AdminTrustedCaFile()};
}

}  // namespace

Backends::Backends(const Config& c, ProxyMetrics* metrics)
    : config(c),
      upstream(std::make_shared<UpstreamPool>(config)),
      prober(config),
      health(config, upstream.get(), &prober, metrics) {}

Backends::~Backends() { health.Stop(); }

ProxyServer::ProxyServer(const Config& config)
    : config_(config),
      backends_(std::make_shared<Backends>(config_, &metrics_)),
      pools_(backends_->upstream),
      streams_(static_cast<size_t>(config.max_streams)),
      holder_(config.max_held_calls, config.max_held_bytes),
      service_(
          RelayContext{&pools_, &streams_, &methods_, &metrics_, &holder_, &call_refusal_log_}),
      admin_(config_.metrics_addr, &admin_backend_,
             AdminServer::Limits{.read_timeout = config_.admin_read_timeout,
                                 .header_timeout = config_.admin_header_timeout,
                                 .idle_timeout = config_.admin_idle_timeout,
                                 .max_sessions = static_cast<int>(config_.admin_max_connections)},
             AdminServer::Tls{.files = AdminTlsFiles(config_),
                              .require_client_cert = config_.metrics_client_cert_auth},
             [this] { metrics_.admin_evictions.Inc({}); }),
      certificates_(config_.cert_reload_interval, &metrics_.certificate_reloads) {
  MoveCallsOnEviction(*backends_);
  if (!config_.cert_file.empty()) {
    CertificateFiles files{config_.cert_file, config_.key_file, config_.trusted_ca_file};
    if (config_.data_path == "h2") {
      certificates_.Watch("client", files, [this](std::string* error) {
        return data_path_ != nullptr && data_path_->ReloadClientTls(error);
      });
    } else {
      certificates_.Watch("client", files);
    }
  }
  WatchUpstreamCertificates(config_);
  if (config_.metrics_addr.tls) {
    certificates_.Watch("admin", AdminTlsFiles(config_),
                        [this](std::string* error) { return admin_.ReloadTls(error); });
  }
}

void ProxyServer::WatchUpstreamCertificates(const Config& config) {
  if (config.cert.empty() && config.cacert.empty()) return;
  if (config_.data_path == "h2") {
    certificates_.Watch("upstream", {config.cert, config.key, config.cacert},
                        [this](std::string* error) {
                          return data_path_ == nullptr || data_path_->ReloadMemberTls(error);
                        });
  } else {
    certificates_.Watch("upstream", {config.cert, config.key, config.cacert});
  }
}

std::string ProxyServer::RenderMetrics() const {
  const auto b = backends();
  return metrics_.Render(b->config, b->health, *b->upstream, streams_, holder_);
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
    if (const size_t moved = member.MoveCallsOff(); moved > 0) {
      spdlog::info("member {} out of service ({}): moving {} read(s) in flight", member.name(),
                   ToString(reason), moved);
    }
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
                                              "max-buffer-bytes",
                                              "handshake-timeout"};
  std::vector<std::string> restart;
  for (const char* name : kRestartOnly) {
    const Setting* setting = FindSetting(name);
    if (setting->show(next) != setting->show(config_)) restart.push_back(name);
  }

  auto fresh = std::make_shared<Backends>(next, &metrics_);
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
  // Judge the members once before taking calls, so the first calls avoid bad members.
  HealthChecker& health = backends()->health;
  health.Start();
  if (!health.WaitForFirstRound(config_.probe_timeout + std::chrono::seconds(3))) {
    spdlog::warn("health: no probe round completed yet; serving with every member assumed usable");
  }
  const bool h2 = config_.data_path == "h2";
  if (h2) {
    DataPath::Hooks hooks;
    hooks.client_refused = [this](const std::string& identity) { OnClientRefused(identity); };
    hooks.connection_refused = [this] { OnConnectionRefused(); };
    data_path_ = std::make_unique<DataPath>(
        config_,
        RelayContext{&pools_, &streams_, &methods_, &metrics_, &holder_, &call_refusal_log_},
        std::move(hooks));
    if (!data_path_->Start(error)) {
      data_path_.reset();
      return false;
    }
    port_ = data_path_->port();
  } else if (!StartGrpcRelay(error)) {
    return false;
  }
  if (!admin_.Start(error)) {
    if (data_path_) data_path_->Stop(std::chrono::milliseconds(0));
    data_path_.reset();
    if (server_) server_->Shutdown(std::chrono::system_clock::now());
    server_.reset();
    return false;
  }
  certificates_.Start();
  serving_.store(true, std::memory_order_release);
  spdlog::info("listening on {} ({}), relaying to {} member(s), {} connection(s) each{}", Address(),
               config_.cert_file.empty()         ? "plaintext"
               : config_.trusted_ca_file.empty() ? "TLS"
                                                 : "mutual TLS",
               config_.endpoints.size(), config_.upstream_connections,
               h2 ? " (data path h2, " + std::to_string(data_path_->threads()) + " I/O threads)"
                  : std::string());
  return true;
}

bool ProxyServer::StartGrpcRelay(std::string* error) {
  grpc::ServerBuilder builder;
  builder.AddListeningPort(
      config_.listen_addr.GrpcUri(),
      MakeListenerCredentials(config_,
                              [this](const std::string& identity) { OnClientRefused(identity); }),
      &port_);
  // Caps on what clients may make the proxy hold (see --help, "Client listener").
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             static_cast<int>(config_.max_concurrent_streams));
  builder.AddChannelArgument(GRPC_ARG_MAX_METADATA_SIZE,
                             static_cast<int>(config_.max_header_bytes));
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS,
                             static_cast<int>(config_.handshake_timeout.count()));
  grpc::ResourceQuota quota("etcd-health-proxy-listener");
  quota.Resize(static_cast<size_t>(config_.max_buffer_bytes));
  builder.SetResourceQuota(quota);
  builder.SetMaxReceiveMessageSize(static_cast<int>(config_.max_recv_bytes));
  builder.SetMaxSendMessageSize(static_cast<int>(config_.max_send_bytes));
  // Without this a second process could bind the same port and silently take half the clients.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // Detect clients that vanished without closing their connection, so their streams towards
  // the members are cancelled; accept client pings as often as etcd itself does.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS,
                             static_cast<int>(config_.keepalive_time.count()));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                             static_cast<int>(config_.keepalive_timeout.count()));
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.RegisterCallbackGenericService(&service_);
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || (!config_.listen_addr.is_unix && port_ == 0)) {
    *error = "cannot listen on " + config_.listen_addr.raw +
             " (address in use, not local, or no permission)";
    server_.reset();
    return false;
  }
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
  if ((server_ == nullptr && data_path_ == nullptr) || stopped_) return;
  stopped_ = true;
  serving_.store(false, std::memory_order_release);
  const size_t streams = streams_.size();
  spdlog::info("shutting down: ending {} stream(s), up to {} ms for unary calls", streams,
               config_.shutdown_grace.count());
  const auto grace_end = std::chrono::steady_clock::now() + config_.shutdown_grace;
  if (data_path_) {
    // No new connections, and no new streams on the open ones; calls in flight go on.
    data_path_->StopAccepting();
    data_path_->GoAway();
  }
  streams_.CloseAll(
      grpc::Status(grpc::StatusCode::UNAVAILABLE, "etcd-health-proxy is shutting down"));
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now() + config_.shutdown_grace);
    server_->Wait();
  }
  if (data_path_) {
    data_path_->Stop(std::chrono::duration_cast<std::chrono::milliseconds>(
        std::max(grace_end - std::chrono::steady_clock::now(),
                 std::chrono::steady_clock::duration(std::chrono::milliseconds(100)))));
  }
  // The client side of each stream is over now, but a relay lives until its member call ends
  // too (cancelled above, so soon); it still uses this object's registry and metrics until then.
  if (!streams_.WaitUntilEmpty(std::chrono::seconds(10))) {
    spdlog::error("shutting down: {} stream(s) still waiting for their member", streams_.size());
  }
  backends()->health.Stop();
  certificates_.Stop();
  admin_.Stop();
  spdlog::info("shut down");
}

}  // namespace ehp
