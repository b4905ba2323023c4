// The request headers a member gets for a client's call: the client's, in their order, with the
// member's :authority, the time left of the client's deadline as grpc-timeout (a call sent again
// or held has less left than it came with), and "hasleader: true" added when the call may carry
// it and the client did not ask either way. Adjusted in place: a call's headers serve each of its
// attempts in turn (nghttp2 copies them as they are submitted).
#pragma once

#include <chrono>
#include <optional>

#include "proxy/h2/header_list.h"
#include "proxy/upstream/member.h"

namespace ehp {

// Returns whether the member refuses the call without a leader (it carries "hasleader: true").
bool AdjustForMember(HeaderList& headers, const Member& member, bool add_hasleader,
                     std::optional<std::chrono::steady_clock::time_point> deadline,
                     std::chrono::steady_clock::time_point now);

}  // namespace ehp
