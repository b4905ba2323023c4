#include "proxy/config/settings.h"

#include <sstream>

#include "proxy/config/value_parsers.h"

namespace ehp {
namespace {

using Field = std::string Config::*;
using DurationField = std::chrono::milliseconds Config::*;

Setting StringSetting(std::string_view name, std::string_view group, std::string_view value_name,
                      Field field, std::string_view help) {
  return Setting{name,
                 group,
                 value_name,
                 help,
                 false,
                 false,
                 [field](Config& c, std::string_view v) {
                   c.*field = std::string(v);
                   return std::string();
                 },
                 [field](const Config& c) { return c.*field; }};
}

Setting DurationSetting(std::string_view name, std::string_view group, DurationField field,
                        std::string_view help) {
  return Setting{name,
                 group,
                 "DURATION",
                 help,
                 false,
                 false,
                 [field](Config& c, std::string_view v) {
                   std::string error;
                   auto d = ParseDuration(v, &error);
                   if (d) c.*field = *d;
                   return error;
                 },
                 [field](const Config& c) { return FormatDuration(c.*field); }};
}

Setting BoolSetting(std::string_view name, std::string_view group, bool Config::*field,
                    std::string_view help) {
  return Setting{name,
                 group,
                 "",
                 help,
                 true,
                 false,
                 [field](Config& c, std::string_view v) {
                   std::string error;
                   auto b = ParseBool(v, &error);
                   if (b) c.*field = *b;
                   return error;
                 },
                 [field](const Config& c) { return std::string(c.*field ? "true" : "false"); }};
}

Setting IntSetting(std::string_view name, std::string_view group, std::string_view value_name,
                   std::function<void(Config&, int64_t)> set,
                   std::function<int64_t(const Config&)> get, std::string_view help) {
  return Setting{name,
                 group,
                 value_name,
                 help,
                 false,
                 false,
                 [set](Config& c, std::string_view v) {
                   std::string error;
                   auto n = ParseInt(v, &error);
                   if (n) set(c, *n);
                   return error;
                 },
                 [get](const Config& c) { return std::to_string(get(c)); }};
}

Setting BytesSetting(std::string_view name, std::string_view group, int64_t Config::*field,
                     std::string_view help) {
  return Setting{name,
                 group,
                 "BYTES",
                 help,
                 false,
                 false,
                 [field](Config& c, std::string_view v) {
                   std::string error;
                   auto b = ParseBytes(v, &error);
                   if (b) c.*field = *b;
                   return error;
                 },
                 [field](const Config& c) { return FormatBytes(c.*field); }};
}

std::vector<Setting> MakeSettings() {
  std::vector<Setting> s;
  constexpr std::string_view kUp = "Upstream (etcd members)";
  constexpr std::string_view kClient = "Client listener";
  constexpr std::string_view kOps = "Operations";

  s.push_back(
      Setting{"endpoints", kUp, "URLS",
              "etcd members, comma-separated: https://etcd-1:2379,https://etcd-2:2379. In YAML a "
              "list or a comma-separated string. http:// or https://, no duplicates; required.",
              false, true,
              [](Config& c, std::string_view v) {
                c.endpoints.clear();
                std::string errors;
                for (const std::string& item : SplitList(v)) {
                  std::string error;
                  auto url = ParseMemberUrl(item, &error);
                  if (url) {
                    c.endpoints.push_back(*url);
                  } else {
                    errors += (errors.empty() ? "" : "; ") + error;
                  }
                }
                return errors;
              },
              [](const Config& c) {
                std::string out;
                for (const auto& e : c.endpoints) out += (out.empty() ? "" : ",") + e.url;
                return out;
              }});
  s.push_back(Setting{
      "member-zones", kUp, "LIST",
      "Availability zone of each member: host:port=zone, comma-separated (a YAML list also "
      "works). Shown in /status and in per-zone metrics.",
      false, true,
      [](Config& c, std::string_view v) {
        c.member_zones.clear();
        std::string errors;
        for (const std::string& item : SplitList(v)) {
          const size_t eq = item.find('=');
          if (eq == std::string::npos || eq == 0 || eq + 1 == item.size()) {
            errors += (errors.empty() ? "" : "; ") + ("\"" + item + "\" is not host:port=zone");
          } else {
            c.member_zones.emplace_back(item.substr(0, eq), item.substr(eq + 1));
          }
        }
        return errors;
      },
      [](const Config& c) {
        std::string out;
        for (const auto& [m, z] : c.member_zones) out += (out.empty() ? "" : ",") + m + "=" + z;
        return out;
      }});
  s.push_back(StringSetting("cacert", kUp, "FILE", &Config::cacert,
                            "CA bundle that verifies the members' certificates; required when any "
                            "endpoint is https://."));
  s.push_back(StringSetting(
      "cert", kUp, "FILE", &Config::cert,
      "Client certificate the proxy presents to the members (with --key: both or neither)."));
  s.push_back(StringSetting("key", kUp, "FILE", &Config::key, "Private key of --cert."));
  s.push_back(IntSetting(
      "upstream-connections", kUp, "N",
      [](Config& c, int64_t n) { c.upstream_connections = static_cast<int>(n); },
      [](const Config& c) { return c.upstream_connections; },
      "HTTP/2 connections per member that all client calls share, spread over the I/O threads "
      "(each has at least one) (1-64)."));
  s.push_back(DurationSetting(
      "keepalive-time", kUp, &Config::keepalive_time,
      "HTTP/2 ping interval on idle member connections; etcd refuses less than 5s."));
  s.push_back(DurationSetting("keepalive-timeout", kUp, &Config::keepalive_timeout,
                              "How long a ping may go unanswered before the connection is "
                              "dropped (at least 100ms)."));
  s.push_back(DurationSetting(
      "dial-timeout", kUp, &Config::dial_timeout,
      "Time allowed to connect to a member (TCP and TLS handshake; at least 100ms)."));

  constexpr std::string_view kHealth = "Health probing";
  s.push_back(DurationSetting("probe-interval", kHealth, &Config::probe_interval,
                              "How often every member is probed (Status and a linearizable "
                              "read, on a connection of their own; 10ms-60s)."));
  s.push_back(DurationSetting("probe-timeout", kHealth, &Config::probe_timeout,
                              "Deadline of the Status probe; a member that misses it "
                              "unreachable-threshold times in a row is evicted."));
  s.push_back(DurationSetting("probe-read-timeout", kHealth, &Config::probe_read_timeout,
                              "Deadline of the linearizable probe read. A member whose read fails "
                              "while a majority's succeeds, two rounds in a row, is evicted "
                              "(partitioned)."));
  s.push_back(StringSetting(
      "probe-user", kHealth, "NAME", &Config::probe_user,
      "etcd user the probes authenticate as when etcd has auth enabled (a token from "
      "Authenticate, renewed when etcd refuses it; on the probes' own connections only). etcd "
      "3.5.28 and later answer Maintenance.Status only to a user with the root role. Unset: "
      "etcd takes the CN of --cert as the user; refused probes fall back to judging members by "
      "their linearizable read, and /status says what to configure. Needs --probe-password-file."));
  s.push_back(StringSetting("probe-password-file", kHealth, "FILE", &Config::probe_password_file,
                            "File holding the password of --probe-user (one final line break "
                            "is ignored), a regular file of at most 64 KiB, read at each "
                            "Authenticate (a rewritten file needs no restart); never logged."));
  s.push_back(IntSetting(
      "unreachable-threshold", kHealth, "N",
      [](Config& c, int64_t n) { c.unreachable_threshold = static_cast<int>(n); },
      [](const Config& c) { return c.unreachable_threshold; },
      "Failed Status probes in a row before a member is evicted (1-100)."));
  s.push_back(IntSetting(
      "readmit-rounds", kHealth, "N",
      [](Config& c, int64_t n) { c.readmit_rounds = static_cast<int>(n); },
      [](const Config& c) { return c.readmit_rounds; },
      "Good rounds in a row (agreeing with the quorum's leader and term) before an evicted "
      "member takes calls again (1-100)."));
  s.push_back(IntSetting(
      "max-lag", kHealth, "ENTRIES", [](Config& c, int64_t n) { c.max_lag = n; },
      [](const Config& c) { return c.max_lag; },
      "Raft entries a member's applied index may trail the most advanced member's."));
  s.push_back(DurationSetting(
      "max-lag-time", kHealth, &Config::max_lag_time,
      "How late a member may be: how long ago the quorum had committed the entries it has not "
      "applied yet, or how much longer its probe reads take than the others'. A later member "
      "takes no calls (reason lagging; its watches move) until it has caught up; the least late "
      "member always keeps serving. 0s: lag in time is only measured, not judged (else 10ms-1h). "
      "See docs/health.md, Lag in time."));
  s.push_back(DurationSetting("holdout-max", kHealth, &Config::holdout_max,
                              "Longest hold-out of a flapping member (doubles per flap from 2s)."));

  constexpr std::string_view kRouting = "Routing";
  s.push_back(StringSetting("write-routing", kRouting, "MODE", &Config::write_routing,
                            "leader: writes go to the member the quorum names as leader; any: "
                            "spread like reads."));
  s.push_back(StringSetting(
      "local-zone", kRouting, "ZONE", &Config::local_zone,
      "The proxy's zone: reads and streams prefer usable members of this "
      "zone (see --member-zones) and fail over to the others; a warning when no member is in it."));
  s.push_back(BoolSetting("inject-hasleader", kRouting, &Config::inject_hasleader,
                          "Add \"hasleader: true\" to every call that lacks it (not Maintenance), "
                          "so a member without a leader refuses it at once and the call is sent "
                          "to another member."));
  s.push_back(
      BoolSetting("resume-watches", kRouting, &Config::resume_watches,
                  "When a watch stream's member is evicted, drained or ends it with UNAVAILABLE, "
                  "re-create its watchers on a usable member from the next revision, "
                  "with the same watch ids: the client sees no break. Off: the stream is "
                  "ended with a resumable error and the client re-opens it."));
  s.push_back(Setting{"retry-budget", kRouting, "PERCENT",
                      "Retries allowed, as a share of calls (plus 10 per second), so a sick "
                      "cluster is not hammered: 10% or 0.1.",
                      false, false,
                      [](Config& c, std::string_view v) {
                        std::string error;
                        auto r = ParseRatio(v, &error);
                        if (r) c.retry_budget = *r;
                        return error;
                      },
                      [](const Config& c) { return FormatRatio(c.retry_budget); }});
  s.push_back(IntSetting(
      "serializable-max-lag", kRouting, "N",
      [](Config& c, int64_t n) { c.serializable_max_lag = n; },
      [](const Config& c) { return c.serializable_max_lag; },
      "Applied-index entries a member may trail before serializable reads avoid it."));
  s.push_back(DurationSetting("stream-close-window", kRouting, &Config::stream_close_window,
                              "When a member is evicted or drained, its streams are ended over "
                              "this long (watches move instead, see --resume-watches), so clients "
                              "do not reconnect as a herd (0s-60s)."));

  s.push_back(Setting{"hedge-after", kRouting, "auto|DURATION",
                      "A linearizable read with no answer after this long is also sent to "
                      "another usable member; the first answer wins, the other is cancelled. "
                      "auto: the 95th percentile of recent reads, at least --hedge-min, at most "
                      "250ms; 0s: off; at most 60s. "
                      "Hedges count against --retry-budget.",
                      false, false,
                      [](Config& c, std::string_view v) {
                        if (v == "auto") {
                          c.hedge_after = std::chrono::milliseconds(-1);
                          return std::string();
                        }
                        std::string error;
                        auto d = ParseDuration(v, &error);
                        if (d) c.hedge_after = *d;
                        return error.empty() ? error : error + " (or auto)";
                      },
                      [](const Config& c) {
                        return c.hedge_after.count() < 0 ? std::string("auto")
                                                         : FormatDuration(c.hedge_after);
                      }});
  s.push_back(DurationSetting("hedge-min", kRouting, &Config::hedge_min,
                              "Floor of the adaptive --hedge-after, so normal jitter is not "
                              "hedged (1ms-10s)."));
  s.push_back(DurationSetting(
      "write-stall-after", kRouting, &Config::write_stall_after,
      "New writes wait (like during an election) while the member they would go to has had "
      "writes in flight and answered none for this long: a leader cut off from its quorum "
      "fails every write sent to it until the probes notice; 0s: off."));
  s.push_back(DurationSetting(
      "leaderless-wait", kRouting, &Config::leaderless_wait,
      "When no member can take a call (an election), hold it this long (within its deadline) "
      "for one that can, instead of failing at once; 0s fails at once (at most 60s)."));
  s.push_back(IntSetting(
      "max-held-calls", kRouting, "N", [](Config& c, int64_t n) { c.max_held_calls = n; },
      [](const Config& c) { return c.max_held_calls; },
      "Calls held at once, at most (0-1000000); beyond it calls fail at once with the reason."));
  s.push_back(BytesSetting("max-held-bytes", kRouting, &Config::max_held_bytes,
                           "Request bytes of the held calls, at most."));
  s.push_back(IntSetting(
      "max-member-calls", kRouting, "N", [](Config& c, int64_t n) { c.max_member_calls = n; },
      [](const Config& c) { return c.max_member_calls; },
      "Unary calls in flight to one member, at most; beyond it calls fail at once with "
      "RESOURCE_EXHAUSTED (a member that slow is overloaded already)."));

  s.push_back(Setting{"listen-addr", kClient, "ADDR",
                      "Where clients connect: host:port, [v6]:port or unix:///path/to.sock.", false,
                      false,
                      [](Config& c, std::string_view v) {
                        std::string error;
                        auto a = ParseListenAddress(v, &error);
                        if (a) c.listen_addr = *a;
                        return error;
                      },
                      [](const Config& c) { return c.listen_addr.raw; }});
  s.push_back(StringSetting("trusted-ca-file", kClient, "FILE", &Config::trusted_ca_file,
                            "CA bundle for client certificates; when set, every client must "
                            "present one it signed (needs --cert-file)."));
  s.push_back(StringSetting("cert-file", kClient, "FILE", &Config::cert_file,
                            "Server certificate of the client listener (enables TLS; with "
                            "--key-file: both or neither)."));
  s.push_back(
      StringSetting("key-file", kClient, "FILE", &Config::key_file, "Private key of --cert-file."));
  s.push_back(Setting{
      "allowed-client-names", kClient, "NAMES",
      "Only client certificates whose subject CN or one of whose SANs is in this comma-separated "
      "list may connect (with --trusted-ca-file); others are refused at the handshake, logged "
      "and counted. Empty: any certificate the CA signed.",
      false, true,
      [](Config& c, std::string_view v) {
        c.allowed_client_names = SplitList(v);
        return std::string();
      },
      [](const Config& c) {
        std::string out;
        for (const auto& n : c.allowed_client_names) out += (out.empty() ? "" : ",") + n;
        return out;
      }});
  s.push_back(BoolSetting(
      "insecure-listen", kClient, &Config::insecure_listen,
      "Allow a plaintext client listener on a non-loopback address (refused otherwise)."));
  s.push_back(BytesSetting("max-recv-bytes", kClient, &Config::max_recv_bytes,
                           "Largest message accepted from a client (larger: RESOURCE_EXHAUSTED "
                           "for that call)."));
  s.push_back(BytesSetting("max-send-bytes", kClient, &Config::max_send_bytes,
                           "Largest message relayed to a client, such as a LIST response "
                           "(kube-apiserver LISTs can be hundreds of MiB)."));
  s.push_back(IntSetting(
      "max-concurrent-streams", kClient, "N",
      [](Config& c, int64_t n) { c.max_concurrent_streams = n; },
      [](const Config& c) { return c.max_concurrent_streams; },
      "HTTP/2 streams (calls) open at once on one client connection; clients queue beyond it."));
  s.push_back(IntSetting(
      "max-streams", kClient, "N", [](Config& c, int64_t n) { c.max_streams = n; },
      [](const Config& c) { return c.max_streams; },
      "Streaming calls (Watch, LeaseKeepAlive, ...) open at once over all clients; beyond it "
      "new ones fail with RESOURCE_EXHAUSTED."));
  s.push_back(BytesSetting("max-header-bytes", kClient, &Config::max_header_bytes,
                           "Request metadata (headers) of one call, at most; larger calls are "
                           "refused."));
  s.push_back(BytesSetting("max-buffer-bytes", kClient, &Config::max_buffer_bytes,
                           "No longer used (accepted so that existing configurations load): "
                           "each stream and connection is bounded by its HTTP/2 flow-control "
                           "windows instead."));
  s.push_back(DurationSetting("handshake-timeout", kClient, &Config::handshake_timeout,
                              "Time a new client connection has to finish its TLS and HTTP/2 "
                              "set-up; a client that stalls there is disconnected."));
  s.push_back(IntSetting(
      "max-connections", kClient, "N", [](Config& c, int64_t n) { c.max_connections = n; },
      [](const Config& c) { return c.max_connections; },
      "Client connections open at once; a connection beyond it is closed at once, counted and "
      "logged."));
  s.push_back(IntSetting(
      "threads", kClient, "N", [](Config& c, int64_t n) { c.threads = n; },
      [](const Config& c) { return c.threads; },
      "I/O threads of the data path, each with its own client and member connections (a call "
      "stays on one thread); 0: one per core (0-256)."));

  s.push_back(Setting{"metrics-addr", kOps, "ADDR",
                      "Admin HTTP listener: host:port, http://host:port or https://host:port.",
                      false, false,
                      [](Config& c, std::string_view v) {
                        std::string error;
                        auto a = ParseHttpAddress(v, &error);
                        if (a) c.metrics_addr = *a;
                        return error;
                      },
                      [](const Config& c) { return c.metrics_addr.raw; }});
  s.push_back(
      StringSetting("metrics-cert-file", kOps, "FILE", &Config::metrics_cert_file,
                    "Server certificate of an https:// admin plane (default: --cert-file)."));
  s.push_back(StringSetting("metrics-key-file", kOps, "FILE", &Config::metrics_key_file,
                            "Private key of --metrics-cert-file (default: --key-file)."));
  s.push_back(StringSetting(
      "metrics-trusted-ca-file", kOps, "FILE", &Config::metrics_trusted_ca_file,
      "CA bundle for admin client certificates (default: --trusted-ca-file). Over https, drain and "
      "undrain need a client certificate it signed."));
  s.push_back(BoolSetting("metrics-client-cert-auth", kOps, &Config::metrics_client_cert_auth,
                          "Over https, refuse every admin request without a verified client "
                          "certificate (kubelet probes then need one too)."));
  s.push_back(DurationSetting("admin-read-timeout", kOps, &Config::admin_read_timeout,
                              "How long the admin plane waits for a whole request (head and "
                              "body; at least 100ms)."));
  s.push_back(DurationSetting(
      "admin-header-timeout", kOps, &Config::admin_header_timeout,
      "How long a new admin connection, or a keep-alive one from its next request's first byte, "
      "has to finish the TLS handshake and send the request line and headers (at least 100ms, at "
      "most "
      "--admin-read-timeout). Slow senders are cut off here."));
  s.push_back(DurationSetting("admin-idle-timeout", kOps, &Config::admin_idle_timeout,
                              "How long a keep-alive admin connection may wait idle for its next "
                              "request before it is closed (at least 100ms)."));
  s.push_back(IntSetting(
      "admin-max-connections", kOps, "N", [](Config& c, int64_t n) { c.admin_max_connections = n; },
      [](const Config& c) { return c.admin_max_connections; },
      "Admin connections open at once (16-1000000; each holds at most a few KiB unless it sends "
      "a body). At the cap a new connection closes the oldest one that has not completed a "
      "request (else the oldest idle one), counted in "
      "etcd_health_proxy_admin_connections_evicted_total."));
  s.push_back(DurationSetting(
      "maintenance-timeout", kOps, &Config::maintenance_timeout,
      "POST /maintenance/defragment: how long one member's Defragment may take, and then its "
      "catching up; past it the operation stops and leaves that member drained (1s-24h)."));
  s.push_back(DurationSetting("shutdown-grace", kOps, &Config::shutdown_grace,
                              "On SIGTERM, how long unary calls may take to finish (0s-1h)."));
  s.push_back(DurationSetting(
      "cert-reload-interval", kOps, &Config::cert_reload_interval,
      "How often certificate, key and CA files are checked for changes (at least 1s)."));
  s.push_back(StringSetting("log-level", kOps, "LEVEL", &Config::log_level,
                            "trace, debug, info, warn, error, critical or off."));
  s.push_back(StringSetting("log-format", kOps, "FORMAT", &Config::log_format,
                            "text or json (one JSON object per line: time, level, msg)."));
  return s;
}

}  // namespace

const std::vector<Setting>& AllSettings() {
  static const std::vector<Setting> settings = MakeSettings();
  return settings;
}

const Setting* FindSetting(std::string_view name) {
  for (const Setting& s : AllSettings()) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

namespace {

// Wraps `text` to `width` columns, continuation lines indented by `indent`.
std::string Wrap(const std::string& text, size_t indent, size_t width) {
  std::string out;
  size_t column = indent;
  std::istringstream words(text);
  std::string word;
  while (words >> word) {
    if (column > indent && column + 1 + word.size() > width) {
      out += "\n" + std::string(indent, ' ');
      column = indent;
    } else if (column > indent) {
      out += ' ';
      ++column;
    }
    out += word;
    column += word.size();
  }
  return out;
}

}  // namespace

std::string HelpText(std::string_view program) {
  std::ostringstream out;
  out << "Usage: " << program << " --endpoints=URLS [flags]\n\n"
      << "A gRPC proxy for the etcd v3 API that keeps clients such as kube-apiserver on etcd\n"
      << "members that can serve. Every flag can also be set as a key of the same name in the\n"
      << "YAML file given with --config; flags override the file.\n";
  const Config defaults;
  std::string_view group;
  for (const Setting& s : AllSettings()) {
    if (s.group != group) {
      group = s.group;
      out << "\n" << group << ":\n";
    }
    std::string left = "  --" + std::string(s.name);
    if (!s.value_name.empty()) left += "=" + std::string(s.value_name);
    constexpr size_t kHelpColumn = 34;
    out << left;
    if (left.size() + 1 > kHelpColumn) {
      out << "\n" << std::string(kHelpColumn, ' ');
    } else {
      out << std::string(kHelpColumn - left.size(), ' ');
    }
    std::string help(s.help);
    const std::string def = s.show(defaults);
    if (!def.empty() && !s.is_bool) help += " (default " + def + ")";
    out << Wrap(help, kHelpColumn, 100) << "\n";
  }
  out << "\nGeneral:\n"
      << "  --config=FILE                   YAML file with any of the settings above.\n"
      << "  --version                       Print the version and exit.\n"
      << "  --help                          Print this text and exit.\n"
      << "  --help=markdown                 Print the settings as Markdown tables and exit.\n"
      << "\nExit codes: 0 clean shutdown, 1 runtime failure, 2 invalid flags or config.\n";
  return out.str();
}

std::string FlagTableMarkdown() {
  const auto cell = [](std::string_view text) {
    std::string out;
    for (char c : text) {
      if (c == '|') out += '\\';  // a pipe inside a cell ends it
      out += c;
    }
    return out;
  };
  std::ostringstream out;
  const Config defaults;
  std::string_view group;
  for (const Setting& s : AllSettings()) {
    if (s.group != group) {
      if (!group.empty()) out << "\n";
      group = s.group;
      out << "### " << group << "\n\n"
          << "| flag / key | default | meaning |\n| --- | --- | --- |\n";
    }
    std::string flag = "`--" + std::string(s.name);
    if (!s.value_name.empty()) flag += "=" + std::string(s.value_name);
    flag += "`";
    const std::string def = s.show(defaults);
    out << "| " << cell(flag) << " | " << (def.empty() ? "" : "`" + cell(def) + "`") << " | "
        << cell(s.help) << " |\n";
  }
  out << "\n### General (flags only)\n\n"
      << "| flag | meaning |\n| --- | --- |\n"
      << "| `--config=FILE` | YAML file with any of the settings above |\n"
      << "| `--version` | print the version and exit |\n"
      << "| `--help`, `--help=markdown` | print the flags as text, or as these tables, and exit "
         "|\n";
  return out.str();
}

}  // namespace ehp
