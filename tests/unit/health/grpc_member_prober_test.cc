// Which layer a failed probe call names: an auth refusal is its own outcome, never a member
// that cannot be reached; a refused read still proves the quorum.
#include "proxy/health/grpc_member_prober.h"

#include <gtest/gtest.h>

namespace ehp {
namespace {

using Status = ProbeResult::Status;
using Read = ProbeResult::Read;

grpc::Status Err(grpc::StatusCode code, const std::string& message) { return {code, message}; }

TEST(GrpcMemberProberTest, StatusRefusedForAuthIsAuth) {
  EXPECT_EQ(ClassifyStatusFailure(
                Err(grpc::StatusCode::INVALID_ARGUMENT, "etcdserver: user name is empty")),
            Status::kAuth);
  EXPECT_EQ(ClassifyStatusFailure(
                Err(grpc::StatusCode::FAILED_PRECONDITION, "etcdserver: user name not found")),
            Status::kAuth);
  EXPECT_EQ(ClassifyStatusFailure(
                Err(grpc::StatusCode::PERMISSION_DENIED, "etcdserver: permission denied")),
            Status::kAuth);
  EXPECT_EQ(ClassifyStatusFailure(
                Err(grpc::StatusCode::UNAUTHENTICATED, "etcdserver: invalid auth token")),
            Status::kAuth);
}

TEST(GrpcMemberProberTest, OtherStatusFailuresKeepTheirLayer) {
  EXPECT_EQ(ClassifyStatusFailure(Err(grpc::StatusCode::DEADLINE_EXCEEDED, "Deadline Exceeded")),
            Status::kTimeout);
  EXPECT_EQ(ClassifyStatusFailure(Err(grpc::StatusCode::UNAVAILABLE,
                                      "failed to connect to all addresses; Connection refused")),
            Status::kUnreachable);
  EXPECT_EQ(ClassifyStatusFailure(Err(grpc::StatusCode::UNAVAILABLE, "Ssl handshake failed")),
            Status::kTls);
  EXPECT_EQ(ClassifyStatusFailure(Err(grpc::StatusCode::INTERNAL, "oops")), Status::kError);
}

TEST(GrpcMemberProberTest, ReadRefusalsComeAfterTheReadIndex) {
  EXPECT_EQ(ClassifyReadFailure(
                Err(grpc::StatusCode::PERMISSION_DENIED, "etcdserver: permission denied")),
            Read::kOk);
  EXPECT_EQ(ClassifyReadFailure(
                Err(grpc::StatusCode::INVALID_ARGUMENT, "etcdserver: user name is empty")),
            Read::kOk);
  EXPECT_EQ(ClassifyReadFailure(Err(grpc::StatusCode::UNAVAILABLE, "etcdserver: no leader")),
            Read::kNoLeader);
  EXPECT_EQ(ClassifyReadFailure(Err(grpc::StatusCode::DEADLINE_EXCEEDED, "Deadline Exceeded")),
            Read::kTimeout);
}

}  // namespace
}  // namespace ehp
