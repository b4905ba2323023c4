// The call plan of one unary call, driven over a fake member set with time points passed in.
#include "proxy/routing/call_plan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace ehp {
namespace {

using Action = CallPlan::Action;
using Failure = CallPlan::Failure;
using Key = CallPlan::Key;
using Step = CallPlan::Step;
using std::chrono::milliseconds;

const CallPlan::Clock::time_point kT0 = CallPlan::Clock::time_point() + std::chrono::hours(1);

CallPlan::Clock::time_point At(int ms) { return kT0 + milliseconds(ms); }

const CallClass kRead{CallKind::kRead, false, true};
const CallClass kWrite{CallKind::kWrite, false, true};

// The keys the fake router hands out; the test (not the plan) reads their names.
struct FakeMember {
  const char* name;
};
const FakeMember kA{"a"}, kB{"b"}, kC{"c"};
const Key a = &kA;
const Key b = &kB;
const Key c = &kC;

// Hands out the usable members in order, skipping the tried ones. While stalled, writes and
// linearizable reads get none unless despite_stall, as UpstreamPool does.
class FakeRouter : public MemberRouter {
 public:
  struct PickCall {
    std::vector<Key> tried;
    bool despite_stall;
  };

  explicit FakeRouter(std::vector<Key> usable) : usable_(std::move(usable)) {}

  Key Pick(const CallClass& call, std::span<const Key> tried, bool despite_stall) override {
    picks_.push_back({std::vector<Key>(tried.begin(), tried.end()), despite_stall});
    if (stalled_ && !despite_stall &&
        (call.kind == CallKind::kWrite || call.kind == CallKind::kRead)) {
      return nullptr;
    }
    for (Key k : usable_) {
      if (std::find(tried.begin(), tried.end(), k) == tried.end()) return k;
    }
    return nullptr;
  }
  bool Stalled() const override { return stalled_; }

  void set_usable(std::vector<Key> usable) { usable_ = std::move(usable); }
  void set_stalled(bool stalled) { stalled_ = stalled; }
  const std::vector<PickCall>& picks() const { return picks_; }

 private:
  std::vector<Key> usable_;
  bool stalled_ = false;
  std::vector<PickCall> picks_;
};

const char* ToString(Action action) {
  switch (action) {
    case Action::kNone:
      return "none";
    case Action::kSend:
      return "send";
    case Action::kHold:
      return "hold";
    case Action::kAnswer:
      return "answer";
    case Action::kFail:
      return "fail";
  }
  return "?";
}

const char* ToString(Failure failure) {
  switch (failure) {
    case Failure::kNone:
      return "none";
    case Failure::kUnavailable:
      return "unavailable";
    case Failure::kHoldRefused:
      return "hold_refused";
    case Failure::kMemberCallsCap:
      return "member_calls_cap";
    case Failure::kMemberEvicted:
      return "member_evicted";
  }
  return "?";
}

std::string Name(Key key) {
  return key == nullptr ? "null" : static_cast<const FakeMember*>(key)->name;
}

std::string Ms(CallPlan::Clock::duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(d).count() / 1000.0);
}

// Every field of a step, so one comparison checks them all and a mismatch reads plainly.
std::string Describe(const Step& s) {
  std::string out = ToString(s.action);
  out += " attempt=" + std::to_string(s.attempt) + " member=" + Name(s.member) +
         " hedge=" + (s.hedge ? "1" : "0");
  out += " wake_at=" + (s.wake_at == CallPlan::Clock::time_point{} ? "-" : Ms(s.wake_at - kT0));
  out += std::string(" failure=") + ToString(s.failure);
  out += " retried=" + std::string(ToString(s.retried));
  out += " retry_refused=" + std::string(ToString(s.retry_refused));
  out += std::string(" hedge_outcome=") + (s.hedge_outcome ? s.hedge_outcome : "-");
  out += std::string(" hold_outcome=") + (s.hold_outcome ? s.hold_outcome : "-");
  out += " held_for=" + Ms(s.held_for);
  return out;
}

// Failed attempts' outcomes as the data path reports them (codes: grpc::StatusCode).
constexpr int kNotFound = 5;
constexpr int kUnavailable = 14;
const AttemptOutcome kTimedOut{kUnavailable, "etcdserver: request timed out", false, true};
const AttemptOutcome kNoLeader{kUnavailable, "etcdserver: no leader", false, true};
const AttemptOutcome kRefusedStream{
    kUnavailable, "etcd-health-proxy: member a reset the call (REFUSED_STREAM)", true, true};
const AttemptOutcome kResetAfterSending{
    kUnavailable, "etcd-health-proxy: member a reset the call (CANCEL)", false, true};
const AttemptOutcome kKeyNotFound{kNotFound, "etcdserver: key not found", false, true};

// CallPlan::Settings with every field defaulted, for designated initializers.
struct Opts {
  milliseconds leaderless_wait{3000};
  bool hedging = false;
  int64_t request_bytes = 0;
  std::optional<CallPlan::Clock::time_point> deadline = std::nullopt;

  operator CallPlan::Settings() const {
    return CallPlan::Settings{leaderless_wait, hedging, request_bytes, deadline};
  }
};

class CallPlanTest : public ::testing::Test {
 protected:
  // Budgets: `rich` has 10 retries at hand, `spent` none (no share of calls, no floor).
  RetryBudget rich_{0, 10, 100};
  RetryBudget spent_{0, 0, 0};
  CallHolder holder_{10, 1 << 20};
};

