// The admin HTTP/1.1 listener (Boost.Beast) on its own thread, so a stuck upstream never blocks
// /livez or /metrics. Sessions have read timeouts (a slow client cannot hold one), header and
// body limits, and the number of open sessions is capped.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "proxy/admin/admin_router.h"
#include "proxy/config/address.h"

namespace ehp {

class AdminServer {
 public:
  struct Limits {
    size_t header_bytes = 8 * 1024;
    size_t body_bytes = 64 * 1024;
    std::chrono::milliseconds read_timeout{10000};
    int max_sessions = 64;
  };

  AdminServer(HttpAddress address, AdminBackend* backend, Limits limits);
  ~AdminServer();

  // Binds and starts serving on a thread of its own. False with *error when it cannot bind.
  bool Start(std::string* error);
  void Stop();
  int port() const { return port_; }

 private:
  class Session;
  void Accept();

  const HttpAddress address_;
  AdminBackend* const backend_;
  const Limits limits_;
  boost::asio::io_context io_{1};
  boost::asio::ip::tcp::acceptor acceptor_{io_};
  std::atomic<int> sessions_{0};
  std::thread thread_;
  int port_ = 0;
};

}  // namespace ehp
