// Hostile and broken clients against the proxy binary: each gets its connection or call closed,
// and in the same test a well-behaved client is still served and the process is still alive
// with bounded memory. Frames are written by hand (tests/support/raw_h2.h) or sent with nghttp,
// a client nobody here wrote, where a decoded gRPC status is needed.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <regex>
#include <thread>

#include "tests/support/cluster_proxy_suite.h"
#include "tests/support/proxy_process.h"
#include "tests/support/raw_h2.h"

namespace ehp::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Memory bounds are checked in the release build only (EHP_MEMORY_TARGETS).
constexpr bool kMemoryTargets = EHP_MEMORY_TARGETS;

// Resident memory of a process, in KiB.
int64_t RssKiB(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

std::string RangeRequestBytes(const std::string& key) {
  etcdserverpb::RangeRequest req;
  req.set_key(key);
  req.set_serializable(true);
  return req.SerializeAsString();
}

class HostileInputTest : public ClusterProxySuite {
 protected:
  static void SetUpTestSuite() {
    // The proxies are the binary: memory is measured per process.
    ASSERT_NO_FATAL_FAILURE(
        StartSuite("ehp-hostile", {.etcd = {.members = 1, .extra_flags = {}}, .proxy = false}));
    // Plaintext on loopback, so frames can be written by hand; the TLS layer is tested below.
    // With a 1 s handshake deadline a loaded machine (ASan, tests in parallel) saw fresh
    // connections closed before the server's SETTINGS for over a second; 2 s still shows that
    // a stalled preface is dropped long before gRPC's two minutes.
    plain_ = new ProxyProcess(*dir_, cluster_->Endpoints(), *certs_,
                              {"--cert-file=", "--key-file=", "--trusted-ca-file=",
                               "--handshake-timeout=2s", "--max-header-bytes=16KiB"});
    tls_ = new ProxyProcess(*dir_, cluster_->Endpoints(), *certs_, {"--handshake-timeout=1s"});
    ASSERT_TRUE(plain_->process().running()) << plain_->log();
    ASSERT_TRUE(tls_->process().running()) << tls_->log();
  }
  static void TearDownTestSuite() {
    delete plain_;
    delete tls_;
    plain_ = tls_ = nullptr;
    StopSuite();
  }

  void TearDown() override {
    // Whatever the case did, both proxies still serve a legitimate client.
    EXPECT_TRUE(plain_->process().running()) << plain_->log();
    EXPECT_TRUE(tls_->process().running()) << tls_->log();
    ExpectServes(MakeChannel(plain_->address(), grpc::InsecureChannelCredentials()));
    ExpectServes(MakeChannel(
        tls_->address(), ClientCredentials(certs_->ca(), certs_->client(), certs_->client_key())));
  }

  static void ExpectServes(std::shared_ptr<grpc::Channel> channel) {
    auto kv = etcdserverpb::KV::NewStub(channel);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + seconds(5));
    etcdserverpb::PutRequest put;
    put.set_key("hostile/alive");
    put.set_value("yes");
    etcdserverpb::PutResponse resp;
    const grpc::Status s = kv->Put(&ctx, put, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
  }

  static void Put(const std::string& key, const std::string& value) {
    auto kv = etcdserverpb::KV::NewStub(cluster_->Channel(0));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + seconds(10));
    etcdserverpb::PutRequest put;
    put.set_key(key);
    put.set_value(value);
    etcdserverpb::PutResponse resp;
    ASSERT_TRUE(kv->Put(&ctx, put, &resp).ok());
  }

  // Sends one request to /etcdserverpb.KV/Range with nghttp and returns the gRPC status code
  // from the response's trailers (or ":status" when there is no grpc-status: -HTTP status;
  // kReset when the stream was reset).
  static constexpr int kReset = -2;
  static int NghttpStatus(const std::string& body, const std::vector<std::string>& headers = {}) {
    const std::string file = *dir_ + "/body.bin";
    WriteFile(file, body);
    std::vector<std::string> argv = {"nghttp", "-v",          "-n",
                                     "-t",     "10",          "-d",
                                     file,     "-H",          "content-type: application/grpc",
                                     "-H",     "te: trailers"};
    for (const auto& h : headers) {
      argv.push_back("-H");
      argv.push_back(h);
    }
    argv.push_back("http://" + plain_->address() + "/etcdserverpb.KV/Range");
    const CommandResult r = RunCommand(argv, "", seconds(20));
    std::smatch m;
    if (std::regex_search(r.output, m, std::regex("grpc-status: (\\d+)"))) return std::stoi(m[1]);
    if (std::regex_search(r.output, m, std::regex(":status: (\\d+)"))) return -std::stoi(m[1]);
    if (r.output.find("recv RST_STREAM") != std::string::npos) return kReset;
    ADD_FAILURE() << "no status in:\n" << r.output;
    return -1;
  }

  static inline ProxyProcess* plain_ = nullptr;
  static inline ProxyProcess* tls_ = nullptr;
};

