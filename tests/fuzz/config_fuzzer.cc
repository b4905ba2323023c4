// libFuzzer target: the YAML config file and flag values, through parsing and validation. Any
// input must end in a config or in errors naming a key, never in a crash or an exception.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/config/config_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // As a config file.
  ehp::LoadResult from_yaml;
  ehp::ApplyYaml(text, "fuzz.yaml", &from_yaml);
  // As command-line flags: one per line.
  std::vector<std::string> args;
  size_t start = 0;
  while (start <= text.size() && args.size() < 64) {
    const size_t end = std::min(text.find('\n', start), text.size());
    args.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  const ehp::LoadResult from_flags = ehp::LoadConfig(args);
  if (!from_flags.ok() && from_flags.errors.front().empty()) __builtin_trap();  // errors say why
  return 0;
}
