// Connections that abuse an HTTP server as an attacker would: slowloris ones that send a request
// line and then one header line every half second, and idle ones that connect and send nothing.
// A thread of their own keeps the wanted number open: one the server closes is opened again, at
// most `reopen_per_second` a second.
#pragma once

#include <atomic>
#include <memory>
#include <thread>

namespace ehp::testing {

class ConnectionFlood {
 public:
  // `tls`: the slowloris connections finish a TLS handshake first (idle ones never start it).
  ConnectionFlood(int port, bool tls, int reopen_per_second);
  ~ConnectionFlood();  // closes every connection

  // How many of each kind to keep open from now on. Thread-safe.
  void Want(int slow, int idle);

  // Connections open (connected, and for TLS slowloris handshaken) right now; the most seen at
  // once; how many idle ones have opened so far (reopened ones too); and how many the server has
  // closed so far. Thread-safe.
  int open() const { return open_.load(); }
  int most_open() const { return most_open_.load(); }
  int idle_opened() const { return idle_opened_.load(); }
  int closed_by_server() const { return closed_.load(); }

 private:
  struct Conn;
  void Run();

  const int port_;
  const bool tls_;
  const int reopen_per_second_;
  std::atomic<int> want_slow_{0};
  std::atomic<int> want_idle_{0};
  std::atomic<int> open_{0};
  std::atomic<int> most_open_{0};
  std::atomic<int> idle_opened_{0};
  std::atomic<int> closed_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace ehp::testing
