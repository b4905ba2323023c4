#include "proxy/config/config_loader.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

#include "proxy/config/config_validator.h"
#include "proxy/config/settings.h"

namespace ehp {
namespace {

std::string MarkText(const std::string& file, const YAML::Mark& mark) {
  return file + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

void ApplyValue(const Setting& setting, std::string_view value, const std::string& where,
                LoadResult* result) {
  const std::string error = setting.apply(result->config, value);
  if (!error.empty()) {
    result->errors.push_back(where + ": " + error);
    result->failed.insert(std::string(setting.name));
  } else {
    result->failed.erase(std::string(setting.name));
    result->origins[std::string(setting.name)] = where;
  }
}

}  // namespace

void ApplyYaml(std::string_view text, const std::string& file_name, LoadResult* result) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::ParserException& e) {
    result->errors.push_back(MarkText(file_name, e.mark) + ": invalid YAML: " + e.msg);
    return;
  }
  if (root.IsNull()) return;  // an empty file sets nothing
  if (!root.IsMap()) {
    result->errors.push_back(MarkText(file_name, root.Mark()) +
                             ": the config must be a mapping of key: value");
    return;
  }
  for (const auto& entry : root) {
    const YAML::Node& key = entry.first;
    const YAML::Node& value = entry.second;
    const std::string name = key.IsScalar() ? key.Scalar() : std::string("?");
    const std::string key_where = MarkText(file_name, key.Mark()) + ": " + name;
    const Setting* setting = FindSetting(name);
    if (setting == nullptr) {
      result->errors.push_back(key_where + ": unknown key");
      continue;
    }
    const std::string where = MarkText(file_name, value.Mark()) + ": " + name;
    if (value.IsScalar()) {
      ApplyValue(*setting, value.Scalar(), where, result);
    } else if (value.IsSequence() && setting->is_list) {
      std::string joined;
      bool bad = false;
      for (const auto& item : value) {
        if (!item.IsScalar()) {
          result->errors.push_back(MarkText(file_name, item.Mark()) + ": " + name +
                                   ": list items must be plain values");
          bad = true;
          break;
        }
        joined += (joined.empty() ? "" : ",") + item.Scalar();
      }
      if (!bad) ApplyValue(*setting, joined, where, result);
    } else if (value.IsNull()) {
      result->errors.push_back(key_where + ": needs a value");
    } else {
      result->errors.push_back(where + (setting->is_list ? ": expected a list or a string"
                                                         : ": expected a single value"));
    }
  }
}

LoadResult LoadConfig(const std::vector<std::string>& args) {
  LoadResult result;

  // Pass 1: --help, --version and --config, so the file is applied before any flag.
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") result.show_help = true;
    if (a == "--help=markdown") result.show_help = result.show_help_markdown = true;
    if (a == "--version") result.show_version = true;
    if (a == "--config" && i + 1 < args.size()) {
      result.config.config_file = args[++i];
    } else if (a.starts_with("--config=")) {
      result.config.config_file = a.substr(9);
    } else if (a == "--config") {
      result.errors.push_back("--config: needs a file name");
    }
  }
  if (result.show_help || result.show_version) return result;

  if (!result.config.config_file.empty()) {
    std::ifstream in(result.config.config_file);
    if (!in) {
      result.errors.push_back("--config: cannot read \"" + result.config.config_file + "\"");
    } else {
      std::stringstream buf;
      buf << in.rdbuf();
      ApplyYaml(buf.str(), result.config.config_file, &result);
    }
  }

  // Pass 2: flags, in order; a later flag wins over an earlier one and over the file.
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--config") {
      ++i;
      continue;
    }
    if (a.starts_with("--config=")) continue;
    if (!a.starts_with("--")) {
      result.errors.push_back("\"" + a + "\": unexpected argument (flags start with --)");
      continue;
    }
    const size_t eq = a.find('=');
    const std::string name = a.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    const Setting* setting = FindSetting(name);
    if (setting == nullptr) {
      result.errors.push_back("--" + name + ": unknown flag (see --help)");
      continue;
    }
    std::string value;
    if (eq != std::string::npos) {
      value = a.substr(eq + 1);
    } else if (setting->is_bool) {
      value = "true";
    } else if (i + 1 < args.size() && !args[i + 1].starts_with("--")) {
      value = args[++i];
    } else {
      result.errors.push_back("--" + name + ": needs a value");
      continue;
    }
    ApplyValue(*setting, value, "--" + name, &result);
  }

  // Validation runs even after parse errors, so every problem is reported in one run; it stays
  // quiet about settings that already failed to parse.
  ValidateConfig(result.config, result.origins, result.failed, &result.errors, &result.warnings);
  return result;
}

}  // namespace ehp
