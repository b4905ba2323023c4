// An HTTP/2 header block as the relay keeps it: names and values copied out of nghttp2's
// buffers once, in the order they came, re-encoded (HPACK) by the other connection's session.
#pragma once

#include <nghttp2/nghttp2.h>

#include <string>
#include <string_view>
#include <vector>

#include "proxy/core/block_pool.h"

namespace ehp {

// Most values fit std::string's inline buffer; the longer ones (:path, content-type,
// user-agent) come from the thread's block pool.
using HeaderString = std::basic_string<char, std::char_traits<char>, block_pool::Allocator<char>>;

struct HeaderField {
  HeaderField() = default;
  HeaderField(std::string_view n, std::string_view v) : name(n), value(v) {}
  HeaderString name;
  HeaderString value;
};

// Made and dropped per call: on the thread's block pool.
using HeaderList = std::vector<HeaderField, block_pool::Allocator<HeaderField>>;

// The value of the first field named `name`; empty when there is none.
std::string_view FindHeader(const HeaderList& headers, std::string_view name);
bool HasHeader(const HeaderList& headers, std::string_view name);

// nghttp2's view of a header list (no copies: valid while the list is unchanged), on the stack
// for the usual few dozen fields.
class NvList {
 public:
  explicit NvList(const HeaderList& headers);
  const nghttp2_nv* data() const { return spill_.empty() ? inline_ : spill_.data(); }
  size_t size() const { return size_; }

 private:
  static constexpr size_t kInline = 24;
  nghttp2_nv inline_[kInline];
  std::vector<nghttp2_nv> spill_;  // more than kInline fields
  size_t size_ = 0;
};

}  // namespace ehp
