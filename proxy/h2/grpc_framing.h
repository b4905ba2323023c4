// gRPC's length-prefixed messages inside HTTP/2 DATA (a 1-byte compressed flag and a 4-byte
// big-endian length before each message), read only where the relay must decide something:
// the size of each message (max-send-bytes), and whole messages where their content matters
// (Watch). Pure: bytes in, callbacks out; messages may be split across DATA frames anyway.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace ehp {

constexpr size_t kGrpcPrefixSize = 5;

// Finds message boundaries and says how large each message is before any of it passes.
class GrpcMessageSizer {
 public:
  // Returns false to stop at this message: its prefix and what follows are not passed on.
  using HeaderFn = std::function<bool(bool compressed, uint32_t length)>;

  // Passes the bytes of `data` to `pass` in order, except a prefix split across calls, which is
  // held until it is whole (so `on_header` can refuse the message before any byte of it
  // passed). Returns false once a message was refused; later calls pass nothing.
  bool Feed(const uint8_t* data, size_t len,
            const std::function<void(const uint8_t*, size_t)>& pass, const HeaderFn& on_header);

 private:
  uint8_t prefix_[kGrpcPrefixSize];
  size_t prefix_have_ = 0;
  uint64_t payload_left_ = 0;
  bool stopped_ = false;
};

// Assembles whole messages, for the few places that read them. A message larger than
// `max_message` stops the assembler (the caller fails the stream).
class GrpcMessageAssembler {
 public:
  explicit GrpcMessageAssembler(size_t max_message) : max_message_(max_message) {}

  // Calls on_message(compressed, payload) for every message completed by `data`. False when a
  // message is larger than max_message (nothing more is delivered).
  bool Feed(const uint8_t* data, size_t len,
            const std::function<void(bool compressed, std::string_view payload)>& on_message);
  // Bytes of an incomplete message held (0 between messages).
  size_t pending() const { return buffer_.size(); }
  // Forgets an incomplete message (its source went away).
  void Reset() {
    std::string().swap(buffer_);
    failed_ = false;
  }

 private:
  const size_t max_message_;
  std::string buffer_;
  bool failed_ = false;
};

// The 5-byte prefix of a message of `length` bytes.
std::string GrpcPrefix(bool compressed, uint32_t length);

}  // namespace ehp
