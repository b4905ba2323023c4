// libFuzzer target: gRPC's length-prefixed messages as the data path cuts them out of DATA
// (GrpcMessageSizer, GrpcMessageAssembler), fed in pieces of any size; and the grpc-timeout and
// grpc-message encodings.
//
// Input: the bytes of one direction of a gRPC stream, then a control block at the end (read
// backwards by FuzzedDataProvider): the message size limit (2 bytes), the sizes of the pieces
// (8 bytes, used in turn), a grpc-timeout length (1 byte) and a duration (8 bytes).
// Every result is checked against a plain walk over the whole input.
#include <fuzzer/FuzzedDataProvider.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proxy/h2/grpc_framing.h"
#include "proxy/h2/grpc_status.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using ehp::kGrpcPrefixSize;

uint32_t LengthAt(const std::string& s, size_t pos) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data() + pos);
  return (uint32_t{p[1]} << 24) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 8) | p[4];
}

struct Header {
  bool compressed;
  uint32_t length;
  bool operator==(const Header&) const = default;
};

// What a reader of the whole stream sees, messages larger than `limit` refused.
struct Walk {
  std::vector<Header> headers;  // every whole prefix up to and including a refused one
  std::vector<size_t> offsets;  // where each of them starts
  bool refused = false;
  size_t end = 0;       // the refused message's offset, or where the last whole prefix ended
  size_t complete = 0;  // the end of the last message whose payload is all there (not refused)
};

Walk WalkStream(const std::string& s, uint64_t limit) {
  Walk w;
  size_t p = 0;
  while (p + kGrpcPrefixSize <= s.size()) {
    const Header h{s[p] != 0, LengthAt(s, p)};
    w.headers.push_back(h);
    w.offsets.push_back(p);
    if (h.length > limit) {
      w.refused = true;
      w.end = p;
      return w;
    }
    const uint64_t next = uint64_t{p} + kGrpcPrefixSize + h.length;
    if (next <= s.size()) w.complete = next;
    if (next >= s.size()) {
      w.end = s.size();  // the last message's payload is cut short (or ends the input)
      return w;
    }
    p = static_cast<size_t>(next);
  }
  w.end = p;  // a prefix cut short at the end: held back
  return w;
}

// The stream's first `end` bytes with every compressed flag written as 0 or 1 (as GrpcPrefix
// writes it), for comparison with messages framed again.
std::string Normalized(const std::string& s, const Walk& w, size_t end) {
  std::string out = s.substr(0, end);
  for (size_t off : w.offsets) {
    if (off < out.size()) out[off] = out[off] != 0 ? 1 : 0;
  }
  return out;
}

std::vector<std::pair<size_t, size_t>> Pieces(const std::string& s,
                                              const std::array<uint8_t, 8>& sizes) {
  std::vector<std::pair<size_t, size_t>> pieces;
  size_t pos = 0;
  for (size_t i = 0; pos < s.size(); ++i) {
    // A size of 0 is an empty Feed; after a few rounds the rest goes in one piece.
    size_t n = i < 64 ? sizes[i % sizes.size()] : s.size() - pos;
    n = std::min(n, s.size() - pos);
    pieces.emplace_back(pos, n);
    pos += n;
  }
  return pieces;
}

void CheckSizer(const std::string& s, uint64_t limit,
                const std::vector<std::pair<size_t, size_t>>& pieces) {
  const Walk w = WalkStream(s, limit);
  ehp::GrpcMessageSizer sizer;
  std::string passed;
  std::vector<Header> headers;
  bool stopped = false;
  for (const auto& [pos, n] : pieces) {
    const auto* data = reinterpret_cast<const uint8_t*>(s.data()) + pos;
    const size_t before = passed.size();
    const bool ok = sizer.Feed(
        data, n,
        [&](const uint8_t* p, size_t len) {
          CHECK(!stopped && len > 0);
          passed.append(reinterpret_cast<const char*>(p), len);
        },
        [&](bool compressed, uint32_t length) {
          CHECK(!stopped);
          // No byte of this message has passed yet.
          CHECK(headers.size() < w.offsets.size() && passed.size() <= w.offsets[headers.size()]);
          headers.push_back({compressed, length});
          return length <= limit;
        });
    if (stopped) CHECK(!ok && passed.size() == before);
    if (!ok) stopped = true;
  }
  CHECK(stopped == w.refused);
  CHECK(headers == w.headers);
  // Everything up to the refused message (or a prefix cut short) passed, unchanged.
  CHECK(passed == s.substr(0, w.end));
}

