// When the probes authenticate again: first, after etcd refused the token in use, and after a
// failure only once a growing pause has passed.
#include "proxy/health/probe_token.h"

#include <gtest/gtest.h>

namespace ehp {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class ProbeTokenTest : public ::testing::Test {
 protected:
  ProbeToken token_{seconds(1), seconds(10)};
  ProbeToken::TimePoint t0_ = ProbeToken::TimePoint() + seconds(100);
};

TEST_F(ProbeTokenTest, AuthenticatesOnceAtFirst) {
  EXPECT_EQ(token_.token(), "");
  EXPECT_TRUE(token_.ShouldAuthenticate(t0_));
  token_.Started();
  EXPECT_FALSE(token_.ShouldAuthenticate(t0_));  // one call at a time
  token_.Succeeded("tok.1");
  EXPECT_EQ(token_.token(), "tok.1");
  EXPECT_FALSE(token_.ShouldAuthenticate(t0_ + seconds(3600)));  // no refusal, no renewal
}

TEST_F(ProbeTokenTest, RenewsOnlyWhenEtcdRefusesTheTokenInUse) {
  token_.Started();
  token_.Succeeded("tok.1");
  token_.Refused("tok.1", AuthRefusal::kNotPermitted);  // a new token has the same user
  EXPECT_FALSE(token_.ShouldAuthenticate(t0_));
  token_.Refused("", AuthRefusal::kTokenInvalid);       // a probe sent before any token
  token_.Refused("tok.0", AuthRefusal::kTokenInvalid);  // an older token, replaced already
  EXPECT_FALSE(token_.ShouldAuthenticate(t0_));
  token_.Refused("tok.1", AuthRefusal::kTokenInvalid);
  EXPECT_TRUE(token_.ShouldAuthenticate(t0_));
  EXPECT_EQ(token_.token(), "tok.1");  // still sent until its successor arrives
  token_.Started();
  token_.Succeeded("tok.2");
  EXPECT_EQ(token_.token(), "tok.2");
  EXPECT_FALSE(token_.ShouldAuthenticate(t0_));
  token_.Refused("tok.2", AuthRefusal::kTokenStale);
  EXPECT_TRUE(token_.ShouldAuthenticate(t0_));
}

TEST_F(ProbeTokenTest, FailuresWaitLongerEachTimeUpToTheMaximum) {
  auto now = t0_;
  const milliseconds expected[] = {seconds(1), seconds(2),  seconds(4),
                                   seconds(8), seconds(10), seconds(10)};
  for (milliseconds pause : expected) {
    ASSERT_TRUE(token_.ShouldAuthenticate(now));
    token_.Started();
    token_.Failed("etcdserver: authentication failed, invalid user ID or password", now);
    EXPECT_FALSE(token_.ShouldAuthenticate(now + pause - milliseconds(1)));
    now += pause;
  }
  EXPECT_EQ(token_.last_error(), "etcdserver: authentication failed, invalid user ID or password");
  token_.Started();
  token_.Succeeded("tok.1");
  EXPECT_EQ(token_.last_error(), "");
  // Success starts the pauses over.
  token_.Refused("tok.1", AuthRefusal::kTokenInvalid);
  token_.Started();
  token_.Failed("deadline", now);
  EXPECT_TRUE(token_.ShouldAuthenticate(now + seconds(1)));
}

}  // namespace
}  // namespace ehp
