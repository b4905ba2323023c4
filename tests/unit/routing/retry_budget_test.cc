// The retry budget: a share of the calls plus a floor per second, capped.
#include "proxy/routing/retry_budget.h"

#include <gtest/gtest.h>

namespace ehp {
namespace {

using std::chrono::milliseconds;

int SpendAll(RetryBudget& b, RetryBudget::Clock::time_point now) {
  int n = 0;
  while (b.TrySpend(now) && n < 100000) ++n;
  return n;
}

TEST(RetryBudgetTest, ShareOfCalls) {
  const auto t0 = RetryBudget::Clock::time_point() + std::chrono::hours(1);
  RetryBudget b(0.1, /*per_second=*/0, /*burst=*/1000);
  EXPECT_EQ(SpendAll(b, t0), 0);
  for (int i = 0; i < 1000; ++i) b.OnCall();
  EXPECT_EQ(SpendAll(b, t0), 100);  // 10% of 1000 calls
  for (int i = 0; i < 9; ++i) b.OnCall();
  EXPECT_EQ(SpendAll(b, t0), 0);  // 0.9 of a retry
  b.OnCall();
  EXPECT_EQ(SpendAll(b, t0), 1);
}

TEST(RetryBudgetTest, FloorPerSecondAndBurstCap) {
  const auto t0 = RetryBudget::Clock::time_point() + std::chrono::hours(1);
  RetryBudget b(0.1, /*per_second=*/10, /*burst=*/20);
  EXPECT_EQ(SpendAll(b, t0), 10);  // starts with one second's worth
  EXPECT_EQ(SpendAll(b, t0 + milliseconds(500)), 5);
  EXPECT_EQ(SpendAll(b, t0 + std::chrono::hours(2)), 20);  // idle time saves up to the cap
  for (int i = 0; i < 100000; ++i) b.OnCall();
  EXPECT_EQ(SpendAll(b, t0 + std::chrono::hours(2)), 20);
}

TEST(RetryBudgetTest, ZeroRatioStillHasTheFloor) {
  const auto t0 = RetryBudget::Clock::time_point() + std::chrono::hours(1);
  RetryBudget b(0, 10, 100);
  for (int i = 0; i < 1000; ++i) b.OnCall();
  EXPECT_EQ(SpendAll(b, t0), 10);
  EXPECT_EQ(SpendAll(b, t0 + milliseconds(100)), 1);
}

}  // namespace
}  // namespace ehp
