// What a Watch stream has asked for and been given, so that the stream can be resumed on another
// member without the client seeing a break: every watcher is created again on the new member,
// with the client's watch id, from the revision after the last one it delivered. The client gets
// no event twice and misses none; the "created" answers to the re-creations are kept from it.
//
// Pure logic over etcd's messages, no I/O: the relay calls Sent() for each request as it is
// written to the member and Received() for each response before it goes to the client.
//
// Revisions: a response that is not a fragment holds whole revisions (etcd cuts batches at
// revision boundaries), so after one the watcher has delivered everything up to its newest
// event. A watcher created from "now" (start_revision 0) has delivered everything up to the
// created answer's header revision; one created from revision S, everything before S. A progress
// notification for one watcher (etcd sends them only for watchers that have caught up) moves it
// to its header revision. The stream-wide answer to RequestProgress (watch id -1) does not: in
// etcd 3.4 it carries the store's revision even while a watcher is still catching up.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <vector>

#include "etcd/etcdserver/etcdserverpb/rpc.pb.h"

namespace ehp {

class WatchTracker {
 public:
  // A request as written to the member.
  void Sent(const etcdserverpb::WatchRequest& request);

  enum class Verdict {
    kForward,  // pass the response on, bytes untouched
    kDrop,     // the answer to a re-creation: the client already had it
    kReplace,  // send `replacement` instead (a re-creation failed: the client's watcher ends)
  };
  Verdict Received(const etcdserverpb::WatchResponse& response,
                   etcdserverpb::WatchResponse* replacement);

  // False while a watcher is between the fragments of one response: its revision is split, so
  // the stream cannot be resumed without repeating or losing events.
  bool CanResume() const;

  // The stream moves to a new member: the requests to send there first, in order (the
  // re-creations, then the client's creations and progress requests that had no answer yet),
  // and responses the client must get now (watchers whose cancellation had no answer: they are
  // cancelled, as the client asked). These requests are accounted for: they must not be passed
  // to Sent().
  struct Resumption {
    std::vector<etcdserverpb::WatchRequest> requests;
    std::vector<etcdserverpb::WatchResponse> to_client;
  };
  Resumption Resume();

  // What a response said about how current the member's watch stream is, for the watch
  // delivery delay: the oldest revision among its live events (written after their watcher was
  // created on this member; a watcher's replay of history is not late), and the store revision
  // a progress notification or a RequestProgress answer reported. 0: nothing of the kind.
  struct Delivery {
    int64_t live_event = 0;
    int64_t progress = 0;
    void Merge(const Delivery& d);
  };
  // Of the last Received() response.
  const Delivery& delivery() const { return delivery_; }

  size_t watchers() const { return watchers_.size(); }
  // The revision a watcher would resume from (for tests and logs); -1 when unknown.
  int64_t resume_revision(int64_t watch_id) const;

 private:
  struct Watcher {
    etcdserverpb::WatchCreateRequest create;  // as the client sent it
    int64_t delivered = 0;                    // every event up to this revision is delivered
    int64_t live_from = 0;     // the member's revision at its creation there: later events are live
    bool in_fragment = false;  // between the fragments of one response
    bool cancelling = false;   // the client asked to cancel it
  };
  // A creation sent and not answered yet: the client's own, or a re-creation.
  struct PendingCreate {
    etcdserverpb::WatchCreateRequest create;
    bool resumed = false;  // a re-creation: its answer is dropped
  };

  std::map<int64_t, Watcher> watchers_;
  std::deque<PendingCreate> pending_creates_;  // etcd answers creations in order
  int pending_progress_ = 0;                   // RequestProgress sent and not answered
  Delivery delivery_;
};

}  // namespace ehp
