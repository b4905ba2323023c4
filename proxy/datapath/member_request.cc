#include "proxy/datapath/member_request.h"

#include "proxy/h2/grpc_status.h"

namespace ehp {

MemberRequest MakeMemberRequest(const HeaderList& client, const Member& member, bool add_hasleader,
                                std::optional<std::chrono::steady_clock::time_point> deadline,
                                std::chrono::steady_clock::time_point now) {
  MemberRequest r;
  r.headers.reserve(client.size() + 1);
  bool has_key = false;
  for (const HeaderField& f : client) {
    if (f.name == ":authority") {
      r.headers.push_back({":authority", member.url().Authority()});
    } else if (f.name == "grpc-timeout" && deadline) {
      r.headers.push_back(
          {"grpc-timeout",
           FormatGrpcTimeout(
               std::max(std::chrono::microseconds(1),
                        std::chrono::duration_cast<std::chrono::microseconds>(*deadline - now)))});
    } else {
      if (f.name == "hasleader") {
        has_key = true;
        r.hasleader = r.hasleader || f.value == "true";
      }
      r.headers.push_back(f);
    }
  }
  if (!has_key && add_hasleader) {
    r.headers.push_back({"hasleader", "true"});
    r.hasleader = true;
  }
  return r;
}

}  // namespace ehp