bool Closed(const h2::Seen& s) { return s.closed; }

// Scenario: HTTP/1.1 and random bytes where the HTTP/2 preface belongs: the connection is closed.
TEST_F(HostileInputTest, GarbagePrefaceClosesTheConnection) {
  {
    h2::Connection c(plain_->address());
    ASSERT_TRUE(c.ok());
    c.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_TRUE(c.ReadUntil(seconds(5), Closed).closed);
  }
  std::string junk;
  for (int i = 0; i < 4096; ++i) junk.push_back(static_cast<char>((i * 7919 + 13) & 0xff));
  h2::Connection c(plain_->address());
  ASSERT_TRUE(c.ok());
  c.Send(junk);
  EXPECT_TRUE(c.ReadUntil(seconds(5), Closed).closed);
}

// Scenario: half a preface, then silence; and a TCP connection to the TLS listener that never
// starts its handshake, and one that sends half a ClientHello: each is dropped after
// --handshake-timeout (1s, 2s on the plaintext listener), not held for gRPC's default two minutes.
TEST_F(HostileInputTest, StalledHandshakesAreDropped) {
  h2::Connection half_preface(plain_->address());
  h2::Connection silent_tls(tls_->address());
  h2::Connection half_hello(tls_->address());
  ASSERT_TRUE(half_preface.ok() && silent_tls.ok() && half_hello.ok());
  half_preface.Send("PRI * HTTP/2.0\r\n");
  half_hello.Send(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(silent_tls.ReadUntil(seconds(10), Closed).closed);
  EXPECT_TRUE(half_hello.ReadUntil(seconds(10), Closed).closed);
  EXPECT_TRUE(half_preface.ReadUntil(seconds(10), Closed).closed);
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(5));
}