// Scenario: a read goes to the first usable member and its answer is passed on; nothing else is
// picked or counted.
TEST_F(CallPlanTest, ReadAnsweredFirstTime) {
  FakeRouter router({a, b, c});
  CallPlan plan(kRead, {}, router, rich_, &holder_);
  EXPECT_EQ(Describe(plan.Start(kT0)),
            Describe({.action = Action::kSend, .attempt = 0, .member = a}));
  EXPECT_EQ(plan.in_flight(), 1);
  EXPECT_FALSE(plan.finished());
  EXPECT_EQ(Describe(plan.Answered(0)), Describe({.action = Action::kAnswer, .attempt = 0}));
  EXPECT_TRUE(plan.finished());
  EXPECT_EQ(plan.in_flight(), 0);
  ASSERT_EQ(router.picks().size(), 1u);
  EXPECT_TRUE(router.picks()[0].tried.empty());
  EXPECT_FALSE(router.picks()[0].despite_stall);
  EXPECT_EQ(Describe(plan.Answered(0)), Describe({}));  // a second report changes nothing
}

// Scenario: a read that timed out on one member goes to another (skipping the one tried), and
// the retry spends one from the budget.
TEST_F(CallPlanTest, RetryableReadFailureRetriedOnAnotherMember) {
  FakeRouter router({a, b, c});
  RetryBudget one(0, 1, 1);
  CallPlan plan(kRead, {}, router, one, &holder_);
  ASSERT_EQ(plan.Start(kT0).member, a);
  EXPECT_EQ(
      Describe(plan.Failed(0, kTimedOut, At(5))),
      Describe(
          {.action = Action::kSend, .attempt = 1, .member = b, .retried = RetryReason::kTimedOut}));
  ASSERT_EQ(router.picks().size(), 2u);
  EXPECT_EQ(router.picks()[1].tried, std::vector<Key>{a});
  EXPECT_FALSE(one.TrySpend(At(5)));  // the retry took the only one
  EXPECT_EQ(Describe(plan.Answered(1)), Describe({.action = Action::kAnswer, .attempt = 1}));
  EXPECT_TRUE(plan.finished());
}

// Scenario: each retry skips every member tried so far; with all three tried, the last failure
// waits (no member left) rather than going back to one that just failed.
TEST_F(CallPlanTest, RetriesSkipEveryTriedMember) {
  FakeRouter router({a, b, c});
  CallPlan plan(kRead, {}, router, rich_, &holder_);
  ASSERT_EQ(plan.Start(kT0).member, a);
  ASSERT_EQ(plan.Failed(0, kTimedOut, At(1)).member, b);
  EXPECT_EQ(
      Describe(plan.Failed(1, kTimedOut, At(2))),
      Describe(
          {.action = Action::kSend, .attempt = 2, .member = c, .retried = RetryReason::kTimedOut}));
  EXPECT_EQ(router.picks().back().tried, (std::vector<Key>{a, b}));
  EXPECT_EQ(
      Describe(plan.Failed(2, kTimedOut, At(3))),
      Describe({.action = Action::kHold, .wake_at = At(23), .retried = RetryReason::kTimedOut}));
  EXPECT_EQ(router.picks().back().tried, (std::vector<Key>{a, b, c}));
  EXPECT_TRUE(plan.held());
}

// Scenario: a retryable failure when the budget is spent is answered as the member gave it,
// counted as a refused retry; no further copy is sent.
TEST_F(CallPlanTest, RetryRefusedWhenBudgetExhausted) {
  FakeRouter router({a, b, c});
  CallPlan plan(kRead, {}, router, spent_, &holder_);
  ASSERT_EQ(plan.Start(kT0).member, a);
  EXPECT_EQ(
      Describe(plan.Failed(0, kTimedOut, At(5))),
      Describe({.action = Action::kAnswer, .attempt = 0, .retry_refused = RetryReason::kTimedOut}));
  EXPECT_TRUE(plan.finished());
  EXPECT_EQ(plan.in_flight(), 0);
  EXPECT_EQ(Describe(plan.Wake(At(30))), Describe({}));
}

// Scenario: an error that is the member's answer (not found) goes back unchanged, never retried,
// even with budget to spare.
TEST_F(CallPlanTest, NonRetryableReadErrorAnsweredAsIs) {
  FakeRouter router({a, b, c});
  CallPlan plan(kRead, {}, router, rich_, &holder_);
  ASSERT_EQ(plan.Start(kT0).member, a);
  EXPECT_EQ(Describe(plan.Failed(0, kKeyNotFound, At(1))),
            Describe({.action = Action::kAnswer, .attempt = 0}));
  EXPECT_EQ(router.picks().size(), 1u);
  EXPECT_TRUE(plan.finished());
}

// Scenario: a write that timed out (or whose stream broke after it was sent) may have been
// applied: it is answered as it failed and never sent again, whatever the budget.
TEST_F(CallPlanTest, WriteNotRetriedAfterTheMemberMayHaveProcessedIt) {
  for (const AttemptOutcome& outcome : {kTimedOut, kResetAfterSending}) {
    SCOPED_TRACE(std::string(outcome.message));
    FakeRouter router({a, b, c});
    CallPlan plan(kWrite, {}, router, rich_, &holder_);
    ASSERT_EQ(plan.Start(kT0).member, a);
    EXPECT_EQ(Describe(plan.Failed(0, outcome, At(7000))),
              Describe({.action = Action::kAnswer, .attempt = 0}));
    EXPECT_EQ(router.picks().size(), 1u);
    EXPECT_TRUE(plan.finished());
  }
}

