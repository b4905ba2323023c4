#include "tests/support/raw_h2.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace ehp::testing::h2 {
namespace {

void Put24(std::string* out, uint32_t v) {
  out->push_back(static_cast<char>((v >> 16) & 0xff));
  out->push_back(static_cast<char>((v >> 8) & 0xff));
  out->push_back(static_cast<char>(v & 0xff));
}
void Put32(std::string* out, uint32_t v) {
  out->push_back(static_cast<char>(v >> 24));
  Put24(out, v & 0xffffff);
}
uint32_t Get24(const std::string& s, size_t at) {
  return (uint32_t(uint8_t(s[at])) << 16) | (uint32_t(uint8_t(s[at + 1])) << 8) |
         uint8_t(s[at + 2]);
}
uint32_t Get32(const std::string& s, size_t at) {
  return (uint32_t(uint8_t(s[at])) << 24) | Get24(s, at + 1);
}

// HPACK integer with a 7-bit prefix (RFC 7541, 5.1), H bit clear.
void PutHpackLength(std::string* out, size_t n) {
  if (n < 127) {
    out->push_back(static_cast<char>(n));
    return;
  }
  out->push_back(127);
  n -= 127;
  while (n >= 128) {
    out->push_back(static_cast<char>((n & 0x7f) | 0x80));
    n >>= 7;
  }
  out->push_back(static_cast<char>(n));
}

}  // namespace

std::string Frame(uint8_t type, uint8_t flags, uint32_t stream, std::string_view payload) {
  std::string out;
  out.reserve(9 + payload.size());
  Put24(&out, static_cast<uint32_t>(payload.size()));
  out.push_back(static_cast<char>(type));
  out.push_back(static_cast<char>(flags));
  Put32(&out, stream & 0x7fffffff);
  out.append(payload);
  return out;
}

std::string Preface() { return "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + Settings({}); }

std::string Settings(const std::vector<std::pair<uint16_t, uint32_t>>& values) {
  std::string payload;
  for (const auto& [id, value] : values) {
    payload.push_back(static_cast<char>(id >> 8));
    payload.push_back(static_cast<char>(id & 0xff));
    Put32(&payload, value);
  }
  return Frame(kSettings, 0, 0, payload);
}

std::string HeaderBlock(const HeaderList& headers) {
  std::string out;
  for (const auto& [name, value] : headers) {
    out.push_back(0);  // literal without indexing, new name
    PutHpackLength(&out, name.size());
    out += name;
    PutHpackLength(&out, value.size());
    out += value;
  }
  return out;
}

std::string Headers(uint32_t stream, const HeaderList& headers, bool end_stream) {
  return Frame(kHeaders, kEndHeaders | (end_stream ? kEndStream : 0), stream, HeaderBlock(headers));
}

std::string Data(uint32_t stream, std::string_view payload, bool end_stream) {
  return Frame(kData, end_stream ? kEndStream : 0, stream, payload);
}

std::string RstStream(uint32_t stream, uint32_t error_code) {
  std::string payload;
  Put32(&payload, error_code);
  return Frame(kRstStream, 0, stream, payload);
}

std::string GoAway(uint32_t last_stream, uint32_t error_code) {
  std::string payload;
  Put32(&payload, last_stream);
  Put32(&payload, error_code);
  return Frame(kGoAway, 0, 0, payload);
}

std::string Ping(uint64_t opaque) {
  std::string payload;
  Put32(&payload, static_cast<uint32_t>(opaque >> 32));
  Put32(&payload, static_cast<uint32_t>(opaque));
  return Frame(kPing, 0, 0, payload);
}

HeaderList GrpcRequest(const std::string& path) {
  return {{":method", "POST"},
          {":scheme", "http"},
          {":path", path},
          {":authority", "etcd-health-proxy"},
          {"content-type", "application/grpc"},
          {"te", "trailers"}};
}

std::string GrpcMessage(std::string_view payload, bool compressed, int64_t declared_length) {
  std::string out;
  out.push_back(compressed ? 1 : 0);
  Put32(&out, static_cast<uint32_t>(declared_length < 0 ? payload.size() : declared_length));
  out.append(payload);
  return out;
}

Connection::Connection(const std::string& host_port) {
  const size_t colon = host_port.rfind(':');
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::stoi(host_port.substr(colon + 1))));
  if (inet_pton(AF_INET, host_port.substr(0, colon).c_str(), &addr.sin_addr) != 1) return;
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return;
  if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd_);
    fd_ = -1;
    return;
  }
  const int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

