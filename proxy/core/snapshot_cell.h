// Publishes an immutable snapshot (the member set, later their health) to the per-call path.
// Readers take no lock: each thread caches the snapshot (weakly) with its generation and only
// refreshes, under the mutex, after a writer published a new one. Writers are rare (probe
// results).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

namespace ehp {

namespace snapshot_internal {
// Generations are unique across all cells, so a cached entry can never be mistaken for another
// cell's, even when a cell is destroyed and a new one lands at the same address.
inline std::atomic<uint64_t> next_generation{1};

// Weak, so a thread's cache never keeps a replaced snapshot (or a destroyed cell's) alive.
struct CacheEntry {
  const void* cell = nullptr;
  uint64_t generation = 0;
  std::weak_ptr<const void> value;
};
inline thread_local std::array<CacheEntry, 4> cache;
inline thread_local unsigned cache_victim = 0;
}  // namespace snapshot_internal

template <typename T>
class SnapshotCell {
 public:
  explicit SnapshotCell(std::shared_ptr<const T> initial) { Set(std::move(initial)); }
  SnapshotCell(const SnapshotCell&) = delete;
  SnapshotCell& operator=(const SnapshotCell&) = delete;

  // The current snapshot. Lock-free while no Set() happened since this thread's last Get().
  std::shared_ptr<const T> Get() const {
    using namespace snapshot_internal;
    const uint64_t generation = generation_.load(std::memory_order_acquire);
    for (CacheEntry& e : cache) {
      if (e.cell == this && e.generation == generation) {
        // The cell holds the current snapshot, so this only fails during a concurrent Set().
        if (auto value = e.value.lock()) return std::static_pointer_cast<const T>(value);
      }
    }
    std::shared_ptr<const T> value;
    uint64_t current_generation;
    {
      std::lock_guard lock(mu_);
      value = current_;
      current_generation = generation_.load(std::memory_order_relaxed);
    }
    CacheEntry* slot = nullptr;
    for (CacheEntry& e : cache) {
      if (e.cell == this) slot = &e;
    }
    if (slot == nullptr) slot = &cache[cache_victim++ % cache.size()];
    *slot = CacheEntry{this, current_generation, value};
    return value;
  }

  void Set(std::shared_ptr<const T> next) {
    std::lock_guard lock(mu_);
    current_ = std::move(next);
    generation_.store(snapshot_internal::next_generation.fetch_add(1), std::memory_order_release);
  }

 private:
  std::atomic<uint64_t> generation_{0};
  mutable std::mutex mu_;
  std::shared_ptr<const T> current_;  // guarded by mu_
};

}  // namespace ehp
