// libFuzzer target: the server side of the data path's HTTP/2 connections (ServerConnection on
// nghttp2, with its RST_STREAM filter), on a unix socket pair, driven by an io_context polled
// until idle (no timer ever fires: nothing here waits for time).
//
// Input: what a client sends after its connection preface. The requests are answered the ways
// the relay answers them, by stream id: echoed (response headers, the data back, trailers),
// trailers-only at once with the rest of the request unwanted, answered at the first data
// without consuming it, or reset. Then the proxy shuts the connection down (GOAWAY) and the
// client goes away.
// Checked: no crash and no leak (ASan); no stream event after its close, every stream closed
// once; the connection closed, and gone once the io_context has run the last handler.
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "proxy/h2/grpc_status.h"
#include "proxy/h2/server_connection.h"
#include "proxy/net/transport.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using ehp::H2Stream;
using ehp::HeaderList;

constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

enum class Answer { kEcho, kTrailersOnly, kEarly, kReset };

class Dispatcher;

class Call final : public ehp::StreamHandler {
 public:
  Call(Dispatcher* dispatcher, Answer answer) : dispatcher_(dispatcher), answer_(answer) {}

  void Begin(H2Stream& stream, bool end_stream) {
    switch (answer_) {
      case Answer::kEcho:
        stream.connection().SubmitResponse(
            stream, {{":status", "200"}, {"content-type", "application/grpc"}}, false);
        if (end_stream) Finish(stream);
        break;
      case Answer::kEarly:
        if (end_stream) {
          stream.connection().SubmitResponse(stream, ehp::TrailersOnly(5, "not found"), true);
        }
        break;
      case Answer::kReset:
        if (end_stream) stream.Reset(NGHTTP2_CANCEL);
        break;
      case Answer::kTrailersOnly:
        break;  // not a handler's answer (see Dispatcher)
    }
  }

  void OnHeaders(H2Stream& stream, HeaderList /*headers*/, ehp::HeadersKind kind,
                 bool end_stream) override {
    CHECK(kind == ehp::HeadersKind::kTrailers);
    if (end_stream) Finish(stream);
  }

  void OnData(H2Stream& stream, const uint8_t* data, size_t len) override {
    switch (answer_) {
      case Answer::kEcho:
        stream.Write(std::string_view(reinterpret_cast<const char*>(data), len));
        stream.Consume(len);
        break;
      case Answer::kEarly:
        // An answer before the request is complete; what the client sends is never consumed.
        if (answered_) break;
        answered_ = true;
        stream.connection().SubmitResponse(
            stream, {{":status", "200"}, {"content-type", "application/grpc"}}, false);
        stream.Write(std::string_view(reinterpret_cast<const char*>(data), len));
        stream.EndWithTrailers(ehp::StatusTrailers(8, "message larger than max"));
        stream.ResetAfterEnd();
        break;
      case Answer::kReset:
        stream.Reset(NGHTTP2_CANCEL);
        break;
      case Answer::kTrailersOnly:
        break;
    }
  }

  void OnEnd(H2Stream& stream) override { Finish(stream); }

  void OnSent(H2Stream& /*stream*/, size_t bytes) override { CHECK(bytes > 0); }

  void OnClose(H2Stream& stream, uint32_t error_code) override;

 private:
  void Finish(H2Stream& stream) {
    switch (answer_) {
      case Answer::kEcho:
        stream.EndWithTrailers(ehp::StatusTrailers(0, ""));
        break;
      case Answer::kEarly:
        if (!answered_) {
          answered_ = true;
          stream.connection().SubmitResponse(stream, ehp::TrailersOnly(0, ""), true);
        }
        break;
      case Answer::kReset:
        stream.Reset(NGHTTP2_CANCEL);
        break;
      case Answer::kTrailersOnly:
        break;
    }
  }

  Dispatcher* const dispatcher_;
  const Answer answer_;
  bool answered_ = false;
};

