// A connection from one I/O thread to one member (an nghttp2 client session), or to a local
// HTTP/2 server over a unix socket. Requests may be opened as soon as it exists: they go out once
// it is connected, and if it never connects they close with kConnectionLost before their HEADERS
// were sent, which proves the member never saw them.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <memory>
#include <string>

#include "proxy/h2/connection.h"

namespace ehp {

class MemberConnection final : public H2Connection {
 public:
  struct Target {
    std::string name;  // for logs: the member's name
    std::string host;  // TCP: an IP address or a DNS name
    uint16_t port = 0;
    std::string unix_path;  // instead of host:port; a leading '@' names an abstract socket
    SslCtxPtr tls;          // null: plaintext
    std::shared_ptr<TlsSessionSlot> session;  // TLS session resumed and saved (may be null)
  };
  struct Events {
    std::function<void(MemberConnection*)> established;
    std::function<void(MemberConnection*)> closed;
  };

  MemberConnection(boost::asio::io_context& io, const Options& options, Target target,
                   Events events);

  // Connects (within options.handshake_timeout, TLS and SETTINGS included).
  void Dial();
  // A new stream with `headers`; data follows through the stream unless end_stream. Null when
  // the connection takes no new streams.
  H2Stream* Open(const HeaderList& headers, StreamHandler* handler, bool end_stream) {
    return SubmitRequest(headers, handler, end_stream);
  }
  const Target& target() const { return target_; }
  // The member's GOAWAY, if one came: its error code (NO_ERROR when none).
  uint32_t goaway_code() const { return goaway_code_; }

 private:
  // H2Connection
  void OnEstablished() override;
  void OnGoaway(int32_t last_stream_id, uint32_t error_code) override;
  void OnClosed() override;

  void Connected(int fd);
  void DialFailed(const std::string& why);

  const Target target_;
  const Events events_;
  boost::asio::ip::tcp::resolver resolver_;
  boost::asio::ip::tcp::socket tcp_;
  boost::asio::local::stream_protocol::socket unix_;
  boost::asio::steady_timer dial_timer_;
  uint32_t goaway_code_ = 0;
};

}  // namespace ehp
