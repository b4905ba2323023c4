// One I/O thread's HTTP/2 connections to one member: a few
// long-lived connections that every call of the thread shares, replaced when they close or the
// member sends GOAWAY, and redialled with back-off (100 ms doubling to 2 s) while they fail.
// Single-threaded: owned and used by one Worker.
#pragma once

#include <chrono>
#include <memory>
#include <vector>

#include "proxy/h2/member_connection.h"

namespace ehp {

class MemberLinks {
 public:
  // What the member's owner hears: `failing(true)` when dialling starts to fail, `(false)` once
  // a connection is up again; `up(+1)` and `up(-1)` as connections are established and close.
  struct Observer {
    std::function<void(bool failing)> failing;
    std::function<void(int delta)> up;
  };
  MemberLinks(boost::asio::io_context& io, MemberConnection::Target target,
              const H2Connection::Options& options, int connections, Observer observer = {});
  ~MemberLinks();
  MemberLinks(const MemberLinks&) = delete;
  MemberLinks& operator=(const MemberLinks&) = delete;

  // A connection a new stream can go on: the established one with the fewest open streams, or
  // one still connecting (its streams go out once it is up). Null while dialling is backed off
  // after failures: the member cannot be reached from here now.
  MemberConnection* Pick();
  // True after a dial failed, until a connection is established again.
  bool failing() const { return failing_; }
  // Starts dialling, so the first calls do not wait for the handshake.
  void Warm();
  // Closes every connection (their streams close with kConnectionLost).
  void CloseAll(const std::string& why);
  size_t established() const;
  // No stream is open on any of its connections.
  bool idle() const;
  const MemberConnection::Target& target() const { return target_; }

  // Sets the TLS context for connections dialled from now on (a certificate rotation).
  void set_tls(SslCtxPtr tls) { target_.tls = std::move(tls); }

 private:
  MemberConnection* Dial();
  void OnClosed(MemberConnection* connection);

  boost::asio::io_context& io_;
  MemberConnection::Target target_;
  const H2Connection::Options options_;
  const size_t max_connections_;
  const Observer observer_;
  std::vector<std::shared_ptr<MemberConnection>> connections_;
  size_t next_ = 0;
  bool failing_ = false;
  std::chrono::milliseconds backoff_{0};
  std::chrono::steady_clock::time_point next_dial_;
  // Flipped on destruction: callbacks of connections that outlive this object do nothing.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ehp
