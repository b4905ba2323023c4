#include "proxy/h2/idle_reset_filter.h"

#include <algorithm>
#include <cstring>

namespace ehp {
namespace {

constexpr uint8_t kRstStream = 0x3;
constexpr uint32_t kRstStreamLength = 4;

struct FrameHeader {
  uint32_t length;
  uint8_t type;
  uint32_t stream_id;
};

FrameHeader Parse(const uint8_t* h) {
  return FrameHeader{
      (uint32_t{h[0]} << 16) | (uint32_t{h[1]} << 8) | h[2], h[3],
      ((uint32_t{h[5]} << 24) | (uint32_t{h[6]} << 16) | (uint32_t{h[7]} << 8) | h[8]) &
          0x7fffffffu};
}

}  // namespace

size_t IdleResetFilter::Filter(const uint8_t* data, size_t len,
                               const std::function<void(const uint8_t*, size_t)>& keep,
                               const std::function<bool(uint32_t)>& is_idle) {
  size_t dropped = 0;
  size_t i = 0;
  size_t run = 0;  // start of the bytes of `data` kept but not passed on yet
  auto pass = [&](size_t end) {
    if (end > run) keep(data + run, end - run);
    run = end;
  };
  // A reset of an idle stream, asked once every byte before it reached the session.
  auto drop = [&](const FrameHeader& f) {
    return f.type == kRstStream && f.length == kRstStreamLength && is_idle(f.stream_id);
  };
  while (i < len) {
    if (preface_left_ > 0) {
      const size_t n = std::min(preface_left_, len - i);
      i += n;
      preface_left_ -= n;
      continue;
    }
    if (payload_left_ > 0) {
      const size_t n = std::min<size_t>(payload_left_, len - i);
      if (dropping_) {
        pass(i);
        run = i + n;
      }
      i += n;
      payload_left_ -= static_cast<uint32_t>(n);
      continue;
    }
    if (header_have_ == 0 && len - i >= kHeaderSize) {
      const FrameHeader f = Parse(data + i);
      if (f.type == kRstStream) pass(i);
      dropping_ = drop(f);
      if (dropping_) {
        ++dropped;
        run = i + kHeaderSize;
      }
      i += kHeaderSize;
      payload_left_ = f.length;
      continue;
    }
    // A frame header split across reads: held until complete.
    pass(i);
    const size_t n = std::min(kHeaderSize - header_have_, len - i);
    std::memcpy(header_ + header_have_, data + i, n);
    header_have_ += n;
    i += n;
    run = i;
    if (header_have_ < kHeaderSize) break;
    header_have_ = 0;
    const FrameHeader f = Parse(header_);
    dropping_ = drop(f);
    if (dropping_) {
      ++dropped;
    } else {
      keep(header_, kHeaderSize);
    }
    payload_left_ = f.length;
  }
  pass(i);
  return dropped;
}

}  // namespace ehp
