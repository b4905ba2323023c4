// Writing the Prometheus text exposition format (version 0.0.4).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ehp {

using Labels = std::vector<std::pair<std::string_view, std::string>>;

// "# HELP" and "# TYPE" lines of a metric family.
void WriteHeader(std::string* out, std::string_view name, std::string_view help,
                 std::string_view type);
// One sample: name{label="value",...} value
void WriteSample(std::string* out, std::string_view name, const Labels& labels, double value);
// Escapes a label value (backslash, double quote, newline).
std::string EscapeLabelValue(std::string_view value);

}  // namespace ehp
