// ehp-bench-client: the benchmark's own load, for what h2load cannot measure.
//
//   latency: calls at a fixed rate (open loop: a call is sent at its scheduled time whether or
//            not earlier ones have answered), latency measured from the scheduled time so a
//            stalled target cannot hide its stalls; prints percentiles.
//   watches: opens N watch streams, waits until every one is created, holds them idle for a
//            while (the caller samples the target's memory and CPU then), writes one event and
//            checks that every stream receives it, then cancels them all.
//   count:   a fixed number of calls, closed loop (a bounded number in flight per connection),
//            for throughput and the target's CPU per call where h2load cannot go: h2load has
//            no client certificates, so this is the load of the mutual-TLS runs.
//
// --cacert (with --cert/--key for a client certificate) connects over TLS instead of h2c.
//
// Output is one line of key=value pairs per phase, for bench/compare.sh. Exit status 1 when a
// call or stream failed, 2 on bad usage.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"

namespace {

using Clock = std::chrono::steady_clock;

const char kUsage[] =
    "usage: ehp-bench-client latency --target=HOST:PORT [--workload=range|put] [--rate=2000]\n"
    "                                [--seconds=5] [--connections=4]\n"
    "       ehp-bench-client watches --target=HOST:PORT [--streams=10000] [--connections=10]\n"
    "                                [--hold=10] [--ready-file=FILE]\n"
    "       ehp-bench-client count --target=HOST:PORT [--workload=range|put] [--requests=20000]\n"
    "                                [--connections=4] [--in-flight=16] [--seconds=60]\n"
    "  every mode: [--cacert=FILE [--cert=FILE --key=FILE]] (TLS; without: h2c)\n";

struct Options {
  std::string mode;
  std::string target;
  std::string workload = "range";
  int rate = 2000;
  int seconds = 0;      // per mode default
  int connections = 0;  // per mode default
  int streams = 10000;
  int hold = 10;
  std::string ready_file;
  int requests = 20000;
  int in_flight = 16;  // per connection, count mode
  std::string cacert, cert, key;
};

bool ParseInt(const std::string& v, int lo, int hi, int* out) {
  try {
    size_t used = 0;
    const long n = std::stol(v, &used);
    if (used != v.size() || n < lo || n > hi) return false;
    *out = static_cast<int>(n);
    return true;
  } catch (...) {
    return false;
  }
}

bool Parse(int argc, char** argv, Options* o) {
  if (argc < 2) return false;
  o->mode = argv[1];
  if (o->mode != "latency" && o->mode != "watches" && o->mode != "count") return false;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    const size_t eq = a.find('=');
    if (a.rfind("--", 0) != 0 || eq == std::string::npos) return false;
    const std::string k = a.substr(2, eq - 2), v = a.substr(eq + 1);
    bool ok = true;
    if (k == "target") {
      o->target = v;
    } else if (k == "workload") {
      o->workload = v;
      ok = v == "range" || v == "put";
    } else if (k == "rate") {
      ok = ParseInt(v, 1, 100000, &o->rate);
    } else if (k == "seconds") {
      ok = ParseInt(v, 1, 600, &o->seconds);
    } else if (k == "connections") {
      ok = ParseInt(v, 1, 64, &o->connections);
    } else if (k == "streams") {
      ok = ParseInt(v, 1, 100000, &o->streams);
    } else if (k == "hold") {
      ok = ParseInt(v, 0, 600, &o->hold);
    } else if (k == "ready-file") {
      o->ready_file = v;
    } else if (k == "requests") {
      ok = ParseInt(v, 1, 10'000'000, &o->requests);
    } else if (k == "in-flight") {
      ok = ParseInt(v, 1, 1000, &o->in_flight);
    } else if (k == "cacert") {
      o->cacert = v;
    } else if (k == "cert") {
      o->cert = v;
    } else if (k == "key") {
      o->key = v;
    } else {
      ok = false;
    }
    if (!ok) {
      std::fprintf(stderr, "ehp-bench-client: bad option %s\n", a.c_str());
      return false;
    }
  }
  if (o->cert.empty() != o->key.empty() || (!o->cert.empty() && o->cacert.empty())) return false;
  return !o->target.empty();
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "ehp-bench-client: cannot read %s\n", path.c_str());
    std::exit(2);
  }
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::shared_ptr<grpc::ChannelCredentials> Credentials(const Options& o) {
  if (o.cacert.empty()) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ReadFile(o.cacert);
  if (!o.cert.empty()) {
    ssl.pem_cert_chain = ReadFile(o.cert);
    ssl.pem_private_key = ReadFile(o.key);
  }
  return grpc::SslCredentials(ssl);
}

