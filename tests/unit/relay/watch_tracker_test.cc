#include "proxy/relay/watch_tracker.h"

#include <gtest/gtest.h>

namespace ehp {
namespace {

using etcdserverpb::WatchRequest;
using etcdserverpb::WatchResponse;
using Verdict = WatchTracker::Verdict;

WatchRequest Create(const std::string& key, int64_t start_revision = 0, int64_t watch_id = 0) {
  WatchRequest r;
  auto* c = r.mutable_create_request();
  c->set_key(key);
  c->set_range_end(key + "\xff");
  c->set_start_revision(start_revision);
  c->set_watch_id(watch_id);
  c->set_prev_kv(true);
  return r;
}

WatchRequest Cancel(int64_t watch_id) {
  WatchRequest r;
  r.mutable_cancel_request()->set_watch_id(watch_id);
  return r;
}

WatchResponse Created(int64_t watch_id, int64_t revision, bool canceled = false) {
  WatchResponse r;
  r.mutable_header()->set_revision(revision);
  r.set_watch_id(watch_id);
  r.set_created(true);
  r.set_canceled(canceled);
  return r;
}

WatchResponse Events(int64_t watch_id, std::vector<int64_t> revisions, bool fragment = false) {
  WatchResponse r;
  r.mutable_header()->set_revision(revisions.empty() ? 0 : revisions.back());
  r.set_watch_id(watch_id);
  r.set_fragment(fragment);
  for (int64_t rev : revisions) r.add_events()->mutable_kv()->set_mod_revision(rev);
  return r;
}

WatchResponse Progress(int64_t watch_id, int64_t revision) {
  WatchResponse r;
  r.mutable_header()->set_revision(revision);
  r.set_watch_id(watch_id);
  return r;
}

Verdict Receive(WatchTracker& t, const WatchResponse& r) {
  WatchResponse replacement;
  return t.Received(r, &replacement);
}

TEST(WatchTrackerTest, WatcherFromNowResumesAfterTheCreatedRevisionThenAfterItsEvents) {
  WatchTracker t;
  t.Sent(Create("a"));
  EXPECT_EQ(Receive(t, Created(0, 40)), Verdict::kForward);
  EXPECT_EQ(t.resume_revision(0), 41);
  EXPECT_EQ(Receive(t, Events(0, {41, 41, 43})), Verdict::kForward);
  EXPECT_EQ(t.resume_revision(0), 44);
  // A progress notification for this watcher: nothing up to 50 is left to deliver.
  EXPECT_EQ(Receive(t, Progress(0, 50)), Verdict::kForward);
  EXPECT_EQ(t.resume_revision(0), 51);
  // The stream-wide answer to RequestProgress does not move it (etcd 3.4 sends the store's
  // revision even to a watcher still catching up).
  EXPECT_EQ(Receive(t, Progress(-1, 90)), Verdict::kForward);
  EXPECT_EQ(t.resume_revision(0), 51);
}

TEST(WatchTrackerTest, WatcherFromARevisionHasDeliveredOnlyWhatCameBeforeIt) {
  WatchTracker t;
  t.Sent(Create("a", 7));
  EXPECT_EQ(Receive(t, Created(3, 40)), Verdict::kForward);
  EXPECT_EQ(t.resume_revision(3), 7);
}

TEST(WatchTrackerTest, ResumeRecreatesEveryWatcherWithItsIdFromTheNextRevision) {
  WatchTracker t;
  t.Sent(Create("a"));
  t.Sent(Create("b", 5));
  Receive(t, Created(0, 10));
  Receive(t, Created(1, 10));
  Receive(t, Events(0, {11, 12}));
  Receive(t, Events(1, {5, 6}));
  const WatchTracker::Resumption r = t.Resume();
  ASSERT_EQ(r.requests.size(), 2u);
  EXPECT_TRUE(r.to_client.empty());
  const auto& a = r.requests[0].create_request();
  EXPECT_EQ(a.key(), "a");
  EXPECT_EQ(a.range_end(), "a\xff");
  EXPECT_TRUE(a.prev_kv());  // the client's options carry over
  EXPECT_EQ(a.watch_id(), 0);
  EXPECT_EQ(a.start_revision(), 13);
  const auto& b = r.requests[1].create_request();
  EXPECT_EQ(b.key(), "b");
  EXPECT_EQ(b.watch_id(), 1);
  EXPECT_EQ(b.start_revision(), 7);
  // The new member's answers to the re-creations are not the client's business...
  EXPECT_EQ(Receive(t, Created(0, 20)), Verdict::kDrop);
  EXPECT_EQ(Receive(t, Created(1, 20)), Verdict::kDrop);
  // ...its events are, and the watchers go on from there.
  EXPECT_EQ(Receive(t, Events(0, {13})), Verdict::kForward);
  EXPECT_EQ(t.resume_revision(0), 14);
  EXPECT_EQ(t.watchers(), 2u);
}

TEST(WatchTrackerTest, UnansweredCreationsAndProgressRequestsAreSentAgainAfterTheResumed) {
  WatchTracker t;
  t.Sent(Create("a"));
  Receive(t, Created(0, 10));
  t.Sent(Create("late"));  // no answer before the move
  WatchRequest progress;
  progress.mutable_progress_request();
  t.Sent(progress);
  const WatchTracker::Resumption r = t.Resume();
  ASSERT_EQ(r.requests.size(), 3u);
  EXPECT_EQ(r.requests[0].create_request().key(), "a");
  EXPECT_EQ(r.requests[1].create_request().key(), "late");
  EXPECT_EQ(r.requests[1].create_request().start_revision(), 0);  // as the client sent it
  EXPECT_TRUE(r.requests[2].has_progress_request());
  // The re-creation's answer is dropped, the client's own creation's is forwarded.
  EXPECT_EQ(Receive(t, Created(0, 20)), Verdict::kDrop);
  EXPECT_EQ(Receive(t, Created(1, 20)), Verdict::kForward);
  EXPECT_EQ(t.watchers(), 2u);
}

TEST(WatchTrackerTest, AMoveDuringAMoveRecreatesEachWatcherOnce) {
  WatchTracker t;
  t.Sent(Create("a"));
  Receive(t, Created(0, 10));
  t.Resume();  // no answer from the second member before it too goes
  const WatchTracker::Resumption r = t.Resume();
  ASSERT_EQ(r.requests.size(), 1u);
  EXPECT_EQ(r.requests[0].create_request().start_revision(), 11);
  EXPECT_EQ(Receive(t, Created(0, 30)), Verdict::kDrop);
  // A second "created" would be the client's business: nothing is pending any more.
  EXPECT_EQ(Receive(t, Created(5, 30)), Verdict::kForward);
}

TEST(WatchTrackerTest, ACancellationWithoutAnswerIsAnsweredByTheProxyNotRecreated) {
  WatchTracker t;
  t.Sent(Create("a"));
  Receive(t, Created(0, 10));
  t.Sent(Cancel(0));
  const WatchTracker::Resumption r = t.Resume();
  EXPECT_TRUE(r.requests.empty());
  ASSERT_EQ(r.to_client.size(), 1u);
  EXPECT_EQ(r.to_client[0].watch_id(), 0);
  EXPECT_TRUE(r.to_client[0].canceled());
  EXPECT_EQ(t.watchers(), 0u);
}

TEST(WatchTrackerTest, ARefusedRecreationEndsTheClientsWatcherWithTheReason) {
  WatchTracker t;
  t.Sent(Create("a"));
  Receive(t, Created(4, 10));
  t.Resume();
  WatchResponse refused = Created(-1, 20, true);
  refused.set_cancel_reason("etcdserver: permission denied");
  WatchResponse replacement;
  EXPECT_EQ(t.Received(refused, &replacement), Verdict::kReplace);
  EXPECT_EQ(replacement.watch_id(), 4);
  EXPECT_TRUE(replacement.canceled());
  EXPECT_FALSE(replacement.created());
  EXPECT_NE(replacement.cancel_reason().find("permission denied"), std::string::npos);
  EXPECT_EQ(t.watchers(), 0u);
}

TEST(WatchTrackerTest, CancelledOrCompactedWatchersAreForgotten) {
  WatchTracker t;
  t.Sent(Create("a"));
  t.Sent(Create("b"));
  Receive(t, Created(0, 10));
  Receive(t, Created(1, 10));
  WatchResponse compacted = Progress(1, 30);
  compacted.set_canceled(true);
  compacted.set_compact_revision(25);
  EXPECT_EQ(Receive(t, compacted), Verdict::kForward);
  EXPECT_EQ(t.watchers(), 1u);
  EXPECT_EQ(t.resume_revision(1), -1);
  EXPECT_EQ(t.Resume().requests.size(), 1u);
}

TEST(WatchTrackerTest, NoResumeBetweenTheFragmentsOfOneResponse) {
  WatchTracker t;
  WatchRequest create = Create("a");
  create.mutable_create_request()->set_fragment(true);
  t.Sent(create);
  Receive(t, Created(0, 10));
  Receive(t, Events(0, {11, 12}, /*fragment=*/true));
  EXPECT_FALSE(t.CanResume());
  EXPECT_EQ(t.resume_revision(0), 11);  // revision 12 may go on in the next fragment
  Receive(t, Events(0, {12, 13}));
  EXPECT_TRUE(t.CanResume());
  EXPECT_EQ(t.resume_revision(0), 14);
}

// Scenario: a watcher created from revision 5 on a member at revision 10 replays 5-10 (history,
// never late), then gets live events; the oldest live revision of a response is reported, and
// a progress notification reports the revision the member has reached.
TEST(WatchTrackerTest, DeliveryReportsLiveEventsAndProgressNotHistory) {
  WatchTracker t;
  t.Sent(Create("a", 5));
  Receive(t, Created(0, 10));
  EXPECT_EQ(t.delivery().live_event, 0);
  Receive(t, Events(0, {5, 7, 10}));
  EXPECT_EQ(t.delivery().live_event, 0);  // history
  EXPECT_EQ(t.delivery().progress, 0);
  Receive(t, Events(0, {10, 11, 12}));
  EXPECT_EQ(t.delivery().live_event, 11);  // the oldest live one waited longest
  Receive(t, Progress(0, 15));
  EXPECT_EQ(t.delivery().live_event, 0);
  EXPECT_EQ(t.delivery().progress, 15);
  Receive(t, Progress(-1, 16));  // the answer to a RequestProgress: the member's revision
  EXPECT_EQ(t.delivery().progress, 16);
  Receive(t, Events(0, {17}, true));  // a fragment: its revision is split, nothing reported
  EXPECT_EQ(t.delivery().live_event, 0);
}

// Scenario: after a move, what the new member replays from the resume revision up to its
// revision at the re-creation is catching up, not late delivery; later events are live.
TEST(WatchTrackerTest, AfterAResumeLiveEventsStartAtTheNewMembersRevision) {
  WatchTracker t;
  t.Sent(Create("a"));
  Receive(t, Created(0, 10));
  Receive(t, Events(0, {11}));
  EXPECT_EQ(t.delivery().live_event, 11);
  t.Resume();
  EXPECT_EQ(Receive(t, Created(0, 20)), Verdict::kDrop);
  Receive(t, Events(0, {12, 20}));
  EXPECT_EQ(t.delivery().live_event, 0);
  Receive(t, Events(0, {21}));
  EXPECT_EQ(t.delivery().live_event, 21);
}

TEST(WatchTrackerTest, DeliveriesMerge) {
  WatchTracker::Delivery d;
  d.Merge({.live_event = 30, .progress = 0});
  d.Merge({.live_event = 25, .progress = 40});
  d.Merge({.live_event = 0, .progress = 35});
  EXPECT_EQ(d.live_event, 25);
  EXPECT_EQ(d.progress, 40);
}

}  // namespace
}  // namespace ehp
