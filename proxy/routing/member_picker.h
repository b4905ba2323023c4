// The choice of a member for a call, as a pure function over what the caller knows: writes go to
// the quorum's leader (etcd would forward them there anyway, one hop later), serializable reads
// skip members that trail, reads prefer the local zone, and among what is left the less loaded
// of two random members wins (power of two choices: near-best balance without herding on one
// "least loaded" member).
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "proxy/routing/call_class.h"

namespace ehp {

struct PickCandidate {
  bool excluded = false;    // not usable (health), or already tried by this call
  bool reachable = true;    // has a connection that is not failing
  bool leader = false;      // the member a majority names as leader
  bool local_zone = false;  // in the proxy's local-zone
  bool fresh = true;        // close enough to the others to serve serializable reads
  int64_t load = 0;         // calls and streams outstanding on it
  // Writes sent to it are not being answered (WriteProgress): writes wait rather than go there
  // or to a member that would forward them there.
  bool writes_stuck = false;
};

struct PickPolicy {
  bool writes_to_leader = true;  // write-routing: leader
};

// Each preference only narrows the choice when something is left after it; when no candidate is
// reachable, one that is not excluded is still chosen (the call then fails with the member's own
// error). nullopt when every candidate is excluded, and for a write when the member it would go
// to has its writes stuck. `random` is any uniformly random value.
std::optional<size_t> PickMember(std::span<const PickCandidate> candidates, CallClass call,
                                 const PickPolicy& policy, uint64_t random);

}  // namespace ehp