// Separate connections: a distinct argument keeps gRPC from sharing one subchannel.
std::vector<std::unique_ptr<etcdserverpb::KV::Stub>> KvStubs(
    const std::vector<std::shared_ptr<grpc::Channel>>& channels) {
  std::vector<std::unique_ptr<etcdserverpb::KV::Stub>> stubs;
  for (const auto& c : channels) stubs.push_back(etcdserverpb::KV::NewStub(c));
  return stubs;
}

std::vector<std::shared_ptr<grpc::Channel>> Channels(const Options& o, int n) {
  const std::string& target = o.target;
  const auto credentials = Credentials(o);
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < n; ++i) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("ehp.bench.connection", i);
    args.SetMaxReceiveMessageSize(-1);
    auto channel = grpc::CreateCustomChannel(target, credentials, args);
    if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(5))) {
      std::fprintf(stderr, "ehp-bench-client: cannot connect to %s\n", target.c_str());
      std::exit(1);
    }
    channels.push_back(std::move(channel));
  }
  return channels;
}

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  return sorted[std::min(sorted.size() - 1,
                         static_cast<size_t>(p * static_cast<double>(sorted.size())))];
}

int RunLatency(const Options& o) {
  const auto channels = Channels(o, o.connections > 0 ? o.connections : 4);
  const auto stubs = KvStubs(channels);
  etcdserverpb::RangeRequest range;
  range.set_key("bench-key");
  etcdserverpb::PutRequest put;
  put.set_key("bench-latency-key");
  put.set_value(std::string(256, 'p'));

  const int total = o.rate * o.seconds;
  std::vector<double> latency_us(static_cast<size_t>(total), -1);
  std::atomic<int> done{0}, failed{0};
  std::mutex mu;
  std::condition_variable all_done;
  std::string first_error;

  struct Call {
    grpc::ClientContext ctx;
    etcdserverpb::RangeResponse range;
    etcdserverpb::PutResponse put;
  };
  auto finish = [&](int i, Clock::time_point scheduled, const grpc::Status& s) {
    latency_us[static_cast<size_t>(i)] =
        std::chrono::duration<double, std::micro>(Clock::now() - scheduled).count();
    if (!s.ok()) {
      failed.fetch_add(1);
      std::lock_guard lock(mu);
      if (first_error.empty()) first_error = s.error_message();
    }
    if (done.fetch_add(1) + 1 == total) {
      std::lock_guard lock(mu);
      all_done.notify_all();
    }
  };

  const auto period = std::chrono::nanoseconds(1'000'000'000LL / o.rate);
  const Clock::time_point start = Clock::now() + std::chrono::milliseconds(10);
  for (int i = 0; i < total; ++i) {
    const Clock::time_point scheduled = start + period * i;
    std::this_thread::sleep_until(scheduled);
    auto* call = new Call;
    call->ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    auto* stub = stubs[static_cast<size_t>(i) % stubs.size()].get();
    if (o.workload == "range") {
      stub->async()->Range(&call->ctx, &range, &call->range,
                           [&, call, i, scheduled](grpc::Status s) {
                             finish(i, scheduled, s);
                             delete call;
                           });
    } else {
      stub->async()->Put(&call->ctx, &put, &call->put, [&, call, i, scheduled](grpc::Status s) {
        finish(i, scheduled, s);
        delete call;
      });
    }
  }
  const double send_s = std::chrono::duration<double>(Clock::now() - start).count();
  {
    std::unique_lock lock(mu);
    all_done.wait_for(lock, std::chrono::seconds(15), [&] { return done.load() == total; });
  }
  if (done.load() != total) {
    std::fprintf(stderr, "ehp-bench-client: %d of %d calls never answered\n", total - done.load(),
                 total);
    std::_Exit(1);  // calls still hold references to this frame
  }
  std::vector<double> sorted = latency_us;
  std::sort(sorted.begin(), sorted.end());
  std::printf(
      "sent=%d failed=%d rate=%.0f p50_us=%.0f p90_us=%.0f p99_us=%.0f p999_us=%.0f "
      "max_us=%.0f\n",
      total, failed.load(), total / send_s, Percentile(sorted, 0.50), Percentile(sorted, 0.90),
      Percentile(sorted, 0.99), Percentile(sorted, 0.999), sorted.back());
  if (failed.load() > 0) {
    std::fprintf(stderr, "ehp-bench-client: %d calls failed, first: %s\n", failed.load(),
                 first_error.c_str());
    return 1;
  }
  return 0;
}

// A fixed number of calls, each connection keeping in_flight of them outstanding: a call that
// completes starts the next, until all are sent.
int RunCount(const Options& o) {
  const auto channels = Channels(o, o.connections > 0 ? o.connections : 4);
  const auto stubs = KvStubs(channels);
  etcdserverpb::RangeRequest range;
  range.set_key("bench-key");
  etcdserverpb::PutRequest put;
  put.set_key("bench-count-key");
  put.set_value(std::string(256, 'p'));

  std::atomic<int> next{0}, done{0}, failed{0};
  std::mutex mu;
  std::condition_variable all_done;
  std::string first_error;
  struct Call {
    grpc::ClientContext ctx;
    etcdserverpb::RangeResponse range;
    etcdserverpb::PutResponse put;
  };
  std::function<void(etcdserverpb::KV::Stub*)> start = [&](etcdserverpb::KV::Stub* stub) {
    if (next.fetch_add(1) >= o.requests) return;
    auto* call = new Call;
    call->ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    auto finish = [&, call, stub](grpc::Status s) {
      delete call;
      if (!s.ok()) {
        failed.fetch_add(1);
        std::lock_guard lock(mu);
        if (first_error.empty()) first_error = s.error_message();
      }
      if (done.fetch_add(1) + 1 == o.requests) {
        std::lock_guard lock(mu);
        all_done.notify_all();
      }
      start(stub);
    };
    if (o.workload == "range") {
      stub->async()->Range(&call->ctx, &range, &call->range, std::move(finish));
    } else {
      stub->async()->Put(&call->ctx, &put, &call->put, std::move(finish));
    }
  };
  const Clock::time_point t0 = Clock::now();
  for (const auto& stub : stubs) {
    for (int i = 0; i < o.in_flight; ++i) start(stub.get());
  }
  {
    std::unique_lock lock(mu);
    all_done.wait_for(lock, std::chrono::seconds(o.seconds),
                      [&] { return done.load() == o.requests; });
  }
  if (done.load() != o.requests) {
    std::fprintf(stderr, "ehp-bench-client: %d of %d calls not answered within %d s\n",
                 o.requests - done.load(), o.requests, o.seconds);
    std::_Exit(1);  // calls still hold references to this frame
  }
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  std::printf("requests=%d failed=%d seconds=%.3f req_per_s=%.0f\n", o.requests, failed.load(), s,
              o.requests / s);
  int rc = 0;
  if (failed.load() > 0) {
    std::fprintf(stderr, "ehp-bench-client: %d calls failed, first: %s\n", failed.load(),
                 first_error.c_str());
    rc = 1;
  }
  // The last completions may still be returning through start(): no teardown under them.
  std::fflush(stdout);
  std::_Exit(rc);
}

// One idle watch stream.
class WatchStream final
    : public grpc::ClientBidiReactor<etcdserverpb::WatchRequest, etcdserverpb::WatchResponse> {
 public:
  struct Counters {
    std::atomic<int> created{0}, events{0}, ended{0};
    std::mutex mu;
    std::string first_error;  // guarded by mu: of a stream that ended before it was cancelled
    std::condition_variable changed;
    void Notify() {
      std::lock_guard lock(mu);
      changed.notify_all();
    }
  };

  WatchStream(etcdserverpb::Watch::Stub& stub, const std::string& key, Counters& counters)
      : counters_(counters) {
    request_.mutable_create_request()->set_key(key);
    stub.async()->Watch(&ctx_, this);
    StartWrite(&request_);
    StartRead(&response_);
    StartCall();
  }
  void Cancel() { ctx_.TryCancel(); }

  void OnReadDone(bool ok) override {
    if (!ok) return;
    if (response_.created()) {
      counters_.created.fetch_add(1);
      counters_.Notify();
    }
    if (response_.events_size() > 0) {
      counters_.events.fetch_add(response_.events_size());
      counters_.Notify();
    }
    StartRead(&response_);
  }
  void OnDone(const grpc::Status& status) override {
    if (!status.ok() && status.error_code() != grpc::StatusCode::CANCELLED) {
      std::lock_guard lock(counters_.mu);
      if (counters_.first_error.empty()) {
        counters_.first_error = std::to_string(status.error_code()) + " " + status.error_message();
      }
    }
    counters_.ended.fetch_add(1);
    counters_.Notify();
  }

 private:
  Counters& counters_;
  grpc::ClientContext ctx_;
  etcdserverpb::WatchRequest request_;
  etcdserverpb::WatchResponse response_;
};

int RunWatches(const Options& o) {
  const auto channels = Channels(o, o.connections > 0 ? o.connections : 10);
  std::vector<std::unique_ptr<etcdserverpb::Watch::Stub>> stubs;
  for (const auto& c : channels) stubs.push_back(etcdserverpb::Watch::NewStub(c));
  const std::string key = "bench-watch-key";

  WatchStream::Counters counters;
  std::vector<std::unique_ptr<WatchStream>> streams;
  const Clock::time_point t0 = Clock::now();
  for (int i = 0; i < o.streams; ++i) {
    streams.push_back(std::make_unique<WatchStream>(*stubs[static_cast<size_t>(i) % stubs.size()],
                                                    key, counters));
  }
  auto wait_for = [&](auto pred, std::chrono::seconds limit) {
    std::unique_lock lock(counters.mu);
    return counters.changed.wait_for(lock, limit, pred);
  };
  const bool created =
      wait_for([&] { return counters.created.load() + counters.ended.load() >= o.streams; },
               std::chrono::seconds(60));
  const double open_s = std::chrono::duration<double>(Clock::now() - t0).count();
  std::printf("streams=%d created=%d ended=%d open_s=%.2f\n", o.streams, counters.created.load(),
              counters.ended.load(), open_s);
  {
    std::lock_guard lock(counters.mu);
    if (!counters.first_error.empty()) {
      std::fprintf(stderr, "ehp-bench-client: a stream ended: %s\n", counters.first_error.c_str());
    }
  }
  std::fflush(stdout);
  int rc = created && counters.created.load() == o.streams ? 0 : 1;
  if (rc == 0) {
    if (!o.ready_file.empty()) std::ofstream(o.ready_file) << "ready\n";
    std::this_thread::sleep_for(std::chrono::seconds(o.hold));
    // One write: every stream must still be live and see it.
    auto kv = etcdserverpb::KV::NewStub(channels[0]);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    etcdserverpb::PutRequest put;
    put.set_key(key);
    put.set_value("v");
    etcdserverpb::PutResponse resp;
    const grpc::Status s = kv->Put(&ctx, put, &resp);
    const bool all =
        wait_for([&] { return counters.events.load() >= o.streams; }, std::chrono::seconds(30));
    std::printf("put=%s events=%d ended=%d\n", s.ok() ? "ok" : s.error_message().c_str(),
                counters.events.load(), counters.ended.load());
    if (!s.ok() || !all || counters.ended.load() > 0) rc = 1;
  }
  for (auto& s : streams) s->Cancel();
  if (!wait_for([&] { return counters.ended.load() == o.streams; }, std::chrono::seconds(30))) {
    std::fprintf(stderr, "ehp-bench-client: %d streams did not end\n",
                 o.streams - counters.ended.load());
    std::_Exit(1);
  }
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!Parse(argc, argv, &o)) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  if (o.mode == "count") {
    if (o.seconds == 0) o.seconds = 60;  // bound on the whole run
    return RunCount(o);
  }
  if (o.mode == "latency" && o.seconds == 0) o.seconds = 5;
  return o.mode == "latency" ? RunLatency(o) : RunWatches(o);
}
