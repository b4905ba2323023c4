// A deliberately naive HTTP/2 client that writes frames by hand, for tests that send what no
// well-behaved client would: broken prefaces, oversized header blocks, reset floods, lies in
// gRPC framing. It never decodes HPACK: tests judge responses by frame types and by whether
// the connection stays open.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ehp::testing::h2 {

enum FrameType : uint8_t {
  kData = 0,
  kHeaders = 1,
  kRstStream = 3,
  kSettings = 4,
  kPing = 6,
  kGoAway = 7,
  kWindowUpdate = 8,
  kContinuation = 9,
};
enum Flags : uint8_t { kEndStream = 0x1, kAck = 0x1, kEndHeaders = 0x4 };

using HeaderList = std::vector<std::pair<std::string, std::string>>;

std::string Frame(uint8_t type, uint8_t flags, uint32_t stream, std::string_view payload);
// The client connection preface and an empty SETTINGS frame.
std::string Preface();
std::string Settings(const std::vector<std::pair<uint16_t, uint32_t>>& values);
// HPACK literal fields without indexing or Huffman coding.
std::string HeaderBlock(const HeaderList& headers);
std::string Headers(uint32_t stream, const HeaderList& headers, bool end_stream);
std::string Data(uint32_t stream, std::string_view payload, bool end_stream);
std::string RstStream(uint32_t stream, uint32_t error_code);
std::string GoAway(uint32_t last_stream, uint32_t error_code);
// A PING; the peer acknowledges it once it has parsed every frame sent before it.
std::string Ping(uint64_t opaque);
// The request headers of a gRPC call to `path` (":method POST", "te: trailers", ...).
HeaderList GrpcRequest(const std::string& path);
// A gRPC length-prefixed message; `declared_length` < 0 means the true length.
std::string GrpcMessage(std::string_view payload, bool compressed = false,
                        int64_t declared_length = -1);

// What came back on a connection.
struct Seen {
  bool closed = false;  // EOF or a socket error
  bool goaway = false;
  int settings = 0;            // SETTINGS frames from the peer (not acks)
  int ping_acks = 0;           // acknowledgements of our PINGs
  std::set<uint32_t> reset;    // streams the peer reset
  std::set<uint32_t> headers;  // streams the peer sent HEADERS on
  std::set<uint32_t> ended;    // streams the peer ended (END_STREAM)
  size_t data_bytes = 0;       // DATA payload bytes
  size_t bytes = 0;            // everything read
};

class Connection {
 public:
  // Connects over TCP to host:port; check ok().
  explicit Connection(const std::string& host_port);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  bool ok() const { return fd_ >= 0; }
  // Writes all of `bytes` (draining what the peer sends meanwhile, so neither side blocks);
  // false once the peer closed.
  bool Send(std::string_view bytes);
  // Sends the preface and waits for the peer's SETTINGS (acknowledged), as clients do before
  // their first request; false when the peer closed or did not answer within 5 s.
  bool Handshake();
  // Reads and parses frames until `done(seen)` holds, the peer closes, or `timeout` passes.
  const Seen& ReadUntil(std::chrono::milliseconds timeout,
                        const std::function<bool(const Seen&)>& done = nullptr);
  const Seen& seen() const { return seen_; }
  void Close();

 private:
  void Drain(int timeout_ms);
  void Parse();

  int fd_ = -1;
  std::string in_;  // bytes read but not yet parsed
  Seen seen_;
};

}  // namespace ehp::testing::h2
