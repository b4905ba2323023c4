// The admin HTTP/1.1 listener (Boost.Beast) on its own thread, so a stuck upstream never blocks
// /livez or /metrics. Sessions have read timeouts (a slow client cannot hold one), header and
// body limits, and the number of open sessions is capped.
//
// Over https the server asks for a client certificate; drain and undrain then need a verified
// one (in a pod, loopback is shared by every container, so it proves nothing), and with
// `require_client_cert` every request does.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "proxy/admin/admin_router.h"
#include "proxy/config/address.h"
#include "proxy/tls/certificate_files.h"

namespace ehp {

class AdminServer {
 public:
  struct Limits {
    size_t header_bytes = 8 * 1024;
    size_t body_bytes = 64 * 1024;
    std::chrono::milliseconds read_timeout{10000};
    int max_sessions = 64;
  };
  struct Tls {
    CertificateFiles files;  // empty cert: plain http
    bool require_client_cert = false;
  };

  AdminServer(HttpAddress address, AdminBackend* backend, Limits limits, Tls tls);
  ~AdminServer();

  // Binds and starts serving on a thread of its own. False with *error when it cannot bind.
  bool Start(std::string* error);
  void Stop();
  int port() const { return port_; }

  // Loads the TLS files again; sessions accepted from now on use them. False with *error (and
  // the previous files stay in use) when they cannot be loaded. Thread-safe.
  bool ReloadTls(std::string* error);

  // Seconds since the admin thread last ran its heartbeat (every second); large when the thread
  // is stuck. Thread-safe.
  double SecondsSinceHeartbeat() const;

 private:
  template <class Stream>
  class Session;
  void Accept();
  void Heartbeat();
  std::shared_ptr<boost::asio::ssl::context> TlsContext();

  const HttpAddress address_;
  AdminBackend* const backend_;
  const Limits limits_;
  const Tls tls_;
  std::mutex tls_mu_;
  std::shared_ptr<boost::asio::ssl::context> tls_context_;  // guarded by tls_mu_; null: http
  boost::asio::io_context io_{1};
  boost::asio::ip::tcp::acceptor acceptor_{io_};
  std::atomic<int> sessions_{0};
  boost::asio::steady_timer heartbeat_{io_};
  std::atomic<int64_t> last_heartbeat_ns_{0};  // steady_clock, since its epoch
  std::thread thread_;
  int port_ = 0;
};

}  // namespace ehp
