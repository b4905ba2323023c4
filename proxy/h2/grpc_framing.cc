#include "proxy/h2/grpc_framing.h"

#include <algorithm>
#include <cstring>

namespace ehp {
namespace {

uint32_t Length(const uint8_t* prefix) {
  return (uint32_t{prefix[1]} << 24) | (uint32_t{prefix[2]} << 16) | (uint32_t{prefix[3]} << 8) |
         prefix[4];
}

}  // namespace

bool GrpcMessageSizer::Feed(const uint8_t* data, size_t len,
                            const std::function<void(const uint8_t*, size_t)>& pass,
                            const HeaderFn& on_header) {
  if (stopped_) return false;
  size_t i = 0;
  size_t run = 0;  // start of the bytes of `data` to pass
  auto flush = [&](size_t end) {
    if (end > run) pass(data + run, end - run);
    run = end;
  };
  while (i < len) {
    if (payload_left_ > 0) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(payload_left_, len - i));
      i += n;
      payload_left_ -= n;
      continue;
    }
    if (prefix_have_ == 0 && len - i >= kGrpcPrefixSize) {
      if (!on_header(data[i] != 0, Length(data + i))) {
        flush(i);
        stopped_ = true;
        return false;
      }
      payload_left_ = Length(data + i);
      i += kGrpcPrefixSize;
      continue;
    }
    // A prefix split across calls: held back until whole.
    flush(i);
    const size_t n = std::min(kGrpcPrefixSize - prefix_have_, len - i);
    std::memcpy(prefix_ + prefix_have_, data + i, n);
    prefix_have_ += n;
    i += n;
    run = i;
    if (prefix_have_ < kGrpcPrefixSize) break;
    prefix_have_ = 0;
    if (!on_header(prefix_[0] != 0, Length(prefix_))) {
      stopped_ = true;
      return false;
    }
    pass(prefix_, kGrpcPrefixSize);
    payload_left_ = Length(prefix_);
  }
  flush(i);
  return true;
}

bool GrpcMessageAssembler::Feed(
    const uint8_t* data, size_t len,
    const std::function<void(bool compressed, std::string_view payload)>& on_message) {
  if (failed_) return false;
  buffer_.append(reinterpret_cast<const char*>(data), len);
  size_t pos = 0;
  while (buffer_.size() - pos >= kGrpcPrefixSize) {
    const auto* prefix = reinterpret_cast<const uint8_t*>(buffer_.data() + pos);
    const uint32_t length = Length(prefix);
    if (length > max_message_) {
      failed_ = true;
      buffer_.clear();
      return false;
    }
    if (buffer_.size() - pos - kGrpcPrefixSize < length) break;
    on_message(prefix[0] != 0, std::string_view(buffer_.data() + pos + kGrpcPrefixSize, length));
    pos += kGrpcPrefixSize + length;
  }
  buffer_.erase(0, pos);
  if (buffer_.empty() && buffer_.capacity() > 4096) std::string().swap(buffer_);
  return true;
}

std::string GrpcPrefix(bool compressed, uint32_t length) {
  std::string p(kGrpcPrefixSize, '\0');
  p[0] = compressed ? 1 : 0;
  p[1] = static_cast<char>(length >> 24);
  p[2] = static_cast<char>(length >> 16);
  p[3] = static_cast<char>(length >> 8);
  p[4] = static_cast<char>(length);
  return p;
}

}  // namespace ehp
