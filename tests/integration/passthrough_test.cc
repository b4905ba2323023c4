// Exact pass-through of what etcd itself never varies: request metadata, response initial and
// trailing metadata, binary status details, deadlines and cancellation. The member here is a
// scripted gRPC server that echoes what it received, so each property can be asserted; the
// rest of the suite runs against real etcd.
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <vector>

#include "etcd/etcdserver/etcdserverpb/rpc.pb.h"
#include "proxy/config/config_loader.h"
#include "proxy/server/proxy_server.h"
#include "tests/support/eventually.h"
#include "tests/support/proxy_fixture.h"

namespace ehp {
namespace {

using ehp::testing::Eventually;
using std::chrono::milliseconds;
using std::chrono::seconds;

std::string Str(const grpc::string_ref& s) { return std::string(s.data(), s.size()); }

// Answers the proxy's health probes as a healthy one-member etcd would, so the member is used.
// Unary "/test.Echo/Unary": echoes request metadata back as "echo-<key>" initial metadata, adds
// trailers, reports the deadline it saw, and fails with the code and message the request asks
// for, with binary details. Streaming "/test.Echo/Stream": never answers; records cancellation.
class EchoBackend final : public grpc::CallbackGenericService {
 public:
  std::atomic<int> streams{0};  // "/test.Echo/Stream" calls that reached it
  std::atomic<int> cancelled{0};
  std::mutex mu;
  std::string range_stream_request;    // guarded by mu
  std::string range_stream_hasleader;  // guarded by mu

  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* ctx) override {
    if (ctx->method() == "/test.Echo/Stream") return new Hang(this);
    if (ctx->method() == "/etcdserverpb.KV/RangeStream") return new Chunks(ctx, this);
    return new Unary(ctx);
  }

 private:
  class Unary final : public grpc::ServerGenericBidiReactor {
   public:
    explicit Unary(grpc::GenericCallbackServerContext* ctx) : ctx_(ctx) { StartRead(&req_); }
    void OnReadDone(bool) override {
      if (ctx_->method() == "/etcdserverpb.Maintenance/Status" ||
          ctx_->method() == "/etcdserverpb.KV/Range") {
        etcdserverpb::StatusResponse status;
        status.mutable_header()->set_cluster_id(1);
        status.mutable_header()->set_member_id(1);
        status.set_leader(1);
        status.set_raftterm(1);
        const std::string bytes = ctx_->method() == "/etcdserverpb.KV/Range"
                                      ? etcdserverpb::RangeResponse().SerializeAsString()
                                      : status.SerializeAsString();
        grpc::Slice slice(bytes);
        resp_ = grpc::ByteBuffer(&slice, 1);
        StartWriteAndFinish(&resp_, grpc::WriteOptions(), grpc::Status::OK);
        return;
      }
      std::string code = "0";
      for (const auto& [k, v] : ctx_->client_metadata()) {
        ctx_->AddInitialMetadata("echo-" + Str(k), Str(v));
        if (Str(k) == "want-code") code = Str(v);
      }
      const auto left = std::chrono::duration_cast<milliseconds>(ctx_->deadline() -
                                                                 std::chrono::system_clock::now());
      ctx_->AddTrailingMetadata("deadline-left-ms", std::to_string(left.count()));
      ctx_->AddTrailingMetadata("trailer-bin", std::string("\x00\x01\xff", 3));
      if (code == "0") {
        StartWriteAndFinish(&req_, grpc::WriteOptions(), grpc::Status::OK);
      } else {
        Finish(grpc::Status(static_cast<grpc::StatusCode>(std::stoi(code)), "scripted failure",
                            std::string("\x08\x2a\x00"
                                        "details",
                                        10)));
      }
    }
    void OnDone() override { delete this; }

   private:
    grpc::GenericCallbackServerContext* ctx_;
    grpc::ByteBuffer req_;
    grpc::ByteBuffer resp_;
  };

  // A member with etcd 3.7's KV.RangeStream: three chunks for one request, then OK. Records
  // the request and the hasleader metadata it came with.
  class Chunks final : public grpc::ServerGenericBidiReactor {
   public:
    Chunks(grpc::GenericCallbackServerContext* ctx, EchoBackend* b) : ctx_(ctx), backend_(b) {
      StartRead(&req_);
    }
    void OnReadDone(bool ok) override {
      if (!ok) {
        Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no request"));
        return;
      }
      std::vector<grpc::Slice> slices;
      (void)req_.Dump(&slices);
      std::string request;
      for (auto& s : slices) request.append(reinterpret_cast<const char*>(s.begin()), s.size());
      std::lock_guard lock(backend_->mu);
      backend_->range_stream_request = request;
      for (const auto& [k, v] : ctx_->client_metadata()) {
        if (Str(k) == "hasleader") backend_->range_stream_hasleader = Str(v);
      }
      Next();
    }
    void OnWriteDone(bool ok) override {
      if (ok) Next();
    }
    void OnDone() override { delete this; }

