// The admin routes without sockets: status codes, methods, readiness text, drain rules.
#include "proxy/admin/admin_router.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

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
  Action StartDefragment() override {
    ++defragments;
    return {defragments == 1 ? 202 : 409, defragments == 1 ? "{\"plan\":[]}" : "{\"error\":1}"};
  }
  Action MoveLeader(const std::string& member) override {
    moved.push_back(member);
    return {member == "m1" ? 200 : 404, "{}"};
  }
  bool live = true;
  bool ready = true;
  int last_drain = -1;
  int defragments = 0;
  std::vector<std::string> moved;
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

std::string Sha256Base64(const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha256(), nullptr);
  unsigned char out[64];
  const int n = EVP_EncodeBlock(out, digest, static_cast<int>(size));
  return std::string(reinterpret_cast<char*>(out), static_cast<size_t>(n));
}

std::string Between(const std::string& s, const std::string& open, const std::string& close) {
  const size_t a = s.find(open);
  const size_t b = s.find(close, a);
  if (a == std::string::npos || b == std::string::npos) return "";
  return s.substr(a + open.size(), b - a - open.size());
}

// Scenario: GET / is the HTML page; its policy admits exactly its inline style and script by
// hash and nothing else; the drain buttons are offered only to a caller allowed to drain.
TEST(AdminRouterTest, StatusPage) {
  FakeBackend b;
  const AdminResponse page = Get(b, "/");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  std::string policy;
  for (const auto& [name, value] : page.headers) {
    if (name == "Content-Security-Policy") policy = value;
  }
  const std::string script = Between(page.body, "<script>", "</script>");
  const std::string style = Between(page.body, "<style>", "</style>");
  ASSERT_FALSE(script.empty());
  ASSERT_FALSE(style.empty());
  EXPECT_EQ(policy, "default-src 'none'; script-src 'sha256-" + Sha256Base64(script) +
                        "'; style-src 'sha256-" + Sha256Base64(style) +
                        "'; connect-src 'self'; img-src 'none'; base-uri 'none'; "
                        "form-action 'none'; frame-ancestors 'none'");
  EXPECT_EQ(page.body.find("<script src"), std::string::npos);
  EXPECT_EQ(page.body.find("http"), std::string::npos) << "no external asset";
  EXPECT_NE(page.body.find("data-can-drain=\"1\""), std::string::npos);
  const AdminResponse untrusted = RouteAdmin({"GET", "/", false}, b);
  EXPECT_NE(untrusted.body.find("data-can-drain=\"0\""), std::string::npos);
  EXPECT_EQ(RouteAdmin({"POST", "/", true}, b).status, 405);
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

// Scenario: the maintenance endpoints: POST only, only for a caller allowed to drain, the
// backend's status and JSON passed through; a member name with slashes reaches move-leader whole.
TEST(AdminRouterTest, MaintenanceRoutes) {
  FakeBackend b;
  EXPECT_EQ(Get(b, "/maintenance/defragment").status, 405);
  EXPECT_EQ(Get(b, "/maintenance/defragment").allow, "POST");
  const auto untrusted = RouteAdmin({"POST", "/maintenance/defragment", false}, b);
  EXPECT_EQ(untrusted.status, 403);
  EXPECT_NE(untrusted.body.find("verified client certificate"), std::string::npos);
  EXPECT_EQ(b.defragments, 0);
  const auto started = RouteAdmin({"POST", "/maintenance/defragment", true}, b);
  EXPECT_EQ(started.status, 202);
  EXPECT_EQ(started.content_type, "application/json");
  EXPECT_EQ(started.body, "{\"plan\":[]}");
  EXPECT_EQ(RouteAdmin({"POST", "/maintenance/defragment", true}, b).status, 409);
  EXPECT_EQ(RouteAdmin({"POST", "/maintenance/defrag", true}, b).status, 404);

  EXPECT_EQ(RouteAdmin({"POST", "/members/m1/move-leader", false}, b).status, 403);
  EXPECT_TRUE(b.moved.empty());
  EXPECT_EQ(Get(b, "/members/m1/move-leader").status, 405);
  EXPECT_EQ(RouteAdmin({"POST", "/members/m1/move-leader", true}, b).status, 200);
  EXPECT_EQ(RouteAdmin({"POST", "/members/m9/move-leader", true}, b).status, 404);
  EXPECT_EQ(RouteAdmin({"POST", "/members/unix:/a/b/move-leader", true}, b).status, 404);
  EXPECT_EQ(b.moved, (std::vector<std::string>{"m1", "m9", "unix:/a/b"}));
}

}  // namespace
}  // namespace ehp
