// Drops RST_STREAM frames for streams a client never opened, before nghttp2 sees them.
//
// gRPC core clients (C++, Python, Ruby; 1.51 among them) reset a call cancelled after its stream
// id was taken but before its HEADERS were written: an RST_STREAM on an idle stream. RFC 9113
// makes that a connection error, and nghttp2 answers GOAWAY PROTOCOL_ERROR, failing every other
// call of that client. gRPC's own server ignores such resets; so does the proxy. Only frame
// boundaries are read (the 9-byte frame headers); everything else goes to nghttp2 untouched.
//
// Pure: bytes in, kept runs out; the caller says which stream ids are idle.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace ehp {

class IdleResetFilter {
 public:
  // `preface`: bytes before the first frame (a server's 24-byte client preface).
  explicit IdleResetFilter(size_t preface) : preface_left_(preface) {}

  // Splits `data` into the runs to keep, passed to `keep` in order; a frame header split over
  // two calls is held back until it is complete. `is_idle(stream_id)` is asked once per
  // RST_STREAM, after every byte before it was kept (so the caller's session is up to date).
  // Returns the number of RST_STREAM frames dropped.
  size_t Filter(const uint8_t* data, size_t len,
                const std::function<void(const uint8_t*, size_t)>& keep,
                const std::function<bool(uint32_t stream_id)>& is_idle);

 private:
  static constexpr size_t kHeaderSize = 9;
  size_t preface_left_;
  uint8_t header_[kHeaderSize];
  size_t header_have_ = 0;
  uint32_t payload_left_ = 0;
  bool dropping_ = false;  // the current frame's payload is skipped
};

}  // namespace ehp
