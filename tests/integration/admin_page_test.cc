// The admin plane's HTML page (GET /) rendered by a real browser, headless Chromium: its strict
// Content-Security-Policy lets the inline script run, the script fills in every member with its
// state from /status, and a killed member shows as evicted.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

#include "tests/support/cluster_proxy_suite.h"
#include "tests/support/http_client.h"

namespace ehp::testing {
namespace {

using std::chrono::seconds;

class AdminPageTest : public ClusterProxySuite {
 protected:
  static void SetUpTestSuite() {
    StartSuite("ehp-admin-page", {.configure = [](Config& config) {
                 config.member_zones = {
                     {Member(0), "zone-a"}, {Member(1), "zone-b"}, {Member(2), "zone-c"}};
               }});
  }

  void SetUp() override {
    if (!std::filesystem::exists("/usr/bin/chromium")) GTEST_SKIP() << "chromium is not installed";
  }

  std::string Url() const { return "http://127.0.0.1:" + std::to_string(admin_port()) + "/"; }

  // Chromium's arguments for a headless run against the page; its virtual time lets the page's
  // fetches and first refreshes complete before the DOM is dumped.
  std::vector<std::string> Chromium(const std::string& what) const {
    return {"chromium",
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--user-data-dir=" + *dir_ + "/chromium",
            "--window-size=1280,720",
            "--virtual-time-budget=3000",
            what,
            Url()};
  }
  std::string Dom() const {
    const CommandResult r = RunCommand(Chromium("--dump-dom"), "", seconds(60));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return r.output;
  }
  // The start of a member's row as the script writes it: name, zone, state.
  std::string Row(int i, const std::string& zone, const std::string& state) const {
    const std::string m = Member(i);
    return "<tr data-member=\"" + m + "\"><td>" + m + "</td><td>" + zone + "</td><td class=\"" +
           state + "\">" + state + "</td>";
  }
};

// Scenario: the page shows the three members healthy with the quorum's leader; after a member
// is killed it shows that member evicted (the others healthy) and the eviction among the events.
TEST_F(AdminPageTest, ChromiumShowsMembersBeforeAndAfterAKill) {
  const HttpResult page = Http(admin_port(), "GET", "/");
  ASSERT_EQ(page.status, 200);
  EXPECT_NE(page.headers.find("Content-Security-Policy: default-src 'none'; script-src 'sha256-"),
            std::string::npos)
      << page.headers;
  ASSERT_TRUE(WaitForStatus("\"quorum\":true", seconds(30)));

  std::string dom = Dom();
  EXPECT_NE(dom.find(Row(0, "zone-a", "healthy")), std::string::npos) << dom;
  EXPECT_NE(dom.find(Row(1, "zone-b", "healthy")), std::string::npos) << dom;
  EXPECT_NE(dom.find(Row(2, "zone-c", "healthy")), std::string::npos) << dom;
  EXPECT_EQ(dom.find("<b id=\"leader\">none</b>"), std::string::npos) << dom;
  EXPECT_EQ(dom.find("<b id=\"leader\">-</b>"), std::string::npos) << dom;
  EXPECT_NE(dom.find("<p id=\"error\"></p>"), std::string::npos) << "a fetch failed: " << dom;
  // A loopback caller of the http plane may drain: the buttons are there.
  EXPECT_NE(dom.find("<button>drain</button>"), std::string::npos) << dom;

  cluster_->StopMember(2);
  ASSERT_TRUE(WaitForStatus("\"zone\":\"zone-c\",\"state\":\"evicted\"", seconds(10)));
  dom = Dom();
  EXPECT_NE(dom.find(Row(0, "zone-a", "healthy")), std::string::npos) << dom;
  EXPECT_NE(dom.find(Row(1, "zone-b", "healthy")), std::string::npos) << dom;
  EXPECT_NE(dom.find(Row(2, "zone-c", "evicted")), std::string::npos) << dom;
  EXPECT_NE(dom.find("<td>" + Member(2) + "</td><td>healthy</td><td>evicted</td>"),
            std::string::npos)
      << dom;

  // A screenshot of the page with the evicted member (EHP_PAGE_SCREENSHOT: where to keep it).
  const char* keep = std::getenv("EHP_PAGE_SCREENSHOT");
  const std::string png = keep != nullptr ? keep : *dir_ + "/admin-page.png";
  const CommandResult shot = RunCommand(Chromium("--screenshot=" + png), "", seconds(60));
  EXPECT_EQ(shot.exit_code, 0) << shot.output;
  EXPECT_EQ(ReadFile(png).substr(0, 8), "\x89PNG\r\n\x1a\n");
}

}  // namespace
}  // namespace ehp::testing