// Scenario: a write whose stream the member refused (REFUSED_STREAM: provably unprocessed) is
// sent to another member, outside the budget: it added no load.
TEST_F(CallPlanTest, WriteRetriedWhenProvablyUnprocessed) {
  FakeRouter router({a, b});
  CallPlan plan(kWrite, {}, router, spent_, &holder_);
  ASSERT_EQ(plan.Start(kT0).member, a);
  EXPECT_EQ(Describe(plan.Failed(0, kRefusedStream, At(1))),
            Describe({.action = Action::kSend,
                      .attempt = 1,
                      .member = b,
                      .retried = RetryReason::kConnectFailed}));
  EXPECT_EQ(Describe(plan.Answered(1)), Describe({.action = Action::kAnswer, .attempt = 1}));
}

// Scenario: a write refused by the member's hasleader check never reached Raft and is retried
// (within the budget); without hasleader the same message is ambiguous and answered as is.
TEST_F(CallPlanTest, WriteRetriedOnNoLeaderOnlyWhenItAskedForHasleader) {
  {
    FakeRouter router({a, b});
    CallPlan plan(kWrite, {}, router, rich_, &holder_);
    ASSERT_EQ(plan.Start(kT0).member, a);
    EXPECT_EQ(Describe(plan.Failed(0, kNoLeader, At(1))),
              Describe({.action = Action::kSend,
                        .attempt = 1,
                        .member = b,
                        .retried = RetryReason::kNoLeader}));
  }
  {
    FakeRouter router({a, b});
    CallPlan plan(kWrite, {}, router, rich_, &holder_);
    ASSERT_EQ(plan.Start(kT0).member, a);
    AttemptOutcome without = kNoLeader;
    without.sent_hasleader = false;
    EXPECT_EQ(Describe(plan.Failed(0, without, At(1))),
              Describe({.action = Action::kAnswer, .attempt = 0}));
  }
}

// Scenario: mid-election, the retry budget is spent and a write is refused with "no leader" (or
// its proposal dropped): it was never processed, so instead of failing it waits for a member with
// a leader, and is sent once one can take it. Waiting costs the cluster nothing.
TEST_F(CallPlanTest, ElectionRefusalWaitsWhenTheBudgetIsSpent) {
  const AttemptOutcome kDropped{2, "raft proposal dropped", false, true};
  for (const AttemptOutcome& outcome : {kNoLeader, kDropped}) {
    SCOPED_TRACE(std::string(outcome.message));
    FakeRouter router({a, b});
    CallPlan plan(kWrite, {}, router, spent_, &holder_);
    ASSERT_EQ(plan.Start(kT0).member, a);
    const RetryReason reason =
        outcome.code == 2 ? RetryReason::kProposalDropped : RetryReason::kNoLeader;
    EXPECT_EQ(Describe(plan.Failed(0, outcome, At(1))),
              Describe({.action = Action::kHold, .wake_at = At(21), .retried = reason}));
    EXPECT_TRUE(plan.held());
    EXPECT_EQ(Describe(plan.Wake(At(21))), Describe({.action = Action::kSend,
                                                     .attempt = 1,
                                                     .member = a,
                                                     .hold_outcome = "sent",
                                                     .held_for = milliseconds(20)}));
    EXPECT_EQ(Describe(plan.Answered(1)), Describe({.action = Action::kAnswer, .attempt = 1}));
  }
}

// Scenario: the same refusal, the budget spent, and no member gets a leader back within
// leaderless-wait: the client gets the member's own refusal, as when every member refused.
TEST_F(CallPlanTest, ElectionRefusalAnsweredAfterTheWait) {
  FakeRouter router({a, b});
  CallPlan plan(kWrite, Opts{.leaderless_wait = milliseconds(40)}, router, spent_, &holder_);
  ASSERT_EQ(plan.Start(kT0).member, a);
  ASSERT_EQ(plan.Failed(0, kNoLeader, At(0)).action, Action::kHold);
  router.set_usable({});
  EXPECT_EQ(Describe(plan.Wake(At(20))), Describe({.action = Action::kAnswer,
                                                   .attempt = 0,
                                                   .hold_outcome = "expired",
                                                   .held_for = milliseconds(20)}));
  EXPECT_TRUE(plan.finished());
  EXPECT_EQ(holder_.calls(), 0);
}

// Scenario: a slow linearizable read gets a second copy on another member when the hedge is
// due (spending from the budget); the hedge answers first and wins; the loser's late answer is
// ignored.
TEST_F(CallPlanTest, HedgeSentAndHedgeWins) {
  FakeRouter router({a, b, c});
  RetryBudget one(0, 1, 1);
  CallPlan plan(kRead, Opts{.hedging = true}, router, one, &holder_);
  ASSERT_EQ(plan.Start(kT0).member, a);
  EXPECT_EQ(Describe(plan.HedgeDue(0, At(10))), Describe({.action = Action::kSend,
                                                          .attempt = 1,
                                                          .member = b,
                                                          .hedge = true,
                                                          .hedge_outcome = "sent"}));
  EXPECT_EQ(router.picks().back().tried, std::vector<Key>{a});
  EXPECT_EQ(plan.in_flight(), 2);
  EXPECT_FALSE(one.TrySpend(At(10)));
  EXPECT_EQ(Describe(plan.Answered(1)),
            Describe({.action = Action::kAnswer, .attempt = 1, .hedge_outcome = "hedge_won"}));
  EXPECT_TRUE(plan.finished());
  EXPECT_EQ(Describe(plan.Answered(0)), Describe({}));
  EXPECT_EQ(plan.in_flight(), 0);
}

