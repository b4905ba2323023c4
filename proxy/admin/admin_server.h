// The admin HTTP/1.1 listener (Boost.Beast) on its own thread, so a stuck upstream never blocks
// /livez or /metrics. A request's head has a short deadline of its own and its body the read
// timeout; idle keep-alive connections are closed after a few seconds; header and body sizes are
// limited. Sessions are capped, and at the cap a new connection is admitted by closing the
// oldest one that has not sent a byte, else the oldest one that has not completed a request,
// else the oldest idle one, so slow or silent connections can never lock a probe out. A TLS
// handshake starts only once the client's first bytes are there, so silent connections cost no
// handshake work; handshakes then take turns, the newest first and a few per turn of the event
// loop, so a probe's handshake never waits behind a burst of others.
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
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "proxy/admin/admin_router.h"
#include "proxy/config/address.h"
#include "proxy/log/rate_limited.h"
#include "proxy/tls/certificate_files.h"

namespace ehp {

class AdminServer {
 public:
  struct Limits {
    size_t header_bytes = 8 * 1024;
    size_t body_bytes = 64 * 1024;
    std::chrono::milliseconds read_timeout{10000};   // a whole request
    std::chrono::milliseconds header_timeout{3000};  // TLS handshake, request line and headers
    std::chrono::milliseconds idle_timeout{5000};    // keep-alive wait for the next request
    int max_sessions = 4096;
  };
  struct Tls {
    CertificateFiles files;  // empty cert: plain http
    bool require_client_cert = false;
  };

  // `on_evict` (may be empty) runs on the admin thread for each connection closed to admit
  // another.
  AdminServer(HttpAddress address, AdminBackend* backend, Limits limits, Tls tls,
              std::function<void()> on_evict = {});
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
  class Evictable;
  class Pending;
  template <class Stream>
  class Session;
  using WaitList = std::list<Evictable*>;
  using HandshakeQueue = std::multimap<std::chrono::steady_clock::time_point, Pending*>;
  void Accept();
  void AcceptLater();
  void Admit(boost::asio::ip::tcp::socket socket);
  // The client's first bytes are here (over TLS, its turn to handshake has come): a session
  // for them, its head due by `deadline`.
  void Serve(boost::asio::ip::tcp::socket socket, std::chrono::steady_clock::time_point deadline);
  // Admin thread only. Makes room for one more session, closing another if the cap is reached;
  // false when every session is busy answering.
  bool MakeRoom();
  bool EvictOne();  // closes the oldest waiting session; false when none waits
  void Wait(Evictable* session, WaitList* list);  // evictable, oldest first
  void Unwait(Evictable* session);
  void Released(Evictable* session);
  // Closes silent sessions whose head deadline has passed, then waits for the next one's.
  void ExpireSilent();
  // A TLS connection whose first bytes are here waits for its turn to handshake.
  void AwaitHandshake(Pending* pending);
  void StartHandshakes();  // a few of those waiting, the newest first
  void Heartbeat();
  std::shared_ptr<boost::asio::ssl::context> TlsContext();

  const HttpAddress address_;
  AdminBackend* const backend_;
  const Limits limits_;
  const Tls tls_;
  const std::function<void()> on_evict_;
  // Admin thread only; declared before io_, whose destruction ends the sessions still open.
  int sessions_ = 0;
  WaitList silent_;    // accepted, not a byte received yet; in order of their head deadlines
  WaitList unserved_;  // bytes received, no request completed yet
  WaitList idle_;      // between requests on a keep-alive connection
  bool silent_timer_armed_ = false;
  HandshakeQueue handshakes_;  // TLS connections waiting for their turn, by head deadline
  bool handshakes_posted_ = false;
  RateLimitedLog evict_log_;
  std::mutex tls_mu_;
  std::shared_ptr<boost::asio::ssl::context> tls_context_;  // guarded by tls_mu_; null: http
  boost::asio::io_context io_{1};
  boost::asio::ip::tcp::acceptor acceptor_{io_};
  boost::asio::steady_timer accept_retry_{io_};
  boost::asio::steady_timer heartbeat_{io_};
  // Silent sessions wait for readability, which no stream deadline covers: one timer ends them.
  boost::asio::steady_timer silent_timer_{io_};
  std::atomic<int64_t> last_heartbeat_ns_{0};  // steady_clock, since its epoch
  std::thread thread_;
  int port_ = 0;
};

}  // namespace ehp
