// Closing a member's streams: all of them, only them, spread over the window (on a fake clock).
#include "proxy/relay/stream_registry.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "tests/fakes/fake_scheduler.h"

namespace ehp {
namespace {

using std::chrono::milliseconds;
using testing::FakeScheduler;

class FakeStream : public AbortableStream {
 public:
  explicit FakeStream(std::string member) : member_(std::move(member)) {}
  explicit FakeStream(std::string member, const FakeScheduler* clock)
      : member_(std::move(member)), clock_(clock) {}
  void Abort(const grpc::Status& status) override {
    if (clock_ != nullptr) aborted_at_ = clock_->Now();
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
  const FakeScheduler* const clock_ = nullptr;
  std::atomic<int> aborts_{0};
  std::atomic<int> moves_{0};
};

// Every test's registry runs its spread closes on a fake clock.
class StreamRegistryTest : public ::testing::Test {
 protected:
  std::shared_ptr<FakeScheduler> clock_ = std::make_shared<FakeScheduler>();
  StreamRegistry r{clock_};
};

TEST_F(StreamRegistryTest, CloseMemberAtOnce) {
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

TEST_F(StreamRegistryTest, CloseMemberSpreadsOverTheWindow) {
  std::vector<std::unique_ptr<FakeStream>> streams;
  std::vector<uint64_t> ids;
  for (int i = 0; i < 4; ++i) {
    streams.push_back(std::make_unique<FakeStream>("m1", clock_.get()));
    ids.push_back(r.Add(streams.back().get()));
  }
  FakeStream other("m2");
  r.Add(&other);
  const auto start = clock_->Now();
  EXPECT_EQ(
      r.CloseMember("m1", grpc::Status(grpc::StatusCode::UNAVAILABLE, "x"), milliseconds(400)), 4u);
  // The k-th of 4 goes at 400 ms * k / 4: the first at once, the last at 300 ms.
  clock_->RunDue();
  EXPECT_EQ(streams[0]->aborts(), 1);
  EXPECT_EQ(streams[1]->aborts(), 0);
  // One stream ends on its own before its turn: it must not be touched after Remove.
  r.Remove(ids[3]);
  clock_->Advance(milliseconds(199));
  EXPECT_EQ(streams[1]->aborts(), 1);
  EXPECT_EQ(streams[2]->aborts(), 0);
  clock_->Advance(milliseconds(1));
  EXPECT_EQ(streams[2]->aborts(), 1);
  clock_->Advance(milliseconds(1000));
  EXPECT_EQ(streams[3]->aborts(), 0);
  EXPECT_EQ(other.aborts(), 0);
  EXPECT_EQ(streams[1]->aborted_at_ - start, milliseconds(100));
  EXPECT_EQ(streams[2]->aborted_at_ - start, milliseconds(200));
}

// Shutdown during a spread close: every stream ends at once, and no turn comes after.
TEST_F(StreamRegistryTest, CloseAllEndsASpreadCloseInProgress) {
  FakeStream a("m1"), b("m1"), c("m1");
  const uint64_t id_a = r.Add(&a);
  r.Add(&b);
  r.Add(&c);
  r.CloseMember("m1", grpc::Status(grpc::StatusCode::UNAVAILABLE, "x"), milliseconds(300));
  clock_->RunDue();
  EXPECT_EQ(a.aborts(), 1);
  r.Remove(id_a);  // its relay ended
  r.CloseAll(grpc::Status(grpc::StatusCode::UNAVAILABLE, "bye"));
  EXPECT_EQ(b.aborts(), 1);
  EXPECT_EQ(c.aborts(), 1);
  EXPECT_EQ(clock_->pending(), 0u);
  clock_->Advance(milliseconds(1000));
  EXPECT_EQ(a.aborts(), 1);
  EXPECT_EQ(b.aborts(), 1);
  EXPECT_EQ(c.aborts(), 1);
}

TEST_F(StreamRegistryTest, ClosingRefusesNewStreams) {
  FakeStream a("m1");
  EXPECT_NE(r.Add(&a), 0u);
  r.CloseAll(grpc::Status(grpc::StatusCode::UNAVAILABLE, "bye"));
  EXPECT_EQ(a.aborts(), 1);
  FakeStream b("m1");
  EXPECT_EQ(r.Add(&b), 0u);
}

// Scenario: at max_streams the next stream is refused (kFull), and a slot freed by Remove()
// takes a new one.
TEST_F(StreamRegistryTest, RefusesBeyondMaxStreams) {
  StreamRegistry r(clock_, 2);
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

TEST_F(StreamRegistryTest, StreamsThatCanMoveAreMovedNotAborted) {
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

TEST_F(StreamRegistryTest, AStreamOnAnotherMemberByItsTurnIsLeftAlone) {
  FakeStream a("m1"), b("m1");
  r.Add(&a);
  const uint64_t id_b = r.Add(&b);
  r.CloseMember("m1", grpc::Status(grpc::StatusCode::UNAVAILABLE, "x"), milliseconds(300));
  r.SetMember(id_b, "m2");  // it moved on its own before its turn
  clock_->RunDue();
  EXPECT_EQ(a.aborts(), 1);
  clock_->Advance(milliseconds(400));
  EXPECT_EQ(b.aborts(), 0);
  EXPECT_EQ(b.moves(), 0);
  EXPECT_EQ(r.CountByMember().at("m2"), 1u);
}

// Shutdown waits for relays whose member call is still ending: they remove themselves last.
TEST_F(StreamRegistryTest, WaitUntilEmptyWaitsForTheLastRemove) {
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
  EXPECT_TRUE(StreamRegistry(clock_).WaitUntilEmpty(milliseconds(0)));
}

}  // namespace
}  // namespace ehp
