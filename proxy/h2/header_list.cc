#include "proxy/h2/header_list.h"

namespace ehp {

std::string_view FindHeader(const HeaderList& headers, std::string_view name) {
  for (const HeaderField& f : headers) {
    if (f.name == name) return f.value;
  }
  return {};
}

bool HasHeader(const HeaderList& headers, std::string_view name) {
  for (const HeaderField& f : headers) {
    if (f.name == name) return true;
  }
  return false;
}

NvList::NvList(const HeaderList& headers) : size_(headers.size()) {
  nghttp2_nv* out = inline_;
  if (size_ > kInline) {
    spill_.resize(size_);
    out = spill_.data();
  }
  for (const HeaderField& f : headers) {
    // Without NO_COPY flags, nghttp2 copies the fields when they are submitted.
    *out++ = nghttp2_nv{const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(f.name.data())),
                        const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(f.value.data())),
                        f.name.size(), f.value.size(), NGHTTP2_NV_FLAG_NONE};
  }
}

}  // namespace ehp
