#include "tests/support/connection_flood.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

namespace ehp::testing {

using Clock = std::chrono::steady_clock;

struct ConnectionFlood::Conn {
  enum class State { kConnecting, kHandshaking, kOpen };
  int fd = -1;
  bool slow = false;
  State state = State::kConnecting;
  SSL* ssl = nullptr;
  int want_events = POLLOUT;
  int headers_sent = 0;
  Clock::time_point next_send;
};

ConnectionFlood::ConnectionFlood(int port, bool tls, int reopen_per_second)
    : port_(port), tls_(tls), reopen_per_second_(reopen_per_second), thread_([this] { Run(); }) {}

ConnectionFlood::~ConnectionFlood() {
  stop_ = true;
  thread_.join();
}

void ConnectionFlood::Want(int slow, int idle) {
  want_slow_ = slow;
  want_idle_ = idle;
}

void ConnectionFlood::Run() {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  std::vector<Conn> conns;
  int slow = 0, idle = 0;
  int slow_owed = 0, idle_owed = 0;  // closed by the server, to be reopened
  double tokens = 0;                 // reopens allowed now
  auto last = Clock::now();

  const auto open_one = [&](bool is_slow) {
    Conn c;
    c.slow = is_slow;
    c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) return false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port_));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(c.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 &&
        errno != EINPROGRESS) {
      close(c.fd);
      return false;
    }
    conns.push_back(c);
    (is_slow ? slow : idle)++;
    return true;
  };
  const auto send_text = [&](Conn& c, const std::string& text) {
    if (c.ssl != nullptr) return SSL_write(c.ssl, text.data(), static_cast<int>(text.size())) > 0;
    return send(c.fd, text.data(), text.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(text.size());
  };
  // Connected (and handshaken): a slowloris connection sends its request line.
  const auto opened = [&](Conn& c) {
    c.state = Conn::State::kOpen;
    c.want_events = POLLIN;
    open_++;
    if (open_ > most_open_) most_open_ = open_.load();
    if (!c.slow) idle_opened_++;
    if (c.slow) {
      c.next_send = Clock::now() + std::chrono::milliseconds(500);
      return send_text(c, "GET /metrics HTTP/1.1\r\nHost: flood\r\n");
    }
    return true;
  };
  const auto handshake = [&](Conn& c) {
    const int r = SSL_connect(c.ssl);
    if (r == 1) return opened(c);
    const int err = SSL_get_error(c.ssl, r);
    if (err == SSL_ERROR_WANT_READ) c.want_events = POLLIN;
    if (err == SSL_ERROR_WANT_WRITE) c.want_events = POLLOUT;
    ERR_clear_error();
    return err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE;
  };
  const auto drop = [&](size_t i, bool by_server) {
    Conn& c = conns[i];
    if (c.state == Conn::State::kOpen) open_--;
    if (by_server) {
      closed_++;
      (c.slow ? slow_owed : idle_owed)++;
    }
    (c.slow ? slow : idle)--;
    if (c.ssl != nullptr) SSL_free(c.ssl);
    close(c.fd);
    conns[i] = conns.back();
    conns.pop_back();
  };

  std::vector<pollfd> fds;
  while (!stop_) {
    // Fill up to the wanted counts; reopening what the server closed spends tokens.
    const auto turn = Clock::now();
    tokens = std::min<double>(
        reopen_per_second_,
        tokens + reopen_per_second_ * std::chrono::duration<double>(turn - last).count());
    last = turn;
    const auto fill = [&](bool is_slow, int* count, int* owed, int want) {
      for (int budget = 400; budget > 0 && *count < want; --budget) {
        // One never opened yet goes at once; one the server closed waits for a token.
        if (*count + *owed >= want) {
          if (tokens < 1) return;
          tokens -= 1;
          --*owed;
        }
        if (!open_one(is_slow)) return;
      }
      if (*count >= want) *owed = 0;
    };
    fill(true, &slow, &slow_owed, want_slow_);
    fill(false, &idle, &idle_owed, want_idle_);

    fds.resize(conns.size());
    for (size_t i = 0; i < conns.size(); ++i) {
      fds[i] = pollfd{conns[i].fd, static_cast<short>(conns[i].want_events), 0};
    }
    poll(fds.data(), fds.size(), 20);
    const auto now = Clock::now();
    for (size_t i = conns.size(); i-- > 0;) {
      Conn& c = conns[i];
      const short ev = fds[i].revents;
      bool ok = true;
      bool by_server = true;
      if (c.state == Conn::State::kConnecting) {
        if (ev != 0) {
          int err = 0;
          socklen_t len = sizeof err;
          getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
          if (err != 0) {
            ok = false;
            by_server = false;
          } else if (tls_ && c.slow) {
            c.ssl = SSL_new(ctx);
            SSL_set_fd(c.ssl, c.fd);
            c.state = Conn::State::kHandshaking;
            ok = handshake(c);
          } else {
            ok = opened(c);
          }
        }
      } else if (c.state == Conn::State::kHandshaking) {
        if (ev != 0) ok = handshake(c);
      } else {
        if (ev != 0) {
          // The server answered (an error) or closed: either way the connection is done. Over
          // TLS 1.3 the server's session tickets arrive after the handshake: read and go on.
          ok = false;
          if (c.ssl != nullptr && (ev & POLLIN) != 0) {
            char buf[512];
            const int r = SSL_read(c.ssl, buf, sizeof buf);
            ok = r <= 0 && SSL_get_error(c.ssl, r) == SSL_ERROR_WANT_READ;
            ERR_clear_error();
          }
        } else if (c.slow && now >= c.next_send) {
          c.next_send = now + std::chrono::milliseconds(500);
          ok = send_text(c, "X-Pad-" + std::to_string(c.headers_sent++) + ": x\r\n");
        }
      }
      if (!ok) drop(i, by_server);
    }
    // Wanted counts can go down.
    for (size_t i = conns.size(); i-- > 0 && (slow > want_slow_ || idle > want_idle_);) {
      if ((conns[i].slow && slow > want_slow_) || (!conns[i].slow && idle > want_idle_)) {
        drop(i, false);
      }
    }
  }
  for (size_t i = conns.size(); i-- > 0;) drop(i, false);
  SSL_CTX_free(ctx);
}

}  // namespace ehp::testing
