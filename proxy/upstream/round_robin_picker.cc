#include "proxy/upstream/round_robin_picker.h"

namespace ehp {

std::optional<size_t> PickRoundRobin(std::span<const PickCandidate> candidates, uint64_t cursor) {
  const size_t n = candidates.size();
  std::optional<size_t> fallback;
  for (size_t step = 0; step < n; ++step) {
    const size_t i = (cursor + step) % n;
    if (candidates[i].excluded) continue;
    if (candidates[i].reachable) return i;
    if (!fallback) fallback = i;
  }
  return fallback;
}

}  // namespace ehp
