#include "proxy/h2/member_connection.h"

#include <spdlog/spdlog.h>

#include <unistd.h>

#include <boost/asio/connect.hpp>

namespace ehp {

MemberConnection::MemberConnection(boost::asio::io_context& io, const Options& options,
                                   Target target, Events events)
    : H2Connection(io, Role::kClient, options),
      target_(std::move(target)),
      events_(std::move(events)),
      resolver_(io),
      tcp_(io),
      unix_(io),
      dial_timer_(io) {}

void MemberConnection::Dial() {
  auto self = std::static_pointer_cast<MemberConnection>(shared_from_this());
  dial_timer_.expires_after(options().handshake_timeout);
  dial_timer_.async_wait([self](const boost::system::error_code& ec) {
    if (ec) return;
    boost::system::error_code ignored;
    self->resolver_.cancel();
    self->tcp_.close(ignored);
    self->unix_.close(ignored);
  });
  if (!target_.unix_path.empty()) {
    std::string path = target_.unix_path;
    if (path.front() == '@') path[0] = '\0';  // abstract namespace
    unix_.async_connect(boost::asio::local::stream_protocol::endpoint(path),
                        [self](const boost::system::error_code& ec) {
                          if (ec) return self->DialFailed("connect: " + ec.message());
                          self->Connected(self->unix_.release());
                        });
    return;
  }
  resolver_.async_resolve(
      target_.host, std::to_string(target_.port),
      [self](const boost::system::error_code& ec,
             const boost::asio::ip::tcp::resolver::results_type& results) {
        if (ec) return self->DialFailed("resolve " + self->target_.host + ": " + ec.message());
        boost::asio::async_connect(
            self->tcp_, results,
            [self](const boost::system::error_code& ec2, const boost::asio::ip::tcp::endpoint&) {
              if (ec2) return self->DialFailed("connect: " + ec2.message());
              self->Connected(self->tcp_.release());
            });
      });
}

void MemberConnection::Connected(int fd) {
  dial_timer_.cancel();
  if (closed()) {
    ::close(fd);
    return;
  }
  SslPtr ssl(nullptr, SSL_free);
  if (target_.tls) {
    std::string error;
    ssl = NewMemberSsl(target_.tls.get(), target_.host, target_.session, &error);
    if (!ssl) {
      ::close(fd);
      return DialFailed(error);
    }
  }
  Start(std::make_unique<Transport>(io(), fd, std::move(ssl)));
}

void MemberConnection::DialFailed(const std::string& why) {
  dial_timer_.cancel();
  Close(why == "connect: Operation canceled" ? "connect: timed out" : why);
}

void MemberConnection::OnEstablished() {
  if (events_.established) events_.established(this);
}

void MemberConnection::OnGoaway(int32_t last_stream_id, uint32_t error_code) {
  goaway_code_ = error_code;
  // A member that restarts or sheds load says goodbye with NO_ERROR; anything else is worth a
  // look (PROTOCOL_ERROR, ENHANCE_YOUR_CALM).
  if (error_code == NGHTTP2_NO_ERROR) {
    spdlog::info("member {} sent GOAWAY (last stream {}); new calls use a new connection",
                 target_.name, last_stream_id);
  } else {
    spdlog::warn("member {} sent GOAWAY {} (last stream {}); new calls use a new connection",
                 target_.name, nghttp2_http2_strerror(error_code), last_stream_id);
  }
}

void MemberConnection::OnClosed() {
  dial_timer_.cancel();
  boost::system::error_code ignored;
  resolver_.cancel();
  tcp_.close(ignored);
  unix_.close(ignored);
  if (events_.closed) events_.closed(this);
}

}  // namespace ehp
