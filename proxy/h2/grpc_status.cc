#include "proxy/h2/grpc_status.h"

#include <charconv>
#include <cstdint>

namespace ehp {

HeaderList TrailersOnly(int code, std::string_view message) {
  HeaderList h = {{":status", "200"}, {"content-type", "application/grpc"}};
  HeaderList t = StatusTrailers(code, message);
  h.insert(h.end(), std::make_move_iterator(t.begin()), std::make_move_iterator(t.end()));
  return h;
}

HeaderList StatusTrailers(int code, std::string_view message) {
  HeaderList t = {{"grpc-status", std::to_string(code)}};
  if (!message.empty()) t.push_back({"grpc-message", PercentEncode(message)});
  return t;
}

std::optional<GrpcStatus> StatusOf(const HeaderList& headers) {
  if (!HasHeader(headers, "grpc-status")) return std::nullopt;
  GrpcStatus status;
  for (const HeaderField& f : headers) {
    if (f.name == "grpc-status") {
      const auto [end, ec] =
          std::from_chars(f.value.data(), f.value.data() + f.value.size(), status.code);
      if (ec != std::errc() || end != f.value.data() + f.value.size()) status.code = 2;  // UNKNOWN
    } else if (f.name == "grpc-message") {
      status.message = PercentDecode(f.value);
    }
  }
  return status;
}

std::string PercentEncode(std::string_view message) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(message.size());
  for (const char ch : message) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c <= 0x7e && c != '%') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string PercentDecode(std::string_view message) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(message.size());
  for (size_t i = 0; i < message.size(); ++i) {
    if (message[i] == '%' && i + 2 < message.size()) {
      const int hi = hex(message[i + 1]);
      const int lo = hex(message[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(message[i]);  // a stray '%' stays as it is, as gRPC does
  }
  return out;
}

std::optional<std::chrono::microseconds> ParseGrpcTimeout(std::string_view value) {
  if (value.size() < 2 || value.size() > 9) return std::nullopt;
  uint64_t n = 0;
  const std::string_view digits = value.substr(0, value.size() - 1);
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  using std::chrono::microseconds;
  switch (value.back()) {
    case 'H':
      return microseconds(n * 3600 * 1000000);
    case 'M':
      return microseconds(n * 60 * 1000000);
    case 'S':
      return microseconds(n * 1000000);
    case 'm':
      return microseconds(n * 1000);
    case 'u':
      return microseconds(n);
    case 'n':
      return microseconds((n + 999) / 1000);
    default:
      return std::nullopt;
  }
}

std::string FormatGrpcTimeout(std::chrono::microseconds timeout) {
  const int64_t us = std::max<int64_t>(timeout.count(), 0);
  constexpr int64_t kMax = 99999999;  // 8 digits
  if (us <= kMax) return std::to_string(us) + "u";
  if (us / 1000 <= kMax) return std::to_string(us / 1000) + "m";
  if (us / 1000000 <= kMax) return std::to_string(us / 1000000) + "S";
  return std::to_string(std::min<int64_t>(us / 3600000000LL, kMax)) + "H";
}

}  // namespace ehp
