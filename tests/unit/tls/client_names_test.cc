// --allowed-client-names: which presented identities pass, and how they are written in logs.
#include "proxy/tls/client_names.h"

#include <gtest/gtest.h>

namespace ehp {
namespace {

TEST(ClientNamesTest, EmptyListAllowsAnyCertificate) {
  EXPECT_TRUE(ClientNameAllowed({}, {.common_name = "anyone", .sans = {}}));
}

TEST(ClientNamesTest, CommonNameOrAnySanMatchesExactly) {
  const std::vector<std::string> allowed = {"kube-apiserver-etcd-client", "apiserver.local"};
  EXPECT_TRUE(
      ClientNameAllowed(allowed, {.common_name = "kube-apiserver-etcd-client", .sans = {}}));
  EXPECT_TRUE(
      ClientNameAllowed(allowed, {.common_name = "other", .sans = {"x", "apiserver.local"}}));
  // No prefix, suffix or case-folded matches: names are compared as etcd compares them.
  EXPECT_FALSE(ClientNameAllowed(allowed, {.common_name = "kube-apiserver", .sans = {}}));
  EXPECT_FALSE(ClientNameAllowed(allowed, {.common_name = "Apiserver.local", .sans = {}}));
  EXPECT_FALSE(ClientNameAllowed(allowed, {.common_name = "", .sans = {"evil.apiserver.local"}}));
  // An empty CN never matches an empty entry.
  EXPECT_FALSE(ClientNameAllowed({"", "a"}, {.common_name = "", .sans = {""}}));
}

TEST(ClientNamesTest, DescriptionIsBoundedAndPrintable) {
  EXPECT_EQ(DescribeIdentity({.common_name = "etcd-client", .sans = {}}), "CN=etcd-client");
  EXPECT_EQ(DescribeIdentity({.common_name = "", .sans = {"localhost", "127.0.0.1"}}),
            "CN=(none) SAN=[localhost,127.0.0.1]");
  ClientIdentity hostile{.common_name = std::string(1000, 'a') + "\n\x1b[31m", .sans = {}};
  for (int i = 0; i < 50; ++i) hostile.sans.push_back("n" + std::to_string(i));
  const std::string d = DescribeIdentity(hostile);
  EXPECT_LT(d.size(), 300u);
  EXPECT_EQ(d.find('\n'), std::string::npos);
  EXPECT_EQ(d.find('\x1b'), std::string::npos);
  EXPECT_NE(d.find("+42 more"), std::string::npos) << d;
}

}  // namespace
}  // namespace ehp
