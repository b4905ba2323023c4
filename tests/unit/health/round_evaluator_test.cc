// The per-round judgement of each member, for every reason and the split views of elections.
#include "proxy/health/round_evaluator.h"

#include <gtest/gtest.h>

namespace ehp {
namespace {

using Kind = MemberVerdict::Kind;

// A healthy member of cluster 7 following leader 1 at term 5.
ProbeResult Healthy(uint64_t id, uint64_t applied = 100000) {
  ProbeResult r;
  r.member_id = id;
  r.cluster_id = 7;
  r.leader = 1;
  r.raft_term = 5;
  r.raft_index = applied;
  r.applied_index = applied;
  return r;
}

class RoundEvaluatorTest : public ::testing::Test {
 protected:
  RoundVerdict Eval(std::vector<ProbeResult> r) { return EvaluateRound(r, policy_); }
  HealthPolicy policy_;
};

TEST_F(RoundEvaluatorTest, AllHealthy) {
  const auto v = Eval({Healthy(1), Healthy(2), Healthy(3)});
  EXPECT_TRUE(v.quorum.has_leader);
  EXPECT_EQ(v.quorum.leader, 1u);
  EXPECT_EQ(v.quorum.term, 5u);
  EXPECT_EQ(v.quorum.reads_ok, 3);
  EXPECT_TRUE(v.quorum.reads_majority);
  EXPECT_TRUE(v.quorum.leader_read_ok);
  for (const auto& m : v.members) EXPECT_EQ(m.kind, Kind::kGood);
}

// Scenario: every member's Status times out in the same round (the proxy itself was busy, or
// the whole cluster overloaded): nobody is counted towards eviction; one member alone timing
// out still is, and so are refused connections when all are down.
TEST_F(RoundEvaluatorTest, EveryMemberTimingOutAtOnceIsNobodysFault) {
  ProbeResult slow;
  slow.status = ProbeResult::Status::kTimeout;
  const auto all = Eval({slow, slow, slow});
  for (const auto& m : all.members) {
    EXPECT_EQ(m.kind, Kind::kUnconfirmed);
    EXPECT_EQ(m.reason, UnhealthyReason::kTimeout);
  }
  EXPECT_EQ(Eval({slow}).members[0].kind, Kind::kUnconfirmed);

  const auto one = Eval({Healthy(1), Healthy(2), slow});
  EXPECT_EQ(one.members[2].kind, Kind::kFailure);
  EXPECT_EQ(one.members[2].reason, UnhealthyReason::kTimeout);

  ProbeResult down;
  down.status = ProbeResult::Status::kUnreachable;
  const auto mixed = Eval({slow, slow, down});
  EXPECT_EQ(mixed.members[0].kind, Kind::kFailure);
  EXPECT_EQ(mixed.members[2].reason, UnhealthyReason::kUnreachable);
  for (const auto& m : Eval({down, down, down}).members) EXPECT_EQ(m.kind, Kind::kFailure);
}

// Scenario: the named leader's own read fails while two followers' reads work (their Status
// answers still name it, their reads already go through a new leader).
TEST_F(RoundEvaluatorTest, LeaderReadTrackedApart) {
  auto leader = Healthy(1);
  leader.read = ProbeResult::Read::kTimeout;
  const auto v = Eval({leader, Healthy(2), Healthy(3)});
  EXPECT_TRUE(v.quorum.reads_majority);
  EXPECT_FALSE(v.quorum.leader_read_ok);
}

// Scenario: a member that reports no leader (field or error text or hasleader rejection) is
// evicted at once.
TEST_F(RoundEvaluatorTest, NoLeaderIsImmediate) {
  auto a = Healthy(3);
  a.leader = 0;
  auto b = Healthy(3);
  b.errors = {"etcdserver: no leader"};
  auto c = Healthy(3);
  c.read = ProbeResult::Read::kNoLeader;
  for (const auto& bad : {a, b, c}) {
    const auto v = Eval({Healthy(1), Healthy(2), bad});
    EXPECT_EQ(v.members[2].kind, Kind::kImmediate);
    EXPECT_EQ(v.members[2].reason, UnhealthyReason::kNoLeader);
    EXPECT_EQ(v.members[0].kind, Kind::kGood);
  }
}

TEST_F(RoundEvaluatorTest, StatusFailuresCarryTheirLayer) {
  ProbeResult down, tls, slow;
  down.status = ProbeResult::Status::kUnreachable;
  tls.status = ProbeResult::Status::kTls;
  slow.status = ProbeResult::Status::kTimeout;
  const auto v = Eval({Healthy(1), Healthy(2), down, tls, slow});
  EXPECT_EQ(v.members[2].kind, Kind::kFailure);
  EXPECT_EQ(v.members[2].reason, UnhealthyReason::kUnreachable);
  EXPECT_EQ(v.members[3].reason, UnhealthyReason::kTls);
  EXPECT_EQ(v.members[4].reason, UnhealthyReason::kTimeout);
  // Two of five answering is not a majority: no quorum view, nobody confirmed good.
  EXPECT_FALSE(v.quorum.has_leader);
  EXPECT_EQ(v.members[0].kind, Kind::kUnconfirmed);
}

// Scenario: alarms, learners and a foreign cluster id.
TEST_F(RoundEvaluatorTest, AlarmsLearnersAndForeignCluster) {
  auto corrupt = Healthy(2);
  corrupt.errors = {"memberID:2 alarm:CORRUPT "};
  auto nospace = Healthy(3);
  nospace.errors = {"memberID:3 alarm:NOSPACE "};
  auto learner = Healthy(4);
  learner.is_learner = true;
  auto foreign = Healthy(5);
  foreign.cluster_id = 8;
  const auto v = Eval({Healthy(1), corrupt, nospace, learner, foreign});
  EXPECT_EQ(v.members[1].reason, UnhealthyReason::kAlarm);
  EXPECT_EQ(v.members[1].kind, Kind::kImmediate);
  EXPECT_EQ(v.members[2].kind, Kind::kGood);  // NOSPACE: still serves reads
  EXPECT_TRUE(v.members[2].read_only);
  EXPECT_EQ(v.members[3].reason, UnhealthyReason::kLearner);
  EXPECT_EQ(v.members[4].reason, UnhealthyReason::kClusterMismatch);
}

// Scenario: an isolated ex-leader still claims leadership at the old term while the majority
// has elected a new leader at a newer term.
TEST_F(RoundEvaluatorTest, StaleLeaderDuringTheGap) {
  auto old_leader = Healthy(1);  // thinks it leads at term 5
  old_leader.read = ProbeResult::Read::kTimeout;
  auto b = Healthy(2);
  b.leader = 2;
  b.raft_term = 6;
  auto c = Healthy(3);
  c.leader = 2;
  c.raft_term = 6;
  const auto v = Eval({old_leader, b, c});
  EXPECT_EQ(v.quorum.leader, 2u);
  EXPECT_EQ(v.members[0].kind, Kind::kImmediate);
  EXPECT_EQ(v.members[0].reason, UnhealthyReason::kStaleLeader);
  EXPECT_EQ(v.members[1].kind, Kind::kGood);
}

// Scenario: a follower cut from its peers still names the leader, but its linearizable read
// times out while the majority's succeed: suspect (partitioned).
TEST_F(RoundEvaluatorTest, FailedReadWhileMajoritySucceedsIsSuspect) {
  auto cut = Healthy(3);
  cut.read = ProbeResult::Read::kTimeout;
  const auto v = Eval({Healthy(1), Healthy(2), cut});
  EXPECT_EQ(v.members[2].kind, Kind::kSuspect);
  EXPECT_EQ(v.members[2].reason, UnhealthyReason::kPartitioned);
}

// Scenario: slowness that all members share (cluster-wide load, or the leader itself cut off)
// evicts nobody.
TEST_F(RoundEvaluatorTest, SharedSlownessEvictsNobody) {
  std::vector<ProbeResult> r = {Healthy(1), Healthy(2), Healthy(3)};
  r[0].read = ProbeResult::Read::kTimeout;
  r[1].read = ProbeResult::Read::kTimeout;
  r[2].read = ProbeResult::Read::kFailed;
  const auto v = Eval(r);
  for (const auto& m : v.members) EXPECT_EQ(m.kind, Kind::kUnconfirmed);
  // ... but the round says the quorum is stalled: writes sent now would hang.
  EXPECT_TRUE(v.quorum.stalled);
  r[2].read = ProbeResult::Read::kOk;
  EXPECT_FALSE(Eval(r).quorum.stalled);
}

// Scenario: not stalled when the members cannot be asked at all, or name no common leader.
TEST_F(RoundEvaluatorTest, StalledNeedsAnsweringMajorityWithALeader) {
  std::vector<ProbeResult> r = {Healthy(1), Healthy(2), Healthy(3)};
  for (auto& p : r) p.read = ProbeResult::Read::kTimeout;
  r[0].status = ProbeResult::Status::kUnreachable;
  r[1].status = ProbeResult::Status::kUnreachable;
  EXPECT_FALSE(Eval(r).quorum.stalled);
  r = {Healthy(1), Healthy(2), Healthy(3)};
  for (auto& p : r) {
    p.read = ProbeResult::Read::kTimeout;
    p.leader = 0;
  }
  EXPECT_FALSE(Eval(r).quorum.stalled);
}

// Scenario: split views during an election: no majority on leader and term.
TEST_F(RoundEvaluatorTest, SplitViewDuringElection) {
  auto a = Healthy(1);
  auto b = Healthy(2);
  b.leader = 2;
  b.raft_term = 6;
  auto c = Healthy(3);
  c.leader = 3;
  c.raft_term = 6;
  const auto v = Eval({a, b, c});
  EXPECT_FALSE(v.quorum.has_leader);
  for (const auto& m : v.members) EXPECT_EQ(m.kind, Kind::kUnconfirmed);
}

// Scenario: a member behind the quorum's term (rejoining) is not yet good; one far behind in
// applied index is lagging.
TEST_F(RoundEvaluatorTest, CatchingUpAndLagging) {
  auto behind = Healthy(3);
  behind.raft_term = 4;  // same leader, older term: not a stale leader, just not in step
  auto lagging = Healthy(4, 100000 - policy_.max_lag - 1);
  const auto v = Eval({Healthy(1), Healthy(2), behind, lagging, Healthy(5)});
  EXPECT_EQ(v.members[2].kind, Kind::kUnconfirmed);
  EXPECT_EQ(v.members[3].kind, Kind::kFailure);
  EXPECT_EQ(v.members[3].reason, UnhealthyReason::kLagging);
  EXPECT_EQ(v.members[3].lag, policy_.max_lag + 1);
}

// Scenario: every member bad.
TEST_F(RoundEvaluatorTest, AllMembersBad) {
  ProbeResult down;
  down.status = ProbeResult::Status::kUnreachable;
  auto lonely = Healthy(3);
  lonely.leader = 0;
  const auto v = Eval({down, down, lonely});
  EXPECT_FALSE(v.quorum.has_leader);
  EXPECT_EQ(v.members[0].kind, Kind::kFailure);
  EXPECT_EQ(v.members[2].reason, UnhealthyReason::kNoLeader);
}

// A member that refused Status for want of an identity (etcd 3.5.28+ with auth), whose
// linearizable probe read ended as `read`.
ProbeResult AuthRefused(ProbeResult::Read read = ProbeResult::Read::kOk) {
  ProbeResult r;
  r.status = ProbeResult::Status::kAuth;
  r.auth = AuthRefusal::kUnknownUser;
  r.status_error = "etcdserver: user name not found";
  r.read = read;
  return r;
}

// Scenario: etcd refuses every member's Status (no probe identity): nobody is evicted for it.
// The reads decide: they reach a quorum, so all are good, and the majority counts them.
TEST_F(RoundEvaluatorTest, StatusRefusedForAuthIsJudgedByTheRead) {
  const auto v = Eval({AuthRefused(), AuthRefused(), AuthRefused()});
  for (const auto& m : v.members) {
    EXPECT_EQ(m.kind, Kind::kGood);
    EXPECT_EQ(m.reason, UnhealthyReason::kNone);
  }
  EXPECT_FALSE(v.quorum.has_leader);  // nobody said who leads
  EXPECT_EQ(v.quorum.reads_ok, 3);
  EXPECT_TRUE(v.quorum.reads_majority);
  EXPECT_FALSE(v.quorum.stalled);
}

// Scenario: without an identity, what still works tells the faults apart: a hasleader refusal
// proves no leader (evicted now), a read that fails while the majority's work is a cut-off
// member (partitioned), and reads failing everywhere are nobody's fault. Never "unreachable".
TEST_F(RoundEvaluatorTest, AuthRefusedMembersStillShowTheirFaults) {
  const auto cut = Eval({AuthRefused(), AuthRefused(), AuthRefused(ProbeResult::Read::kTimeout)});
  EXPECT_EQ(cut.members[2].kind, Kind::kSuspect);
  EXPECT_EQ(cut.members[2].reason, UnhealthyReason::kPartitioned);

  const auto leaderless =
      Eval({AuthRefused(), AuthRefused(), AuthRefused(ProbeResult::Read::kNoLeader)});
  EXPECT_EQ(leaderless.members[2].kind, Kind::kImmediate);
  EXPECT_EQ(leaderless.members[2].reason, UnhealthyReason::kNoLeader);

  const auto everywhere =
      Eval({AuthRefused(ProbeResult::Read::kTimeout), AuthRefused(ProbeResult::Read::kTimeout),
            AuthRefused(ProbeResult::Read::kFailed)});
  for (const auto& m : everywhere.members) {
    EXPECT_EQ(m.kind, Kind::kUnconfirmed);
    EXPECT_NE(m.reason, UnhealthyReason::kUnreachable);
  }
  // A frozen member's Status times out, auth or not: that is still a failure.
  ProbeResult frozen;
  frozen.status = ProbeResult::Status::kTimeout;
  const auto stopped = Eval({AuthRefused(), AuthRefused(), frozen});
  EXPECT_EQ(stopped.members[2].kind, Kind::kFailure);
  EXPECT_EQ(stopped.members[2].reason, UnhealthyReason::kTimeout);
}

// Scenario: a rolling upgrade, one member already refusing Status: the two that answer still
// name the leader, and the refusing one is good by its read.
TEST_F(RoundEvaluatorTest, MixedAuthAndFullProbes) {
  const auto v = Eval({Healthy(1), Healthy(2), AuthRefused()});
  EXPECT_TRUE(v.quorum.has_leader);
  EXPECT_EQ(v.quorum.leader, 1u);
  EXPECT_EQ(v.quorum.reads_ok, 3);
  EXPECT_EQ(v.members[2].kind, Kind::kGood);
}

MemberLag Late(std::chrono::milliseconds apply, bool applying = true,
               std::chrono::milliseconds read = std::chrono::milliseconds(0)) {
  MemberLag lag;
  lag.known = true;
  lag.apply = apply;
  lag.read = read;
  lag.applying = applying;
  return lag;
}

// Scenario: a follower later than max-lag-time (1 s) whose reads still work (its read index
// came after a pause in writes) is lagging: counted like max-lag, towards unreachable-threshold;
// at the limit it is not; max-lag-time 0 only measures.
TEST_F(RoundEvaluatorTest, LaterThanMaxLagTimeIsLagging) {
  using std::chrono::milliseconds;
  const std::vector<ProbeResult> r{Healthy(1), Healthy(2), Healthy(3)};
  const std::vector<MemberLag> lags{Late(milliseconds(0)), Late(milliseconds(1001)),
                                    Late(milliseconds(1000))};
  const auto v = EvaluateRound(r, policy_, lags);
  EXPECT_EQ(v.members[0].kind, Kind::kGood);
  EXPECT_EQ(v.members[1].kind, Kind::kFailure);
  EXPECT_EQ(v.members[1].reason, UnhealthyReason::kLagging);
  EXPECT_EQ(v.members[1].lag_time.apply, milliseconds(1001));
  EXPECT_EQ(v.members[2].kind, Kind::kGood);
  // The read lag counts as well.
  const std::vector<MemberLag> slow_reads{Late(milliseconds(0)), Late(milliseconds(0)),
                                          Late(milliseconds(0), true, milliseconds(1500))};
  EXPECT_EQ(EvaluateRound(r, policy_, slow_reads).members[2].reason, UnhealthyReason::kLagging);
  // So does a watch stream that delivered a revision late.
  std::vector<MemberLag> late_watch{Late(milliseconds(0)), Late(milliseconds(0)),
                                    Late(milliseconds(0))};
  late_watch[2].watch = milliseconds(1200);
  EXPECT_EQ(EvaluateRound(r, policy_, late_watch).members[2].reason, UnhealthyReason::kLagging);
  late_watch[2].watch = milliseconds(900);
  EXPECT_EQ(EvaluateRound(r, policy_, late_watch).members[2].kind, Kind::kGood);

  HealthPolicy off = policy_;
  off.max_lag_time = milliseconds(0);
  const auto measured = EvaluateRound(r, off, lags);
  EXPECT_EQ(measured.members[1].kind, Kind::kGood);
  EXPECT_EQ(measured.members[1].lag_time.apply, milliseconds(1001));
}

// Scenario: a follower's linearizable read times out while the majority's work. Still applying
// entries the quorum committed a while ago: its reads wait for its apply, so it is lagging (a
// suspect, like a partition); no longer applying: cut off, partitioned; in step (no apply lag):
// partitioned as before; without the time judgement: partitioned.
TEST_F(RoundEvaluatorTest, ReadWaitingForApplyIsLaggingNotPartitioned) {
  using std::chrono::milliseconds;
  auto slow = Healthy(3, 99000);
  slow.read = ProbeResult::Read::kTimeout;
  const std::vector<ProbeResult> r{Healthy(1), Healthy(2), slow};
  const auto late =
      EvaluateRound(r, policy_,
                    std::vector<MemberLag>{Late(milliseconds(0)), Late(milliseconds(0)),
                                           Late(milliseconds(400))});
  EXPECT_EQ(late.members[2].kind, Kind::kSuspect);
  EXPECT_EQ(late.members[2].reason, UnhealthyReason::kLagging);

  const auto cut =
      EvaluateRound(r, policy_,
                    std::vector<MemberLag>{Late(milliseconds(0)), Late(milliseconds(0)),
                                           Late(milliseconds(400), false)});
  EXPECT_EQ(cut.members[2].kind, Kind::kSuspect);
  EXPECT_EQ(cut.members[2].reason, UnhealthyReason::kPartitioned);

  const auto in_step = EvaluateRound(
      r, policy_,
      std::vector<MemberLag>{Late(milliseconds(0)), Late(milliseconds(0)), Late(milliseconds(0))});
  EXPECT_EQ(in_step.members[2].reason, UnhealthyReason::kPartitioned);

  EXPECT_EQ(Eval(r).members[2].reason, UnhealthyReason::kPartitioned);
  HealthPolicy off = policy_;
  off.max_lag_time = milliseconds(0);
  EXPECT_EQ(EvaluateRound(r, off,
                          std::vector<MemberLag>{Late(milliseconds(0)), Late(milliseconds(0)),
                                                 Late(milliseconds(400))})
                .members[2]
                .reason,
            UnhealthyReason::kPartitioned);
}

// Scenario: no leader outranks lag: a late member that lost its leader is no_leader.
TEST_F(RoundEvaluatorTest, ImmediateReasonsComeBeforeLag) {
  using std::chrono::milliseconds;
  auto lonely = Healthy(3);
  lonely.leader = 0;
  const auto v = EvaluateRound(std::vector<ProbeResult>{Healthy(1), Healthy(2), lonely}, policy_,
                               std::vector<MemberLag>{Late(milliseconds(0)), Late(milliseconds(0)),
                                                      Late(milliseconds(5000))});
  EXPECT_EQ(v.members[2].reason, UnhealthyReason::kNoLeader);
}

}  // namespace
}  // namespace ehp
