// How a probe round reaches a member. An interface so the checker's scheduling can be driven
// without sockets; the real one is GrpcMemberProber.
#pragma once

#include <functional>

#include "proxy/health/probe_result.h"

namespace ehp {

class MemberProber {
 public:
  virtual ~MemberProber() = default;
  // Probes member `index` (configuration order); `done` runs once, on any thread.
  virtual void Probe(size_t index, std::function<void(ProbeResult)> done) = 0;
  virtual size_t size() const = 0;
};

}  // namespace ehp
