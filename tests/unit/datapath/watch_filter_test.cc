#include "proxy/datapath/watch_filter.h"

#include <gtest/gtest.h>

namespace ehp {
namespace {

using etcdserverpb::WatchRequest;
using etcdserverpb::WatchResponse;

std::string Framed(const google::protobuf::Message& m, bool compressed = false) {
  const std::string payload = m.SerializeAsString();
  return GrpcPrefix(compressed, static_cast<uint32_t>(payload.size())) + payload;
}

WatchRequest Create(const std::string& key, int64_t start_revision = 0) {
  WatchRequest r;
  r.mutable_create_request()->set_key(key);
  r.mutable_create_request()->set_start_revision(start_revision);
  return r;
}

WatchResponse Created(int64_t watch_id, int64_t revision) {
  WatchResponse r;
  r.mutable_header()->set_revision(revision);
  r.set_watch_id(watch_id);
  r.set_created(true);
  return r;
}

WatchResponse Events(int64_t watch_id, int64_t revision, bool fragment = false) {
  WatchResponse r;
  r.mutable_header()->set_revision(revision);
  r.set_watch_id(watch_id);
  r.set_fragment(fragment);
  r.add_events()->mutable_kv()->set_mod_revision(revision);
  return r;
}

bool FromClient(WatchFilter& f, const std::string& bytes, std::string* out) {
  return f.FromClient(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), out);
}
bool FromMember(WatchFilter& f, const std::string& bytes, std::string* out) {
  return f.FromMember(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), out);
}

// Every message in `bytes`, parsed as T.
template <typename T>
std::vector<T> Messages(const std::string& bytes) {
  std::vector<T> out;
  GrpcMessageAssembler a(1 << 20);
  a.Feed(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
         [&](bool, std::string_view payload) {
           T m;
           EXPECT_TRUE(m.ParseFromArray(payload.data(), static_cast<int>(payload.size())));
           out.push_back(m);
         });
  return out;
}

TEST(WatchFilterTest, RequestsPassWholeAndUnchanged) {
  WatchFilter f(1 << 20);
  const std::string create = Framed(Create("a"));
  std::string out;
  // Split inside the prefix, then inside the payload: nothing passes until the message is whole.
  ASSERT_TRUE(FromClient(f, create.substr(0, 3), &out));
  EXPECT_TRUE(out.empty());
  ASSERT_TRUE(FromClient(f, create.substr(3, 4), &out));
  EXPECT_TRUE(out.empty());
  ASSERT_TRUE(FromClient(f, create.substr(7), &out));
  EXPECT_EQ(out, create);
}

TEST(WatchFilterTest, ResponsesPassUnchangedAndTheStreamResumesAfterTheLastEvent) {
  WatchFilter f(1 << 20);
  std::string to_member, to_client;
  ASSERT_TRUE(FromClient(f, Framed(Create("k")), &to_member));
  const std::string created = Framed(Created(7, 10));
  const std::string events = Framed(Events(7, 12));
  ASSERT_TRUE(FromMember(f, created + events, &to_client));
  EXPECT_EQ(to_client, created + events);
  EXPECT_TRUE(f.CanResume());

  std::string now;
  const auto resent = Messages<WatchRequest>(f.Resume(&now));
  EXPECT_TRUE(now.empty());
  ASSERT_EQ(resent.size(), 1u);
  EXPECT_EQ(resent[0].create_request().key(), "k");
  EXPECT_EQ(resent[0].create_request().start_revision(), 13);
  EXPECT_EQ(resent[0].create_request().watch_id(), 7);

  // The new member's answer to the re-creation is kept from the client; its events pass.
  to_client.clear();
  const std::string next = Framed(Events(7, 14));
  ASSERT_TRUE(FromMember(f, Framed(Created(7, 13)) + next, &to_client));
  EXPECT_EQ(to_client, next);
}

TEST(WatchFilterTest, AMessageTheOldMemberCutOffIsDropped) {
  WatchFilter f(1 << 20);
  std::string to_member, to_client;
  ASSERT_TRUE(FromClient(f, Framed(Create("k")), &to_member));
  ASSERT_TRUE(FromMember(f, Framed(Created(1, 5)), &to_client));
  const std::string half = Framed(Events(1, 6));
  to_client.clear();
  ASSERT_TRUE(FromMember(f, half.substr(0, half.size() / 2), &to_client));
  EXPECT_TRUE(to_client.empty());
  EXPECT_GT(f.pending(), 0u);
  std::string now;
  const auto resent = Messages<WatchRequest>(f.Resume(&now));
  ASSERT_EQ(resent.size(), 1u);
  EXPECT_EQ(resent[0].create_request().start_revision(), 6);  // event 6 was never delivered
  EXPECT_EQ(f.pending(), 0u);
}

TEST(WatchFilterTest, AFragmentedResponseCannotResumeUntilItsLastFragment) {
  WatchFilter f(1 << 20);
  std::string to_member, to_client;
  ASSERT_TRUE(FromClient(f, Framed(Create("k")), &to_member));
  ASSERT_TRUE(FromMember(f, Framed(Created(1, 5)) + Framed(Events(1, 6, true)), &to_client));
  EXPECT_FALSE(f.CanResume());
  ASSERT_TRUE(FromMember(f, Framed(Events(1, 6, false)), &to_client));
  EXPECT_TRUE(f.CanResume());
}

TEST(WatchFilterTest, AnUnreadableMessagePassesButTheStreamCannotMove) {
  WatchFilter f(1 << 20);
  std::string to_member;
  const std::string compressed = Framed(Create("k"), true);
  ASSERT_TRUE(FromClient(f, compressed, &to_member));
  EXPECT_EQ(to_member, compressed);
  EXPECT_FALSE(f.CanResume());

  WatchFilter g(1 << 20);
  std::string to_client;
  const std::string garbage = GrpcPrefix(false, 3) + "\xff\xff\xff";
  ASSERT_TRUE(FromMember(g, garbage, &to_client));
  EXPECT_EQ(to_client, garbage);
  EXPECT_FALSE(g.CanResume());
}

TEST(WatchFilterTest, AMessageLargerThanTheLimitFailsTheStream) {
  WatchFilter f(16);
  std::string out;
  EXPECT_FALSE(FromClient(f, GrpcPrefix(false, 17), &out));
  EXPECT_TRUE(out.empty());
  WatchFilter g(16);
  EXPECT_FALSE(FromMember(g, GrpcPrefix(false, 1000) + "x", &out));
}

// Scenario: several responses arrive in one read: what they say about delivery is merged (the
// oldest live event), taken once, then empty until the next responses.
TEST(WatchFilterTest, DeliveryOfTheResponsesSinceTheLastTake) {
  WatchFilter f(1 << 20);
  std::string out;
  ASSERT_TRUE(FromClient(f, Framed(Create("a")), &out));
  ASSERT_TRUE(FromMember(f, Framed(Created(0, 10)), &out));
  EXPECT_EQ(f.TakeDelivery().live_event, 0);
  ASSERT_TRUE(FromMember(f, Framed(Events(0, 12)) + Framed(Events(0, 11 + 2)), &out));
  const WatchTracker::Delivery d = f.TakeDelivery();
  EXPECT_EQ(d.live_event, 12);
  EXPECT_EQ(f.TakeDelivery().live_event, 0);
}

}  // namespace
}  // namespace ehp
