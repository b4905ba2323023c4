#include "chaos/workload/workload.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"

namespace ehp::chaos {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

constexpr int kKeys = 256;  // enough that writes stuck on a bad member never starve the rest
constexpr auto kWriteEvery = milliseconds(10);
constexpr auto kCallDeadline = seconds(10);

std::chrono::system_clock::time_point Deadline(std::chrono::seconds d = kCallDeadline) {
  return std::chrono::system_clock::now() + d;
}

std::string PrefixEnd(std::string prefix) {
  prefix.back() = static_cast<char>(prefix.back() + 1);
  return prefix;
}

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

const char* CodeName(grpc::StatusCode code) {
  static const char* const kNames[] = {"OK",
                                       "CANCELLED",
                                       "UNKNOWN",
                                       "INVALID_ARGUMENT",
                                       "DEADLINE_EXCEEDED",
                                       "NOT_FOUND",
                                       "ALREADY_EXISTS",
                                       "PERMISSION_DENIED",
                                       "RESOURCE_EXHAUSTED",
                                       "FAILED_PRECONDITION",
                                       "ABORTED",
                                       "OUT_OF_RANGE",
                                       "UNIMPLEMENTED",
                                       "INTERNAL",
                                       "UNAVAILABLE",
                                       "DATA_LOSS",
                                       "UNAUTHENTICATED"};
  const int i = static_cast<int>(code);
  return i >= 0 && i < 17 ? kNames[i] : "UNKNOWN_CODE";
}

}  // namespace

// A key's state as the writer knows it.
struct Workload::Key {
  enum { kAbsent, kPresent, kUnknown } state = kUnknown;
  int64_t mod_revision = 0;
  int updates = 0;
  bool busy = false;
  // For the lost-write check: the value of the last acknowledged write (empty: deleted), and
  // whether a write failed after it (its outcome, and so the key's value, is unknown).
  bool acked = false;
  std::string acked_value;
  bool uncertain = false;
};

struct Workload::Shared {
  std::mutex mu;
  Clock::time_point start = Clock::now();
  std::mutex keys_mu;
  std::vector<Key> keys;                          // guarded by keys_mu
  WorkloadStats stats;                            // guarded by mu
  std::vector<int64_t> written;                   // guarded by mu: revisions of successful writes
  std::vector<int64_t> seen;                      // guarded by mu: revisions the watch delivered
  std::map<int64_t, Clock::time_point> acked_at;  // guarded by mu: when each write was answered
  std::map<int64_t, Clock::time_point> seen_at;   // guarded by mu: when the watch delivered it
  Clock::time_point last_write_ok;                // guarded by mu
  grpc::ClientContext* watch_ctx = nullptr;       // guarded by mu
  grpc::ClientContext* keepalive_ctx = nullptr;   // guarded by mu
  int64_t start_revision = 0;
  int64_t lease = 0;
  std::atomic<uint64_t> next{0};

  // Requires mu.
  void RecordLocked(CallKind kind, const grpc::Status& s, Clock::time_point began) {
    const auto now = Clock::now();
    stats.timeline.Record(kind, s.ok(), now - start, now - began);
    if (!s.ok()) {
      stats.timeline.RecordError(std::string(CodeName(s.error_code())) + " " +
                                 s.error_message().substr(0, 80));
    }
  }

  void Error(const std::string& what, const grpc::Status& s) {
    std::lock_guard lock(mu);
    if (stats.errors.size() < 8) {
      stats.errors.push_back(what + ": " + std::to_string(s.error_code()) + " " +
                             s.error_message());
    }
  }
};

std::string WorkloadStats::Summary() const {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "reads %lu ok %lu failed (longest %.0f ms); writes %lu ok %lu failed (max %lu in "
                "flight, longest gap %.0f ms); watch %lu events, %lu missed, %lu duplicates, %lu "
                "out of order, %lu resumed, %lu errors; lease %s (%lu keep-alive restarts)",
                reads_ok, reads_failed, longest_read_ms, writes_ok, writes_failed,
                writes_in_flight_max, longest_write_gap_ms, watch_events, watch_missed,
                watch_duplicates, watch_out_of_order, watch_restarts, watch_errors,
                lease_alive ? "alive" : "EXPIRED", keepalive_restarts);
  std::string out = buf;
  if (keys_checked > 0) {
    out += "; " + std::to_string(keys_checked) + " keys checked, " + std::to_string(lost_writes) +
           " acknowledged writes lost";
  }
  for (const auto& e : errors) out += "\n  " + e;
  return out;
}

