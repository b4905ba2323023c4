#include "proxy/routing/call_plan.h"

namespace ehp {

CallPlan::CallPlan(CallClass call, const Settings& settings, MemberRouter& router,
                   RetryBudget& budget, CallHolder* holder)
    : call_(call), settings_(settings), router_(router), budget_(budget), holder_(holder) {}

CallPlan::~CallPlan() {
  if (held_ && holder_ != nullptr) holder_->Release(settings_.request_bytes);
}

CallPlan::Step CallPlan::Start(Clock::time_point now) { return Pick(now); }

CallPlan::Step CallPlan::Wake(Clock::time_point now) {
  if (finished_) return {};
  return Pick(now);
}

CallPlan::Step CallPlan::Pick(Clock::time_point now) {
  if (const Key member = router_.Pick(call_, tried_, despite_stall_)) {
    Step step = SendTo(member, false);
    if (held_) EndHold("sent", now, &step);
    return step;
  }
  return WaitOrFail(now);
}

CallPlan::Step CallPlan::SendTo(Key member, bool hedge) {
  attempts_.push_back(Attempt{member, hedge});
  tried_.push_back(member);
  ++in_flight_;
  Step step;
  step.action = Action::kSend;
  step.attempt = static_cast<int>(attempts_.size()) - 1;
  step.member = member;
  step.hedge = hedge;
  return step;
}

CallPlan::Step CallPlan::WaitOrFail(Clock::time_point now) {
  // What was tried refused the call before acting on it (or it is a read): once a member can
  // take calls again, any of them may.
  tried_.clear();
  // A call's waits together last leaderless-wait at most, from its first: a member that keeps
  // refusing it at once would otherwise have it resent every tick for as long as it refuses.
  if (waited_ && !held_ && now + kHoldTick >= hold_until_) expired_ = true;
  if (!held_ && !expired_ && settings_.leaderless_wait.count() > 0) {
    if (holder_ != nullptr && !holder_->Admit(settings_.request_bytes)) {
      Step step;
      step.action = Action::kFail;
      step.failure = Failure::kHoldRefused;
      step.hold_outcome = "refused";
      return Finish(step);
    }
    held_ = true;
    held_since_ = now;
    if (!waited_) {
      waited_ = true;
      hold_until_ = now + settings_.leaderless_wait;
      if (settings_.deadline)
        hold_until_ = std::min(hold_until_, *settings_.deadline - kDeadlineMargin);
    }
  }
  Step expired;
  if (held_) {
    if (now + kHoldTick < hold_until_) {
      Step step;
      step.action = Action::kHold;
      step.wake_at = now + kHoldTick;
      return step;
    }
    EndHold("expired", now, &expired);
    expired_ = true;
  }
  // Held long enough. A stalled quorum may be overload rather than a cut-off leader: after the
  // wait, the call is sent anyway.
  if (router_.Stalled() && !despite_stall_) {
    despite_stall_ = true;
    if (const Key member = router_.Pick(call_, tried_, despite_stall_)) {
      Step step = SendTo(member, false);
      step.hold_outcome = expired.hold_outcome;
      step.held_for = expired.held_for;
      return step;
    }
  }
  if (last_failed_ >= 0 && !attempts_[last_failed_].moved_off) {
    expired.action = Action::kAnswer;  // the member's own refusal, unchanged
    expired.attempt = last_failed_;
  } else {
    expired.action = Action::kFail;
    expired.failure = last_failed_ >= 0 ? Failure::kMemberEvicted : Failure::kUnavailable;
  }
  return Finish(expired);
}

CallPlan::Step CallPlan::Answered(int attempt) {
  Attempt& a = attempts_[attempt];
  if (a.done) return {};
  a.done = true;
  --in_flight_;
  if (finished_) return {};
  Step step;
  step.action = Action::kAnswer;
  step.attempt = attempt;
  if (hedge_sent_) step.hedge_outcome = a.hedge ? "hedge_won" : "first_won";
  return Finish(step);
}

CallPlan::Step CallPlan::Failed(int attempt, const AttemptOutcome& outcome, Clock::time_point now) {
  Attempt& a = attempts_[attempt];
  if (a.done) return {};
  a.done = true;
  --in_flight_;
  if (finished_) return {};
  last_failed_ = attempt;
  if (in_flight_ > 0) return {};  // the other copy may yet answer: it decides
  const RetryReason reason =
      a.moved_off ? RetryReason::kMemberEvicted : DecideRetry(call_.kind, outcome);
  Step answer;
  if (a.moved_off) {
    answer.action = Action::kFail;
    answer.failure = Failure::kMemberEvicted;
  } else {
    answer.action = Action::kAnswer;
    answer.attempt = attempt;
  }
  if (reason == RetryReason::kNone) return Finish(answer);
  if (const Key member = router_.Pick(call_, tried_, despite_stall_)) {
    // A call that never reached a member (a refused connection, a stream the member refused)
    // costs the cluster nothing when sent again: the budget is for retries that add load.
    if (reason == RetryReason::kConnectFailed || budget_.TrySpend(now)) {
      Step step = SendTo(member, false);
      step.retried = reason;
      return step;
    }
    // An election's refusals (no leader, a dropped proposal) say the call was never processed
    // and cost the member next to nothing; when the budget is spent they wait for a member with
    // a leader, as when every member refused, instead of failing the call mid-election.
    if (reason != RetryReason::kNoLeader && reason != RetryReason::kProposalDropped) {
      answer.retry_refused = reason;
      return Finish(answer);
    }
  }
  // Every member refused or failed it without acting on it: wait until one can take it. A
  // retry is counted only when one is sent or waited for, not when the call ends here.
  Step step = WaitOrFail(now);
  if (step.action == Action::kSend || step.action == Action::kHold) step.retried = reason;
  return step;
}

CallPlan::Step CallPlan::Refused(int attempt) {
  Attempt& a = attempts_[attempt];
  if (a.done) return {};
  a.done = true;
  --in_flight_;
  if (finished_ || a.hedge) return {};  // a refused hedge: the first copy still decides
  Step step;
  step.action = Action::kFail;
  step.failure = Failure::kMemberCallsCap;
  return Finish(step);
}

CallPlan::Step CallPlan::HedgeDue(int attempt, Clock::time_point now) {
  const Attempt& a = attempts_[attempt];
  if (!settings_.hedging || hedged_ || finished_ || a.hedge || a.done) return {};
  hedged_ = true;  // once per call, sent or not
  const Key member = router_.Pick(call_, tried_, despite_stall_);
  if (member == nullptr || !budget_.TrySpend(now)) {
    Step step;
    step.hedge_outcome = "skipped";
    return step;
  }
  hedge_sent_ = true;
  Step step = SendTo(member, true);
  step.hedge_outcome = "sent";
  return step;
}

void CallPlan::MovedOff(int attempt) {
  if (!attempts_[attempt].done) attempts_[attempt].moved_off = true;
}

CallPlan::Step CallPlan::Cancelled(Clock::time_point now) {
  Step step;
  if (finished_) return step;
  finished_ = true;
  if (held_) EndHold("cancelled", now, &step);
  return step;
}

CallPlan::Step CallPlan::Finish(Step step) {
  finished_ = true;
  return step;
}

void CallPlan::EndHold(const char* outcome, Clock::time_point now, Step* step) {
  if (!held_) return;
  held_ = false;
  if (holder_ != nullptr) holder_->Release(settings_.request_bytes);
  step->hold_outcome = outcome;
  step->held_for = now - held_since_;
}

}  // namespace ehp
