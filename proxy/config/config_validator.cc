#include "proxy/config/config_validator.h"

#include <unistd.h>

#include <algorithm>
#include <set>

#include "proxy/config/secret_file.h"

namespace ehp {
namespace {

class Checker {
 public:
  Checker(const Origins& origins, const std::set<std::string, std::less<>>& failed,
          std::vector<std::string>* errors)
      : origins_(origins), failed_(failed), errors_(errors) {}

  // "--name" or "file:line:col: name" when the value came from there; else the flag's name.
  std::string Where(const std::string& name) const {
    auto it = origins_.find(name);
    return it != origins_.end() ? it->second : "--" + name;
  }
  bool Set(const std::string& name) const { return origins_.contains(name); }
  bool Failed(const std::string& name) const { return failed_.contains(name); }

  void Error(const std::string& name, const std::string& what) {
    if (!Failed(name)) errors_->push_back(Where(name) + ": " + what);
  }

  void Range(const std::string& name, int64_t value, int64_t lo, int64_t hi) {
    if (value < lo || value > hi) {
      Error(name, std::to_string(value) + " is out of range (" + std::to_string(lo) + " to " +
                      std::to_string(hi) + ")");
    }
  }

  void Readable(const std::string& name, const std::string& path) {
    if (!path.empty() && access(path.c_str(), R_OK) != 0) {
      Error(name, "cannot read \"" + path + "\"");
    }
  }

  // Both or neither of a certificate and its key.
  void Pair(const std::string& cert_name, const std::string& cert, const std::string& key_name,
            const std::string& key) {
    if (!cert.empty() && key.empty()) Error(cert_name, "needs --" + key_name + " as well");
    if (cert.empty() && !key.empty()) Error(key_name, "needs --" + cert_name + " as well");
  }

