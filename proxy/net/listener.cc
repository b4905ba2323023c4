#include "proxy/net/listener.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/ip/address.hpp>

namespace ehp {

Listener::Listener(boost::asio::io_context& io, AcceptFn on_accept)
    : io_(io), on_accept_(std::move(on_accept)), tcp_(io), unix_(io), pause_(io) {}

bool Listener::Bind(const ListenAddress& address, std::string* error) {
  boost::system::error_code ec;
  if (address.is_unix) {
    is_unix_ = true;
    unix_path_ = address.path;
    // A socket file left by an earlier run would make bind fail; only a socket is replaced.
    ::unlink(address.path.c_str());
    unix_.open(boost::asio::local::stream_protocol(), ec);
    if (!ec) unix_.bind(boost::asio::local::stream_protocol::endpoint(address.path), ec);
    if (!ec) unix_.listen(boost::asio::socket_base::max_listen_connections, ec);
  } else {
    const auto ip = boost::asio::ip::make_address(address.host, ec);
    if (ec) {
      *error = "cannot listen on " + address.raw + ": " + ec.message();
      return false;
    }
    const boost::asio::ip::tcp::endpoint endpoint(ip, address.port);
    tcp_.open(endpoint.protocol(), ec);
    // SO_REUSEADDR only (restart while old connections linger); never SO_REUSEPORT, which would
    // let a second process bind the same port and take half the clients unnoticed.
    if (!ec) tcp_.set_option(boost::asio::socket_base::reuse_address(true), ec);
    if (!ec) tcp_.bind(endpoint, ec);
    if (!ec) tcp_.listen(boost::asio::socket_base::max_listen_connections, ec);
    if (!ec) port_ = tcp_.local_endpoint().port();
  }
  if (ec) {
    *error = "cannot listen on " + address.raw + " (" + ec.message() + ")";
    return false;
  }
  return true;
}

void Listener::Start() {
  if (is_unix_) {
    AcceptUnix();
  } else {
    AcceptTcp();
  }
}

void Listener::Stop() {
  stopped_ = true;
  boost::system::error_code ignored;
  pause_.cancel();
  tcp_.close(ignored);
  unix_.close(ignored);
}

void Listener::AcceptTcp() {
  tcp_.async_accept(
      [this](const boost::system::error_code& ec, boost::asio::ip::tcp::socket socket) {
        if (stopped_ || ec == boost::asio::error::operation_aborted) return;
        if (ec) return Retry(&Listener::AcceptTcp);
        on_accept_(socket.release());
        AcceptTcp();
      });
}

void Listener::AcceptUnix() {
  unix_.async_accept([this](const boost::system::error_code& ec,
                            boost::asio::local::stream_protocol::socket socket) {
    if (stopped_ || ec == boost::asio::error::operation_aborted) return;
    if (ec) return Retry(&Listener::AcceptUnix);
    on_accept_(socket.release());
    AcceptUnix();
  });
}

void Listener::Retry(void (Listener::*accept)()) {
  // Most often EMFILE: accepting again at once would spin on the same error.
  spdlog::warn("accepting client connections failed; retrying in 100 ms");
  pause_.expires_after(std::chrono::milliseconds(100));
  pause_.async_wait([this, accept](const boost::system::error_code& ec) {
    if (!ec && !stopped_) (this->*accept)();
  });
}

}  // namespace ehp
