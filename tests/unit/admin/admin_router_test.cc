// The admin routes without sockets: status codes, methods, readiness text, drain rules.
#include "proxy/admin/admin_router.h"

#include <gtest/gtest.h>

namespace ehp {
namespace {

class FakeBackend : public AdminBackend {
 public:
  std::string MetricsText() override { return "etcd_health_proxy_members 3\n"; }
  std::vector<Check> LivenessChecks() override { return {{"health-loop", live, "1.0s ago"}}; }
  std::vector<Check> ReadinessChecks() override {
    return {{"listener", true, ""}, {"usable-member", ready, "0/3 members usable"}};
  }
  std::string StatusJson() override { return "{\"members\":[]}"; }
  std::string EventsJson() override { return "{\"events\":[]}"; }
  bool SetDrained(const std::string& member, bool drained) override {
    if (member != "m1") return false;
    last_drain = drained;
    return true;
  }
  bool live = true;
  bool ready = true;
  int last_drain = -1;
};

AdminResponse Get(FakeBackend& b, const std::string& target) {
  return RouteAdmin({"GET", target, true}, b);
}

TEST(AdminRouterTest, ReadOnlyEndpoints) {
  FakeBackend b;
  auto m = Get(b, "/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_EQ(m.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(m.body, "etcd_health_proxy_members 3\n");
  EXPECT_EQ(Get(b, "/status").content_type, "application/json");
  EXPECT_EQ(Get(b, "/events").body, "{\"events\":[]}");
  EXPECT_EQ(RouteAdmin({"HEAD", "/livez", false}, b).status, 200);
}

// Scenario: /readyz is 200 or 503; ?verbose lists every check; failures are always named.
TEST(AdminRouterTest, ReadinessAndLiveness) {
  FakeBackend b;
  EXPECT_EQ(Get(b, "/readyz").status, 200);
  EXPECT_EQ(Get(b, "/readyz").body, "ok\n");
  EXPECT_EQ(Get(b, "/readyz?verbose").body,
            "[+]listener ok\n[+]usable-member ok: 0/3 members usable\nok\n");
  b.ready = false;
  const auto r = Get(b, "/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "[-]usable-member failed: 0/3 members usable\nnot ok\n");
  b.live = false;
  EXPECT_EQ(Get(b, "/livez").status, 503);
}

TEST(AdminRouterTest, UnknownPathsAndWrongMethods) {
  FakeBackend b;
  EXPECT_EQ(Get(b, "/nope").status, 404);
  EXPECT_EQ(Get(b, "/members/m1/explode").status, 404);
  const auto r = RouteAdmin({"POST", "/metrics", true}, b);
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.allow, "GET, HEAD");
  EXPECT_EQ(Get(b, "/members/m1/drain").status, 405);
  EXPECT_EQ(b.last_drain, -1);
}

// Scenario: drain and undrain only by POST, only from loopback, only for known members.
TEST(AdminRouterTest, DrainRules) {
  FakeBackend b;
  EXPECT_EQ(RouteAdmin({"POST", "/members/m1/drain", false}, b).status, 403);
  EXPECT_EQ(b.last_drain, -1);
  EXPECT_EQ(RouteAdmin({"POST", "/members/m9/drain", true}, b).status, 404);
  EXPECT_EQ(RouteAdmin({"POST", "/members/m1/drain", true}, b).status, 200);
  EXPECT_EQ(b.last_drain, 1);
  EXPECT_EQ(RouteAdmin({"POST", "/members/m1/undrain", true}, b).status, 200);
  EXPECT_EQ(b.last_drain, 0);
}

}  // namespace
}  // namespace ehp