// Scenario: with a hedge out, the first copy answers first: "first_won", and the hedge's late
// failure changes nothing.
TEST_F(CallPlanTest, HedgeSentAndFirstWins) {
  FakeRouter router({a, b});
  CallPlan plan(kRead, Opts{.hedging = true}, router, rich_, &holder_);
  ASSERT_EQ(plan.Start(kT0).member, a);
  ASSERT_EQ(plan.HedgeDue(0, At(10)).action, Action::kSend);
  EXPECT_EQ(Describe(plan.Answered(0)),
            Describe({.action = Action::kAnswer, .attempt = 0, .hedge_outcome = "first_won"}));
  EXPECT_EQ(Describe(plan.Failed(1, kTimedOut, At(20))), Describe({}));
  EXPECT_EQ(router.picks().size(), 2u);
}

// Scenario: one hedge per call: a second HedgeDue, one for the hedge itself, or one after the
// answer sends nothing and counts nothing.
TEST_F(CallPlanTest, OneHedgePerCall) {
  FakeRouter router({a, b, c});
  CallPlan plan(kRead, Opts{.hedging = true}, router, rich_, &holder_);
  ASSERT_EQ(plan.Start(kT0).member, a);
  ASSERT_EQ(plan.HedgeDue(0, At(10)).member, b);
  EXPECT_EQ(Describe(plan.HedgeDue(0, At(20))), Describe({}));
  EXPECT_EQ(Describe(plan.HedgeDue(1, At(20))), Describe({}));
  ASSERT_EQ(plan.Answered(1).action, Action::kAnswer);
  EXPECT_EQ(Describe(plan.HedgeDue(0, At(30))), Describe({}));
  EXPECT_EQ(router.picks().size(), 2u);
}

// Scenario: no hedge when hedging is off for the call; "skipped" (once) when no other member
// can take it or the budget is spent; the first copy still answers without a hedge outcome.
TEST_F(CallPlanTest, HedgeSkipped) {
  {
    FakeRouter router({a, b});
    CallPlan plan(kRead, Opts{.hedging = false}, router, rich_, &holder_);
    ASSERT_EQ(plan.Start(kT0).member, a);
    EXPECT_EQ(Describe(plan.HedgeDue(0, At(10))), Describe({}));
    EXPECT_EQ(router.picks().size(), 1u);
  }
  {
    FakeRouter router({a});
    CallPlan plan(kRead, Opts{.hedging = true}, router, rich_, &holder_);
    ASSERT_EQ(plan.Start(kT0).member, a);
    EXPECT_EQ(Describe(plan.HedgeDue(0, At(10))), Describe({.hedge_outcome = "skipped"}));
    router.set_usable({a, b});
    EXPECT_EQ(Describe(plan.HedgeDue(0, At(20))), Describe({}));  // decided once
    EXPECT_EQ(Describe(plan.Answered(0)), Describe({.action = Action::kAnswer, .attempt = 0}));
  }
  {
    FakeRouter router({a, b});
    CallPlan plan(kRead, Opts{.hedging = true}, router, spent_, &holder_);
    ASSERT_EQ(plan.Start(kT0).member, a);
    EXPECT_EQ(Describe(plan.HedgeDue(0, At(10))), Describe({.hedge_outcome = "skipped"}));
    EXPECT_EQ(plan.in_flight(), 1);
  }
}

// Scenario: the first copy fails while the hedge is out: the hedge decides, and its answer is
// passed on.
TEST_F(CallPlanTest, FailureWhileHedgeInFlightLeavesItToTheHedge) {
  FakeRouter router({a, b, c});
  CallPlan plan(kRead, Opts{.hedging = true}, router, rich_, &holder_);
  ASSERT_EQ(plan.Start(kT0).member, a);
  ASSERT_EQ(plan.HedgeDue(0, At(10)).member, b);
  EXPECT_EQ(Describe(plan.Failed(0, kTimedOut, At(15))), Describe({}));
  EXPECT_FALSE(plan.finished());
  EXPECT_EQ(plan.in_flight(), 1);
  EXPECT_EQ(Describe(plan.Answered(1)),
            Describe({.action = Action::kAnswer, .attempt = 1, .hedge_outcome = "hedge_won"}));
  EXPECT_EQ(router.picks().size(), 2u);
}

// Scenario: both copies fail retryably: the last one's failure sends a retry to the third
// member, skipping both.
TEST_F(CallPlanTest, BothCopiesFailThenRetryOnTheThirdMember) {
  FakeRouter router({a, b, c});
  CallPlan plan(kRead, Opts{.hedging = true}, router, rich_, &holder_);
  ASSERT_EQ(plan.Start(kT0).member, a);
  ASSERT_EQ(plan.HedgeDue(0, At(10)).member, b);
  EXPECT_EQ(Describe(plan.Failed(1, kTimedOut, At(15))), Describe({}));
  EXPECT_EQ(
      Describe(plan.Failed(0, kTimedOut, At(16))),
      Describe(
          {.action = Action::kSend, .attempt = 2, .member = c, .retried = RetryReason::kTimedOut}));
  EXPECT_EQ(router.picks().back().tried, (std::vector<Key>{a, b}));
  // The hedge was this call's one: the retry gets none.
  EXPECT_EQ(Describe(plan.HedgeDue(2, At(30))), Describe({}));
}