   private:
    void Next() {
      if (sent_ == 3) {
        Finish(grpc::Status::OK);
        return;
      }
      etcdserverpb::RangeResponse chunk;  // stands in for RangeStreamResponse: bytes are bytes
      chunk.add_kvs()->set_key("chunk-" + std::to_string(sent_++));
      const std::string bytes = chunk.SerializeAsString();
      grpc::Slice slice(bytes);
      resp_ = grpc::ByteBuffer(&slice, 1);
      StartWrite(&resp_);
    }
    grpc::GenericCallbackServerContext* ctx_;
    EchoBackend* backend_;
    grpc::ByteBuffer req_, resp_;
    int sent_ = 0;
  };

  class Hang final : public grpc::ServerGenericBidiReactor {
   public:
    explicit Hang(EchoBackend* b) : backend_(b) {
      backend_->streams++;
      StartRead(&buf_);
    }
    void OnReadDone(bool ok) override {
      if (ok) StartRead(&buf_);
    }
    void OnCancel() override {
      backend_->cancelled++;
      Finish(grpc::Status::CANCELLED);
    }
    void OnDone() override { delete this; }

   private:
    EchoBackend* backend_;
    grpc::ByteBuffer buf_;
  };
};

// A client stream to "/test.Echo/Stream", started at once, that sends nothing; `done` is how
// it ended.
class EchoStream : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  EchoStream(grpc::GenericStub& stub, grpc::ClientContext* ctx) {
    stub.PrepareBidiStreamingCall(ctx, "/test.Echo/Stream", grpc::StubOptions(), this);
    StartCall();
  }
  void OnDone(const grpc::Status& s) override { done.set_value(s); }
  std::promise<grpc::Status> done;
};

class PassthroughTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &backend_port_);
    builder.RegisterCallbackGenericService(&backend_);
    backend_server_ = builder.BuildAndStart();
    ASSERT_NE(backend_port_, 0);
    std::vector<std::string> args = {
        "--endpoints=http://127.0.0.1:" + std::to_string(backend_port_),
        "--listen-addr=127.0.0.1:0", "--metrics-addr=127.0.0.1:0"};
    LoadResult r = LoadConfig(args);
    ASSERT_TRUE(r.ok());
    proxy_ = std::make_unique<ProxyServer>(r.config);
    std::string error;
    ASSERT_TRUE(proxy_->Start(&error)) << error;
    stub_ = std::make_unique<grpc::GenericStub>(
        grpc::CreateChannel(proxy_->Address(), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    proxy_.reset();
    backend_server_->Shutdown();
  }

  grpc::Status Call(grpc::ClientContext* ctx, std::string* reply = nullptr) {
    grpc::Slice slice("payload-\x01\x02");
    grpc::ByteBuffer req(&slice, 1), resp;
    std::promise<grpc::Status> done;
    stub_->UnaryCall(ctx, "/test.Echo/Unary", grpc::StubOptions(), &req, &resp,
                     [&](grpc::Status s) { done.set_value(s); });
    grpc::Status s = done.get_future().get();
    if (reply != nullptr && s.ok()) {
      std::vector<grpc::Slice> slices;
      (void)resp.Dump(&slices);
      for (auto& sl : slices) reply->append(reinterpret_cast<const char*>(sl.begin()), sl.size());
    }
    return s;
  }

  EchoBackend backend_;
  int backend_port_ = 0;
  std::unique_ptr<grpc::Server> backend_server_;
  std::unique_ptr<ProxyServer> proxy_;
  std::unique_ptr<grpc::GenericStub> stub_;
};

// Scenario: request metadata (auth token, hasleader, custom and binary keys) reaches the member;
// its initial and trailing metadata and the message bytes come back unchanged.
TEST_F(PassthroughTest, MetadataBothWays) {
  grpc::ClientContext ctx;
  ctx.AddMetadata("token", "secret.42");
  ctx.AddMetadata("hasleader", "true");
  ctx.AddMetadata("client-api-version", "3.4");
  ctx.AddMetadata("custom-bin", std::string("\x00\xfe", 2));
  std::string reply;
  ASSERT_TRUE(Call(&ctx, &reply).ok());
  EXPECT_EQ(reply, "payload-\x01\x02");
  std::map<std::string, std::string> initial;
  for (const auto& [k, v] : ctx.GetServerInitialMetadata()) initial[Str(k)] = Str(v);
  EXPECT_EQ(initial["echo-token"], "secret.42");
  EXPECT_EQ(initial["echo-hasleader"], "true");
  EXPECT_EQ(initial["echo-client-api-version"], "3.4");
  EXPECT_EQ(initial["echo-custom-bin"], std::string("\x00\xfe", 2));
  std::map<std::string, std::string> trailing;
  for (const auto& [k, v] : ctx.GetServerTrailingMetadata()) trailing[Str(k)] = Str(v);
  EXPECT_EQ(trailing["trailer-bin"], std::string("\x00\x01\xff", 3));
}

