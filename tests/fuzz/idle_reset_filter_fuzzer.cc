// libFuzzer target: IdleResetFilter, the scan of a client's HTTP/2 frames that removes
// RST_STREAM frames of streams the client never opened, fed in pieces of any size.
//
// Input: the bytes a client sends (from its connection preface on), then a control block at the
// end (read backwards by FuzzedDataProvider): the preface length (1 byte) and the sizes of the
// pieces (8 bytes, used in turn). A stream is idle, as in the session behind the filter, when
// its id is odd and above every HEADERS frame kept so far.
// Checked against a plain walk over the whole input: what is kept is the input without the
// removed frames (less a frame header cut short at the end, held back), in order; each reset of
// the right size is asked about once, when every byte before it was kept; the count of removed
// frames is theirs.
#include <fuzzer/FuzzedDataProvider.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "proxy/h2/idle_reset_filter.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

constexpr size_t kHeaderSize = 9;
constexpr uint8_t kHeaders = 0x1;
constexpr uint8_t kRstStream = 0x3;

struct FrameHeader {
  uint32_t length;
  uint8_t type;
  uint32_t stream_id;
};

FrameHeader ParseHeader(const std::string& s, size_t pos) {
  const auto* h = reinterpret_cast<const uint8_t*>(s.data() + pos);
  return {(uint32_t{h[0]} << 16) | (uint32_t{h[1]} << 8) | h[2], h[3],
          ((uint32_t{h[5]} << 24) | (uint32_t{h[6]} << 16) | (uint32_t{h[7]} << 8) | h[8]) &
              0x7fffffffu};
}

// The newest stream a client opened, from the frames kept so far (as nghttp2 would have them).
class OpenedStreams {
 public:
  explicit OpenedStreams(size_t preface) : next_(preface) {}

  void Update(const std::string& kept) {
    while (next_ + kHeaderSize <= kept.size()) {
      const FrameHeader f = ParseHeader(kept, next_);
      if (f.type == kHeaders) newest_ = std::max(newest_, f.stream_id);
      next_ += kHeaderSize + f.length;
    }
  }
  bool Idle(uint32_t id) const { return (id & 1) != 0 && id > newest_; }

 private:
  size_t next_;
  uint32_t newest_ = 0;
};

struct Expected {
  std::string kept;
  size_t dropped = 0;
  // For each reset asked about: its stream, and how many bytes were kept before it.
  std::vector<std::pair<uint32_t, size_t>> asked;
};

Expected Walk(const std::string& s, size_t preface) {
  Expected e;
  OpenedStreams opened(preface);
  size_t p = std::min(preface, s.size());
  e.kept = s.substr(0, p);
  while (p + kHeaderSize <= s.size()) {
    const FrameHeader f = ParseHeader(s, p);
    const size_t end = std::min(s.size(), p + kHeaderSize + f.length);
    bool drop = false;
    if (f.type == kRstStream && f.length == 4) {
      opened.Update(e.kept);
      e.asked.emplace_back(f.stream_id, e.kept.size());
      drop = opened.Idle(f.stream_id);
    }
    if (drop) {
      ++e.dropped;
    } else {
      e.kept.append(s, p, end - p);
    }
    p += kHeaderSize + f.length;
  }
  return e;  // a frame header cut short at the end is held back
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider control(data, size);
  const uint8_t preface_bits = control.ConsumeIntegral<uint8_t>();
  // Mostly a server's 24-byte client preface; sometimes another length (a client's filter has
  // none).
  const size_t preface = preface_bits < 128 ? 24 : preface_bits - 128;
  std::array<uint8_t, 8> sizes;
  for (uint8_t& n : sizes) n = control.ConsumeIntegral<uint8_t>();
  const std::string input = control.ConsumeRemainingBytesAsString();

  const Expected expected = Walk(input, preface);
  ehp::IdleResetFilter filter(preface);
  OpenedStreams opened(preface);
  std::string kept;
  size_t dropped = 0;
  size_t asked = 0;
  size_t pos = 0;
  for (size_t round = 0; pos < input.size(); ++round) {
    // A size of 0 is an empty read; after a few rounds the rest comes in one piece.
    size_t n = round < 64 ? sizes[round % sizes.size()] : input.size() - pos;
    n = std::min(n, input.size() - pos);
    dropped += filter.Filter(
        reinterpret_cast<const uint8_t*>(input.data()) + pos, n,
        [&](const uint8_t* p, size_t len) {
          CHECK(len > 0);
          kept.append(reinterpret_cast<const char*>(p), len);
        },
        [&](uint32_t id) {
          // Asked once per reset, with every byte before it kept.
          CHECK(asked < expected.asked.size());
          CHECK(expected.asked[asked].first == id && expected.asked[asked].second == kept.size());
          CHECK(kept.compare(0, kept.size(), expected.kept, 0, kept.size()) == 0);
          ++asked;
          opened.Update(kept);
          return opened.Idle(id);
        });
    pos += n;
  }
  CHECK(asked == expected.asked.size());
  CHECK(dropped == expected.dropped);
  CHECK(kept == expected.kept);
  return 0;
}