Workload::Workload(std::vector<std::shared_ptr<grpc::Channel>> channels, std::string prefix)
    : channels_(std::move(channels)),
      prefix_(std::move(prefix)),
      shared_(std::make_shared<Shared>()) {
  shared_->keys.resize(kKeys);
}

Workload::~Workload() {
  if (writer_.joinable() || !threads_.empty()) Stop();
}

void Workload::Start() {
  auto kv = etcdserverpb::KV::NewStub(channels_[0]);
  grpc::ClientContext ctx;
  ctx.set_deadline(Deadline());
  etcdserverpb::RangeRequest req;
  req.set_key(prefix_);
  etcdserverpb::RangeResponse resp;
  if (kv->Range(&ctx, req, &resp).ok()) shared_->start_revision = resp.header().revision();
  auto lease = etcdserverpb::Lease::NewStub(channels_[0]);
  grpc::ClientContext lctx;
  lctx.set_deadline(Deadline());
  etcdserverpb::LeaseGrantRequest grant;
  grant.set_ttl(5);
  etcdserverpb::LeaseGrantResponse granted;
  if (lease->LeaseGrant(&lctx, grant, &granted).ok()) shared_->lease = granted.id();
  shared_->start = Clock::now();
  shared_->last_write_ok = shared_->start;
  threads_.emplace_back([this] { Watcher(); });
  threads_.emplace_back([this] { Reader(); });
  threads_.emplace_back([this] { Reader(); });
  writer_ = std::thread([this] { Writer(); });
  threads_.emplace_back([this] { LeaseKeeper(); });
}

// Linearizable gets and lists; UNAVAILABLE is retried on the next channel, as clientv3 retries
// immutable calls.
void Workload::Reader() {
  std::vector<std::unique_ptr<etcdserverpb::KV::Stub>> stubs;
  for (const auto& c : channels_) stubs.push_back(etcdserverpb::KV::NewStub(c));
  for (uint64_t i = 0; !stop_ && i < 10'000'000; ++i) {
    etcdserverpb::RangeRequest req;
    req.set_key(prefix_ + std::to_string(i % kKeys));
    if (i % 4 == 0) {
      req.set_key(prefix_);
      req.set_range_end(PrefixEnd(prefix_));
    }
    const auto start = Clock::now();
    grpc::Status s;
    for (int attempt = 0; attempt < 3; ++attempt) {
      grpc::ClientContext ctx;
      ctx.set_deadline(Deadline());
      etcdserverpb::RangeResponse resp;
      s = stubs[shared_->next++ % stubs.size()]->Range(&ctx, req, &resp);
      if (s.error_code() != grpc::StatusCode::UNAVAILABLE) break;
    }
    {
      std::lock_guard lock(shared_->mu);
      (s.ok() ? shared_->stats.reads_ok : shared_->stats.reads_failed)++;
      shared_->RecordLocked(CallKind::kRead, s, start);
      shared_->stats.longest_read_ms =
          std::max(shared_->stats.longest_read_ms, Ms(Clock::now() - start));
    }
    if (!s.ok()) shared_->Error("read", s);
    std::this_thread::sleep_for(milliseconds(5));
  }
}