// Scenario: the first copy fails with the member's own answer while the hedge is out, then the
// hedge fails the same way: the answer is the last failure's.
TEST_F(CallPlanTest, BothCopiesFailWithAnAnswerThenTheLastIsPassedOn) {
  FakeRouter router({a, b, c});
  CallPlan plan(kRead, Opts{.hedging = true}, router, rich_, &holder_);
  ASSERT_EQ(plan.Start(kT0).member, a);
  ASSERT_EQ(plan.HedgeDue(0, At(10)).member, b);
  EXPECT_EQ(Describe(plan.Failed(0, kKeyNotFound, At(15))), Describe({}));
  EXPECT_EQ(Describe(plan.Failed(1, kKeyNotFound, At(16))),
            Describe({.action = Action::kAnswer, .attempt = 1}));
  EXPECT_TRUE(plan.finished());
}

// Scenario: a hedge the member refuses (max-member-calls) is dropped quietly; the first copy
// still decides.
TEST_F(CallPlanTest, RefusedHedgeLeavesTheFirstCopy) {
  FakeRouter router({a, b});
  CallPlan plan(kRead, Opts{.hedging = true}, router, rich_, &holder_);
  ASSERT_EQ(plan.Start(kT0).member, a);
  ASSERT_EQ(plan.HedgeDue(0, At(10)).member, b);
  EXPECT_EQ(Describe(plan.Refused(1)), Describe({}));
  EXPECT_FALSE(plan.finished());
  EXPECT_EQ(plan.in_flight(), 1);
  EXPECT_EQ(plan.Answered(0).action, Action::kAnswer);
}

// Scenario: the member a call was sent to has max-member-calls in flight: the call fails with
// that reason, not retried elsewhere.
TEST_F(CallPlanTest, MemberCallsCapRefusal) {
  FakeRouter router({a, b});
  CallPlan plan(kWrite, {}, router, rich_, &holder_);
  ASSERT_EQ(plan.Start(kT0).member, a);
  EXPECT_EQ(Describe(plan.Refused(0)),
            Describe({.action = Action::kFail, .failure = Failure::kMemberCallsCap}));
  EXPECT_TRUE(plan.finished());
  EXPECT_EQ(plan.in_flight(), 0);
  EXPECT_EQ(Describe(plan.Refused(0)), Describe({}));
  EXPECT_EQ(router.picks().size(), 1u);
}

// Scenario: no member can take the call: it is held (taking a place in the CallHolder) and
// offered again every tick; once a member is usable, Wake sends it and the hold ends "sent".
TEST_F(CallPlanTest, HeldWhileNoMemberUsableThenSent) {
  FakeRouter router({});
  CallPlan plan(kWrite, Opts{.request_bytes = 100}, router, rich_, &holder_);
  EXPECT_EQ(Describe(plan.Start(kT0)), Describe({.action = Action::kHold, .wake_at = At(20)}));
  EXPECT_TRUE(plan.held());
  EXPECT_EQ(holder_.calls(), 1);
  EXPECT_EQ(holder_.bytes(), 100);
  EXPECT_EQ(Describe(plan.Wake(At(20))), Describe({.action = Action::kHold, .wake_at = At(40)}));
  router.set_usable({b});
  EXPECT_EQ(Describe(plan.Wake(At(41))), Describe({.action = Action::kSend,
                                                   .attempt = 0,
                                                   .member = b,
                                                   .hold_outcome = "sent",
                                                   .held_for = milliseconds(41)}));
  EXPECT_FALSE(plan.held());
  EXPECT_EQ(holder_.calls(), 0);
  EXPECT_EQ(holder_.bytes(), 0);
  EXPECT_EQ(Describe(plan.Answered(0)), Describe({.action = Action::kAnswer, .attempt = 0}));
}

// Scenario: held for leaderless-wait at most: the last tick that would end past it fails the
// call with the routing's reasons, hold outcome "expired".
TEST_F(CallPlanTest, HoldExpiresAfterLeaderlessWait) {
  FakeRouter router({});
  CallPlan plan(kRead, Opts{.leaderless_wait = milliseconds(100), .request_bytes = 10}, router,
                rich_, &holder_);
  Step step = plan.Start(kT0);
  int ticks = 0;
  while (step.action == Action::kHold && ticks < 100) {
    EXPECT_LE(step.wake_at, At(100));
    step = plan.Wake(step.wake_at);
    ++ticks;
  }
  EXPECT_EQ(ticks, 4);  // woken at 20, 40, 60 and 80 ms: 80 + 20 is not before 100
  EXPECT_EQ(Describe(step), Describe({.action = Action::kFail,
                                      .failure = Failure::kUnavailable,
                                      .hold_outcome = "expired",
                                      .held_for = milliseconds(80)}));
  EXPECT_TRUE(plan.finished());
  EXPECT_EQ(holder_.calls(), 0);
  EXPECT_EQ(holder_.bytes(), 0);
}

// Scenario: a client deadline shorter than leaderless-wait ends the hold kDeadlineMargin before
// it, so the client gets the proxy's reason rather than DEADLINE_EXCEEDED.
TEST_F(CallPlanTest, HoldEndsTheDeadlineMarginBeforeTheDeadline) {
  FakeRouter router({});
  CallPlan plan(kWrite, Opts{.leaderless_wait = milliseconds(3000), .deadline = At(200)}, router,
                rich_, &holder_);
  Step step = plan.Start(kT0);
  int ticks = 0;
  while (step.action == Action::kHold && ticks < 1000) {
    EXPECT_LE(step.wake_at, At(200) - CallPlan::kDeadlineMargin);
    step = plan.Wake(step.wake_at);
    ++ticks;
  }
  EXPECT_EQ(ticks, 7);  // 20..140 ms: 140 + 20 is not before 200 - 50
  EXPECT_EQ(Describe(step), Describe({.action = Action::kFail,
                                      .failure = Failure::kUnavailable,
                                      .hold_outcome = "expired",
                                      .held_for = milliseconds(140)}));
  EXPECT_EQ(holder_.calls(), 0);
}

