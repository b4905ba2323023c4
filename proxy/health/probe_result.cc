#include "proxy/health/probe_result.h"

namespace ehp {

bool ProbeResult::HasError(std::string_view fragment) const {
  for (const std::string& e : errors) {
    if (e.find(fragment) != std::string::npos) return true;
  }
  return false;
}

std::string_view ToString(ProbeResult::Status s) {
  switch (s) {
    case ProbeResult::Status::kOk:
      return "ok";
    case ProbeResult::Status::kUnreachable:
      return "unreachable";
    case ProbeResult::Status::kTls:
      return "tls";
    case ProbeResult::Status::kTimeout:
      return "timeout";
    case ProbeResult::Status::kError:
      return "error";
    case ProbeResult::Status::kAuth:
      return "auth";
  }
  return "?";
}

std::string_view ToString(ProbeResult::Read r) {
  switch (r) {
    case ProbeResult::Read::kOk:
      return "ok";
    case ProbeResult::Read::kNoLeader:
      return "no_leader";
    case ProbeResult::Read::kTimeout:
      return "timeout";
    case ProbeResult::Read::kFailed:
      return "failed";
  }
  return "?";
}

}  // namespace ehp
