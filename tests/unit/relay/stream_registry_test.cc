// Closing a member's streams: all of them, only them, spread over the window.
#include "proxy/relay/stream_registry.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace ehp {
namespace {

using std::chrono::milliseconds;

class FakeStream : public AbortableStream {
 public:
  explicit FakeStream(std::string member) : member_(std::move(member)) {}
  void Abort(const grpc::Status& status) override {
    aborted_at_ = std::chrono::steady_clock::now();
    message_ = status.error_message();
    aborts_++;
  }
  bool Move() override {
    moves_++;
    return movable_;
  }
  const std::string& member_name() const override { return member_; }
  int aborts() const { return aborts_.load(); }
  int moves() const { return moves_.load(); }
  bool movable_ = false;
  std::chrono::steady_clock::time_point aborted_at_;
  std::string message_;

 private:
  const std::string member_;
  std::atomic<int> aborts_{0};
  std::atomic<int> moves_{0};
};

bool WaitFor(const std::function<bool()>& done) {
  for (int i = 0; i < 300 && !done(); ++i) std::this_thread::sleep_for(milliseconds(10));
  return done();
}

TEST(StreamRegistryTest, CloseMemberAtOnce) {
  StreamRegistry r;
  FakeStream a("m1"), b("m2"), c("m1");
  r.Add(&a);
  const uint64_t id_b = r.Add(&b);
  r.Add(&c);
  EXPECT_EQ(r.CountByMember().at("m1"), 2u);
  EXPECT_EQ(r.CloseMember("m1", grpc::Status(grpc::StatusCode::UNAVAILABLE, "moved")), 2u);
  EXPECT_EQ(a.aborts(), 1);
  EXPECT_EQ(c.aborts(), 1);
  EXPECT_EQ(b.aborts(), 0);
  EXPECT_EQ(a.message_, "moved");
  r.Remove(id_b);
  EXPECT_EQ(r.size(), 2u);
}

TEST(StreamRegistryTest, CloseMemberSpreadsOverTheWindow) {
  StreamRegistry r;
  std::vector<std::unique_ptr<FakeStream>> streams;
  std::vector<uint64_t> ids;
  for (int i = 0; i < 4; ++i) {
    streams.push_back(std::make_unique<FakeStream>("m1"));
    ids.push_back(r.Add(streams.back().get()));
  }
  FakeStream other("m2");
  r.Add(&other);
  // One stream ends on its own before its turn: it must not be touched after Remove.
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(
      r.CloseMember("m1", grpc::Status(grpc::StatusCode::UNAVAILABLE, "x"), milliseconds(400)), 4u);
  int done_at_once = 0;
  for (const auto& s : streams) done_at_once += s->aborts();
  EXPECT_LT(done_at_once, 4);  // the last is due 300 ms from now
  r.Remove(ids[3]);
  ASSERT_TRUE(WaitFor([&] { return streams[2]->aborts() == 1; }));
  std::this_thread::sleep_for(milliseconds(250));
  EXPECT_EQ(streams[0]->aborts(), 1);
  EXPECT_EQ(streams[1]->aborts(), 1);
  EXPECT_EQ(streams[3]->aborts(), 0);
  EXPECT_EQ(other.aborts(), 0);
  // Spread: the third went no sooner than 2/4 of the window.
  EXPECT_GE(streams[2]->aborted_at_ - start, milliseconds(200));
}

TEST(StreamRegistryTest, ClosingRefusesNewStreams) {
  StreamRegistry r;
  FakeStream a("m1");
  EXPECT_NE(r.Add(&a), 0u);
  r.CloseAll(grpc::Status(grpc::StatusCode::UNAVAILABLE, "bye"));
  EXPECT_EQ(a.aborts(), 1);
  FakeStream b("m1");
  EXPECT_EQ(r.Add(&b), 0u);
}

// Scenario: at max_streams the next stream is refused (kFull), and a slot freed by Remove()
// takes a new one.
TEST(StreamRegistryTest, RefusesBeyondMaxStreams) {
  StreamRegistry r(2);
  FakeStream a("m1"), b("m2"), c("m1");
  const uint64_t ida = r.Add(&a);
  EXPECT_NE(ida, StreamRegistry::kClosing);
  EXPECT_NE(r.Add(&b), StreamRegistry::kFull);
  EXPECT_EQ(r.Add(&c), StreamRegistry::kFull);
  EXPECT_EQ(r.size(), 2u);
  r.Remove(ida);
  const uint64_t idc = r.Add(&c);
  EXPECT_NE(idc, StreamRegistry::kFull);
  EXPECT_NE(idc, StreamRegistry::kClosing);
}

TEST(StreamRegistryTest, StreamsThatCanMoveAreMovedNotAborted) {
  StreamRegistry r;
  FakeStream watch("m1"), other("m1");
  watch.movable_ = true;
  r.Add(&watch);
  r.Add(&other);
  EXPECT_EQ(r.CloseMember("m1", grpc::Status(grpc::StatusCode::UNAVAILABLE, "x")), 2u);
  EXPECT_EQ(watch.moves(), 1);
  EXPECT_EQ(watch.aborts(), 0);
  EXPECT_EQ(other.moves(), 1);  // asked first, and it cannot
  EXPECT_EQ(other.aborts(), 1);
}

TEST(StreamRegistryTest, AStreamOnAnotherMemberByItsTurnIsLeftAlone) {
  StreamRegistry r;
  FakeStream a("m1"), b("m1");
  r.Add(&a);
  const uint64_t id_b = r.Add(&b);
  r.CloseMember("m1", grpc::Status(grpc::StatusCode::UNAVAILABLE, "x"), milliseconds(300));
  r.SetMember(id_b, "m2");  // it moved on its own before its turn
  ASSERT_TRUE(WaitFor([&] { return a.aborts() == 1; }));
  std::this_thread::sleep_for(milliseconds(400));
  EXPECT_EQ(b.aborts(), 0);
  EXPECT_EQ(b.moves(), 0);
  EXPECT_EQ(r.CountByMember().at("m2"), 1u);
}

// Shutdown waits for relays whose member call is still ending: they remove themselves last.
TEST(StreamRegistryTest, WaitUntilEmptyWaitsForTheLastRemove) {
  StreamRegistry r;
  FakeStream a("m1"), b("m2");
  const uint64_t id_a = r.Add(&a);
  const uint64_t id_b = r.Add(&b);
  r.CloseAll(grpc::Status(grpc::StatusCode::UNAVAILABLE, "shutting down"));
  EXPECT_FALSE(r.WaitUntilEmpty(milliseconds(20)));
  r.Remove(id_a);
  EXPECT_FALSE(r.WaitUntilEmpty(milliseconds(20)));
  std::thread later([&] {
    std::this_thread::sleep_for(milliseconds(50));
    r.Remove(id_b);
  });
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(r.WaitUntilEmpty(milliseconds(5000)));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, milliseconds(4000));
  later.join();
  EXPECT_TRUE(StreamRegistry().WaitUntilEmpty(milliseconds(0)));
}

}  // namespace
}  // namespace ehp