// Scenario: a deadline already within the margin: the call is not held at all, it fails at
// once (counted as a hold that expired after no time).
TEST_F(CallPlanTest, DeadlineWithinTheMarginFailsAtOnce) {
  FakeRouter router({});
  CallPlan plan(kRead, Opts{.deadline = kT0 + CallPlan::kDeadlineMargin}, router, rich_, &holder_);
  EXPECT_EQ(Describe(plan.Start(kT0)), Describe({.action = Action::kFail,
                                                 .failure = Failure::kUnavailable,
                                                 .hold_outcome = "expired",
                                                 .held_for = milliseconds(0)}));
  EXPECT_FALSE(plan.held());
  EXPECT_EQ(holder_.calls(), 0);
}

// Scenario: leaderless-wait 0: no member means failing at once, nothing held or counted.
TEST_F(CallPlanTest, NoWaitWhenLeaderlessWaitIsZero) {
  FakeRouter router({});
  CallPlan plan(kRead, Opts{.leaderless_wait = milliseconds(0)}, router, rich_, &holder_);
  EXPECT_EQ(Describe(plan.Start(kT0)),
            Describe({.action = Action::kFail, .failure = Failure::kUnavailable}));
  EXPECT_EQ(holder_.calls(), 0);
}

// Scenario: the CallHolder is full (max-held-calls, or max-held-bytes): the call fails at once
// with that reason, counted "refused" with no duration.
TEST_F(CallPlanTest, HoldRefusedByTheHolder) {
  struct Bounds {
    int64_t calls, bytes;
  };
  for (const Bounds bounds : {Bounds{0, 1000}, Bounds{10, 99}}) {
    CallHolder full(bounds.calls, bounds.bytes);
    FakeRouter router({});
    CallPlan plan(kWrite, Opts{.request_bytes = 100}, router, rich_, &full);
    EXPECT_EQ(Describe(plan.Start(kT0)), Describe({.action = Action::kFail,
                                                   .failure = Failure::kHoldRefused,
                                                   .hold_outcome = "refused"}));
    EXPECT_FALSE(plan.held());
    EXPECT_TRUE(plan.finished());
    EXPECT_EQ(full.calls(), 0);
  }
}

// Scenario: every member refused a read with "no leader": it waits (counted as a retry held
// for), and goes again to the same member once that member can take it.
TEST_F(CallPlanTest, RefusedEverywhereWaitsThenRetriesAnyMember) {
  FakeRouter router({a});
  CallPlan plan(kRead, {}, router, spent_, &holder_);
  ASSERT_EQ(plan.Start(kT0).member, a);
  router.set_usable({});
  EXPECT_EQ(
      Describe(plan.Failed(0, kNoLeader, At(5))),
      Describe({.action = Action::kHold, .wake_at = At(25), .retried = RetryReason::kNoLeader}));
  EXPECT_EQ(holder_.calls(), 1);
  router.set_usable({a});
  EXPECT_EQ(Describe(plan.Wake(At(25))), Describe({.action = Action::kSend,
                                                   .attempt = 1,
                                                   .member = a,
                                                   .hold_outcome = "sent",
                                                   .held_for = milliseconds(20)}));
  EXPECT_TRUE(router.picks().back().tried.empty());  // what was tried is forgotten after a wait
  EXPECT_EQ(holder_.calls(), 0);
}

// Scenario: a refused call waits, no member comes back: after the wait the client gets the
// member's own refusal (the failed attempt's answer), not the proxy's.
TEST_F(CallPlanTest, RefusedEverywhereAndExpiredAnswersTheMembersRefusal) {
  FakeRouter router({a});
  CallPlan plan(kRead, Opts{.leaderless_wait = milliseconds(40)}, router, rich_, &holder_);
  ASSERT_EQ(plan.Start(kT0).member, a);
  router.set_usable({});
  ASSERT_EQ(plan.Failed(0, kNoLeader, At(0)).action, Action::kHold);
  EXPECT_EQ(Describe(plan.Wake(At(20))), Describe({.action = Action::kAnswer,
                                                   .attempt = 0,
                                                   .hold_outcome = "expired",
                                                   .held_for = milliseconds(20)}));
  EXPECT_TRUE(plan.finished());
  EXPECT_EQ(holder_.calls(), 0);
}

// Scenario: a stalled quorum holds a write even though members are up; after the wait it is sent
// anyway (despite_stall), the step carrying the expired hold.
TEST_F(CallPlanTest, StalledQuorumSendsAnywayAfterTheWait) {
  FakeRouter router({a, b});
  router.set_stalled(true);
  CallPlan plan(kWrite, Opts{.leaderless_wait = milliseconds(60)}, router, rich_, &holder_);
  ASSERT_EQ(Describe(plan.Start(kT0)), Describe({.action = Action::kHold, .wake_at = At(20)}));
  ASSERT_EQ(plan.Wake(At(20)).action, Action::kHold);
  EXPECT_EQ(Describe(plan.Wake(At(40))), Describe({.action = Action::kSend,
                                                   .attempt = 0,
                                                   .member = a,
                                                   .hold_outcome = "expired",
                                                   .held_for = milliseconds(40)}));
  EXPECT_TRUE(router.picks().back().despite_stall);
  EXPECT_EQ(holder_.calls(), 0);
  // The call waited once: a retryable failure now with no member left answers at once.
  router.set_usable({});
  EXPECT_EQ(Describe(plan.Failed(0, kRefusedStream, At(50))),
            Describe({.action = Action::kAnswer, .attempt = 0}));
  EXPECT_EQ(holder_.calls(), 0);
}

