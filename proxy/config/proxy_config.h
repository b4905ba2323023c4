// The proxy's settings after parsing and validation. Immutable once built: components receive a
// const reference and never see a half-applied change.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "proxy/config/address.h"

namespace ehp {

struct Config {
  // Upstream etcd members.
  std::vector<MemberUrl> endpoints;
  // Availability zone of each member, by host:port (optional; for /status, metrics, alerts).
  std::vector<std::pair<std::string, std::string>> member_zones;
  std::string cacert;  // CA that signed the members' certificates
  std::string cert;    // client certificate presented to members
  std::string key;
  int upstream_connections = 2;  // HTTP/2 connections per member
  std::chrono::milliseconds keepalive_time{10000};
  std::chrono::milliseconds keepalive_timeout{5000};
  std::chrono::milliseconds dial_timeout{2000};

  // Health probing (one round probes every member).
  std::chrono::milliseconds probe_interval{100};
  std::chrono::milliseconds probe_timeout{500};       // Maintenance.Status deadline
  std::chrono::milliseconds probe_read_timeout{150};  // linearizable probe read deadline
  int unreachable_threshold = 2;                 // failed Status rounds in a row before eviction
  int readmit_rounds = 3;                        // good rounds in a row before readmission
  int64_t max_lag = 5000;                        // applied-index entries a member may trail
  std::chrono::milliseconds max_lag_time{1000};  // how late a member may be (LagClock); 0: off
  // Deadline of one member's Defragment, and of its catching up afterwards (admin plane).
  std::chrono::milliseconds maintenance_timeout{300000};
  std::chrono::milliseconds holdout_max{60000};  // longest hold-out of a flapping member
  // etcd auth: the user the probes authenticate as (token from Authenticate) and the file that
  // holds its password (read at each Authenticate, never kept in the configuration or logged).
  // Empty: no token; etcd takes the CN of `cert` as the user (--client-cert-auth).
  std::string probe_user;
  std::string probe_password_file;

  // Routing.
  std::string write_routing = "leader";  // "leader" or "any"
  std::string local_zone;                // reads prefer members of this zone
  bool inject_hasleader = true;          // add "hasleader: true" to calls that lack it
  bool resume_watches = true;            // move watches between members inside the proxy
  double retry_budget = 0.10;            // retries allowed per call, on top of a floor of 10/s
  int64_t serializable_max_lag =
      1000;  // applied-index entries beyond which serializable reads go elsewhere
  std::chrono::milliseconds stream_close_window{1000};  // spread of stream closes on eviction
  std::chrono::milliseconds hedge_after{-1};            // linearizable reads: 0 off, < 0 adaptive
  std::chrono::milliseconds hedge_min{20};              // floor of the adaptive hedge delay
  // Writes wait when the member they would go to has had writes in flight and none answered
  // this long (a leader cut off from its quorum); 0: off.
  std::chrono::milliseconds write_stall_after{100};
  std::chrono::milliseconds leaderless_wait{3000};  // how long a call waits for a usable member
  int64_t max_held_calls = 10000;                   // calls waiting at once, at most
  int64_t max_held_bytes = 128LL << 20;             // request bytes of those calls, at most
  int64_t max_member_calls = 1000;  // unary calls in flight to one member (kube-apiserver: 600 max)

  // Client listener.
  ListenAddress listen_addr;
  std::string trusted_ca_file;  // when set, clients must present a certificate it signed
  std::string cert_file;
  std::string key_file;
  bool insecure_listen = false;
  int64_t max_recv_bytes = 64LL << 20;                 // largest request message from a client
  int64_t max_send_bytes = (1LL << 31) - 1;            // largest response message towards a client
  std::vector<std::string> allowed_client_names;       // CN or SAN a client certificate must name
  int64_t max_concurrent_streams = 10000;              // HTTP/2 streams per client connection
  int64_t max_streams = 100000;                        // streams (watch, keep-alive) open in total
  int64_t max_header_bytes = 16 << 10;                 // request metadata per call
  int64_t max_buffer_bytes = 1LL << 30;                // no longer used; accepted in configurations
  std::chrono::milliseconds handshake_timeout{10000};  // TLS and HTTP/2 set-up of a connection
  int64_t max_connections = 10000;                     // client connections open at once

  // Data path.
  int64_t threads = 0;  // I/O threads of the h2 data path; 0: one per core

  // Operations.
  HttpAddress metrics_addr;
  std::string metrics_cert_file;  // https admin plane; default cert_file
  std::string metrics_key_file;
  std::string metrics_trusted_ca_file;  // default trusted_ca_file
  bool metrics_client_cert_auth = false;
  std::chrono::milliseconds admin_read_timeout{10000};   // a slow admin client is cut off
  std::chrono::milliseconds admin_header_timeout{3000};  // TLS handshake, request line, headers
  std::chrono::milliseconds admin_idle_timeout{5000};    // keep-alive wait for the next request
  int64_t admin_max_connections = 4096;                  // admin sessions open at once
  std::chrono::milliseconds shutdown_grace{10000};
  std::chrono::milliseconds cert_reload_interval{5000};
  std::string log_level = "info";
  std::string log_format = "text";

  std::string config_file;  // empty when no --config was given

  // The https admin plane's files: its own, or else the client listener's.
  const std::string& AdminCertFile() const {
    return metrics_cert_file.empty() ? cert_file : metrics_cert_file;
  }
  const std::string& AdminKeyFile() const {
    return metrics_key_file.empty() ? key_file : metrics_key_file;
  }
  const std::string& AdminTrustedCaFile() const {
    return metrics_trusted_ca_file.empty() ? trusted_ca_file : metrics_trusted_ca_file;
  }
};

}  // namespace ehp
