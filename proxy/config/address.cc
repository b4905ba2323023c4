#include "proxy/config/address.h"

#include <arpa/inet.h>

#include <charconv>

namespace ehp {
namespace {

struct HostPort {
  std::string host;
  uint16_t port = 0;
};

// Splits "host:port" or "[v6]:port". The port is required and must be 0-65535.
std::optional<HostPort> SplitHostPort(std::string_view text, std::string* error) {
  HostPort out;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      *error = "\"" + std::string(text) + "\" is not [ipv6]:port";
      return std::nullopt;
    }
    out.host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      *error = "\"" + std::string(text) + "\" has no port (expected host:port)";
      return std::nullopt;
    }
    out.host = std::string(text.substr(0, colon));
    if (out.host.find(':') != std::string::npos) {
      *error = "\"" + std::string(text) + "\": write IPv6 addresses in brackets, [::1]:port";
      return std::nullopt;
    }
    port_text = text.substr(colon + 1);
  }
  if (out.host.empty()) {
    *error = "\"" + std::string(text) + "\" has no host";
    return std::nullopt;
  }
  unsigned port = 0;
  const auto [ptr, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || ptr != port_text.data() + port_text.size() ||
      port > 65535) {
    *error = "\"" + std::string(text) + "\" has an invalid port \"" + std::string(port_text) +
             "\" (0-65535)";
    return std::nullopt;
  }
  out.port = static_cast<uint16_t>(port);
  return out;
}

std::string JoinHostPort(const std::string& host, uint16_t port) {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

}  // namespace

bool IsLoopbackHost(std::string_view host) {
  if (host == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, std::string(host).c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, std::string(host).c_str(), &v6) == 1) {
    return IN6_IS_ADDR_LOOPBACK(&v6);
  }
  return false;
}

std::string MemberUrl::Authority() const { return JoinHostPort(host, port); }

std::string ListenAddress::GrpcUri() const {
  return is_unix ? "unix://" + path : JoinHostPort(host, port);
}

bool ListenAddress::IsLocal() const { return is_unix || IsLoopbackHost(host); }

std::optional<MemberUrl> ParseMemberUrl(std::string_view text, std::string* error) {
  MemberUrl out;
  out.url = std::string(text);
  std::string_view rest;
  if (text.starts_with("https://")) {
    out.tls = true;
    rest = text.substr(8);
  } else if (text.starts_with("http://")) {
    rest = text.substr(7);
  } else {
    *error = "\"" + std::string(text) + "\" must start with http:// or https://";
    return std::nullopt;
  }
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.find('/') != std::string_view::npos) {
    *error = "\"" + std::string(text) + "\" must not have a path";
    return std::nullopt;
  }
  auto hp = SplitHostPort(rest, error);
  if (!hp) return std::nullopt;
  if (hp->port == 0) {
    *error = "\"" + std::string(text) + "\" needs a port between 1 and 65535";
    return std::nullopt;
  }
  out.host = hp->host;
  out.port = hp->port;
  return out;
}

std::optional<ListenAddress> ParseListenAddress(std::string_view text, std::string* error) {
  ListenAddress out;
  out.raw = std::string(text);
  if (text.starts_with("unix://")) {
    out.is_unix = true;
    out.path = std::string(text.substr(7));
    if (out.path.empty() || out.path.front() != '/') {
      *error = "\"" + std::string(text) + "\" needs an absolute path (unix:///path/to.sock)";
      return std::nullopt;
    }
    out.host.clear();
    out.port = 0;
    return out;
  }
  if (text.find("://") != std::string_view::npos) {
    *error = "\"" + std::string(text) + "\" must be host:port or unix:///path";
    return std::nullopt;
  }
  auto hp = SplitHostPort(text, error);
  if (!hp) return std::nullopt;
  out.host = hp->host;
  out.port = hp->port;
  return out;
}

std::optional<HttpAddress> ParseHttpAddress(std::string_view text, std::string* error) {
  HttpAddress out;
  out.raw = std::string(text);
  std::string_view rest = text;
  if (text.starts_with("https://")) {
    out.tls = true;
    rest = text.substr(8);
  } else if (text.starts_with("http://")) {
    rest = text.substr(7);
  } else if (text.find("://") != std::string_view::npos) {
    *error =
        "\"" + std::string(text) + "\" must be host:port, http://host:port or https://host:port";
    return std::nullopt;
  }
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  auto hp = SplitHostPort(rest, error);
  if (!hp) return std::nullopt;
  out.host = hp->host;
  out.port = hp->port;
  return out;
}

}  // namespace ehp