// Compare-and-swap writes started every kWriteEvery, never waiting for answers (open loop). Each
// key cycles create-if-absent, update-if-mod_revision twice, delete-if-mod_revision; a key with
// a write in flight is skipped; after a failed write its state is unknown and the next write
// deletes it if present.
void Workload::Writer() {
  struct Op {
    grpc::ClientContext ctx;
    etcdserverpb::TxnRequest req;
    etcdserverpb::TxnResponse resp;
    int key;
    Clock::time_point start;
  };
  std::vector<std::unique_ptr<etcdserverpb::KV::Stub>> stubs;
  for (const auto& c : channels_) stubs.push_back(etcdserverpb::KV::NewStub(c));
  auto next_tick = Clock::now();
  for (uint64_t n = 0; !stop_ && n < 1'000'000; ++n) {
    next_tick += kWriteEvery;
    std::this_thread::sleep_until(next_tick);
    auto op = std::make_unique<Op>();
    {
      std::lock_guard lock(shared_->keys_mu);
      int k = static_cast<int>(n % kKeys);
      if (shared_->keys[k].busy) continue;
      Key& key = shared_->keys[k];
      key.busy = true;
      op->key = k;
      const std::string name = prefix_ + std::to_string(k);
      auto* cmp = op->req.add_compare();
      cmp->set_key(name);
      cmp->set_result(etcdserverpb::Compare::EQUAL);
      if (key.state == Key::kAbsent) {
        cmp->set_target(etcdserverpb::Compare::CREATE);
        cmp->set_create_revision(0);
        auto* put = op->req.add_success()->mutable_request_put();
        put->set_key(name);
        put->set_value("v" + std::to_string(n));
      } else if (key.state == Key::kPresent) {
        cmp->set_target(etcdserverpb::Compare::MOD);
        cmp->set_mod_revision(key.mod_revision);
        if (key.updates < 2) {
          auto* put = op->req.add_success()->mutable_request_put();
          put->set_key(name);
          put->set_value("v" + std::to_string(n));
        } else {
          op->req.add_success()->mutable_request_delete_range()->set_key(name);
        }
      } else {
        cmp->set_result(etcdserverpb::Compare::GREATER);
        cmp->set_target(etcdserverpb::Compare::MOD);
        cmp->set_mod_revision(0);
        op->req.add_success()->mutable_request_delete_range()->set_key(name);
      }
    }
    op->ctx.set_deadline(Deadline());
    op->start = Clock::now();
    const uint64_t now_in_flight = ++in_flight_;
    {
      std::lock_guard lock(shared_->mu);
      shared_->stats.writes_in_flight_max =
          std::max(shared_->stats.writes_in_flight_max, now_in_flight);
    }
    Op* raw = op.release();
    stubs[shared_->next++ % stubs.size()]->async()->Txn(
        &raw->ctx, &raw->req, &raw->resp, [this, raw, shared = shared_](grpc::Status s) {
          std::unique_ptr<Op> op(raw);
          {
            std::lock_guard lock(shared->keys_mu);
            Key& key = shared->keys[op->key];
            key.busy = false;
            const bool is_delete =
                op->req.success_size() > 0 && op->req.success(0).has_request_delete_range();
            if (!s.ok()) {
              key.state = Key::kUnknown;
              key.uncertain = true;  // it may or may not have been applied
            } else if (!op->resp.succeeded()) {
              key.state = key.state == Key::kUnknown ? Key::kAbsent : Key::kUnknown;
            } else {
              // The compare held, so the key is now exactly what this write made it.
              key.acked = true;
              key.uncertain = false;
              key.acked_value = is_delete ? "" : op->req.success(0).request_put().value();
              if (is_delete) {
                key.state = Key::kAbsent;
                key.updates = 0;
              } else {
                key.updates = key.state == Key::kPresent ? key.updates + 1 : 0;
                key.state = Key::kPresent;
                key.mod_revision = op->resp.header().revision();
              }
            }
          }
          {
            std::lock_guard lock(shared->mu);
            shared->RecordLocked(CallKind::kWrite, s, op->start);
            if (s.ok()) {
              shared->stats.writes_ok++;
              const auto now = Clock::now();
              shared->stats.longest_write_gap_ms =
                  std::max(shared->stats.longest_write_gap_ms, Ms(now - shared->last_write_ok));
              shared->last_write_ok = now;
              if (op->resp.succeeded()) {
                shared->written.push_back(op->resp.header().revision());
                shared->acked_at[op->resp.header().revision()] = now;
              }
            } else {
              shared->stats.writes_failed++;
            }
          }
          if (!s.ok()) shared->Error("write", s);
          --in_flight_;
        });
  }
  // Let the writes in flight finish (their deadline bounds this).
  for (int i = 0; i < 1200 && in_flight_ > 0; ++i) std::this_thread::sleep_for(milliseconds(10));
}

