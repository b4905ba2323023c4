// The one-line summary that `systemctl status` shows (sd_notify STATUS=), e.g.
// "3/3 members healthy, leader etcd-2". Pure, so it is unit-tested on hand-made views.
#pragma once

#include <string>

#include "proxy/health/health_checker.h"

namespace ehp {

// Healthy members out of all, the members that are not healthy with their reason (at most a
// few, so the line stays short), the quorum's leader by name, and a stall when calls are held.
std::string StatusLine(const HealthChecker::View& view);

}  // namespace ehp
