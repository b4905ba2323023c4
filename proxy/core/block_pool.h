// Per-thread free lists of small blocks, for the memory every call takes and gives back (nghttp2's
// stream, frame and header state, our streams, calls and header lists). glibc's per-thread cache
// holds 7 blocks of a size, fewer than the streams one wake-up opens, so most of these went
// through its slower paths: a quarter of the instructions a forwarded call cost.
//
// A block remembers its size class in a 16-byte prefix, so Free needs no size and a block freed
// on another thread than the one that took it simply joins that thread's lists. The lists are
// bounded (kCacheBytes a size class and thread); larger blocks go straight to malloc.
#pragma once

#include <cstddef>
#include <new>

namespace ehp::block_pool {

void* Allocate(size_t size);
void* AllocateZeroed(size_t count, size_t size);
// Like realloc: the contents up to the smaller size are kept; null `block` allocates.
void* Reallocate(void* block, size_t size);
void Free(void* block);

// Blocks this thread keeps cached, all size classes (for tests).
size_t CachedBlocks();

// A standard allocator on the pool, for containers made and dropped per call.
template <typename T>
struct Allocator {
  using value_type = T;
  Allocator() = default;
  template <typename U>
  Allocator(const Allocator<U>&) {}  // NOLINT: converting, as allocators are
  T* allocate(size_t n) {
    if (n > static_cast<size_t>(-1) / sizeof(T)) throw std::bad_array_new_length();
    void* p = Allocate(n * sizeof(T));
    if (p == nullptr) throw std::bad_alloc();
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t) { Free(p); }
  template <typename U>
  bool operator==(const Allocator<U>&) const {
    return true;
  }
};

}  // namespace ehp::block_pool

// Class-level operator new/delete on the pool: `EHP_POOLED_NEW` inside a class.
#define EHP_POOLED_NEW                                         \
  static void* operator new(size_t size) {                     \
    if (void* p = ::ehp::block_pool::Allocate(size)) return p; \
    throw std::bad_alloc();                                    \
  }                                                            \
  static void operator delete(void* p) { ::ehp::block_pool::Free(p); }
