// A connected, non-blocking stream socket (TCP or unix), with TLS when it has an SSL. OpenSSL runs
// directly on the descriptor, and Boost.Asio only says when it is readable or writable: no
// memory BIO between them, one SSL_read per record and one SSL_write per batch of frames.
// Single-threaded: used only from the I/O thread whose io_context it was made with.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <cstdint>
#include <string>
#include <utility>

#include "proxy/net/tls_context.h"

namespace ehp {

class Transport {
 public:
  enum class Io {
    kDone,       // `bytes` were read or written (or the handshake is complete)
    kWantRead,   // retry once the socket is readable
    kWantWrite,  // retry once the socket is writable
    kClosed,     // the peer closed the connection
    kError,      // see error()
  };
  struct Result {
    Io io;
    size_t bytes = 0;
  };

  // Takes ownership of `fd` (made non-blocking here) and of `ssl` (may be null: plaintext).
  Transport(boost::asio::io_context& io, int fd, SslPtr ssl);
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // TLS only: one step of the handshake.
  Result Handshake();
  Result Read(uint8_t* buf, size_t len);
  Result Write(const uint8_t* buf, size_t len);

  // `handler(boost::system::error_code)` runs once the socket is readable (or writable), or with
  // operation_aborted after Close().
  template <typename Handler>
  void WaitReadable(Handler&& handler) {
    descriptor_.async_wait(boost::asio::posix::descriptor_base::wait_read,
                           std::forward<Handler>(handler));
  }
  template <typename Handler>
  void WaitWritable(Handler&& handler) {
    descriptor_.async_wait(boost::asio::posix::descriptor_base::wait_write,
                           std::forward<Handler>(handler));
  }

  // Cancels the waits and closes the socket; later calls fail with kError.
  void Close();
  bool open() const { return descriptor_.is_open(); }
  int fd() { return descriptor_.native_handle(); }

  SSL* ssl() const { return ssl_.get(); }
  bool tls() const { return ssl_ != nullptr; }
  // What the last kError was.
  const std::string& error() const { return error_; }
  // "127.0.0.1:52344" or "unix": the peer, for logs.
  std::string PeerName();

 private:
  Result SslResult(int rv, const char* what);

  boost::asio::posix::stream_descriptor descriptor_;
  SslPtr ssl_;
  std::string error_;
};

}  // namespace ehp
