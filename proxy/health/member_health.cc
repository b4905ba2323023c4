#include "proxy/health/member_health.h"

#include <algorithm>

namespace ehp {

using Kind = MemberVerdict::Kind;

std::string_view ToString(HealthState state) {
  switch (state) {
    case HealthState::kHealthy:
      return "healthy";
    case HealthState::kEvicted:
      return "evicted";
    case HealthState::kProbation:
      return "probation";
    case HealthState::kDrained:
      return "drained";
  }
  return "unknown";
}

HealthTransition MemberHealth::Observe(const MemberVerdict& v, TimePoint now) {
  read_only_ = v.read_only;
  failures_ = v.kind == Kind::kFailure ? failures_ + 1 : 0;
  suspects_ = v.kind == Kind::kSuspect ? suspects_ + 1 : 0;
  if (failures_ + suspects_ == 1) bad_since_ = now;

  switch (state_) {
    case HealthState::kHealthy:
      if (v.kind == Kind::kImmediate) return Evict(v.reason, now);
      if (failures_ >= policy_.unreachable_threshold) return Evict(v.reason, now);
      if (suspects_ >= policy_.suspect_threshold) return Evict(v.reason, now);
      return failures_ > 0 || suspects_ > 0 ? HealthTransition::kChangePending
                                            : HealthTransition::kUnchanged;

    case HealthState::kEvicted:
      if (v.kind != Kind::kGood) {
        if (v.reason != UnhealthyReason::kNone) reason_ = v.reason;  // the latest cause
        good_ = 0;
        return HealthTransition::kUnchanged;
      }
      if (now < hold_until_) return HealthTransition::kUnchanged;  // held out: flapping
      state_ = HealthState::kProbation;
      since_ = now;
      good_ = 1;
      if (good_ >= policy_.readmit_rounds) {
        state_ = HealthState::kHealthy;
        reason_ = UnhealthyReason::kNone;
        readmitted_at_ = now;
        ever_readmitted_ = true;
      }
      return HealthTransition::kChanged;

    case HealthState::kProbation:
      if (v.kind == Kind::kGood) {
        if (++good_ < policy_.readmit_rounds) return HealthTransition::kChangePending;
        state_ = HealthState::kHealthy;
        reason_ = UnhealthyReason::kNone;
        since_ = now;
        readmitted_at_ = now;
        ever_readmitted_ = true;
        return HealthTransition::kChanged;
      }
      if (v.kind == Kind::kUnconfirmed) {
        good_ = 0;  // "in a row": start over, but no reason to evict
        return HealthTransition::kChangePending;
      }
      return Evict(v.reason == UnhealthyReason::kNone ? reason_ : v.reason, now);

    case HealthState::kDrained:
      break;  // never stored in state_
  }
  return HealthTransition::kUnchanged;
}

HealthTransition MemberHealth::Evict(UnhealthyReason reason, TimePoint now) {
  if (failures_ + suspects_ == 0) bad_since_ = now;  // immediate: no streak before it
  evicted_at_ = now;
  const bool from_probation = state_ == HealthState::kProbation;
  const bool soon_after_readmission =
      ever_readmitted_ && now - readmitted_at_ < policy_.flap_window;
  flaps_ = from_probation || soon_after_readmission ? flaps_ + 1 : 0;
  hold_until_ = now;
  if (flaps_ > 0) {
    auto hold = policy_.holdout_base * (1LL << std::min(flaps_ - 1, 20));
    hold_until_ = now + std::min<std::chrono::milliseconds>(hold, policy_.holdout_max);
  }
  state_ = HealthState::kEvicted;
  reason_ = reason;
  since_ = now;
  good_ = 0;
  failures_ = 0;
  suspects_ = 0;
  return HealthTransition::kChanged;
}

void MemberHealth::ReadmitNow(TimePoint now) {
  if (state_ == HealthState::kHealthy) return;
  state_ = HealthState::kHealthy;
  reason_ = UnhealthyReason::kNone;
  since_ = now;
  readmitted_at_ = now;
  ever_readmitted_ = true;
  failures_ = suspects_ = good_ = 0;
}

std::vector<size_t> ReadmitIfNoneServing(std::span<MemberHealth> members,
                                         std::span<const MemberVerdict> verdicts,
                                         MemberHealth::TimePoint now) {
  std::vector<size_t> readmitted;
  for (size_t i = 0; i < members.size() && i < verdicts.size(); ++i) {
    if (members[i].usable() && verdicts[i].kind == MemberVerdict::Kind::kGood) return readmitted;
  }
  for (size_t i = 0; i < members.size() && i < verdicts.size(); ++i) {
    if (verdicts[i].kind == MemberVerdict::Kind::kGood && !members[i].drained()) {
      members[i].ReadmitNow(now);
      readmitted.push_back(i);
    }
  }
  return readmitted;
}

}  // namespace ehp
