#include "proxy/datapath/pool_router.h"

#include <algorithm>
#include <iterator>

namespace ehp {

MemberRouter::Key PoolRouter::Pick(const CallClass& call, std::span<const Key> tried,
                                   bool despite_stall) {
  const Member* skip[16];
  const size_t n = std::min(tried.size(), std::size(skip));
  for (size_t i = 0; i < n; ++i) skip[i] = static_cast<const Member*>(tried[i]);
  std::shared_ptr<Member> member =
      pool_.Pick(call, std::span<const Member* const>(skip, n), despite_stall);
  if (member == nullptr) return nullptr;
  const Key key = member.get();
  if (Get(key) == nullptr) picked_.push_back(std::move(member));
  return key;
}

std::shared_ptr<Member> PoolRouter::Get(Key key) const {
  for (const auto& m : picked_) {
    if (m.get() == key) return m;
  }
  return nullptr;
}

}  // namespace ehp