// A prefix watch with progress notifications and hasleader, as kube-apiserver opens it. A
// stream that ends with an error clientv3 resumes from is re-opened from the last revision + 1.
void Workload::Watcher() {
  int64_t last = shared_->start_revision;
  for (int opened = 0; !stop_ && opened < 10000; ++opened) {
    auto stub = etcdserverpb::Watch::NewStub(channels_[shared_->next++ % channels_.size()]);
    grpc::ClientContext ctx;
    ctx.AddMetadata("hasleader", "true");
    {
      std::lock_guard lock(shared_->mu);
      if (stop_) break;
      shared_->watch_ctx = &ctx;
    }
    auto stream = stub->Watch(&ctx);
    etcdserverpb::WatchRequest req;
    auto* create = req.mutable_create_request();
    create->set_key(prefix_);
    create->set_range_end(PrefixEnd(prefix_));
    create->set_start_revision(last + 1);
    create->set_progress_notify(true);
    stream->Write(req);
    etcdserverpb::WatchResponse resp;
    bool canceled = false;
    while (stream->Read(&resp)) {
      if (resp.canceled()) {
        canceled = true;
        break;
      }
      std::lock_guard lock(shared_->mu);
      for (const auto& ev : resp.events()) {
        const int64_t rev = ev.kv().mod_revision();
        shared_->stats.watch_events++;
        if (rev == last) {
          shared_->stats.watch_duplicates++;
        } else if (rev < last) {
          shared_->stats.watch_out_of_order++;
        } else {
          shared_->seen.push_back(rev);
          shared_->seen_at.emplace(rev, Clock::now());
          last = rev;
        }
      }
    }
    if (canceled) ctx.TryCancel();  // the server ended the watch but not the stream
    const grpc::Status s = canceled ? grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                                   "watch canceled: " + resp.cancel_reason())
                                    : stream->Finish();
    if (canceled) stream->Finish();
    std::unique_lock lock(shared_->mu);
    shared_->watch_ctx = nullptr;
    if (stop_) break;
    // clientv3 gives "no leader" (and anything but UNAVAILABLE/INTERNAL) to the application,
    // which then re-lists: kube-apiserver restarts its watchers.
    const bool resumable = (s.error_code() == grpc::StatusCode::UNAVAILABLE ||
                            s.error_code() == grpc::StatusCode::INTERNAL) &&
                           s.error_message() != "etcdserver: no leader";
    (resumable ? shared_->stats.watch_restarts : shared_->stats.watch_errors)++;
    lock.unlock();
    shared_->Error("watch ended", s);
    // clientv3 backs off before re-opening; so does this client.
    std::this_thread::sleep_for(milliseconds(50));
  }
}

// Keep-alive every second on a stream, re-opened on the next channel when it fails.
void Workload::LeaseKeeper() {
  for (int opened = 0; !stop_ && opened < 10000 && shared_->lease != 0; ++opened) {
    auto stub = etcdserverpb::Lease::NewStub(channels_[shared_->next++ % channels_.size()]);
    grpc::ClientContext ctx;
    {
      std::lock_guard lock(shared_->mu);
      if (stop_) break;
      shared_->keepalive_ctx = &ctx;
    }
    auto stream = stub->LeaseKeepAlive(&ctx);
    etcdserverpb::LeaseKeepAliveRequest req;
    req.set_id(shared_->lease);
    etcdserverpb::LeaseKeepAliveResponse resp;
    while (!stop_ && stream->Write(req) && stream->Read(&resp)) {
      for (int i = 0; i < 10 && !stop_; ++i) std::this_thread::sleep_for(milliseconds(100));
    }
    ctx.TryCancel();
    stream->Finish();
    std::lock_guard lock(shared_->mu);
    shared_->keepalive_ctx = nullptr;
    if (!stop_) shared_->stats.keepalive_restarts++;
  }
}

Workload::Progress Workload::progress() const {
  std::lock_guard lock(shared_->mu);
  const WorkloadStats& s = shared_->stats;
  return {s.reads_ok, s.reads_failed, s.writes_ok, s.writes_failed, s.watch_events};
}