// Scenario: a header block of 1 MiB (HEADERS + CONTINUATION, over --max-header-bytes): the
// call is refused, not buffered, and the proxy's memory does not grow by the block's size.
TEST_F(HostileInputTest, HugeHeaderBlockIsRefused) {
  const int64_t rss_before = RssKiB(plain_->process().pid());
  auto c_ptr = std::make_unique<h2::Connection>(plain_->address());
  ASSERT_TRUE(c_ptr->ok());
  for (int attempt = 1; !c_ptr->Handshake(); ++attempt) {
    // Seen on loaded CI machines (ASan, tests in parallel): the proxy closed a fresh connection
    // before its SETTINGS. This test is about the header block: say so, retry a few times.
    std::printf("note: connection %d closed before the server's SETTINGS; reconnecting\n", attempt);
    ASSERT_LT(attempt, 10) << plain_->log();
    std::this_thread::sleep_for(milliseconds(200));
    c_ptr = std::make_unique<h2::Connection>(plain_->address());
    ASSERT_TRUE(c_ptr->ok());
  }
  h2::Connection& c = *c_ptr;
  h2::HeaderList headers = h2::GrpcRequest("/etcdserverpb.KV/Range");
  for (int i = 0; i < 64; ++i)
    headers.emplace_back("x-big-" + std::to_string(i), std::string(16000, 'h'));
  const std::string block = h2::HeaderBlock(headers);
  constexpr size_t kFrame = 16384;
  bool sent = c.Send(h2::Frame(h2::kHeaders, 0, 1, block.substr(0, kFrame)));
  for (size_t at = kFrame; sent && at < block.size(); at += kFrame) {
    const bool last = at + kFrame >= block.size();
    sent = c.Send(
        h2::Frame(h2::kContinuation, last ? h2::kEndHeaders : 0, 1, block.substr(at, kFrame)));
  }
  c.Send(h2::Data(1, h2::GrpcMessage(RangeRequestBytes("hostile/alive")), true));
  const h2::Seen& seen = c.ReadUntil(seconds(5), [](const h2::Seen& s) {
    return s.closed || s.goaway || s.reset.count(1) > 0 || s.ended.count(1) > 0;
  });
  EXPECT_TRUE(seen.closed || seen.goaway || seen.reset.count(1) || seen.ended.count(1));
  EXPECT_EQ(seen.data_bytes, 0u) << "no response message for a refused call";
  if (kMemoryTargets) {
    EXPECT_LT(RssKiB(plain_->process().pid()) - rss_before, 8 * 1024);
  }
}

