// The client listener of the data path: a TCP or unix socket accepted on one io_context, each new
// connection handed out as a descriptor (the data path spreads them over its threads). An
// accept error (out of descriptors) pauses accepting briefly instead of spinning.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <optional>
#include <string>

#include "proxy/config/address.h"

namespace ehp {

class Listener {
 public:
  using AcceptFn = std::function<void(int fd)>;

  Listener(boost::asio::io_context& io, AcceptFn on_accept);

  // Binds and listens; false with *error.
  bool Bind(const ListenAddress& address, std::string* error);
  // Starts accepting (on the io_context's thread).
  void Start();
  // Stops accepting and closes the socket (call on the io_context's thread).
  void Stop();
  int port() const { return port_; }

 private:
  void AcceptTcp();
  void AcceptUnix();
  void Retry(void (Listener::*accept)());

  boost::asio::io_context& io_;
  const AcceptFn on_accept_;
  boost::asio::ip::tcp::acceptor tcp_;
  boost::asio::local::stream_protocol::acceptor unix_;
  boost::asio::steady_timer pause_;
  bool is_unix_ = false;
  bool stopped_ = false;
  int port_ = 0;
  std::string unix_path_;
};

}  // namespace ehp
