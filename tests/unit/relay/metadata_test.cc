#include "proxy/relay/metadata.h"

#include <gtest/gtest.h>

#include "proxy/relay/method_table.h"

namespace ehp {
namespace {

// Scenario: keys gRPC would abort on, and keys the transport owns, are never copied.
TEST(MetadataTest, RelayableKeys) {
  EXPECT_TRUE(IsRelayableKey("token"));
  EXPECT_TRUE(IsRelayableKey("hasleader"));
  EXPECT_TRUE(IsRelayableKey("client-api-version"));
  EXPECT_TRUE(IsRelayableKey("x_custom.key-bin"));
  EXPECT_FALSE(IsRelayableKey(""));
  EXPECT_FALSE(IsRelayableKey(":authority"));
  EXPECT_FALSE(IsRelayableKey("Token"));
  EXPECT_FALSE(IsRelayableKey("bad key"));
  EXPECT_FALSE(IsRelayableKey("grpc-timeout"));
  EXPECT_FALSE(IsRelayableKey("grpc-status"));
  EXPECT_FALSE(IsRelayableKey("te"));
  EXPECT_FALSE(IsRelayableKey("content-type"));
  EXPECT_FALSE(IsRelayableKey("user-agent"));
}

TEST(MetadataTest, LegalValues) {
  EXPECT_TRUE(IsLegalValue("token", "abc.DEF-123"));
  EXPECT_FALSE(IsLegalValue("token", "line\nbreak"));
  EXPECT_FALSE(IsLegalValue("token", std::string("\x00", 1)));
  EXPECT_TRUE(IsLegalValue("blob-bin", std::string("\x00\xff", 2)));
}

// Scenario: the unary fast path covers every unary etcd method, and only those.
TEST(MethodTableTest, KnowsEtcdUnaryMethods) {
  MethodTable t;
  EXPECT_TRUE(t.IsUnary("/etcdserverpb.KV/Range"));
  EXPECT_TRUE(t.IsUnary("/etcdserverpb.KV/Txn"));
  EXPECT_TRUE(t.IsUnary("/etcdserverpb.Lease/LeaseGrant"));
  EXPECT_TRUE(t.IsUnary("/etcdserverpb.Cluster/MemberList"));
  EXPECT_TRUE(t.IsUnary("/etcdserverpb.Maintenance/Status"));
  EXPECT_TRUE(t.IsUnary("/etcdserverpb.Auth/Authenticate"));
  EXPECT_TRUE(t.IsUnary("/v3lockpb.Lock/Lock"));
  EXPECT_TRUE(t.IsUnary("/v3electionpb.Election/Campaign"));
  EXPECT_FALSE(t.IsUnary("/etcdserverpb.Watch/Watch"));
  EXPECT_FALSE(t.IsUnary("/etcdserverpb.Lease/LeaseKeepAlive"));
  EXPECT_FALSE(t.IsUnary("/etcdserverpb.Maintenance/Snapshot"));
  EXPECT_FALSE(t.IsUnary("/v3electionpb.Election/Observe"));
  EXPECT_FALSE(t.IsUnary("/unknown.Service/Method"));
  EXPECT_GE(t.unary_count(), 40u);
}

}  // namespace
}  // namespace ehp