void CheckAssembler(const std::string& s, uint64_t limit,
                    const std::vector<std::pair<size_t, size_t>>& pieces) {
  const Walk w = WalkStream(s, limit);
  ehp::GrpcMessageAssembler assembler(static_cast<size_t>(limit));
  std::string reframed;
  size_t fed = 0;
  bool failed = false;
  for (const auto& [pos, n] : pieces) {
    const auto* data = reinterpret_cast<const uint8_t*>(s.data()) + pos;
    const bool ok = assembler.Feed(data, n, [&](bool compressed, std::string_view payload) {
      CHECK(!failed);
      reframed += ehp::GrpcPrefix(compressed, static_cast<uint32_t>(payload.size()));
      reframed += payload;
    });
    fed += n;
    // It fails once the refused message's prefix is whole, and stays failed.
    const bool should_fail = w.refused && fed >= w.end + kGrpcPrefixSize;
    CHECK(ok == !should_fail);
    failed = !ok;
    if (failed) {
      CHECK(assembler.pending() == 0);
    } else {
      // What is held is the incomplete message after the last whole one.
      CHECK(reframed.size() <= fed && assembler.pending() == fed - reframed.size());
      CHECK(assembler.pending() < kGrpcPrefixSize + limit);
    }
  }
  // The messages, framed again, are the input up to the last whole message before any refused.
  const size_t whole = w.refused ? std::min(w.end, w.complete) : w.complete;
  CHECK(reframed == Normalized(s, w, whole));
}

void CheckTimeout(std::string_view text, int64_t count) {
  using std::chrono::microseconds;
  // Any text: a duration only for 1 to 8 digits and a known unit.
  const std::optional<microseconds> parsed = ehp::ParseGrpcTimeout(text);
  bool valid = text.size() >= 2 && text.size() <= 9;
  for (size_t i = 0; valid && i + 1 < text.size(); ++i) valid = text[i] >= '0' && text[i] <= '9';
  valid = valid && std::string_view("HMSmun").find(text.back()) != std::string_view::npos;
  CHECK(parsed.has_value() == valid);
  if (parsed) {
    CHECK(parsed->count() >= 0);
    // Its shortest form reads back as the same duration, except above 8 digits of
    // microseconds, where it is rounded down to the unit that fits.
    const std::optional<microseconds> again =
        ehp::ParseGrpcTimeout(ehp::FormatGrpcTimeout(*parsed));
    CHECK(again.has_value() && *again <= *parsed);
    if (parsed->count() <= 99999999) CHECK(*again == *parsed);
  }
  // Any duration: a valid value of at most 8 digits, never more than the duration.
  const std::string formatted = ehp::FormatGrpcTimeout(microseconds(count));
  CHECK(formatted.size() >= 2 && formatted.size() <= 9);
  const std::optional<microseconds> back = ehp::ParseGrpcTimeout(formatted);
  CHECK(back.has_value());
  if (count <= 0) {
    CHECK(back->count() == 0);
  } else {
    CHECK(back->count() <= count);
    if (count <= 99999999) CHECK(back->count() == count);
    // Rounded down by less than its unit (unless beyond 99999999 hours).
    const int64_t unit = formatted.back() == 'u'   ? 1
                         : formatted.back() == 'm' ? 1000
                         : formatted.back() == 'S' ? 1000000
                                                   : 3600000000LL;
    if (count / 3600000000LL < 99999999) CHECK(count - back->count() < unit);
  }
}

void CheckPercent(const std::string& s) {
  const std::string encoded = ehp::PercentEncode(s);
  for (const char c : encoded) CHECK(c >= 0x20 && c <= 0x7e);
  CHECK(ehp::PercentDecode(encoded) == s);
  // Decoding anything is shorter or the same.
  CHECK(ehp::PercentDecode(s).size() <= s.size());
  // The status a trailers-only answer carries reads back from it.
  const int code = s.empty() ? 0 : static_cast<uint8_t>(s[0]) % 17;
  const std::optional<ehp::GrpcStatus> status = ehp::StatusOf(ehp::TrailersOnly(code, s));
  CHECK(status.has_value() && status->code == code && status->message == s);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider control(data, size);
  const uint16_t limit_bits = control.ConsumeIntegral<uint16_t>();
  // Mostly small limits (so refusals happen); 0xffff: no limit.
  const uint64_t limit = limit_bits == 0xffff ? uint64_t{UINT32_MAX} : limit_bits;
  std::array<uint8_t, 8> sizes;
  for (uint8_t& n : sizes) n = control.ConsumeIntegral<uint8_t>();
  const uint8_t timeout_length = control.ConsumeIntegral<uint8_t>();
  const int64_t duration = control.ConsumeIntegral<int64_t>();
  const std::string stream = control.ConsumeRemainingBytesAsString();

  const auto pieces = Pieces(stream, sizes);
  CheckSizer(stream, limit, pieces);
  CheckAssembler(stream, limit, pieces);
  CheckTimeout(std::string_view(stream).substr(0, timeout_length % 11), duration);
  CheckPercent(stream);
  return 0;
}
