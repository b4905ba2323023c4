#include "chaos/workload/timeline.h"

#include <gtest/gtest.h>

namespace ehp::chaos {
namespace {

using std::chrono::duration;

TEST(TimelineTest, PercentileIsNearestRank) {
  EXPECT_EQ(Timeline::Percentile({}, 0.99), 0);
  EXPECT_EQ(Timeline::Percentile({5}, 0.5), 5);
  std::vector<float> v;
  for (int i = 100; i >= 1; --i) v.push_back(static_cast<float>(i));
  EXPECT_EQ(Timeline::Percentile(v, 0.50), 50);
  EXPECT_EQ(Timeline::Percentile(v, 0.99), 99);
  EXPECT_EQ(Timeline::Percentile(v, 1.0), 100);
}

TEST(TimelineTest, CountsByKindAndSecond) {
  Timeline t;
  t.Record(CallKind::kRead, true, duration<double>(0.2), duration<double, std::milli>(2));
  t.Record(CallKind::kRead, false, duration<double>(2.5), duration<double, std::milli>(700));
  t.Record(CallKind::kWrite, true, duration<double>(2.9), duration<double, std::milli>(10));
  t.Record(CallKind::kWrite, false, duration<double>(2.9), duration<double, std::milli>(30));
  ASSERT_EQ(t.seconds().size(), 3u);
  EXPECT_EQ(t.seconds()[0].reads_ok, 1u);
  EXPECT_EQ(t.seconds()[1].reads_ok + t.seconds()[1].writes_ok, 0u);  // a quiet second stays
  EXPECT_EQ(t.seconds()[2].reads_failed, 1u);
  EXPECT_EQ(t.seconds()[2].writes_ok, 1u);
  EXPECT_EQ(t.seconds()[2].writes_failed, 1u);
  const Timeline::Summary reads = t.Of(CallKind::kRead);
  EXPECT_EQ(reads.ok, 1u);
  EXPECT_EQ(reads.failed, 1u);
  EXPECT_EQ(reads.max_ms, 700);
  EXPECT_EQ(t.Of(CallKind::kWrite).p50_ms, 10);
  EXPECT_EQ(t.Csv(),
            "# second,reads_ok,reads_failed,writes_ok,writes_failed,p99_ms\n"
            "0,1,0,0,0,2.0\n"
            "1,0,0,0,0,0.0\n"
            "2,0,1,1,1,700.0\n");
}

TEST(TimelineTest, ErrorKindsAreBounded) {
  Timeline t;
  for (int i = 0; i < 40; ++i) t.RecordError("UNAVAILABLE message " + std::to_string(i));
  t.RecordError("UNAVAILABLE message 3");
  EXPECT_EQ(t.errors().size(), 33u);  // 32 kinds and "other"
  EXPECT_EQ(t.errors().at("other"), 8u);
  EXPECT_EQ(t.errors().at("UNAVAILABLE message 3"), 2u);
}

TEST(TimelineTest, NegativeAndFarTimesAreClamped) {
  Timeline t;
  t.Record(CallKind::kRead, true, duration<double>(-1), duration<double, std::milli>(1));
  t.Record(CallKind::kRead, true, duration<double>(1e9), duration<double, std::milli>(1));
  EXPECT_EQ(t.seconds().size(), 1u);
  EXPECT_EQ(t.Of(CallKind::kRead).ok, 1u);
}

}  // namespace
}  // namespace ehp::chaos
