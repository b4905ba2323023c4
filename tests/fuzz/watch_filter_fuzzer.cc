// libFuzzer target: one Watch stream through WatchFilter (and the WatchTracker behind it), as a
// script of what happens to the stream: bytes from the client, bytes from the member, and moves
// to another member (Resume, when CanResume allows it, as the relay does).
//
// Input: one byte for the message size limit, then operations: 0 client bytes, 1 member bytes
// (each followed by a 2-byte big-endian length and the bytes), 2 move.
// Checked: the client's messages reach the member whole and unchanged; until the first move
// every member message reaches the client unchanged, and after it each is passed unchanged,
// dropped (an answer to a re-creation) or replaced by a cancellation; what a move sends either
// way is whole messages of the right type; pending() is what an incomplete message holds, less
// than the limit and a prefix in each direction.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "etcd/etcdserver/etcdserverpb/rpc.pb.h"
#include "proxy/datapath/watch_filter.h"
#include "proxy/h2/grpc_framing.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/quiet_protobuf.h"

namespace {

using ehp::kGrpcPrefixSize;

struct Message {
  bool compressed;
  std::string payload;
};

std::string Framed(const Message& m) {
  return ehp::GrpcPrefix(m.compressed, static_cast<uint32_t>(m.payload.size())) + m.payload;
}

// One direction of the stream, cut into messages by a plain reading of the framing.
class Messages {
 public:
  explicit Messages(size_t max) : max_(max) {}

  // False once a message is larger than the limit.
  bool Feed(std::string_view bytes, std::vector<Message>* out) {
    buf_.append(bytes);
    size_t p = 0;
    while (buf_.size() - p >= kGrpcPrefixSize) {
      const auto* h = reinterpret_cast<const uint8_t*>(buf_.data() + p);
      const uint32_t length =
          (uint32_t{h[1]} << 24) | (uint32_t{h[2]} << 16) | (uint32_t{h[3]} << 8) | h[4];
      if (length > max_) {
        buf_.clear();
        return false;
      }
      if (buf_.size() - p - kGrpcPrefixSize < length) break;
      out->push_back({h[0] != 0, buf_.substr(p + kGrpcPrefixSize, length)});
      p += kGrpcPrefixSize + length;
    }
    buf_.erase(0, p);
    return true;
  }
  void Reset() { buf_.clear(); }
  size_t held() const { return buf_.size(); }

 private:
  const size_t max_;
  std::string buf_;
};

// `bytes` as whole uncompressed messages, each parsing as T.
template <typename T>
std::vector<T> Parsed(const std::string& bytes) {
  Messages cut(UINT32_MAX);
  std::vector<Message> messages;
  cut.Feed(bytes, &messages);
  CHECK(cut.held() == 0);
  std::vector<T> out;
  for (const Message& m : messages) {
    CHECK(!m.compressed);
    CHECK(out.emplace_back().ParseFromString(m.payload));
  }
  return out;
}

// `out` is `in`, each message passed unchanged, dropped only when it is the answer to a creation
// that was not cancelled, and replaced only by a cancellation when it is one that was.
void CheckAfterMove(const std::vector<Message>& in, const std::string& out) {
  size_t pos = 0;
  for (const Message& m : in) {
    const std::string framed = Framed(m);
    if (out.compare(pos, framed.size(), framed) == 0) {
      pos += framed.size();
      continue;
    }
    etcdserverpb::WatchResponse response;
    CHECK(!m.compressed && response.ParseFromString(m.payload) && response.created());
    if (!response.canceled()) continue;  // dropped: the client had this answer already
    // Replaced: the next message out is a cancellation instead.
    CHECK(out.size() - pos >= kGrpcPrefixSize);
    const auto* h = reinterpret_cast<const uint8_t*>(out.data() + pos);
    const size_t length =
        (size_t{h[1]} << 24) | (size_t{h[2]} << 16) | (size_t{h[3]} << 8) | size_t{h[4]};
    CHECK(h[0] == 0 && out.size() - pos - kGrpcPrefixSize >= length);
    etcdserverpb::WatchResponse replacement;
    CHECK(replacement.ParseFromArray(out.data() + pos + kGrpcPrefixSize, static_cast<int>(length)));
    CHECK(replacement.canceled() && !replacement.created());
    pos += kGrpcPrefixSize + length;
  }
  CHECK(pos == out.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const size_t max_message = size_t{16} << (data[0] % 10);  // 16 bytes to 8 KiB
  ehp::WatchFilter filter(max_message);
  Messages client(max_message);
  Messages member(max_message);
  bool moved = false;
  size_t i = 1;
  while (i < size) {
    const uint8_t op = data[i++] % 3;
    if (op == 2) {
      if (!filter.CanResume()) continue;
      std::string to_client;
      const std::string requests = filter.Resume(&to_client);
      member.Reset();  // a message the old member cut off half-way is dropped
      moved = true;
      for (const auto& r : Parsed<etcdserverpb::WatchRequest>(requests)) {
        CHECK(r.has_create_request() || r.has_progress_request());
      }
      for (const auto& r : Parsed<etcdserverpb::WatchResponse>(to_client)) CHECK(r.canceled());
    } else {
      size_t n = 0;
      if (i + 2 <= size) n = (size_t{data[i]} << 8) | data[i + 1];
      i = std::min(i + 2, size);
      n = std::min(n, size - i);
      const std::string_view bytes(reinterpret_cast<const char*>(data + i), n);
      i += n;
      std::vector<Message> expected;
      std::string out;
      if (op == 0) {
        const bool ok = client.Feed(bytes, &expected);
        CHECK(filter.FromClient(data + i - n, n, &out) == ok);
        // Requests pass whole and unchanged.
        std::string framed;
        for (const Message& m : expected) framed += Framed(m);
        CHECK(out == framed);
        if (!ok) return 0;  // the relay fails the stream
      } else {
        const bool ok = member.Feed(bytes, &expected);
        CHECK(filter.FromMember(data + i - n, n, &out) == ok);
        if (moved) {
          CheckAfterMove(expected, out);
        } else {
          std::string framed;
          for (const Message& m : expected) framed += Framed(m);
          CHECK(out == framed);
        }
        if (!ok) return 0;
      }
    }
    CHECK(filter.pending() == client.held() + member.held());
    CHECK(filter.pending() < 2 * (max_message + kGrpcPrefixSize));
  }
  return 0;
}
