#include "proxy/h2/grpc_status.h"

#include <gtest/gtest.h>

namespace ehp {
namespace {

using std::chrono::microseconds;

TEST(GrpcStatusTest, TimeoutsParseInEveryUnit) {
  EXPECT_EQ(ParseGrpcTimeout("100m"), microseconds(100000));
  EXPECT_EQ(ParseGrpcTimeout("5S"), microseconds(5000000));
  EXPECT_EQ(ParseGrpcTimeout("2M"), microseconds(120000000));
  EXPECT_EQ(ParseGrpcTimeout("1H"), microseconds(3600000000LL));
  EXPECT_EQ(ParseGrpcTimeout("250u"), microseconds(250));
  EXPECT_EQ(ParseGrpcTimeout("1500n"), microseconds(2));  // rounded up, never to zero early
  EXPECT_EQ(ParseGrpcTimeout(""), std::nullopt);
  EXPECT_EQ(ParseGrpcTimeout("m"), std::nullopt);
  EXPECT_EQ(ParseGrpcTimeout("12x"), std::nullopt);
  EXPECT_EQ(ParseGrpcTimeout("-1S"), std::nullopt);
  EXPECT_EQ(ParseGrpcTimeout("123456789S"), std::nullopt);  // over 8 digits
}

TEST(GrpcStatusTest, TimeoutsFormatExactlyWithinEightDigits) {
  EXPECT_EQ(FormatGrpcTimeout(microseconds(1234)), "1234u");
  EXPECT_EQ(FormatGrpcTimeout(microseconds(123456789)), "123456m");
  EXPECT_EQ(FormatGrpcTimeout(microseconds(-5)), "0u");
  for (int64_t us : {1LL, 999999LL, 100000000LL, 86400000000LL}) {
    const auto back = ParseGrpcTimeout(FormatGrpcTimeout(microseconds(us)));
    ASSERT_TRUE(back.has_value());
    EXPECT_LE(back->count(), us);  // never later than asked
    EXPECT_GE(back->count(), us - us / 1000);
  }
}

TEST(GrpcStatusTest, MessagesRoundTripThroughPercentEncoding) {
  const std::string message = "etcdserver: no leader 100% \n\xc3\xa9";
  const std::string encoded = PercentEncode(message);
  EXPECT_EQ(encoded, "etcdserver: no leader 100%25 %0A%C3%A9");
  EXPECT_EQ(PercentDecode(encoded), message);
  EXPECT_EQ(PercentDecode("50%"), "50%");  // a stray percent stays
  EXPECT_EQ(PercentDecode("%zz"), "%zz");
}

TEST(GrpcStatusTest, StatusIsReadFromTrailers) {
  EXPECT_EQ(StatusOf({{":status", "200"}}), std::nullopt);
  const auto s = StatusOf(TrailersOnly(14, "etcdserver: no leader"));
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->code, 14);
  EXPECT_EQ(s->message, "etcdserver: no leader");
  const auto bad = StatusOf({{"grpc-status", "x1"}});
  ASSERT_TRUE(bad.has_value());
  EXPECT_EQ(bad->code, 2);  // UNKNOWN
}

}  // namespace
}  // namespace ehp