 private:
  const Origins& origins_;
  const std::set<std::string, std::less<>>& failed_;
  std::vector<std::string>* errors_;
};

}  // namespace

void ValidateConfig(const Config& c, const Origins& origins,
                    const std::set<std::string, std::less<>>& failed,
                    std::vector<std::string>* errors, std::vector<std::string>* warnings) {
  Checker check(origins, failed, errors);

  // Upstream.
  if (c.endpoints.empty()) check.Error("endpoints", "at least one etcd member URL is required");
  std::set<std::string> seen;
  bool any_tls = false;
  bool any_plain = false;
  for (const MemberUrl& m : c.endpoints) {
    if (!seen.insert(m.Authority()).second) {
      check.Error("endpoints", "\"" + m.Authority() + "\" is listed twice");
    }
    (m.tls ? any_tls : any_plain) = true;
  }
  for (const auto& [member, zone] : c.member_zones) {
    if (!seen.contains(member)) {
      check.Error("member-zones", "\"" + member + "\" is not one of the endpoints (host:port)");
    }
  }
  check.Pair("cert", c.cert, "key", c.key);
  if (any_tls && c.cacert.empty()) {
    check.Error("cacert",
                "is required when an endpoint uses https:// (the CA that signed the "
                "members' certificates)");
  }
  if (!any_tls && (!c.cacert.empty() || !c.cert.empty())) {
    check.Error("endpoints", "--cacert/--cert are set but no endpoint uses https://");
  }
  if (any_plain) {
    warnings->push_back("endpoints: calls to http:// members travel in plaintext");
  }
  check.Readable("cacert", c.cacert);
  check.Readable("cert", c.cert);
  check.Readable("key", c.key);
  check.Range("upstream-connections", c.upstream_connections, 1, 64);
  if (c.keepalive_time < std::chrono::seconds(5)) {
    check.Error("keepalive-time",
                "must be at least 5s (etcd closes connections that ping more "
                "often)");
  }
  if (c.keepalive_timeout < std::chrono::milliseconds(100)) {
    check.Error("keepalive-timeout", "must be at least 100ms");
  }
  if (c.dial_timeout < std::chrono::milliseconds(100)) {
    check.Error("dial-timeout", "must be at least 100ms");
  }

  // Health probing.
  if (c.probe_interval < std::chrono::milliseconds(10) ||
      c.probe_interval > std::chrono::seconds(60)) {
    check.Error("probe-interval", "must be between 10ms and 60s");
  }
  if (c.probe_timeout < std::chrono::milliseconds(10)) {
    check.Error("probe-timeout", "must be at least 10ms");
  }
  if (c.probe_read_timeout < std::chrono::milliseconds(10)) {
    check.Error("probe-read-timeout", "must be at least 10ms");
  }
  if (c.probe_read_timeout > c.probe_timeout) {
    check.Error("probe-read-timeout", "must not be longer than --probe-timeout");
  }
  if (!c.probe_user.empty() && c.probe_password_file.empty()) {
    check.Error("probe-user", "needs --probe-password-file as well");
  }
  if (c.probe_user.empty() && !c.probe_password_file.empty()) {
    check.Error("probe-password-file", "needs --probe-user as well");
  }
  if (!c.probe_password_file.empty() && !check.Failed("probe-password-file")) {
    std::string password, error;
    if (!ReadSecretFile(c.probe_password_file, &password, &error)) {
      check.Error("probe-password-file", error);
    }
  }
  check.Range("unreachable-threshold", c.unreachable_threshold, 1, 100);
  check.Range("readmit-rounds", c.readmit_rounds, 1, 100);
  check.Range("max-lag", c.max_lag, 1, 1LL << 40);
  if (c.max_lag_time.count() != 0 &&
      (c.max_lag_time < std::chrono::milliseconds(10) || c.max_lag_time > std::chrono::hours(1))) {
    check.Error("max-lag-time", "must be 0s (off) or between 10ms and 1h");
  } else if (c.max_lag_time.count() != 0 && c.max_lag_time < c.probe_interval * 2) {
    warnings->push_back(
        "max-lag-time: shorter than two probe-intervals, the resolution of the estimate; members "
        "may be judged late for a round's sampling");
  }
  if (c.maintenance_timeout < std::chrono::seconds(1) ||
      c.maintenance_timeout > std::chrono::hours(24)) {
    check.Error("maintenance-timeout", "must be between 1s and 24h");
  }
  if (c.holdout_max < std::chrono::seconds(2)) check.Error("holdout-max", "must be at least 2s");
  if (c.endpoints.size() > 16) check.Error("endpoints", "at most 16 members are supported");

  // Routing.
  if (c.write_routing != "leader" && c.write_routing != "any") {
    check.Error("write-routing", "\"" + c.write_routing + "\" is not leader or any");
  }
  if (!c.local_zone.empty() &&
      std::none_of(c.member_zones.begin(), c.member_zones.end(),
                   [&](const auto& mz) { return mz.second == c.local_zone; })) {
    warnings->push_back("local-zone: no member is in zone \"" + c.local_zone +
                        "\" (see --member-zones); reads go to every zone alike");
  }
  check.Range("serializable-max-lag", c.serializable_max_lag, 0, 1LL << 40);
  if (c.stream_close_window < std::chrono::milliseconds(0) ||
      c.stream_close_window > std::chrono::seconds(60)) {
    check.Error("stream-close-window", "must be between 0s and 60s");
  }

  if (c.hedge_after < std::chrono::milliseconds(-1) || c.hedge_after > std::chrono::seconds(60)) {
    check.Error("hedge-after", "must be auto, 0s (off) or a duration up to 60s");
  }
  if (c.hedge_min < std::chrono::milliseconds(1) || c.hedge_min > std::chrono::seconds(10)) {
    check.Error("hedge-min", "must be between 1ms and 10s");
  }
  if (c.write_stall_after < std::chrono::milliseconds(0) ||
      c.write_stall_after > std::chrono::seconds(10)) {
    check.Error("write-stall-after", "must be between 0s (off) and 10s");
  }
  if (c.leaderless_wait < std::chrono::milliseconds(0) ||
      c.leaderless_wait > std::chrono::seconds(60)) {
    check.Error("leaderless-wait", "must be between 0s and 60s");
  }
  check.Range("max-held-calls", c.max_held_calls, 0, 1'000'000);
  check.Range("max-held-bytes", c.max_held_bytes, 0, 16LL << 30);
  check.Range("max-member-calls", c.max_member_calls, 1, 10'000'000);

  // Client listener.
  check.Pair("cert-file", c.cert_file, "key-file", c.key_file);
  if (!c.trusted_ca_file.empty() && c.cert_file.empty()) {
    check.Error("trusted-ca-file",
                "needs --cert-file and --key-file (client certificates are "
                "only checked over TLS)");
  }
  check.Readable("trusted-ca-file", c.trusted_ca_file);
  check.Readable("cert-file", c.cert_file);
  check.Readable("key-file", c.key_file);
  if (c.cert_file.empty() && !c.listen_addr.IsLocal() && !c.insecure_listen) {
    check.Error("listen-addr", "\"" + c.listen_addr.raw +
                                   "\" is not loopback and no --cert-file is set: refusing a "
                                   "plaintext listener (set --insecure-listen to allow it)");
  }
  if (!c.cert_file.empty() && c.trusted_ca_file.empty()) {
    warnings->push_back(
        "trusted-ca-file is not set: any client that reaches the listener may "
        "connect");
  }
  check.Range("max-recv-bytes", c.max_recv_bytes, 1024, (1LL << 31) - 1);
  check.Range("max-send-bytes", c.max_send_bytes, 1024, (1LL << 31) - 1);
  if (!c.allowed_client_names.empty() && c.trusted_ca_file.empty()) {
    check.Error("allowed-client-names",
                "needs --trusted-ca-file (names are only checked on verified client "
                "certificates)");
  }
  check.Range("max-concurrent-streams", c.max_concurrent_streams, 1, (1LL << 31) - 1);
  check.Range("max-streams", c.max_streams, 1, 10'000'000);
  check.Range("max-header-bytes", c.max_header_bytes, 1024, 1LL << 20);
  check.Range("max-buffer-bytes", c.max_buffer_bytes, 16LL << 20, 1LL << 40);
  if (c.handshake_timeout < std::chrono::milliseconds(100) ||
      c.handshake_timeout > std::chrono::minutes(5)) {
    check.Error("handshake-timeout", "must be between 100ms and 5m");
  }
  check.Range("max-connections", c.max_connections, 1, 10'000'000);
  check.Range("threads", c.threads, 0, 256);

  // Operations.
  check.Pair("metrics-cert-file", c.metrics_cert_file, "metrics-key-file", c.metrics_key_file);
  check.Readable("metrics-cert-file", c.metrics_cert_file);
  check.Readable("metrics-key-file", c.metrics_key_file);
  check.Readable("metrics-trusted-ca-file", c.metrics_trusted_ca_file);
  if (c.metrics_addr.tls && (c.AdminCertFile().empty() || c.AdminKeyFile().empty())) {
    check.Error("metrics-addr",
                "https:// needs a certificate: set --metrics-cert-file and --metrics-key-file "
                "(or --cert-file and --key-file)");
  }
  if (c.metrics_client_cert_auth && !c.metrics_addr.tls) {
    check.Error("metrics-client-cert-auth", "only applies to an https:// --metrics-addr");
  } else if (c.metrics_client_cert_auth && c.AdminTrustedCaFile().empty()) {
    check.Error("metrics-client-cert-auth",
                "needs --metrics-trusted-ca-file (or --trusted-ca-file) to verify certificates");
  }
  if (!c.metrics_addr.tls && !IsLoopbackHost(c.metrics_addr.host)) {
    warnings->push_back(
        "metrics-addr: the admin plane listens in plaintext on a non-loopback "
        "address");
  }
  if (!c.listen_addr.is_unix && c.listen_addr.port != 0 &&
      c.listen_addr.port == c.metrics_addr.port && c.listen_addr.host == c.metrics_addr.host) {
    check.Error("metrics-addr", "uses the same address as --listen-addr");
  }
  if (c.shutdown_grace < std::chrono::milliseconds(0) || c.shutdown_grace > std::chrono::hours(1)) {
    check.Error("shutdown-grace", "must be between 0s and 1h");
  }
  if (c.admin_read_timeout < std::chrono::milliseconds(100)) {
    check.Error("admin-read-timeout", "must be at least 100ms");
  }
  if (c.admin_header_timeout < std::chrono::milliseconds(100)) {
    check.Error("admin-header-timeout", "must be at least 100ms");
  }
  if (c.admin_idle_timeout < std::chrono::milliseconds(100)) {
    check.Error("admin-idle-timeout", "must be at least 100ms");
  }
  if (c.admin_max_connections < 16 || c.admin_max_connections > 1000000) {
    check.Error("admin-max-connections", "must be between 16 and 1000000");
  }
  if (c.cert_reload_interval < std::chrono::seconds(1)) {
    check.Error("cert-reload-interval", "must be at least 1s");
  }
  static const std::set<std::string> kLevels = {"trace", "debug",    "info", "warn",
                                                "error", "critical", "off"};
  if (!kLevels.contains(c.log_level)) {
    check.Error("log-level", "\"" + c.log_level +
                                 "\" is not one of trace, debug, info, warn, "
                                 "error, critical, off");
  }
  if (c.log_format != "text" && c.log_format != "json") {
    check.Error("log-format", "\"" + c.log_format + "\" is not text or json");
  }
}

}  // namespace ehp
