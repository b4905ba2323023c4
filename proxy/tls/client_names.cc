#include "proxy/tls/client_names.h"

#include <algorithm>

namespace ehp {

bool ClientNameAllowed(const std::vector<std::string>& allowed, const ClientIdentity& identity) {
  if (allowed.empty()) return true;
  auto listed = [&](const std::string& name) {
    return !name.empty() && std::find(allowed.begin(), allowed.end(), name) != allowed.end();
  };
  return listed(identity.common_name) ||
         std::any_of(identity.sans.begin(), identity.sans.end(), listed);
}

std::string DescribeIdentity(const ClientIdentity& identity) {
  // Bounded: a hostile certificate may carry thousands of names.
  constexpr size_t kMaxNames = 8;
  constexpr size_t kMaxLength = 128;
  auto clip = [](const std::string& s) {
    std::string out = s.size() > kMaxLength ? s.substr(0, kMaxLength) + "..." : s;
    for (char& c : out) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    }
    return out;
  };
  std::string out = "CN=" + (identity.common_name.empty() ? "(none)" : clip(identity.common_name));
  if (!identity.sans.empty()) {
    out += " SAN=[";
    for (size_t i = 0; i < identity.sans.size() && i < kMaxNames; ++i) {
      out += (i == 0 ? "" : ",") + clip(identity.sans[i]);
    }
    if (identity.sans.size() > kMaxNames) {
      out += ",+" + std::to_string(identity.sans.size() - kMaxNames) + " more";
    }
    out += "]";
  }
  return out;
}

}  // namespace ehp
