#include "proxy/metrics/prometheus_text.h"

#include <cmath>
#include <cstdio>

namespace ehp {

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void WriteHeader(std::string* out, std::string_view name, std::string_view help,
                 std::string_view type) {
  out->append("# HELP ").append(name).append(" ").append(help).append("\n");
  out->append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void WriteSample(std::string* out, std::string_view name, const Labels& labels, double value) {
  out->append(name);
  if (!labels.empty()) {
    out->append("{");
    for (size_t i = 0; i < labels.size(); ++i) {
      if (i) out->append(",");
      out->append(labels[i].first).append("=\"").append(EscapeLabelValue(labels[i].second));
      out->append("\"");
    }
    out->append("}");
  }
  char buf[64];
  if (std::isinf(value)) {
    std::snprintf(buf, sizeof buf, " %s\n", value > 0 ? "+Inf" : "-Inf");
  } else if (value == std::floor(value) && std::fabs(value) < 1e15) {
    std::snprintf(buf, sizeof buf, " %.0f\n", value);
  } else {
    std::snprintf(buf, sizeof buf, " %.9g\n", value);
  }
  out->append(buf);
}

}  // namespace ehp
