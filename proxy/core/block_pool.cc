#include "proxy/core/block_pool.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#if defined(__SANITIZE_ADDRESS__)
#define EHP_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EHP_ASAN 1
#endif
#endif
#ifdef EHP_ASAN
#include <sanitizer/asan_interface.h>
#define EHP_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define EHP_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define EHP_POISON(p, n) ((void)(p), (void)(n))
#define EHP_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace ehp::block_pool {
namespace {

// Keeps the block after it aligned as malloc's own (16 bytes).
constexpr size_t kPrefix = 16;
// Block sizes with their prefix: 32 to 128 bytes in steps of 16, then four sizes to each doubling
// (160, 192, 224, 256, 320, ...) up to 8 KiB, so a block wastes at most a fifth of itself. (With
// one size a doubling, long-lived state such as an idle watch's header list took twice its size.)
constexpr size_t kFineSteps = 7;                 // 32, 48, ..., 128
constexpr size_t kClasses = kFineSteps + 6 * 4;  // then 2^7..2^13 in quarters
constexpr size_t BlockSize(size_t cls) {
  if (cls < kFineSteps) return 32 + 16 * cls;
  const size_t e = 7 + (cls - kFineSteps) / 4;
  const size_t quarter = (cls - kFineSteps) % 4;
  return (size_t{1} << e) + (quarter + 1) * (size_t{1} << (e - 2));
}
constexpr size_t Capacity(size_t cls) { return BlockSize(cls) - kPrefix; }
constexpr uint32_t kLarge = 0xffff;  // from malloc, not cached
// What a thread keeps cached per size class.
constexpr size_t kCacheBytes = 128 * 1024;

struct Prefix {
  uint32_t cls;
  uint32_t unused;
  size_t size;  // large blocks: the usable size
};
static_assert(sizeof(Prefix) <= kPrefix);

struct FreeBlock {
  FreeBlock* next;
};

// The smallest class whose blocks hold `size` bytes.
size_t ClassOf(size_t size) {
  const size_t total = std::max(size + kPrefix, size_t{32});
  if (total <= 128) return (total - 32 + 15) / 16;
  const size_t e = std::bit_width(total - 1) - 1;  // 2^e < total <= 2^(e+1)
  const size_t step = size_t{1} << (e - 2);
  const size_t cls = kFineSteps + (e - 7) * 4 + (total - (size_t{1} << e) + step - 1) / step - 1;
  return cls < kClasses ? cls : kLarge;
}

Prefix* PrefixOf(void* block) {
  return reinterpret_cast<Prefix*>(static_cast<char*>(block) - kPrefix);
}

struct Cache {
  std::array<FreeBlock*, kClasses> head{};
  std::array<size_t, kClasses> count{};

  ~Cache() {
    for (size_t c = 0; c < kClasses; ++c) {
      while (FreeBlock* b = head[c]) {
        EHP_UNPOISON(b, sizeof(FreeBlock));
        head[c] = b->next;
        std::free(reinterpret_cast<char*>(b) - kPrefix);
      }
    }
    alive = false;
  }

  // Trivially destructible, so still readable after the cache itself is gone at thread exit.
  static thread_local bool alive;
};
thread_local bool Cache::alive = true;
thread_local Cache cache;

void* FromMalloc(size_t size, uint32_t cls) {
  auto* raw = static_cast<char*>(std::malloc(kPrefix + size));
  if (raw == nullptr) return nullptr;
  auto* prefix = reinterpret_cast<Prefix*>(raw);
  prefix->cls = cls;
  prefix->size = size;
  return raw + kPrefix;
}

}  // namespace

void* Allocate(size_t size) {
  const size_t cls = ClassOf(size);
  if (cls == kLarge) return FromMalloc(size, kLarge);
  if (Cache::alive) {
    if (FreeBlock* b = cache.head[cls]) {
      EHP_UNPOISON(b, Capacity(cls));
      cache.head[cls] = b->next;
      --cache.count[cls];
      return b;
    }
  }
  return FromMalloc(Capacity(cls), static_cast<uint32_t>(cls));
}

void* AllocateZeroed(size_t count, size_t size) {
  if (size != 0 && count > static_cast<size_t>(-1) / size) return nullptr;
  void* p = Allocate(count * size);
  if (p != nullptr) std::memset(p, 0, count * size);
  return p;
}

void* Reallocate(void* block, size_t size) {
  if (block == nullptr) return Allocate(size);
  const Prefix* prefix = PrefixOf(block);
  const size_t have = prefix->cls == kLarge ? prefix->size : Capacity(prefix->cls);
  if (size <= have && (prefix->cls != kLarge || ClassOf(size) == kLarge)) return block;
  void* moved = Allocate(size);
  if (moved == nullptr) return nullptr;
  std::memcpy(moved, block, std::min(have, size));
  Free(block);
  return moved;
}

void Free(void* block) {
  if (block == nullptr) return;
  Prefix* prefix = PrefixOf(block);
  const uint32_t cls = prefix->cls;
  if (cls == kLarge || !Cache::alive || cache.count[cls] * BlockSize(cls) >= kCacheBytes) {
    std::free(prefix);
    return;
  }
  auto* b = static_cast<FreeBlock*>(block);
  b->next = cache.head[cls];
  cache.head[cls] = b;
  ++cache.count[cls];
  EHP_POISON(b, Capacity(cls));
}

size_t CachedBlocks() {
  if (!Cache::alive) return 0;
  size_t n = 0;
  for (size_t c : cache.count) n += c;
  return n;
}

}  // namespace ehp::block_pool
