// The data path: the client listener, the I/O threads, and the relays
// that run on them. nghttp2 sessions on Boost.Asio and OpenSSL take the clients' connections;
// each thread owns its client connections and its own connections to the members, so a call is
// relayed on one thread from its first frame to its last: unary calls by UnaryCall, streams by
// StreamCall.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "proxy/config/proxy_config.h"
#include "proxy/h2/connection.h"
#include "proxy/net/io_threads.h"
#include "proxy/net/tls_context.h"
#include "proxy/relay/relay_context.h"

namespace ehp {

class Listener;
class Worker;

class DataPath {
 public:
  struct Hooks {
    ClientRefusedFn client_refused;            // a certificate not in allowed-client-names
    std::function<void()> connection_refused;  // a connection beyond max-connections
  };

  // `relay`: the member set, registries and metrics the calls use (outlives the data path).
  DataPath(const Config& config, const RelayContext& relay, Hooks hooks);
  ~DataPath();
  DataPath(const DataPath&) = delete;
  DataPath& operator=(const DataPath&) = delete;

  // Loads the listener's TLS files, binds the listener and starts the threads; false with
  // *error when it cannot.
  bool Start(std::string* error);
  // No new connections from now on.
  void StopAccepting();
  // GOAWAY to every client connection: no new streams; the open ones go on.
  void GoAway();
  // Waits until every client connection closed, at most `grace`; then closes what is left and
  // stops the threads.
  void Stop(std::chrono::milliseconds grace);

  // The bound TCP port (0 for unix sockets).
  int port() const { return port_; }
  int threads() const { return threads_.size(); }
  // Client connections open now.
  int64_t connections() const;

  // Loads the listener's certificate files again for new connections; false with *error (the
  // old files stay in use).
  bool ReloadClientTls(std::string* error);
  // Loads the TLS files towards the members again, for connections dialled from now on.
  bool ReloadMemberTls(std::string* error);
  // On every I/O thread: reads in flight on `member` move to other members.
  void MoveOff(const Member* member);

  // For the workers.
  const Config& config() const { return config_; }
  const RelayContext& relay() const { return relay_; }
  SslCtxPtr client_tls() const;
  SslCtxPtr member_tls() const;
  // Each thread's connections to one member: upstream-connections spread over the threads.
  int connections_per_member() const;
  const H2Connection::Options& client_options() const { return client_options_; }
  const H2Connection::Options& upstream_options() const { return upstream_options_; }
  // Takes a place for a new client connection; false at max-connections (counted, logged).
  bool AdmitConnection();
  void ReleaseConnection();

 private:
  void OnAccept(int fd);

  const Config config_;
  const RelayContext relay_;
  const Hooks hooks_;
  const H2Connection::Options client_options_;
  const H2Connection::Options upstream_options_;
  IoThreads threads_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<Listener> listener_;  // runs on the first thread
  std::atomic<uint32_t> next_worker_{0};
  std::atomic<int64_t> connections_{0};
  mutable std::mutex tls_mu_;
  SslCtxPtr client_tls_;  // guarded by tls_mu_; null: plaintext
  SslCtxPtr member_tls_;  // guarded by tls_mu_; null: no https:// member
  int port_ = 0;
  std::atomic<bool> started_{false};  // read by the probe thread's hooks (MoveOff)
};

}  // namespace ehp
