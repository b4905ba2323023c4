// etcd's auth errors as the probes meet them, each with the code etcd's rpctypes give it.
#include "proxy/health/auth_refusal.h"

#include <gtest/gtest.h>

namespace ehp {
namespace {

constexpr int kInvalidArgument = 3, kPermissionDenied = 7, kFailedPrecondition = 9,
              kUnavailable = 14, kUnauthenticated = 16, kUnknown = 2;

TEST(AuthRefusalTest, EtcdsAuthErrors) {
  EXPECT_EQ(ClassifyAuthRefusal(kInvalidArgument, "etcdserver: user name is empty"),
            AuthRefusal::kNoUser);
  EXPECT_EQ(ClassifyAuthRefusal(kFailedPrecondition, "etcdserver: user name not found"),
            AuthRefusal::kUnknownUser);
  EXPECT_EQ(ClassifyAuthRefusal(kPermissionDenied, "etcdserver: permission denied"),
            AuthRefusal::kNotPermitted);
  EXPECT_EQ(ClassifyAuthRefusal(kFailedPrecondition, "etcdserver: role is not granted to the user"),
            AuthRefusal::kNotPermitted);
  EXPECT_EQ(ClassifyAuthRefusal(kInvalidArgument,
                                "etcdserver: authentication failed, invalid user ID or password"),
            AuthRefusal::kBadPassword);
  EXPECT_EQ(ClassifyAuthRefusal(kUnauthenticated, "etcdserver: invalid auth token"),
            AuthRefusal::kTokenInvalid);
  EXPECT_EQ(ClassifyAuthRefusal(kInvalidArgument, "etcdserver: revision of auth store is old"),
            AuthRefusal::kTokenStale);
}

TEST(AuthRefusalTest, EverythingElseIsNoAuthRefusal) {
  EXPECT_EQ(ClassifyAuthRefusal(0, ""), AuthRefusal::kNone);
  EXPECT_EQ(ClassifyAuthRefusal(kUnavailable, "etcdserver: no leader"), AuthRefusal::kNone);
  EXPECT_EQ(ClassifyAuthRefusal(kInvalidArgument, "etcdserver: too many operations in txn"),
            AuthRefusal::kNone);
  EXPECT_EQ(ClassifyAuthRefusal(kFailedPrecondition, "etcdserver: authentication is not enabled"),
            AuthRefusal::kNone);
  // The right words under another code are not etcd's refusal (a connection failure, say).
  EXPECT_EQ(ClassifyAuthRefusal(kUnknown, "etcdserver: user name is empty"), AuthRefusal::kNone);
  EXPECT_EQ(ClassifyAuthRefusal(kUnavailable, "etcdserver: permission denied"), AuthRefusal::kNone);
}

TEST(AuthRefusalTest, OnlyTokenRefusalsAskForANewToken) {
  EXPECT_TRUE(NeedsNewToken(AuthRefusal::kTokenInvalid));
  EXPECT_TRUE(NeedsNewToken(AuthRefusal::kTokenStale));
  for (AuthRefusal r : {AuthRefusal::kNone, AuthRefusal::kNoUser, AuthRefusal::kUnknownUser,
                        AuthRefusal::kNotPermitted, AuthRefusal::kBadPassword}) {
    EXPECT_FALSE(NeedsNewToken(r)) << ToString(r);
  }
  EXPECT_EQ(ToString(AuthRefusal::kNotPermitted), "not_permitted");
}

}  // namespace
}  // namespace ehp