Connection::~Connection() { Close(); }

void Connection::Close() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

bool Connection::Send(std::string_view bytes) {
  while (!bytes.empty()) {
    if (fd_ < 0 || seen_.closed) return false;
    pollfd p{fd_, POLLOUT | POLLIN, 0};
    if (poll(&p, 1, 5000) <= 0) return false;  // the peer neither reads nor writes: stuck
    if (p.revents & POLLIN) Drain(0);
    if (p.revents & (POLLERR | POLLHUP)) {
      seen_.closed = true;
      return false;
    }
    if (p.revents & POLLOUT) {
      const ssize_t n = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && errno != EAGAIN && errno != EINTR) {
        seen_.closed = true;
        return false;
      }
      if (n > 0) bytes.remove_prefix(static_cast<size_t>(n));
    }
  }
  return true;
}

bool Connection::Handshake() {
  if (!Send(Preface())) return false;
  ReadUntil(std::chrono::seconds(5), [](const Seen& s) { return s.closed || s.settings > 0; });
  return !seen_.closed && seen_.settings > 0;
}

void Connection::Drain(int timeout_ms) {
  char buf[65536];
  pollfd p{fd_, POLLIN, 0};
  while (fd_ >= 0 && !seen_.closed && poll(&p, 1, timeout_ms) > 0) {
    const ssize_t n = recv(fd_, buf, sizeof(buf), MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
      seen_.closed = true;
      break;
    }
    if (n < 0) break;
    seen_.bytes += static_cast<size_t>(n);
    in_.append(buf, static_cast<size_t>(n));
    Parse();
    timeout_ms = 0;  // then take only what is already there
  }
}

void Connection::Parse() {
  size_t at = 0;
  while (in_.size() - at >= 9) {
    const uint32_t length = Get24(in_, at);
    if (in_.size() - at < 9 + length) break;
    const uint8_t type = static_cast<uint8_t>(in_[at + 3]);
    const uint8_t flags = static_cast<uint8_t>(in_[at + 4]);
    const uint32_t stream = Get32(in_, at + 5) & 0x7fffffff;
    switch (type) {
      case kData:
        seen_.data_bytes += length;
        break;
      case kHeaders:
        seen_.headers.insert(stream);
        break;
      case kRstStream:
        seen_.reset.insert(stream);
        break;
      case kGoAway:
        seen_.goaway = true;
        break;
      case kPing:
        if (flags & kAck) ++seen_.ping_acks;
        break;
      case kSettings:
        // Acknowledge the server's settings, as a client must.
        if (!(flags & kAck)) ++seen_.settings;
        if (!(flags & kAck) && fd_ >= 0) {
          const std::string ack = Frame(kSettings, kAck, 0, "");
          (void)send(fd_, ack.data(), ack.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        }
        break;
      default:
        break;
    }
    if ((type == kData || type == kHeaders) && (flags & kEndStream)) seen_.ended.insert(stream);
    at += 9 + length;
  }
  in_.erase(0, at);
}

const Seen& Connection::ReadUntil(std::chrono::milliseconds timeout,
                                  const std::function<bool(const Seen&)>& done) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (fd_ >= 0 && !seen_.closed && !(done != nullptr && done(seen_))) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    Drain(static_cast<int>(std::min<int64_t>(left.count(), 100)));
  }
  return seen_;
}

}  // namespace ehp::testing::h2
