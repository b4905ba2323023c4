#include "proxy/routing/hedge_delay.h"

#include <gtest/gtest.h>

namespace ehp {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

TEST(HedgeDelayTest, OffAndFixed) {
  HedgeDelay off(milliseconds(0), milliseconds(20));
  EXPECT_FALSE(off.enabled());

  HedgeDelay fixed(milliseconds(70), milliseconds(20));
  EXPECT_TRUE(fixed.enabled());
  EXPECT_EQ(fixed.Get(), milliseconds(70));
  for (int i = 0; i < 1000; ++i) fixed.Observe(microseconds(500));
  EXPECT_EQ(fixed.Get(), milliseconds(70));  // a fixed delay does not learn
}

TEST(HedgeDelayTest, AdaptiveStartsConservativeThenFollowsThe95thPercentile) {
  HedgeDelay d(milliseconds(-1), milliseconds(1));
  EXPECT_TRUE(d.enabled());
  EXPECT_EQ(d.Get(), HedgeDelay::kStartDelay);
  for (size_t i = 0; i + 1 < HedgeDelay::kMinSamples; ++i) d.Observe(microseconds(2000));
  EXPECT_EQ(d.Get(), HedgeDelay::kStartDelay);  // not enough samples yet

  // 512 samples: 95% at 2 ms, the slowest 5% at 40 ms; the 95th percentile sits at the edge.
  for (int i = 0; i < 512; ++i) d.Observe(microseconds(i % 20 == 0 ? 40000 : 2000));
  EXPECT_GE(d.Get(), microseconds(2000));
  EXPECT_LE(d.Get(), microseconds(40000));

  // All fast now: the delay comes down to them.
  for (int i = 0; i < 512; ++i) d.Observe(microseconds(3000));
  EXPECT_EQ(d.Get(), microseconds(3000));

  // The cluster got slower: it follows.
  for (int i = 0; i < 512; ++i) d.Observe(microseconds(9000));
  EXPECT_EQ(d.Get(), microseconds(9000));
}

TEST(HedgeDelayTest, CappedSoAnIncidentDoesNotDisableHedging) {
  HedgeDelay d(milliseconds(-1), milliseconds(20));
  // Reads of an election: seconds each.
  for (int i = 0; i < 512; ++i) d.Observe(microseconds(3'000'000));
  EXPECT_EQ(d.Get(), HedgeDelay::kMaxAdaptive);
  // A floor above the cap wins: the operator asked for it.
  HedgeDelay high(milliseconds(-1), milliseconds(400));
  for (int i = 0; i < 512; ++i) high.Observe(microseconds(3'000'000));
  EXPECT_EQ(high.Get(), milliseconds(400));
}

TEST(HedgeDelayTest, NeverBelowTheFloor) {
  HedgeDelay d(milliseconds(-1), milliseconds(20));
  EXPECT_EQ(d.Get(), HedgeDelay::kStartDelay);
  for (int i = 0; i < 1024; ++i) d.Observe(microseconds(300));
  EXPECT_EQ(d.Get(), milliseconds(20));

  HedgeDelay high_floor(milliseconds(-1), milliseconds(250));
  EXPECT_EQ(high_floor.Get(), milliseconds(250));  // the floor is above the starting value
}

}  // namespace
}  // namespace ehp