// Scenario: a read in flight on a member that is evicted is moved: its cancellation is a retry
// (member_evicted) on another member, whatever the cancelled stream's own error says.
TEST_F(CallPlanTest, MovedOffReadRetriedOnAnotherMember) {
  FakeRouter router({a, b});
  CallPlan plan(kRead, {}, router, rich_, &holder_);
  ASSERT_EQ(plan.Start(kT0).member, a);
  EXPECT_FALSE(plan.moved_off(0));
  plan.MovedOff(0);
  EXPECT_TRUE(plan.moved_off(0));
  EXPECT_FALSE(plan.finished());
  EXPECT_EQ(Describe(plan.Failed(0, kKeyNotFound, At(5))),
            Describe({.action = Action::kSend,
                      .attempt = 1,
                      .member = b,
                      .retried = RetryReason::kMemberEvicted}));
  EXPECT_EQ(router.picks().back().tried, std::vector<Key>{a});
}

// Scenario: a moved read with no member to go to waits; if none comes back it fails as evicted
// (the proxy's doing), never with the cancelled attempt's answer.
TEST_F(CallPlanTest, MovedOffReadWithNowhereToGoFailsAsEvicted) {
  FakeRouter router({a});
  CallPlan plan(kRead, Opts{.leaderless_wait = milliseconds(30)}, router, rich_, &holder_);
  ASSERT_EQ(plan.Start(kT0).member, a);
  plan.MovedOff(0);
  router.set_usable({});
  EXPECT_EQ(
      Describe(plan.Failed(0, kResetAfterSending, At(0))),
      Describe(
          {.action = Action::kHold, .wake_at = At(20), .retried = RetryReason::kMemberEvicted}));
  EXPECT_EQ(Describe(plan.Wake(At(20))), Describe({.action = Action::kFail,
                                                   .failure = Failure::kMemberEvicted,
                                                   .hold_outcome = "expired",
                                                   .held_for = milliseconds(20)}));
}

// Scenario: a moved read when the budget is spent fails as evicted, counted as a refused retry.
TEST_F(CallPlanTest, MovedOffReadRetryRefusedFailsAsEvicted) {
  FakeRouter router({a, b});
  CallPlan plan(kRead, {}, router, spent_, &holder_);
  ASSERT_EQ(plan.Start(kT0).member, a);
  plan.MovedOff(0);
  EXPECT_EQ(Describe(plan.Failed(0, kResetAfterSending, At(1))),
            Describe({.action = Action::kFail,
                      .failure = Failure::kMemberEvicted,
                      .retry_refused = RetryReason::kMemberEvicted}));
}

// Scenario: an eviction that comes after the attempt's answer moves nothing.
TEST_F(CallPlanTest, MovedOffAfterTheAnswerIsIgnored) {
  FakeRouter router({a, b});
  CallPlan plan(kRead, {}, router, rich_, &holder_);
  ASSERT_EQ(plan.Start(kT0).member, a);
  ASSERT_EQ(plan.Answered(0).action, Action::kAnswer);
  plan.MovedOff(0);
  EXPECT_FALSE(plan.moved_off(0));
}

// Scenario: the client goes away with copies in flight: nothing is counted, and no later report
// sends, answers or picks anything.
TEST_F(CallPlanTest, CancelledInFlightEndsEverything) {
  FakeRouter router({a, b, c});
  CallPlan plan(kRead, Opts{.hedging = true}, router, rich_, &holder_);
  ASSERT_EQ(plan.Start(kT0).member, a);
  ASSERT_EQ(plan.HedgeDue(0, At(10)).member, b);
  EXPECT_EQ(Describe(plan.Cancelled(At(12))), Describe({}));
  EXPECT_TRUE(plan.finished());
  const size_t picks = router.picks().size();
  EXPECT_EQ(Describe(plan.Failed(0, kTimedOut, At(13))), Describe({}));
  EXPECT_EQ(Describe(plan.Answered(1)), Describe({}));
  EXPECT_EQ(Describe(plan.Wake(At(20))), Describe({}));
  EXPECT_EQ(Describe(plan.Cancelled(At(21))), Describe({}));
  EXPECT_EQ(router.picks().size(), picks);
  EXPECT_EQ(plan.in_flight(), 0);
}

// Scenario: the client goes away while its call is held: the hold ends "cancelled" with its
// duration, the holder's place is returned, and a late wake-up does nothing.
TEST_F(CallPlanTest, CancelledWhileHeld) {
  FakeRouter router({});
  CallPlan plan(kWrite, Opts{.request_bytes = 7}, router, rich_, &holder_);
  ASSERT_EQ(plan.Start(kT0).action, Action::kHold);
  EXPECT_EQ(holder_.bytes(), 7);
  EXPECT_EQ(Describe(plan.Cancelled(At(30))),
            Describe({.hold_outcome = "cancelled", .held_for = milliseconds(30)}));
  EXPECT_FALSE(plan.held());
  EXPECT_EQ(holder_.calls(), 0);
  EXPECT_EQ(holder_.bytes(), 0);
  router.set_usable({a});
  EXPECT_EQ(Describe(plan.Wake(At(40))), Describe({}));
  EXPECT_EQ(router.picks().size(), 1u);
}

