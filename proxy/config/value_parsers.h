// Parsers for the scalar value types that flags and YAML keys share.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ehp {

// "250ms", "5s", "2m", "1h"; a bare number is seconds, as in etcd's own flags.
std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text, std::string* error);
// "1048576", "64KiB", "64MiB", "2GiB", "10MB".
std::optional<int64_t> ParseBytes(std::string_view text, std::string* error);
// true/false, yes/no, on/off, 1/0.
std::optional<bool> ParseBool(std::string_view text, std::string* error);
std::optional<int64_t> ParseInt(std::string_view text, std::string* error);
// "10%" or "0.1" -> 0.1; between 0 and 1.
std::optional<double> ParseRatio(std::string_view text, std::string* error);
std::string FormatRatio(double ratio);  // 0.1 -> "10%"
// "a,b, c" -> {"a","b","c"}; empty items are dropped.
std::vector<std::string> SplitList(std::string_view text);

std::string FormatDuration(std::chrono::milliseconds d);
// 134217728 -> "128MiB"; a size that is no whole number of KiB stays in bytes.
std::string FormatBytes(int64_t bytes);

}  // namespace ehp
