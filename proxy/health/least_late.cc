#include "proxy/health/least_late.h"

namespace ehp {
namespace {

bool Lagging(const MemberVerdict& v) {
  return v.reason == UnhealthyReason::kLagging &&
         (v.kind == MemberVerdict::Kind::kFailure || v.kind == MemberVerdict::Kind::kSuspect);
}

bool LessLate(const MemberVerdict& a, const MemberVerdict& b) {
  if (a.lag_time.total() != b.lag_time.total()) return a.lag_time.total() < b.lag_time.total();
  return a.lag < b.lag;
}

}  // namespace

int SpareLeastLate(std::span<MemberVerdict> verdicts, std::span<const MemberServing> members) {
  int least = -1;
  for (size_t i = 0; i < verdicts.size(); ++i) {
    const MemberServing m = i < members.size() ? members[i] : MemberServing{};
    if (m.drained) continue;
    const MemberVerdict& v = verdicts[i];
    if (v.kind == MemberVerdict::Kind::kGood) return -1;
    if (Lagging(v)) {
      if (least < 0 || LessLate(v, verdicts[least])) least = static_cast<int>(i);
    } else if (m.usable && v.kind != MemberVerdict::Kind::kImmediate) {
      // It serves on this round (an unconfirmed round, or a first failure, evicts nobody).
      return -1;
    }
  }
  if (least >= 0) {
    verdicts[least].kind = MemberVerdict::Kind::kGood;
    verdicts[least].reason = UnhealthyReason::kNone;
    verdicts[least].spared = true;
  }
  return least;
}

}  // namespace ehp
