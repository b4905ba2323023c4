// Every method and request shape gets the class routing and retries depend on.
#include "proxy/routing/call_class.h"

#include <gtest/gtest.h>

#include "etcd/etcdserver/etcdserverpb/rpc.pb.h"

namespace ehp {
namespace {

constexpr std::string_view kRange = "/etcdserverpb.KV/Range";
constexpr std::string_view kTxn = "/etcdserverpb.KV/Txn";

std::string Txn(const std::function<void(etcdserverpb::TxnRequest&)>& build) {
  etcdserverpb::TxnRequest txn;
  build(txn);
  return txn.SerializeAsString();
}

TEST(CallClassTest, MethodsByName) {
  EXPECT_EQ(ClassifyMethod("/etcdserverpb.KV/Put").kind, CallKind::kWrite);
  EXPECT_EQ(ClassifyMethod("/etcdserverpb.KV/DeleteRange").kind, CallKind::kWrite);
  EXPECT_EQ(ClassifyMethod("/etcdserverpb.KV/Compact").kind, CallKind::kWrite);
  EXPECT_EQ(ClassifyMethod("/etcdserverpb.Lease/LeaseGrant").kind, CallKind::kWrite);
  EXPECT_EQ(ClassifyMethod("/etcdserverpb.Lease/LeaseRevoke").kind, CallKind::kWrite);
  EXPECT_EQ(ClassifyMethod("/etcdserverpb.Lease/LeaseTimeToLive").kind, CallKind::kRead);
  EXPECT_EQ(ClassifyMethod("/etcdserverpb.Cluster/MemberAdd").kind, CallKind::kWrite);
  EXPECT_EQ(ClassifyMethod("/etcdserverpb.Cluster/MemberList").kind, CallKind::kRead);
  EXPECT_EQ(ClassifyMethod("/etcdserverpb.Auth/UserAdd").kind, CallKind::kWrite);
  EXPECT_EQ(ClassifyMethod("/etcdserverpb.Auth/AuthEnable").kind, CallKind::kWrite);
  EXPECT_EQ(ClassifyMethod("/etcdserverpb.Auth/Authenticate").kind, CallKind::kRead);
  EXPECT_EQ(ClassifyMethod("/etcdserverpb.Maintenance/Status").kind, CallKind::kMemberLocal);
  EXPECT_EQ(ClassifyMethod("/etcdserverpb.Maintenance/Defragment").kind, CallKind::kMemberLocal);
  EXPECT_EQ(ClassifyMethod("/etcdserverpb.Maintenance/Alarm").kind, CallKind::kWrite);
  EXPECT_EQ(ClassifyMethod("/etcdserverpb.Watch/Watch").kind, CallKind::kStream);
  EXPECT_EQ(ClassifyMethod("/etcdserverpb.Lease/LeaseKeepAlive").kind, CallKind::kStream);
  EXPECT_EQ(ClassifyMethod("/v3lockpb.Lock/Lock").kind, CallKind::kWrite);
  EXPECT_EQ(ClassifyMethod("/v3electionpb.Election/Campaign").kind, CallKind::kWrite);
  EXPECT_EQ(ClassifyMethod("/v3electionpb.Election/Leader").kind, CallKind::kRead);
  // Unknown methods are never retried after an ambiguous failure.
  EXPECT_EQ(ClassifyMethod("/etcdserverpb.KV/FutureMethod").kind, CallKind::kWrite);
  EXPECT_EQ(ClassifyMethod("/other.Service/Method").kind, CallKind::kWrite);
}

// Scenario: etcd 3.7's KV.RangeStream is a read stream: routed like a linearizable read, with
// hasleader; every other stream the relay sees is long-lived.
TEST(CallClassTest, StreamsByName) {
  const CallClass range_stream = ClassifyStream("/etcdserverpb.KV/RangeStream");
  EXPECT_EQ(range_stream.kind, CallKind::kRead);
  EXPECT_TRUE(range_stream.hasleader);
  EXPECT_FALSE(range_stream.to_leader);
  EXPECT_EQ(ClassifyMethod("/etcdserverpb.KV/RangeStream").kind, CallKind::kRead);
  EXPECT_EQ(ClassifyStream("/etcdserverpb.Watch/Watch").kind, CallKind::kStream);
  EXPECT_EQ(ClassifyStream("/etcdserverpb.Lease/LeaseKeepAlive").kind, CallKind::kStream);
  EXPECT_TRUE(ClassifyStream("/etcdserverpb.Lease/LeaseKeepAlive").to_leader);
  EXPECT_EQ(ClassifyStream("/etcdserverpb.Maintenance/Snapshot").kind, CallKind::kStream);
  EXPECT_FALSE(ClassifyStream("/etcdserverpb.Maintenance/Snapshot").hasleader);
  EXPECT_EQ(ClassifyStream("/v3electionpb.Election/Observe").kind, CallKind::kStream);
  EXPECT_EQ(ClassifyStream("/other.Service/Stream").kind, CallKind::kStream);
  EXPECT_EQ(ClassifyStream("/etcdserverpb.KV/RangeStreamX").kind, CallKind::kStream);
}

TEST(CallClassTest, LeaderOnlyAndHasleader) {
  EXPECT_TRUE(ClassifyMethod("/etcdserverpb.Maintenance/MoveLeader").to_leader);
  EXPECT_TRUE(ClassifyMethod("/etcdserverpb.Lease/LeaseKeepAlive").to_leader);
  EXPECT_FALSE(ClassifyMethod("/etcdserverpb.KV/Put").to_leader);  // per write-routing
  EXPECT_FALSE(ClassifyMethod("/etcdserverpb.Watch/Watch").to_leader);
  EXPECT_TRUE(ClassifyMethod("/etcdserverpb.KV/Range").hasleader);
  EXPECT_TRUE(ClassifyMethod("/etcdserverpb.Watch/Watch").hasleader);
  EXPECT_TRUE(ClassifyMethod("/etcdserverpb.Lease/LeaseKeepAlive").hasleader);
  // Status must answer on a member without a leader: that is how operators see it.
  EXPECT_FALSE(ClassifyMethod("/etcdserverpb.Maintenance/Status").hasleader);
  EXPECT_FALSE(ClassifyMethod("/etcdserverpb.Maintenance/Snapshot").hasleader);
}

TEST(CallClassTest, RangeLinearizableOrSerializable) {
  etcdserverpb::RangeRequest range;
  range.set_key("k");
  EXPECT_TRUE(NeedsRequest(kRange));
  EXPECT_EQ(ClassifyRequest(kRange, range.SerializeAsString()).kind, CallKind::kRead);
  range.set_serializable(true);
  EXPECT_EQ(ClassifyRequest(kRange, range.SerializeAsString()).kind, CallKind::kSerializableRead);
  EXPECT_EQ(ClassifyRequest(kRange, "").kind, CallKind::kRead);  // all defaults
  EXPECT_EQ(ClassifyRequest(kRange, "\xff\xff\xff").kind, CallKind::kWrite);
}

// The request is scanned for its serializable flag, not parsed: it must still refuse exactly
// what parsing refuses, and read the flag as parsing does.
TEST(CallClassTest, RangeScanAgreesWithTheParser) {
  using namespace std::string_literals;
  // The last value of a repeated field wins; another wire type for field 7 is an unknown field.
  EXPECT_EQ(ClassifyRequest(kRange, "\x38\x01\x38\x00"s).kind, CallKind::kRead);
  EXPECT_EQ(ClassifyRequest(kRange, "\x38\x00\x38\x02"s).kind, CallKind::kSerializableRead);
  EXPECT_EQ(ClassifyRequest(kRange, "\x3a\x01\x01"s).kind, CallKind::kRead);
  // Unknown fields of every wire type, a group included, are skipped.
  EXPECT_EQ(
      ClassifyRequest(kRange, "\xa0\x06\x05\xa9\x06\0\0\0\0\0\0\0\0\xa3\x06\xa4\x06\x38\x01"s).kind,
      CallKind::kSerializableRead);
  // Refused: a tag over 5 bytes (parsers read at most 5), field number 0, a stray group end,
  // wire types 6 and 7, a length past the end, a truncated varint.
  for (const std::string& bad : {"\xb8\x80\x80\x80\x80\x00\x01"s, "\x00\x01"s, "\x02\x00"s, "\x3c"s,
                                 "\x3e\x01"s, "\x3f\x01"s, "\x0a\x05k"s, "\x38\xff"s}) {
    EXPECT_EQ(ClassifyRequest(kRange, bad).kind, CallKind::kWrite) << testing::PrintToString(bad);
    etcdserverpb::RangeRequest parsed;
    EXPECT_FALSE(parsed.ParseFromString(bad)) << testing::PrintToString(bad);
  }
}

TEST(CallClassTest, TxnReadOnlyOnlyWithoutWritesInAnyBranch) {
  // kube-apiserver's shapes: create if absent, update / delete if mod_revision matches.
  const std::string create = Txn([](auto& t) {
    t.add_compare()->set_key("k");
    t.add_success()->mutable_request_put()->set_key("k");
  });
  EXPECT_EQ(ClassifyRequest(kTxn, create).kind, CallKind::kWrite);
  const std::string update_else_get = Txn([](auto& t) {
    t.add_success()->mutable_request_put()->set_key("k");
    t.add_failure()->mutable_request_range()->set_key("k");
  });
  EXPECT_EQ(ClassifyRequest(kTxn, update_else_get).kind, CallKind::kWrite);
  const std::string delete_in_failure = Txn([](auto& t) {
    t.add_success()->mutable_request_range()->set_key("k");
    t.add_failure()->mutable_request_delete_range()->set_key("k");
  });
  EXPECT_EQ(ClassifyRequest(kTxn, delete_in_failure).kind, CallKind::kWrite);
  const std::string reads = Txn([](auto& t) {
    t.add_success()->mutable_request_range()->set_key("a");
    t.add_failure()->mutable_request_range()->set_key("b");
  });
  EXPECT_EQ(ClassifyRequest(kTxn, reads).kind, CallKind::kRead);
  const std::string nested_write = Txn([](auto& t) {
    t.add_success()->mutable_request_txn()->add_failure()->mutable_request_put()->set_key("k");
  });
  EXPECT_EQ(ClassifyRequest(kTxn, nested_write).kind, CallKind::kWrite);
  const std::string nested_read = Txn([](auto& t) {
    t.add_success()->mutable_request_txn()->add_success()->mutable_request_range()->set_key("k");
  });
  EXPECT_EQ(ClassifyRequest(kTxn, nested_read).kind, CallKind::kRead);
  EXPECT_EQ(ClassifyRequest(kTxn, "\x0a\xff").kind, CallKind::kWrite);  // truncated
}

}  // namespace
}  // namespace ehp
