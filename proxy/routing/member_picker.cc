#include "proxy/routing/member_picker.h"

#include <array>

namespace ehp {
namespace {

// Indices of candidates still in the running; member sets are small (at most 16).
struct Pool {
  std::array<size_t, 16> index{};
  size_t size = 0;

  // Keeps only the members for which `keep` holds, unless that would keep none.
  template <class Keep>
  void Prefer(std::span<const PickCandidate> c, Keep keep) {
    Pool narrowed;
    for (size_t k = 0; k < size; ++k) {
      if (keep(c[index[k]])) narrowed.index[narrowed.size++] = index[k];
    }
    if (narrowed.size > 0) *this = narrowed;
  }
};

}  // namespace

std::optional<size_t> PickMember(std::span<const PickCandidate> c, CallClass call,
                                 const PickPolicy& policy, uint64_t random) {
  // Every write ends up at the leader (a follower forwards it): while the leader answers none,
  // writes wait wherever they would go.
  const bool write = call.kind == CallKind::kWrite;
  for (const PickCandidate& m : c) {
    if (write && m.leader && m.writes_stuck && !m.excluded) return std::nullopt;
  }
  Pool pool;
  for (size_t i = 0; i < c.size() && pool.size < pool.index.size(); ++i) {
    if (!c[i].excluded && !(write && c[i].writes_stuck)) pool.index[pool.size++] = i;
  }
  if (pool.size == 0) return std::nullopt;
  pool.Prefer(c, [](const PickCandidate& m) { return m.reachable; });

  const bool to_leader =
      call.to_leader || (call.kind == CallKind::kWrite && policy.writes_to_leader);
  if (to_leader) {
    for (size_t k = 0; k < pool.size; ++k) {
      if (c[pool.index[k]].leader) return pool.index[k];
    }
  } else {
    if (call.kind == CallKind::kSerializableRead) {
      pool.Prefer(c, [](const PickCandidate& m) { return m.fresh; });
    }
    pool.Prefer(c, [](const PickCandidate& m) { return m.local_zone; });
  }

  if (pool.size == 1) return pool.index[0];
  const size_t a = random % pool.size;
  size_t b = (random / pool.size) % (pool.size - 1);
  if (b >= a) ++b;  // two distinct members
  const size_t first = pool.index[a], second = pool.index[b];
  return c[second].load < c[first].load ? second : first;
}

}  // namespace ehp
