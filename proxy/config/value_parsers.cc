#include "proxy/config/value_parsers.h"

#include <cctype>
#include <charconv>
#include <cstdio>

namespace ehp {
namespace {

std::string Quote(std::string_view text) { return "\"" + std::string(text) + "\""; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Splits "123unit" into the number and the unit.
bool SplitNumber(std::string_view text, double* number, std::string_view* unit) {
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
    ++i;
  }
  if (i == 0) return false;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + i, *number);
  if (ec != std::errc() || ptr != text.data() + i) return false;
  *unit = Trim(text.substr(i));
  return true;
}

}  // namespace

std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text, std::string* error) {
  text = Trim(text);
  double number = 0;
  std::string_view unit;
  if (!SplitNumber(text, &number, &unit)) {
    *error = Quote(text) + " is not a duration (examples: 250ms, 5s, 2m)";
    return std::nullopt;
  }
  double ms = 0;
  if (unit == "ms") {
    ms = number;
  } else if (unit == "s" || unit.empty()) {
    ms = number * 1e3;
  } else if (unit == "m") {
    ms = number * 60e3;
  } else if (unit == "h") {
    ms = number * 3600e3;
  } else {
    *error = Quote(text) + " has an unknown unit \"" + std::string(unit) + "\" (use ms, s, m or h)";
    return std::nullopt;
  }
  if (ms > 1e12) {
    *error = Quote(text) + " is too long";
    return std::nullopt;
  }
  return std::chrono::milliseconds(static_cast<int64_t>(ms));
}

std::optional<int64_t> ParseBytes(std::string_view text, std::string* error) {
  text = Trim(text);
  double number = 0;
  std::string_view unit;
  if (!SplitNumber(text, &number, &unit)) {
    *error = Quote(text) + " is not a size (examples: 1048576, 64KiB, 4MiB, 1GiB)";
    return std::nullopt;
  }
  double factor = 0;
  if (unit.empty() || unit == "B") {
    factor = 1;
  } else if (unit == "KiB") {
    factor = 1024.0;
  } else if (unit == "MiB") {
    factor = 1024.0 * 1024;
  } else if (unit == "GiB") {
    factor = 1024.0 * 1024 * 1024;
  } else if (unit == "KB" || unit == "kB") {
    factor = 1e3;
  } else if (unit == "MB") {
    factor = 1e6;
  } else if (unit == "GB") {
    factor = 1e9;
  } else {
    *error = Quote(text) + " has an unknown unit \"" + std::string(unit) +
             "\" (use B, KiB, MiB, GiB, KB, MB or GB)";
    return std::nullopt;
  }
  const double bytes = number * factor;
  if (bytes > 9e18) {
    *error = Quote(text) + " is too large";
    return std::nullopt;
  }
  return static_cast<int64_t>(bytes);
}

std::optional<bool> ParseBool(std::string_view text, std::string* error) {
  text = Trim(text);
  if (text == "true" || text == "yes" || text == "on" || text == "1") return true;
  if (text == "false" || text == "no" || text == "off" || text == "0") return false;
  *error = Quote(text) + " is not a boolean (true or false)";
  return std::nullopt;
}

std::optional<int64_t> ParseInt(std::string_view text, std::string* error) {
  text = Trim(text);
  int64_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) {
    *error = Quote(text) + " is not a whole number";
    return std::nullopt;
  }
  return value;
}

std::optional<double> ParseRatio(std::string_view text, std::string* error) {
  text = Trim(text);
  const bool percent = !text.empty() && text.back() == '%';
  const std::string_view number = percent ? Trim(text.substr(0, text.size() - 1)) : text;
  double value = 0;
  const auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (number.empty() || ec != std::errc() || ptr != number.data() + number.size()) {
    *error = Quote(text) + " is not a percentage (10%) or a ratio (0.1)";
    return std::nullopt;
  }
  if (percent) value /= 100;
  if (value < 0 || value > 1) {
    *error = Quote(text) + " is out of range (0% to 100%)";
    return std::nullopt;
  }
  return value;
}

std::string FormatRatio(double ratio) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g%%", ratio * 100);
  return buf;
}

std::vector<std::string> SplitList(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    std::string_view item = Trim(text.substr(0, comma));
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

std::string FormatDuration(std::chrono::milliseconds d) {
  const int64_t ms = d.count();
  if (ms != 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::string FormatBytes(int64_t bytes) {
  constexpr std::pair<int64_t, const char*> kUnits[] = {
      {int64_t{1} << 30, "GiB"}, {int64_t{1} << 20, "MiB"}, {int64_t{1} << 10, "KiB"}};
  for (const auto& [size, unit] : kUnits) {
    if (bytes != 0 && bytes % size == 0) return std::to_string(bytes / size) + unit;
  }
  return std::to_string(bytes);
}

}  // namespace ehp
