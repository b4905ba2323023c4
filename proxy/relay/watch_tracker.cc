#include "proxy/relay/watch_tracker.h"

#include <algorithm>

namespace ehp {

void WatchTracker::Sent(const etcdserverpb::WatchRequest& request) {
  switch (request.request_union_case()) {
    case etcdserverpb::WatchRequest::kCreateRequest:
      pending_creates_.push_back(PendingCreate{request.create_request(), false});
      break;
    case etcdserverpb::WatchRequest::kCancelRequest:
      if (auto it = watchers_.find(request.cancel_request().watch_id()); it != watchers_.end()) {
        it->second.cancelling = true;
      }
      break;
    case etcdserverpb::WatchRequest::kProgressRequest:
      ++pending_progress_;
      break;
    case etcdserverpb::WatchRequest::REQUEST_UNION_NOT_SET:
      break;
  }
}

WatchTracker::Verdict WatchTracker::Received(const etcdserverpb::WatchResponse& response,
                                             etcdserverpb::WatchResponse* replacement) {
  delivery_ = {};
  if (response.created()) {
    if (pending_creates_.empty()) return Verdict::kForward;  // not ours to judge
    const PendingCreate pending = std::move(pending_creates_.front());
    pending_creates_.pop_front();
    if (pending.resumed) {
      if (!response.canceled()) {  // the watcher carries on, live from here on this member
        auto it = watchers_.find(pending.create.watch_id());
        if (it != watchers_.end()) it->second.live_from = response.header().revision();
        return Verdict::kDrop;
      }
      // The new member refused the re-creation: the client's watcher ends, and says why.
      const int64_t id = pending.create.watch_id();
      watchers_.erase(id);
      replacement->Clear();
      *replacement->mutable_header() = response.header();
      replacement->set_watch_id(id);
      replacement->set_canceled(true);
      replacement->set_cancel_reason(
          "etcd-health-proxy: the watch could not be resumed on another member: " +
          response.cancel_reason());
      return Verdict::kReplace;
    }
    if (!response.canceled()) {
      Watcher& w = watchers_[response.watch_id()];
      w = Watcher{};
      w.create = pending.create;
      const int64_t start = pending.create.start_revision();
      w.delivered = start > 0 ? start - 1 : response.header().revision();
      w.live_from = response.header().revision();
    }
    return Verdict::kForward;
  }
  if (response.canceled()) {
    watchers_.erase(response.watch_id());  // cancelled by the client, or compacted
    return Verdict::kForward;
  }
  if (response.watch_id() == -1) {
    if (pending_progress_ > 0) --pending_progress_;  // the answer to a RequestProgress
    // The member's store revision: what it has applied, whichever watcher is behind.
    delivery_.progress = response.header().revision();
    return Verdict::kForward;
  }
  auto it = watchers_.find(response.watch_id());
  if (it == watchers_.end()) return Verdict::kForward;
  Watcher& w = it->second;
  if (response.fragment()) {
    w.in_fragment = true;
    return Verdict::kForward;
  }
  w.in_fragment = false;
  int64_t newest = response.header().revision();  // a progress notification
  if (response.events_size() > 0) {
    newest = 0;
    for (const auto& e : response.events()) {
      const int64_t revision = e.kv().mod_revision();
      newest = std::max(newest, revision);
      if (revision > w.live_from &&
          (delivery_.live_event == 0 || revision < delivery_.live_event)) {
        delivery_.live_event = revision;
      }
    }
  } else {
    delivery_.progress = newest;
  }
  w.delivered = std::max(w.delivered, newest);
  return Verdict::kForward;
}

void WatchTracker::Delivery::Merge(const Delivery& d) {
  if (d.live_event != 0 && (live_event == 0 || d.live_event < live_event)) {
    live_event = d.live_event;
  }
  progress = std::max(progress, d.progress);
}

bool WatchTracker::CanResume() const {
  return std::none_of(watchers_.begin(), watchers_.end(),
                      [](const auto& entry) { return entry.second.in_fragment; });
}

WatchTracker::Resumption WatchTracker::Resume() {
  Resumption r;
  std::deque<PendingCreate> pending;
  for (auto it = watchers_.begin(); it != watchers_.end();) {
    const int64_t id = it->first;
    Watcher& w = it->second;
    if (w.cancelling) {
      etcdserverpb::WatchResponse& cancelled = r.to_client.emplace_back();
      cancelled.set_watch_id(id);
      cancelled.set_canceled(true);
      it = watchers_.erase(it);
      continue;
    }
    etcdserverpb::WatchCreateRequest create = w.create;
    create.set_watch_id(id);
    create.set_start_revision(w.delivered + 1);
    *r.requests.emplace_back().mutable_create_request() = create;
    pending.push_back(PendingCreate{std::move(create), true});
    ++it;
  }
  // The client's creations that had no answer go again, in their order; re-creations that had
  // none were made again above.
  for (PendingCreate& p : pending_creates_) {
    if (p.resumed) continue;
    *r.requests.emplace_back().mutable_create_request() = p.create;
    pending.push_back(std::move(p));
  }
  for (int i = 0; i < pending_progress_; ++i) r.requests.emplace_back().mutable_progress_request();
  pending_creates_ = std::move(pending);
  return r;
}

int64_t WatchTracker::resume_revision(int64_t watch_id) const {
  auto it = watchers_.find(watch_id);
  return it == watchers_.end() ? -1 : it->second.delivered + 1;
}

}  // namespace ehp
