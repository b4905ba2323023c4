// A log line at most once per interval, counting the ones held back.
#include "proxy/log/rate_limited.h"

#include <gtest/gtest.h>

namespace ehp {
namespace {

using std::chrono::milliseconds;

TEST(RateLimitedLogTest, OneLinePerIntervalWithTheHeldBackCount) {
  RateLimitedLog log(milliseconds(1000));
  const auto t0 = std::chrono::steady_clock::time_point() + std::chrono::hours(1);
  uint64_t suppressed = 99;
  EXPECT_TRUE(log.ShouldLog(t0, &suppressed));
  EXPECT_EQ(suppressed, 0u);
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(log.ShouldLog(t0 + milliseconds(100 * i), &suppressed));
  EXPECT_FALSE(log.ShouldLog(t0 + milliseconds(999), &suppressed));
  EXPECT_TRUE(log.ShouldLog(t0 + milliseconds(1000), &suppressed));
  EXPECT_EQ(suppressed, 6u);
  EXPECT_EQ(SuppressedNote(suppressed), " (6 more not logged)");
  EXPECT_EQ(SuppressedNote(0), "");
  EXPECT_TRUE(log.ShouldLog(t0 + milliseconds(5000), &suppressed));
  EXPECT_EQ(suppressed, 0u);
}

}  // namespace
}  // namespace ehp
