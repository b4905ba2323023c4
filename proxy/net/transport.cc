#include "proxy/net/transport.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ehp {

Transport::Transport(boost::asio::io_context& io, int fd, SslPtr ssl)
    : descriptor_(io), ssl_(std::move(ssl)) {
  const int flags = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0 &&
      (addr.ss_family == AF_INET || addr.ss_family == AF_INET6)) {
    // Frames are batched per write already; Nagle would only add latency.
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  if (ssl_) SSL_set_fd(ssl_.get(), fd);
  descriptor_.assign(fd);
}

Transport::~Transport() { Close(); }

void Transport::Close() {
  if (!descriptor_.is_open()) return;
  boost::system::error_code ignored;
  descriptor_.cancel(ignored);
  descriptor_.close(ignored);
}

Transport::Result Transport::SslResult(int rv, const char* what) {
  switch (SSL_get_error(ssl_.get(), rv)) {
    case SSL_ERROR_WANT_READ:
      return {Io::kWantRead};
    case SSL_ERROR_WANT_WRITE:
      return {Io::kWantWrite};
    case SSL_ERROR_ZERO_RETURN:
      return {Io::kClosed};
    case SSL_ERROR_SYSCALL: {
      const int e = errno;
      ERR_clear_error();
      if (rv == 0 || e == 0 || e == ECONNRESET || e == EPIPE) return {Io::kClosed};
      error_ = std::string(what) + ": " + std::strerror(e);
      return {Io::kError};
    }
    default: {
      std::string detail = TakeOpenSslError();
      if (const long verify = SSL_get_verify_result(ssl_.get()); verify != X509_V_OK) {
        detail += " (" + std::string(X509_verify_cert_error_string(verify)) + ")";
      }
      error_ = std::string(what) + ": " + detail;
      return {Io::kError};
    }
  }
}

Transport::Result Transport::Handshake() {
  if (!descriptor_.is_open()) return {Io::kError};
  ERR_clear_error();
  const int rv = SSL_do_handshake(ssl_.get());
  if (rv == 1) return {Io::kDone};
  return SslResult(rv, "TLS handshake");
}

Transport::Result Transport::Read(uint8_t* buf, size_t len) {
  if (!descriptor_.is_open()) return {Io::kError};
  if (ssl_) {
    ERR_clear_error();
    size_t n = 0;
    const int rv = SSL_read_ex(ssl_.get(), buf, len, &n);
    if (rv == 1) return {Io::kDone, n};
    return SslResult(rv, "TLS read");
  }
  const ssize_t n = ::read(descriptor_.native_handle(), buf, len);
  if (n > 0) return {Io::kDone, static_cast<size_t>(n)};
  if (n == 0) return {Io::kClosed};
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return {Io::kWantRead};
  if (errno == ECONNRESET) return {Io::kClosed};
  error_ = std::string("read: ") + std::strerror(errno);
  return {Io::kError};
}

Transport::Result Transport::Write(const uint8_t* buf, size_t len) {
  if (!descriptor_.is_open()) return {Io::kError};
  if (ssl_) {
    ERR_clear_error();
    size_t n = 0;
    const int rv = SSL_write_ex(ssl_.get(), buf, len, &n);
    if (rv == 1) return {Io::kDone, n};
    return SslResult(rv, "TLS write");
  }
  const ssize_t n = ::send(descriptor_.native_handle(), buf, len, MSG_NOSIGNAL);
  if (n >= 0) return {Io::kDone, static_cast<size_t>(n)};
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return {Io::kWantWrite};
  if (errno == ECONNRESET || errno == EPIPE) return {Io::kClosed};
  error_ = std::string("write: ") + std::strerror(errno);
  return {Io::kError};
}

std::string Transport::PeerName() {
  if (!descriptor_.is_open()) return "closed";
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (getpeername(descriptor_.native_handle(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return "unknown";
  }
  char host[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    return std::string(host) + ":" + std::to_string(ntohs(in->sin_port));
  }
  if (addr.ss_family == AF_INET6) {
    const auto* in = reinterpret_cast<const sockaddr_in6*>(&addr);
    inet_ntop(AF_INET6, &in->sin6_addr, host, sizeof host);
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(in->sin6_port));
  }
  return "unix";
}

}  // namespace ehp
