// Never every member out for lag: lag is relative (a whole cluster applying slowly is no reason
// to send calls nowhere), so when no member outside a drain has a good verdict and some are
// lagging, the least late of those keeps serving. Pure: verdicts in, verdicts out.
#pragma once

#include <span>
#include <vector>

#include "proxy/health/round_evaluator.h"

namespace ehp {

// When no member that is not drained has a good verdict, turns the verdict of the least late
// lagging one (by lag in time, then in entries) into a good one, marked spared. `drained` is in
// the same order as `verdicts` (missing entries: not drained). Returns the index spared, or -1.
int SpareLeastLate(std::span<MemberVerdict> verdicts, const std::vector<bool>& drained);

}  // namespace ehp
