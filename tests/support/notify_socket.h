// A datagram socket standing in for systemd's notification socket: the test points
// NOTIFY_SOCKET at it and reads what the proxy says, one datagram per sd_notify call.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace ehp::testing {

class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path);
  ~NotifySocket();
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  const std::string& path() const { return path_; }
  // The next message, or nullopt after `timeout`.
  std::optional<std::string> Receive(std::chrono::milliseconds timeout);
  // Messages until one contains `fragment` (included, last) or `timeout` passes; `found` says
  // which.
  std::vector<std::string> ReceiveUntil(const std::string& fragment,
                                        std::chrono::milliseconds timeout, bool* found);

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace ehp::testing