class Dispatcher final : public ehp::RequestDispatcher {
 public:
  void Dispatch(ehp::ServerConnection& /*connection*/, H2Stream& stream, HeaderList /*headers*/,
                bool end_stream) override {
    CHECK(calls_.count(&stream) == 0);
    const auto answer = static_cast<Answer>((static_cast<uint32_t>(stream.id()) >> 1) % 4);
    if (answer == Answer::kTrailersOnly) {
      // As the relay answers a call it refuses: the rest of the request is not wanted, and no
      // handler hears it.
      stream.connection().SubmitResponse(stream, ehp::TrailersOnly(14, "no member: 100%"), true);
      if (!end_stream) stream.ResetAfterEnd();
      return;
    }
    auto call = std::make_unique<Call>(this, answer);
    Call* c = call.get();
    calls_.emplace(&stream, std::move(call));
    stream.set_handler(c);
    c->Begin(stream, end_stream);
  }

  // The stream's handler goes with its stream.
  void Closed(H2Stream* stream) {
    const auto it = calls_.find(stream);
    CHECK(it != calls_.end());
    calls_.erase(it);
  }

  size_t open() const { return calls_.size(); }

 private:
  std::map<H2Stream*, std::unique_ptr<Call>> calls_;
};

void Call::OnClose(H2Stream& stream, uint32_t /*error_code*/) {
  dispatcher_->Closed(&stream);  // destroys this handler
}

// Reads what the server wrote; the number of bytes.
size_t Drain(int fd) {
  static char buf[64 * 1024];
  size_t total = 0;
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return total;
    total += static_cast<size_t>(n);
  }
}

// Runs every handler that is ready, and reads the server's output, until neither happens.
void Pump(boost::asio::io_context& io, int fd) {
  for (int round = 0;; ++round) {
    CHECK(round < 100000);  // the server does not answer forever to a finite input
    io.restart();
    const size_t ran = io.poll();
    const size_t read = fd >= 0 ? Drain(fd) : 0;
    if (ran == 0 && read == 0) return;
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  spdlog::set_level(spdlog::level::off);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) __builtin_trap();
  const int client = fds[0];
  ::fcntl(client, F_SETFL, ::fcntl(client, F_GETFL) | O_NONBLOCK);

  // One io_context for every run (its reactor and timer service cost more than a run): each run
  // leaves nothing in it.
  static boost::asio::io_context io;
  Dispatcher dispatcher;
  ehp::H2Connection::Options options;
  // Small limits, so that inputs reach them: streams at once, flow-control windows, header
  // block size, and the reset budget (none refills within a run).
  options.max_concurrent_streams = 4;
  options.stream_window = 4096;
  options.connection_window = 16384;
  options.max_header_bytes = 2048;
  options.reset_burst = 8;
  options.reset_rate = 1;
  bool closed = false;
  auto connection = std::make_shared<ehp::ServerConnection>(io, options, &dispatcher,
                                                            [&](ehp::ServerConnection*) {
                                                              CHECK(!closed);
                                                              closed = true;
                                                            });
  connection->Start(std::make_unique<ehp::Transport>(io, fds[1], ehp::SslPtr(nullptr, &SSL_free)));

  std::string input(kPreface);
  input.append(reinterpret_cast<const char*>(data), size);
  size_t written = 0;
  while (written < input.size()) {
    const ssize_t n = ::send(client, input.data() + written, input.size() - written, MSG_NOSIGNAL);
    if (n > 0) {
      written += static_cast<size_t>(n);
    } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
      break;  // the server closed the connection
    }
    Pump(io, client);
  }
  // The proxy shuts down, then the client goes away.
  connection->Shutdown();
  Pump(io, client);
  ::close(client);
  Pump(io, -1);

  CHECK(closed && connection->closed());
  CHECK(connection->open_streams() == 0 && dispatcher.open() == 0);
  std::weak_ptr<ehp::ServerConnection> gone = connection;
  connection.reset();
  Pump(io, -1);
  CHECK(gone.expired());
  return 0;
}
