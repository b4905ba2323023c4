#include "proxy/datapath/member_request.h"

#include <string_view>

#include "proxy/h2/grpc_status.h"

namespace ehp {

using namespace std::string_view_literals;  // sized literals: a length check decides most compares

bool AdjustForMember(HeaderList& headers, const Member& member, bool add_hasleader,
                     std::optional<std::chrono::steady_clock::time_point> deadline,
                     std::chrono::steady_clock::time_point now) {
  bool has_key = false;
  bool hasleader = false;
  for (HeaderField& f : headers) {
    if (f.name == ":authority"sv) {
      f.value = member.name();  // the member's host:port
    } else if (f.name == "grpc-timeout"sv && deadline) {
      f.value = FormatGrpcTimeout(
          std::max(std::chrono::microseconds(1),
                   std::chrono::duration_cast<std::chrono::microseconds>(*deadline - now)));
    } else if (f.name == "hasleader"sv) {
      has_key = true;
      hasleader = hasleader || f.value == "true"sv;
    }
  }
  if (!has_key && add_hasleader) {
    headers.push_back({"hasleader", "true"});
    hasleader = true;
  }
  return hasleader;
}

}  // namespace ehp
