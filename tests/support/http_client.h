// A raw HTTP/1.1 exchange over a loopback socket, so tests can send well-formed and malformed
// requests alike to the admin plane.
#pragma once

#include <chrono>
#include <string>

namespace ehp::testing {

struct HttpResult {
  int status = 0;  // 0 when no status line came back
  std::string headers;
  std::string body;
  std::string raw;
};

// Sends `request` as is to 127.0.0.1:port and reads until the server closes or `timeout`.
HttpResult HttpExchange(int port, const std::string& request,
                        std::chrono::milliseconds timeout = std::chrono::seconds(10));
// A GET (or other method) with Connection: close.
HttpResult Http(int port, const std::string& method, const std::string& target);

}  // namespace ehp::testing