// Scenario: a client opens a watch and never reads it: 20 MiB of events are written under the
// key. The proxy relays one message at a time per stream and HTTP/2 flow control stops it at
// the client's window, so its memory grows by far less than what was written (etcd holds the
// backlog); other clients are served meanwhile, and the watch is intact when read at last.
TEST_F(HostileInputTest, SlowReaderDoesNotMakeTheProxyBuffer) {
  const int64_t rss_before = RssKiB(plain_->process().pid());
  auto watch = etcdserverpb::Watch::NewStub(
      MakeChannel(plain_->address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + seconds(60));
  auto stream = watch->Watch(&ctx);
  etcdserverpb::WatchRequest create;
  create.mutable_create_request()->set_key("hostile/slow/");
  create.mutable_create_request()->set_range_end("hostile/slow0");
  ASSERT_TRUE(stream->Write(create));
  etcdserverpb::WatchResponse resp;
  ASSERT_TRUE(stream->Read(&resp) && resp.created());
  const std::string value(100 * 1024, 'v');
  for (int i = 0; i < 200; ++i) Put("hostile/slow/" + std::to_string(i % 20), value);
  // Time for the events to reach the proxy: what it then holds is what is measured.
  std::this_thread::sleep_for(seconds(1));
  const int64_t rss_after = RssKiB(plain_->process().pid());
  std::cout << "slow reader: 20 MiB of events, proxy RSS " << rss_before / 1024 << " -> "
            << rss_after / 1024 << " MiB\n";
  if (kMemoryTargets) {
    EXPECT_LT(rss_after - rss_before, 12 * 1024);
  }
  ExpectServes(MakeChannel(plain_->address(), grpc::InsecureChannelCredentials()));
  // Read at last: every event arrives, in order.
  int events = 0;
  while (events < 200 && stream->Read(&resp)) events += resp.events_size();
  ctx.TryCancel();
  const grpc::Status end = stream->Finish();
  EXPECT_EQ(events, 200) << "the watch ended early: " << end.error_message();
}

// Sends `count` complete Range calls on one connection (more when the proxy drops it), each
// reset at once. Paced: a PING after every 100 calls, and the next 100 only once it is
// acknowledged, so the proxy has parsed them; unpaced: as fast as the socket takes them.
// Returns how many were sent.
int ResetFlood(const std::string& address, int count, bool paced) {
  const std::string message = h2::GrpcMessage(RangeRequestBytes("hostile/alive"));
  const h2::HeaderList headers = h2::GrpcRequest("/etcdserverpb.KV/Range");
  int sent = 0;
  int connections = 0;
  int refused = 0;  // connections closed before the server's SETTINGS
  const auto deadline = std::chrono::steady_clock::now() + seconds(60);
  // When the proxy drops the connection, the attacker opens another and goes on. While the
  // proxy sheds the flood (on a loaded machine) it may close new connections before its
  // SETTINGS for a moment: the attacker waits a little and tries again.
  while (sent < count && std::chrono::steady_clock::now() < deadline && connections < 500) {
    h2::Connection c(address);
    ++connections;
    if (!c.Handshake()) {
      ++refused;
      std::this_thread::sleep_for(milliseconds(100));
      continue;
    }
    std::string batch;
    int pings = 0;
    for (uint32_t id = 1; sent < count && std::chrono::steady_clock::now() < deadline; id += 2) {
      batch += h2::Headers(id, headers, false) + h2::Data(id, message, true) + h2::RstStream(id, 8);
      if ((id / 2 + 1) % 100 != 0) continue;
      if (paced) batch += h2::Ping(++pings);
      if (!c.Send(batch)) break;
      sent += 100;
      batch.clear();
      if (paced) {
        if (c.ReadUntil(seconds(10), [&](const h2::Seen& s) {
               return s.ping_acks >= pings;
             }).ping_acks < pings) {
          break;
        }
      }
    }
    c.ReadUntil(milliseconds(500));
  }
  std::cout << "reset flood (" << (paced ? "paced" : "unpaced") << "): " << sent << " calls over "
            << connections << " connection(s), " << refused << " closed before SETTINGS\n";
  return sent;
}

// Waits until the proxy has worked through what it was sent: its RSS has not moved for a
// second (at most 20 s). Returns that RSS.
int64_t SettledRssKiB(pid_t pid) {
  int64_t last = -1;
  int stable = 0;
  Eventually(
      [&] {
        const int64_t now = RssKiB(pid);
        stable = last >= 0 && std::abs(now - last) < 1024 ? stable + 1 : 0;
        last = now;
        return stable >= 4;
      },
      seconds(20), milliseconds(250));
  return last;
}

// Scenario: "rapid reset": 20,000 complete Range calls on one connection, each reset at once
// by the client. The proxy survives, keeps serving others (TearDown) and keeps nothing per
// call. How much memory the flood costs at its peak is decided inside gRPC 1.51, which has no
// rapid-reset mitigation: calls the transport has parsed but the server has not yet matched
// wait in a queue, about 10 KiB each, so the peak depends on how much CPU the proxy gets
// against the attacker (12 MiB with a core to itself, about 200 MiB when starved). That is
// bounded loosely here and printed; what the proxy itself keeps is checked with paced floods.
TEST_F(HostileInputTest, FloodOfResetStreams) {
  constexpr int kCalls = 20000;
  const pid_t pid = plain_->process().pid();
  const int64_t start = RssKiB(pid);
  ASSERT_EQ(ResetFlood(plain_->address(), kCalls, false), kCalls) << plain_->log();
  const int64_t after_unpaced = SettledRssKiB(pid);
  // Then paced floods. Whatever the proxy kept per call would add up on every one of them;
  // the allocator's working set grows in steps (one came with a flood during which the proxy
  // dropped the attacker's connection a few times: +12 MiB, then flat again), so one of the
  // later three adds (almost) nothing.
  int64_t after_paced[4];
  std::string figures;
  for (int64_t& rss : after_paced) {
    ASSERT_EQ(ResetFlood(plain_->address(), kCalls, true), kCalls) << plain_->log();
    rss = SettledRssKiB(pid);
    figures += " " + std::to_string(rss / 1024);
  }
  std::cout << "proxy RSS: " << start / 1024 << " MiB, after the unpaced flood "
            << after_unpaced / 1024 << " MiB, after each paced flood (MiB):" << figures << "\n";
  if (kMemoryTargets) {
    EXPECT_LT(after_unpaced - start, kCalls * 20) << "more than 20 KiB per reset call";
    int64_t least_growth = INT64_MAX;
    for (int i = 1; i < 4; ++i) {
      least_growth = std::min(least_growth, after_paced[i] - after_paced[i - 1]);
    }
    EXPECT_LT(least_growth, 4 * 1024) << "memory kept per reset call; RSS (MiB):" << figures;
  }
}

// Scenario: the client says GOAWAY, then opens streams anyway: they are not served and the
// connection is not left half-alive forever.
TEST_F(HostileInputTest, StreamsAfterGoAwayAreNotServed) {
  h2::Connection c(plain_->address());
  ASSERT_TRUE(c.ok());
  c.Send(h2::Preface() + h2::GoAway(0, 0));
  c.Send(h2::Headers(1, h2::GrpcRequest("/etcdserverpb.KV/Range"), false) +
         h2::Data(1, h2::GrpcMessage(RangeRequestBytes("hostile/alive")), true));
  const h2::Seen& seen =
      c.ReadUntil(seconds(3), [](const h2::Seen& s) { return s.closed || s.ended.count(1) > 0; });
  // gRPC either answers the stream (it ignores a client's GOAWAY) or closes; never hangs it.
  EXPECT_TRUE(seen.closed || seen.ended.count(1) || seen.reset.count(1));
}

// Scenario: gRPC framing that lies or is not allowed: each call fails with a gRPC status and
// nothing reaches etcd as a valid request.
TEST_F(HostileInputTest, BadGrpcFramingFailsTheCall) {
  const std::string range = RangeRequestBytes("hostile/alive");
  // A length prefix longer than the body, then END_STREAM.
  EXPECT_NE(NghttpStatus(h2::GrpcMessage(range.substr(0, 3), false, 1000)), 0);
  // A length prefix shorter than the body (trailing bytes form a broken second message).
  EXPECT_NE(NghttpStatus(h2::GrpcMessage(range, false, 2) + "\x01\x02"), 0);
  // A declared 1 GiB message: refused by max-recv-bytes without waiting for the bytes (gRPC
  // 1.51 reports it as INTERNAL when the stream then ends short; RESOURCE_EXHAUSTED when the
  // whole message arrives, as relay_test checks).
  EXPECT_NE(NghttpStatus(h2::GrpcMessage("xx", false, 1LL << 30)), 0);
  // gzip that is not gzip: gRPC fails the call while decompressing.
  EXPECT_NE(NghttpStatus(h2::GrpcMessage(range, true), {"grpc-encoding: gzip"}), 0);
  // An encoding gRPC 1.51 does not know is taken as identity (it neither refuses it nor hands
  // over the header): the bytes are relayed untouched and the member judges them, so a
  // compressed payload fails there and never becomes a different request.
  EXPECT_NE(NghttpStatus(h2::GrpcMessage(std::string("\x28\xb5\x2f\xfd", 4) + range, true),
                         {"grpc-encoding: zstd"}),
            0);
  // The compressed flag with no grpc-encoding (identity): the frame is relayed untouched and
  // etcd refuses it (INTERNAL), as it does when called direct.
  EXPECT_EQ(NghttpStatus(h2::GrpcMessage(range, true)), 13);
  // A body that is not a protobuf at all is relayed untouched; etcd refuses it.
  EXPECT_NE(NghttpStatus(h2::GrpcMessage(std::string(64, '\xff'))), 0);
  // The well-formed request passes: the checks above are not refusing everything.
  EXPECT_EQ(NghttpStatus(h2::GrpcMessage(range)), 0);
}

}  // namespace
}  // namespace ehp::testing
