#include "proxy/health/probe_result.h"

namespace ehp {

bool ProbeResult::HasError(std::string_view fragment) const {
  for (const std::string& e : errors) {
    if (e.find(fragment) != std::string::npos) return true;
  }
  return false;
}

}  // namespace ehp