// Scenario: a failing member's code, message and binary details arrive exactly.
TEST_F(PassthroughTest, StatusWithDetails) {
  grpc::ClientContext ctx;
  ctx.AddMetadata("want-code", "9");  // FAILED_PRECONDITION
  const grpc::Status s = Call(&ctx);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(s.error_message(), "scripted failure");
  EXPECT_EQ(s.error_details(), std::string("\x08\x2a\x00"
                                           "details",
                                           10));
}

// Scenario: the client's deadline reaches the member.
TEST_F(PassthroughTest, DeadlinePropagates) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + seconds(7));
  ASSERT_TRUE(Call(&ctx).ok());
  std::string left;
  for (const auto& [k, v] : ctx.GetServerTrailingMetadata()) {
    if (Str(k) == "deadline-left-ms") left = Str(v);
  }
  ASSERT_FALSE(left.empty());
  EXPECT_GT(std::stoi(left), 5000);
  EXPECT_LE(std::stoi(left), 7100);  // grpc-timeout rounds up
}

// Scenario: cancelling a stream at the client, or letting its deadline pass, cancels it at the
// member; the proxy keeps no stream open.
TEST_F(PassthroughTest, CancellationAndDeadlineEndStreamsAtTheMember) {
  {
    grpc::ClientContext ctx;
    EchoStream reader(*stub_, &ctx);
    // Cancelled once the member has the stream: its cancellation is what is checked.
    Eventually([&] { return backend_.streams == 1 && proxy_->open_streams() == 1u; },
               milliseconds(200));
    EXPECT_EQ(proxy_->open_streams(), 1u);
    ctx.TryCancel();
    EXPECT_EQ(reader.done.get_future().get().error_code(), grpc::StatusCode::CANCELLED);
  }
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + milliseconds(300));
    EchoStream reader(*stub_, &ctx);
    EXPECT_EQ(reader.done.get_future().get().error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  }
  Eventually([&] { return backend_.cancelled >= 2 && proxy_->open_streams() == 0; }, seconds(2),
             milliseconds(20));
  EXPECT_EQ(backend_.cancelled.load(), 2);
  EXPECT_EQ(proxy_->open_streams(), 0u);
}

// Scenario: shutdown ends open streams with UNAVAILABLE (so clients reconnect elsewhere) and
// refuses new calls.
TEST_F(PassthroughTest, ShutdownEndsStreamsWithUnavailable) {
  grpc::ClientContext ctx;
  EchoStream reader(*stub_, &ctx);
  Eventually([&] { return proxy_->open_streams() != 0; }, seconds(1), milliseconds(10));
  ASSERT_EQ(proxy_->open_streams(), 1u);
  const auto start = std::chrono::steady_clock::now();
  proxy_->Shutdown();
  const grpc::Status s = reader.done.get_future().get();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(s.error_message(), "etcd-health-proxy is shutting down");
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(2));
}

// Scenario: a member that has etcd 3.7's KV.RangeStream: the request reaches it whole, with
// hasleader (a read), and every chunk and the final status come back.
TEST_F(PassthroughTest, RangeStreamChunksPassThrough) {
  class Reader : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
   public:
    void OnWriteDone(bool) override { StartWritesDone(); }
    void OnReadDone(bool ok) override {
      if (!ok) return;
      std::vector<grpc::Slice> slices;
      (void)in.Dump(&slices);
      std::string bytes;
      for (auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
      etcdserverpb::RangeResponse chunk;
      if (chunk.ParseFromString(bytes) && chunk.kvs_size() == 1) keys.push_back(chunk.kvs(0).key());
      StartRead(&in);
    }
    void OnDone(const grpc::Status& s) override { done.set_value(s); }
    grpc::ByteBuffer out, in;
    std::vector<std::string> keys;
    std::promise<grpc::Status> done;
  };
  etcdserverpb::RangeRequest req;
  req.set_key("k8s/pods/");
  req.set_range_end("k8s/pods0");
  const std::string bytes = req.SerializeAsString();
  grpc::Slice slice(bytes);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + seconds(10));
  Reader reader;
  reader.out = grpc::ByteBuffer(&slice, 1);
  stub_->PrepareBidiStreamingCall(&ctx, "/etcdserverpb.KV/RangeStream", grpc::StubOptions(),
                                  &reader);
  reader.StartWrite(&reader.out);
  reader.StartRead(&reader.in);
  reader.StartCall();
  const grpc::Status s = reader.done.get_future().get();
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(reader.keys, (std::vector<std::string>{"chunk-0", "chunk-1", "chunk-2"}));
  std::lock_guard lock(backend_.mu);
  EXPECT_EQ(backend_.range_stream_request, bytes);
  EXPECT_EQ(backend_.range_stream_hasleader, "true");
}

}  // namespace
}  // namespace ehp