WorkloadStats Workload::Stop() {
  // Stop the load first (the writer returns once its writes in flight are answered), then let
  // the watch catch up with the last successful write.
  stop_ = true;
  if (writer_.joinable()) writer_.join();
  const auto caught_up = [this] {
    std::lock_guard lock(shared_->mu);
    const auto& w = shared_->written;
    const int64_t target = w.empty() ? 0 : *std::max_element(w.begin(), w.end());
    return target == 0 || (!shared_->seen.empty() && shared_->seen.back() >= target);
  };
  for (int i = 0; i < 500 && !caught_up(); ++i) std::this_thread::sleep_for(milliseconds(10));
  {
    std::lock_guard lock(shared_->mu);
    if (shared_->watch_ctx) shared_->watch_ctx->TryCancel();
    if (shared_->keepalive_ctx) shared_->keepalive_ctx->TryCancel();
  }
  for (auto& t : threads_) t.join();
  threads_.clear();

  WorkloadStats stats;
  {
    std::lock_guard lock(shared_->mu);
    stats = shared_->stats;
    std::vector<double> delays;
    for (const auto& [rev, acked] : shared_->acked_at) {
      const auto it = shared_->seen_at.find(rev);
      if (it != shared_->seen_at.end()) delays.push_back(std::max(0.0, Ms(it->second - acked)));
    }
    if (!delays.empty()) {
      std::sort(delays.begin(), delays.end());
      stats.watch_delay_p99_ms = delays[std::min(delays.size() - 1, delays.size() * 99 / 100)];
      stats.watch_delay_max_ms = delays.back();
    }
    const std::set<int64_t> seen(shared_->seen.begin(), shared_->seen.end());
    for (int64_t rev : shared_->written) {
      if (seen.contains(rev)) continue;
      if (stats.watch_missed++ < 3) {
        stats.errors.push_back("watch missed revision " + std::to_string(rev) + " (last seen " +
                               std::to_string(seen.empty() ? 0 : *seen.rbegin()) + ")");
      }
    }
  }
  CheckAcknowledgedWrites(&stats);
  if (shared_->lease != 0) {
    auto lease = etcdserverpb::Lease::NewStub(channels_[0]);
    grpc::ClientContext ctx;
    ctx.set_deadline(Deadline(seconds(5)));
    etcdserverpb::LeaseTimeToLiveRequest req;
    req.set_id(shared_->lease);
    etcdserverpb::LeaseTimeToLiveResponse resp;
    stats.lease_alive = lease->LeaseTimeToLive(&ctx, req, &resp).ok() && resp.ttl() > 0;
    grpc::ClientContext rctx;
    rctx.set_deadline(Deadline(seconds(5)));
    etcdserverpb::LeaseRevokeRequest revoke;
    revoke.set_id(shared_->lease);
    etcdserverpb::LeaseRevokeResponse revoked;
    lease->LeaseRevoke(&rctx, revoke, &revoked);
  }
  return stats;
}

void Workload::CheckAcknowledgedWrites(WorkloadStats* stats) {
  std::vector<Key> keys;
  {
    std::lock_guard lock(shared_->keys_mu);
    keys = shared_->keys;
  }
  // Linearizable reads, retried across the channels: the check must not fail for a transient
  // reason the load itself already counted.
  std::vector<std::unique_ptr<etcdserverpb::KV::Stub>> stubs;
  for (const auto& c : channels_) stubs.push_back(etcdserverpb::KV::NewStub(c));
  for (size_t k = 0; k < keys.size(); ++k) {
    if (!keys[k].acked || keys[k].uncertain) continue;
    etcdserverpb::RangeRequest req;
    req.set_key(prefix_ + std::to_string(k));
    etcdserverpb::RangeResponse resp;
    grpc::Status s;
    for (int attempt = 0; attempt < 6; ++attempt) {
      grpc::ClientContext ctx;
      ctx.set_deadline(Deadline(seconds(5)));
      s = stubs[static_cast<size_t>(attempt) % stubs.size()]->Range(&ctx, req, &resp);
      if (s.ok()) break;
      std::this_thread::sleep_for(milliseconds(200));
    }
    if (!s.ok()) {
      stats->errors.push_back("lost-write check: key " + req.key() +
                              " unreadable: " + s.error_message());
      continue;
    }
    stats->keys_checked++;
    const std::string actual = resp.kvs_size() > 0 ? resp.kvs(0).value() : "";
    if (actual != keys[k].acked_value) {
      if (stats->lost_writes++ < 3) {
        stats->errors.push_back("lost write: " + req.key() + " holds \"" + actual +
                                "\", its last acknowledged write made it \"" + keys[k].acked_value +
                                "\"");
      }
    }
  }
}

}  // namespace ehp::chaos
