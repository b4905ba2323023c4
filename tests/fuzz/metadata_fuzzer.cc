// libFuzzer target: the checks that stand between client metadata and gRPC (an illegal key or
// value added to a call aborts the process inside gRPC), and the client-certificate names the
// proxy logs.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/relay/metadata.h"
#include "proxy/tls/client_names.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const size_t split = text.find('\0');
  const std::string_view key = text.substr(0, split);
  const std::string_view value = split == std::string_view::npos ? "" : text.substr(split + 1);
  if (ehp::IsRelayableKey(key)) {
    // What gRPC accepts as a key: lowercase token characters, no "grpc-" or ':' prefix.
    if (key.empty() || key[0] == ':') __builtin_trap();
    for (char c : key) {
      const bool ok =
          (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
      if (!ok) __builtin_trap();
    }
    (void)ehp::IsLegalValue(key, value);
  }
  ehp::ClientIdentity identity{std::string(key), {std::string(value), std::string(text)}};
  const std::string described = ehp::DescribeIdentity(identity);
  for (char c : described) {
    if (static_cast<unsigned char>(c) < 0x20) __builtin_trap();  // one log line, no escapes
  }
  (void)ehp::ClientNameAllowed({std::string(value)}, identity);
  return 0;
}
