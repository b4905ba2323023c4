#include "proxy/relay/metadata.h"

namespace ehp {
namespace {

std::string_view View(const grpc::string_ref& s) { return std::string_view(s.data(), s.size()); }

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

template <typename Map, typename Add>
void CopyAll(const Map& map, Add add) {
  for (const auto& [k, v] : map) {
    const std::string_view key = View(k);
    const std::string_view value = View(v);
    if (IsRelayableKey(key) && IsLegalValue(key, value)) add(std::string(key), std::string(value));
  }
}

}  // namespace

bool IsRelayableKey(std::string_view key) {
  if (key.empty()) return false;
  for (const char c : key) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!ok) return false;  // also rejects ':' pseudo-headers and uppercase
  }
  if (key.starts_with("grpc-")) return false;
  return key != "te" && key != "content-type" && key != "user-agent" && key != "host" &&
         key != "connection" && key != "transfer-encoding" && key != "keep-alive" &&
         key != "upgrade" && key != "proxy-connection";
}

bool IsLegalValue(std::string_view key, std::string_view value) {
  if (EndsWith(key, "-bin")) return true;  // binary values are any bytes
  for (const char c : value) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

bool CopyRequestMetadata(const grpc::CallbackServerContext& from, grpc::ClientContext* to,
                         bool add_hasleader) {
  bool has_key = false, has_leader = false;
  CopyAll(from.client_metadata(), [&](std::string k, std::string v) {
    if (k == "hasleader") {
      has_key = true;
      has_leader = has_leader || v == "true";
    }
    to->AddMetadata(std::move(k), std::move(v));
  });
  if (add_hasleader && !has_key) {
    to->AddMetadata("hasleader", "true");
    return true;
  }
  return has_leader;
}

void CopyInitialMetadata(const grpc::ClientContext& from, grpc::CallbackServerContext* to) {
  CopyAll(from.GetServerInitialMetadata(), [to](std::string k, std::string v) {
    to->AddInitialMetadata(std::move(k), std::move(v));
  });
}

void CopyTrailingMetadata(const grpc::ClientContext& from, grpc::CallbackServerContext* to) {
  CopyAll(from.GetServerTrailingMetadata(), [to](std::string k, std::string v) {
    to->AddTrailingMetadata(std::move(k), std::move(v));
  });
}

}  // namespace ehp
