// The one table of settings. Each entry is both a command-line flag (--name) and a YAML key
// (name), so the two can never drift apart, and --help is printed from it.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/config/proxy_config.h"

namespace ehp {

struct Setting {
  std::string_view name;
  std::string_view group;       // heading in --help
  std::string_view value_name;  // shown in --help; empty for booleans
  std::string_view help;
  bool is_bool = false;  // a flag without a value means true
  bool is_list = false;  // YAML may give a sequence
  // Parses text into the config. Returns an error message (without the setting's name), or "".
  std::function<std::string(Config&, std::string_view)> apply;
  // The current value, for --help defaults.
  std::function<std::string(const Config&)> show;
};

const std::vector<Setting>& AllSettings();
const Setting* FindSetting(std::string_view name);

// The text of --help.
std::string HelpText(std::string_view program);

// The settings as Markdown tables, one per --help group (--help=markdown); the flag table of
// docs/configuration.md is this text, checked by a test.
std::string FlagTableMarkdown();

}  // namespace ehp
