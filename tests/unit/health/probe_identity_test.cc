// What the proxy tells an operator when etcd refuses its probes, and when it keeps quiet.
#include "proxy/health/probe_identity.h"

#include <gtest/gtest.h>

namespace ehp {
namespace {

bool Has(const std::string& text, const std::string& fragment) {
  return text.find(fragment) != std::string::npos;
}

ProbeResult Refused(AuthRefusal refusal, std::string error, bool token_sent = false,
                    std::string authenticate_error = "") {
  ProbeResult r;
  r.status = ProbeResult::Status::kAuth;
  r.auth = refusal;
  r.status_error = std::move(error);
  r.token_sent = token_sent;
  r.authenticate_error = std::move(authenticate_error);
  return r;
}

TEST(ProbeIdentityTest, Describe) {
  EXPECT_EQ(Describe({"probe", "etcd-client"}), "user \"probe\"");
  EXPECT_EQ(Describe({"", "etcd-client"}), "certificate CN \"etcd-client\"");
  EXPECT_EQ(Describe({"", ""}), "none");
}

TEST(ProbeIdentityTest, AdviceNamesWhatToConfigure) {
  const std::string cn = ProbeAuthAdvice({"", "etcd-client"}, AuthRefusal::kUnknownUser,
                                         "etcdserver: user name not found", "");
  EXPECT_TRUE(Has(cn, "(etcdserver: user name not found, as certificate CN \"etcd-client\")"))
      << cn;
  EXPECT_TRUE(Has(cn, "set --probe-user and --probe-password-file")) << cn;
  EXPECT_TRUE(Has(cn, "or make \"etcd-client\" (the CN of --cert) such a user")) << cn;
  EXPECT_TRUE(Has(cn, "judged by its linearizable probe read alone")) << cn;

  const std::string none =
      ProbeAuthAdvice({"", ""}, AuthRefusal::kNoUser, "etcdserver: user name is empty", "");
  EXPECT_TRUE(Has(none, "set --probe-user")) << none;
  EXPECT_FALSE(Has(none, "CN of --cert")) << none;

  const std::string not_root = ProbeAuthAdvice({"probe", ""}, AuthRefusal::kNotPermitted,
                                               "etcdserver: permission denied", "");
  EXPECT_TRUE(Has(not_root, "etcdctl user grant-role probe root")) << not_root;

  const std::string wrong =
      ProbeAuthAdvice({"probe", ""}, AuthRefusal::kNoUser, "etcdserver: user name is empty",
                      "etcdserver: authentication failed, invalid user ID or password");
  EXPECT_TRUE(Has(wrong, "Authenticate as \"probe\" fails (etcdserver: authentication failed"))
      << wrong;
  EXPECT_TRUE(Has(wrong, "--probe-password-file")) << wrong;
}

TEST(ProbeIdentityTest, SummaryCountsRefusalsAndAdvisesOnce) {
  ProbeResult ok;
  const std::vector<ProbeResult> none = {ok, ok, ok};
  const ProbeAuthState clean = SummarizeProbeAuth(none, {"", "etcd-client"});
  EXPECT_EQ(clean.refused, 0);
  EXPECT_EQ(clean.advice, "");

  const std::vector<ProbeResult> all = {
      Refused(AuthRefusal::kUnknownUser, "etcdserver: user name not found"),
      Refused(AuthRefusal::kUnknownUser, "etcdserver: user name not found"), ok};
  const ProbeAuthState s = SummarizeProbeAuth(all, {"", "etcd-client"});
  EXPECT_EQ(s.refused, 2);
  EXPECT_EQ(s.error, "etcdserver: user name not found");
  EXPECT_TRUE(Has(s.advice, "set --probe-user")) << s.advice;
}

// Scenario: refusals an Authenticate under way cures are no reason to alarm anyone: the first
// rounds before a --probe-user token arrives, and a token etcd just called invalid.
TEST(ProbeIdentityTest, TokenBeingObtainedOrRenewedIsQuiet) {
  const std::vector<ProbeResult> starting = {
      Refused(AuthRefusal::kNoUser, "etcdserver: user name is empty")};
  EXPECT_EQ(SummarizeProbeAuth(starting, {"probe", ""}).advice, "");
  EXPECT_EQ(SummarizeProbeAuth(starting, {"probe", ""}).refused, 1);
  // Without --probe-user the same refusal needs the operator.
  EXPECT_NE(SummarizeProbeAuth(starting, {"", ""}).advice, "");

  const std::vector<ProbeResult> expired = {
      Refused(AuthRefusal::kTokenInvalid, "etcdserver: invalid auth token", true)};
  EXPECT_EQ(SummarizeProbeAuth(expired, {"probe", ""}).advice, "");
  // Unless Authenticate itself fails.
  const std::vector<ProbeResult> failing = {
      Refused(AuthRefusal::kTokenInvalid, "etcdserver: invalid auth token", true,
              "etcdserver: authentication failed, invalid user ID or password")};
  EXPECT_TRUE(Has(SummarizeProbeAuth(failing, {"probe", ""}).advice, "Authenticate as"));
  // A token that works but lacks the root role is the operator's to fix.
  const std::vector<ProbeResult> not_root = {
      Refused(AuthRefusal::kNotPermitted, "etcdserver: permission denied", true)};
  EXPECT_TRUE(Has(SummarizeProbeAuth(not_root, {"probe", ""}).advice, "grant-role probe root"));
}

}  // namespace
}  // namespace ehp
