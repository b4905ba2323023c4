// Never every member out for lag: lag is relative (a whole cluster applying slowly is no reason
// to send calls nowhere), so when nothing but lagging members would be left to serve, the least
// late of those keeps serving. Pure: verdicts in, verdicts out.
#pragma once

#include <span>
#include <vector>

#include "proxy/health/round_evaluator.h"

namespace ehp {

// What SpareLeastLate needs to know of a member besides its verdict.
struct MemberServing {
  bool drained = false;  // taken out by an operator: neither serves nor is spared
  bool usable = false;   // takes calls now
};

// When some members are lagging and no other member outside a drain serves on (takes calls now
// with a verdict that is not lagging) or is good this round, turns the verdict of the least late
// lagging one (by lag in time, then in entries) into a good one, marked spared. `members` is in
// the same order as `verdicts` (missing entries: not drained, not usable). Returns the index
// spared, or -1.
int SpareLeastLate(std::span<MemberVerdict> verdicts, std::span<const MemberServing> members);

}  // namespace ehp
