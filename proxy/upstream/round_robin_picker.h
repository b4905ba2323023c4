// The choice of a member for a new call, as a pure function over what the caller knows.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

namespace ehp {

struct PickCandidate {
  bool excluded = false;  // already tried by this call
  bool reachable = true;  // has a connection that is not failing
};

// Round-robin from `cursor`: the next reachable, not excluded candidate. When no candidate is
// reachable, the next one not excluded (so the call fails with the member's own error instead of
// a made-up one). nullopt when every candidate is excluded.
std::optional<size_t> PickRoundRobin(std::span<const PickCandidate> candidates, uint64_t cursor);

}  // namespace ehp
