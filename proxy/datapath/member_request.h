// The request headers a member gets for a client's call: the client's, in their order, with the
// member's :authority, the time left of the client's deadline as grpc-timeout (a call sent again
// or held has less left than it came with), and "hasleader: true" added when the call may carry
// it and the client did not ask either way.
#pragma once

#include <chrono>
#include <optional>

#include "proxy/h2/header_list.h"
#include "proxy/upstream/member.h"

namespace ehp {

struct MemberRequest {
  HeaderList headers;
  bool hasleader = false;  // the member refuses the call without a leader
};

MemberRequest MakeMemberRequest(const HeaderList& client, const Member& member, bool add_hasleader,
                                std::optional<std::chrono::steady_clock::time_point> deadline,
                                std::chrono::steady_clock::time_point now);

}  // namespace ehp