// Scenario: a plan destroyed while its call is held gives its place in the holder back.
TEST_F(CallPlanTest, DestroyedWhileHeldReleasesTheHold) {
  FakeRouter router({});
  {
    CallPlan plan(kRead, Opts{.request_bytes = 5}, router, rich_, &holder_);
    ASSERT_EQ(plan.Start(kT0).action, Action::kHold);
    EXPECT_EQ(holder_.calls(), 1);
  }
  EXPECT_EQ(holder_.calls(), 0);
  EXPECT_EQ(holder_.bytes(), 0);
}

// Scenario: without a CallHolder (none configured) a call is still held and sent.
TEST_F(CallPlanTest, HeldWithoutAHolder) {
  FakeRouter router({});
  CallPlan plan(kRead, {}, router, rich_, nullptr);
  ASSERT_EQ(plan.Start(kT0).action, Action::kHold);
  router.set_usable({c});
  EXPECT_EQ(Describe(plan.Wake(At(20))), Describe({.action = Action::kSend,
                                                   .attempt = 0,
                                                   .member = c,
                                                   .hold_outcome = "sent",
                                                   .held_for = milliseconds(20)}));
}

// Scenario: a write whose only member (the leader) keeps refusing it before proposing ("too many
// requests": apply lag) waits between tries, but all its waits together last leaderless-wait at
// most: then the member's refusal is answered. Without a deadline nothing else ends it.
TEST_F(CallPlanTest, RepeatedRefusalsWaitLeaderlessWaitInAll) {
  const AttemptOutcome too_many{8, "etcdserver: too many requests", false, true};
  FakeRouter router({a});
  CallPlan plan(kWrite, Opts{.leaderless_wait = milliseconds(100)}, router, spent_, &holder_);
  Step step = plan.Start(kT0);
  auto now = kT0;
  int sends = 0;
  for (int i = 0; i < 1000 && !plan.finished(); ++i) {
    if (step.action == Action::kSend) {
      ++sends;
      now += milliseconds(1);  // refused at once
      step = plan.Failed(step.attempt, too_many, now);
    } else if (step.action == Action::kHold) {
      now = step.wake_at;
      step = plan.Wake(now);
    } else {
      break;
    }
  }
  EXPECT_TRUE(plan.finished());
  EXPECT_LE(std::chrono::duration_cast<milliseconds>(now - kT0).count(), 100);
  EXPECT_EQ(sends, 5);  // sent at 0, 21, 42, 63 and 84 ms; refused at 85: no wait left
  EXPECT_EQ(Describe(step), Describe({.action = Action::kAnswer, .attempt = 4}));
  EXPECT_EQ(holder_.calls(), 0);
}

// Scenario: a call sent after a wait and refused again waits only for what is left of its
// leaderless-wait; each hold reports its own duration.
TEST_F(CallPlanTest, SecondHoldGetsWhatIsLeftOfTheWait) {
  FakeRouter router({});
  CallPlan plan(kRead, Opts{.leaderless_wait = milliseconds(100)}, router, rich_, &holder_);
  ASSERT_EQ(plan.Start(kT0).action, Action::kHold);
  router.set_usable({a});
  ASSERT_EQ(Describe(plan.Wake(At(20))), Describe({.action = Action::kSend,
                                                   .attempt = 0,
                                                   .member = a,
                                                   .hold_outcome = "sent",
                                                   .held_for = milliseconds(20)}));
  router.set_usable({});
  EXPECT_EQ(
      Describe(plan.Failed(0, kNoLeader, At(50))),
      Describe({.action = Action::kHold, .wake_at = At(70), .retried = RetryReason::kNoLeader}));
  EXPECT_EQ(Describe(plan.Wake(At(70))), Describe({.action = Action::kHold, .wake_at = At(90)}));
  EXPECT_EQ(Describe(plan.Wake(At(90))), Describe({.action = Action::kAnswer,
                                                   .attempt = 0,
                                                   .hold_outcome = "expired",
                                                   .held_for = milliseconds(40)}));
  EXPECT_EQ(holder_.calls(), 0);
}

// Scenario: a retryable failure with no member to take it, when the call cannot wait (no
// leaderless-wait, the holder is full): the retry is neither sent nor held, so none is counted.
TEST_F(CallPlanTest, NoRetryCountedWhenNothingIsSentOrHeld) {
  {
    FakeRouter router({a});
    CallPlan plan(kRead, Opts{.leaderless_wait = milliseconds(0)}, router, rich_, &holder_);
    ASSERT_EQ(plan.Start(kT0).member, a);
    router.set_usable({});
    EXPECT_EQ(Describe(plan.Failed(0, kNoLeader, At(1))),
              Describe({.action = Action::kAnswer, .attempt = 0}));
  }
  {
    CallHolder full(0, 0);
    FakeRouter router({a});
    CallPlan plan(kWrite, {}, router, rich_, &full);
    ASSERT_EQ(plan.Start(kT0).member, a);
    router.set_usable({});
    EXPECT_EQ(Describe(plan.Failed(0, kRefusedStream, At(1))),
              Describe({.action = Action::kFail,
                        .failure = Failure::kHoldRefused,
                        .hold_outcome = "refused"}));
  }
}

}  // namespace
}  // namespace ehp
