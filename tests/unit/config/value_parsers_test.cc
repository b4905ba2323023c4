#include "proxy/config/value_parsers.h"

#include <gtest/gtest.h>

#include "proxy/config/address.h"

namespace ehp {
namespace {

using std::chrono::milliseconds;

TEST(ValueParsersTest, Durations) {
  std::string e;
  EXPECT_EQ(ParseDuration("250ms", &e), milliseconds(250));
  EXPECT_EQ(ParseDuration("5s", &e), milliseconds(5000));
  EXPECT_EQ(ParseDuration("1.5s", &e), milliseconds(1500));
  EXPECT_EQ(ParseDuration("2m", &e), milliseconds(120000));
  EXPECT_EQ(ParseDuration("1h", &e), milliseconds(3600000));
  EXPECT_EQ(ParseDuration("3", &e), milliseconds(3000));  // seconds, as etcd's flags
  EXPECT_FALSE(ParseDuration("", &e));
  EXPECT_FALSE(ParseDuration("fast", &e));
  EXPECT_FALSE(ParseDuration("5d", &e));
  EXPECT_NE(e.find("unknown unit"), std::string::npos);
  EXPECT_EQ(FormatDuration(milliseconds(5000)), "5s");
  EXPECT_EQ(FormatDuration(milliseconds(250)), "250ms");
}

TEST(ValueParsersTest, Bytes) {
  std::string e;
  EXPECT_EQ(FormatBytes(128LL << 20), "128MiB");
  EXPECT_EQ(FormatBytes(1LL << 30), "1GiB");
  EXPECT_EQ(FormatBytes(16384), "16KiB");
  EXPECT_EQ(FormatBytes(2147483647), "2147483647");
  EXPECT_EQ(FormatBytes(0), "0");
  EXPECT_EQ(ParseBytes(FormatBytes(64LL << 20), &e), 64LL << 20);
  EXPECT_EQ(ParseBytes("1048576", &e), 1048576);
  EXPECT_EQ(ParseBytes("64KiB", &e), 65536);
  EXPECT_EQ(ParseBytes("4MiB", &e), 4 << 20);
  EXPECT_EQ(ParseBytes("1GiB", &e), 1LL << 30);
  EXPECT_EQ(ParseBytes("10MB", &e), 10'000'000);
  EXPECT_FALSE(ParseBytes("MiB", &e));
  EXPECT_FALSE(ParseBytes("4 parsecs", &e));
}

TEST(ValueParsersTest, BoolsIntsLists) {
  std::string e;
  EXPECT_EQ(ParseBool("yes", &e), true);
  EXPECT_EQ(ParseBool("off", &e), false);
  EXPECT_FALSE(ParseBool("maybe", &e));
  EXPECT_EQ(ParseInt("-3", &e), -3);
  EXPECT_FALSE(ParseInt("3x", &e));
  EXPECT_EQ(SplitList(" a, b,,c "), (std::vector<std::string>{"a", "b", "c"}));
}

TEST(AddressTest, MemberUrls) {
  std::string e;
  auto u = ParseMemberUrl("https://[::1]:2379/", &e);
  ASSERT_TRUE(u) << e;
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->Authority(), "[::1]:2379");
  EXPECT_FALSE(ParseMemberUrl("https://:2379", &e));
  EXPECT_FALSE(ParseMemberUrl("https://h:70000", &e));
}

TEST(AddressTest, Loopback) {
  EXPECT_TRUE(IsLoopbackHost("127.0.0.1"));
  EXPECT_TRUE(IsLoopbackHost("127.3.2.1"));
  EXPECT_TRUE(IsLoopbackHost("::1"));
  EXPECT_TRUE(IsLoopbackHost("localhost"));
  EXPECT_FALSE(IsLoopbackHost("0.0.0.0"));
  EXPECT_FALSE(IsLoopbackHost("198.18.0.1"));
  EXPECT_FALSE(IsLoopbackHost("etcd-1"));
}

TEST(AddressTest, HttpAddress) {
  std::string e;
  auto a = ParseHttpAddress("https://127.0.0.1:9443", &e);
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->tls);
  EXPECT_EQ(a->port, 9443);
  a = ParseHttpAddress("127.0.0.1:9000", &e);
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->tls);
}

}  // namespace
}  // namespace ehp
