// Builds a Config from the command line and an optional YAML file (flags override the file).
// Every problem is collected, each naming the flag or the YAML key with its line and column, so
// an operator fixes them all in one go.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/config/proxy_config.h"

namespace ehp {

// Where each setting got its value: "--name" or "file.yaml:3:5: name". Validation messages use it.
using Origins = std::map<std::string, std::string, std::less<>>;

struct LoadResult {
  Config config;
  Origins origins;
  std::set<std::string, std::less<>> failed;  // settings whose value did not parse
  std::vector<std::string> errors;
  std::vector<std::string> warnings;
  bool show_help = false;
  bool show_help_markdown = false;  // --help=markdown
  bool show_version = false;

  bool ok() const { return errors.empty(); }
};

// args excludes the program name. Runs validation too.
LoadResult LoadConfig(const std::vector<std::string>& args);

// Applies YAML text to `result` (file_name labels the messages). Exposed for tests.
void ApplyYaml(std::string_view text, const std::string& file_name, LoadResult* result);

}  // namespace ehp
