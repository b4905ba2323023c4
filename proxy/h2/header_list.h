// An HTTP/2 header block as the relay keeps it: names and values copied out of nghttp2's
// buffers once, in the order they came, re-encoded (HPACK) by the other connection's session.
#pragma once

#include <nghttp2/nghttp2.h>

#include <string>
#include <string_view>
#include <vector>

namespace ehp {

struct HeaderField {
  std::string name;
  std::string value;
};

using HeaderList = std::vector<HeaderField>;

// The value of the first field named `name`; empty when there is none.
std::string_view FindHeader(const HeaderList& headers, std::string_view name);
bool HasHeader(const HeaderList& headers, std::string_view name);

// nghttp2's view of `headers` (no copies: valid while `headers` is unchanged).
std::vector<nghttp2_nv> ToNv(const HeaderList& headers);

}  // namespace ehp
