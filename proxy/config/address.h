// Parsing of the addresses the proxy takes: member URLs, the client listener and the admin
// listener. Pure functions, no sockets.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ehp {

// One etcd member as given in --endpoints: http(s)://host:port.
struct MemberUrl {
  std::string url;  // as written by the user
  bool tls = false;
  std::string host;  // without brackets for IPv6
  uint16_t port = 0;

  // "host:port" (IPv6 in brackets), the form gRPC takes as a target and verifies TLS names against.
  std::string Authority() const;
};

// --listen-addr: host:port or unix:///path.
struct ListenAddress {
  std::string raw = "127.0.0.1:23790";
  bool is_unix = false;
  std::string host = "127.0.0.1";
  uint16_t port = 23790;
  std::string path;  // for unix sockets

  std::string GrpcUri() const;  // what grpc::ServerBuilder::AddListeningPort takes
  // True for unix sockets and for addresses only this host can reach.
  bool IsLocal() const;
};

// --metrics-addr: host:port, http://host:port or https://host:port.
struct HttpAddress {
  std::string raw = "http://127.0.0.1:23791";
  bool tls = false;
  std::string host = "127.0.0.1";
  uint16_t port = 23791;
};

// Each returns the parsed value, or nullopt with *error saying what is wrong.
std::optional<MemberUrl> ParseMemberUrl(std::string_view text, std::string* error);
std::optional<ListenAddress> ParseListenAddress(std::string_view text, std::string* error);
std::optional<HttpAddress> ParseHttpAddress(std::string_view text, std::string* error);

bool IsLoopbackHost(std::string_view host);

}  // namespace ehp
