#include "proxy/h2/idle_reset_filter.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ehp {
namespace {

std::string Frame(uint8_t type, uint32_t stream_id, const std::string& payload) {
  std::string f;
  f.push_back(static_cast<char>(payload.size() >> 16));
  f.push_back(static_cast<char>(payload.size() >> 8));
  f.push_back(static_cast<char>(payload.size()));
  f.push_back(static_cast<char>(type));
  f.push_back(0);  // flags
  f.push_back(static_cast<char>(stream_id >> 24));
  f.push_back(static_cast<char>(stream_id >> 16));
  f.push_back(static_cast<char>(stream_id >> 8));
  f.push_back(static_cast<char>(stream_id));
  return f + payload;
}

std::string Rst(uint32_t stream_id) { return Frame(0x3, stream_id, std::string("\0\0\0\x8", 4)); }

// Feeds `input` in pieces of `chunk` bytes; streams above `last_open` are idle.
std::string FilterAll(IdleResetFilter& filter, const std::string& input, size_t chunk,
                      uint32_t last_open, size_t* dropped) {
  std::string kept;
  *dropped = 0;
  for (size_t i = 0; i < input.size(); i += chunk) {
    const std::string piece = input.substr(i, chunk);
    *dropped += filter.Filter(
        reinterpret_cast<const uint8_t*>(piece.data()), piece.size(),
        [&](const uint8_t* p, size_t n) { kept.append(reinterpret_cast<const char*>(p), n); },
        [&](uint32_t id) { return id > last_open; });
  }
  return kept;
}

// Scenario: a reset of a stream the client opened passes; one of a stream it never opened is
// removed, whatever the read boundaries; every other byte passes in order.
TEST(IdleResetFilterTest, DropsOnlyResetsOfIdleStreams) {
  const std::string preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  const std::string headers = Frame(0x1, 1, "hpack-bytes");
  const std::string data = Frame(0x0, 1, std::string(100, 'd'));
  const std::string input =
      preface + headers + Rst(1) + Rst(7) + data + Rst(9) + Frame(0x8, 0, "wndw");
  const std::string expected = preface + headers + Rst(1) + data + Frame(0x8, 0, "wndw");
  for (size_t chunk : {size_t{1}, size_t{2}, size_t{5}, size_t{9}, size_t{13}, input.size()}) {
    IdleResetFilter filter(preface.size());
    size_t dropped = 0;
    EXPECT_EQ(FilterAll(filter, input, chunk, 5, &dropped), expected) << "chunk " << chunk;
    EXPECT_EQ(dropped, 2u) << "chunk " << chunk;
  }
}

// Scenario: an RST_STREAM of the wrong size is left for nghttp2 to refuse (FRAME_SIZE_ERROR).
TEST(IdleResetFilterTest, MalformedResetsAreLeftToTheSession) {
  IdleResetFilter filter(0);
  const std::string odd = Frame(0x3, 11, "12345");
  size_t dropped = 0;
  EXPECT_EQ(FilterAll(filter, odd, 3, 1, &dropped), odd);
  EXPECT_EQ(dropped, 0u);
}

// Scenario: the idle question is asked only once every earlier byte reached the session.
TEST(IdleResetFilterTest, AsksAfterEarlierBytesWereKept) {
  IdleResetFilter filter(0);
  const std::string headers = Frame(0x1, 3, "h");
  const std::string input = headers + Rst(3);
  std::string kept;
  std::vector<size_t> kept_when_asked;
  filter.Filter(
      reinterpret_cast<const uint8_t*>(input.data()), input.size(),
      [&](const uint8_t* p, size_t n) { kept.append(reinterpret_cast<const char*>(p), n); },
      [&](uint32_t) {
        kept_when_asked.push_back(kept.size());
        return false;
      });
  ASSERT_EQ(kept_when_asked.size(), 1u);
  EXPECT_EQ(kept_when_asked[0], headers.size());
  EXPECT_EQ(kept, input);
}

}  // namespace
}  // namespace ehp
