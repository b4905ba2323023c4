// The block pool: blocks come back for reuse by size class, keep their contents through a
// reallocation, stay bounded per thread, and may be freed on another thread than their own.
#include "proxy/core/block_pool.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace ehp {
namespace {

TEST(BlockPoolTest, AFreedBlockServesTheNextRequestOfItsClass) {
  void* a = block_pool::Allocate(40);
  ASSERT_NE(a, nullptr);
  const size_t cached = block_pool::CachedBlocks();
  block_pool::Free(a);
  EXPECT_EQ(block_pool::CachedBlocks(), cached + 1);
  void* b = block_pool::Allocate(45);  // the same class (41 to 48 bytes)
  EXPECT_EQ(b, a);
  EXPECT_EQ(block_pool::CachedBlocks(), cached);
  void* c = block_pool::Allocate(100);  // another class: not that block
  EXPECT_NE(c, a);
  block_pool::Free(b);
  block_pool::Free(c);
}

TEST(BlockPoolTest, ClassesEndWhereTheirBlocksAreFull) {
  // Blocks hold 16, 32, ..., 112 bytes, then four sizes to each doubling up to 8 KiB, with
  // their 16-byte prefix.
  for (size_t size : {16, 48, 112, 144, 240, 1008, 8176}) {
    void* a = block_pool::Allocate(size);
    block_pool::Free(a);
    EXPECT_EQ(block_pool::Allocate(size), a) << size;  // the same class: the block comes back
    void* b = block_pool::Allocate(size + 1);          // the next class up
    EXPECT_NE(b, a) << size;
    block_pool::Free(b);
    block_pool::Free(a);
  }
}

TEST(BlockPoolTest, BlocksAreAlignedAsMallocs) {
  std::vector<void*> blocks;
  for (size_t size : {1, 16, 47, 48, 49, 200, 4000, 8000, 100000}) {
    void* p = block_pool::Allocate(size);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % alignof(std::max_align_t), 0u) << size;
    std::memset(p, 0xab, size);  // all of it is usable (ASan would say otherwise)
    blocks.push_back(p);
  }
  for (void* p : blocks) block_pool::Free(p);
}

TEST(BlockPoolTest, ReallocateKeepsTheContents) {
  auto* p = static_cast<char*>(block_pool::Allocate(10));
  std::memcpy(p, "0123456789", 10);
  p = static_cast<char*>(block_pool::Reallocate(p, 5000));  // small to large
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(std::string(p, 10), "0123456789");
  p[4999] = 'x';
  p = static_cast<char*>(block_pool::Reallocate(p, 20));  // and back
  EXPECT_EQ(std::string(p, 10), "0123456789");
  block_pool::Free(p);
  void* q = block_pool::Reallocate(nullptr, 8);  // null: a new block
  ASSERT_NE(q, nullptr);
  block_pool::Free(q);
}

TEST(BlockPoolTest, AllocateZeroedZeroesAndRefusesOverflow) {
  auto* p = static_cast<unsigned char*>(block_pool::Allocate(64));
  std::memset(p, 0xff, 64);
  block_pool::Free(p);
  auto* z = static_cast<unsigned char*>(block_pool::AllocateZeroed(8, 8));  // likely p again
  for (int i = 0; i < 64; ++i) ASSERT_EQ(z[i], 0) << i;
  block_pool::Free(z);
  EXPECT_EQ(block_pool::AllocateZeroed(size_t{1} << 40, size_t{1} << 40), nullptr);
}

TEST(BlockPoolTest, TheCacheIsBoundedPerThread) {
  std::thread([] {
    std::vector<void*> blocks;
    for (int i = 0; i < 100000; ++i) blocks.push_back(block_pool::Allocate(40));
    for (void* p : blocks) block_pool::Free(p);
    // 128 KiB of 64-byte blocks at the most, the rest went back to malloc.
    EXPECT_EQ(block_pool::CachedBlocks(), 128u * 1024 / 64);
  }).join();
}

TEST(BlockPoolTest, ABlockMayBeFreedOnAnotherThread) {
  void* p = block_pool::Allocate(100);
  size_t there = 0;
  std::thread([&] {
    block_pool::Free(p);
    there = block_pool::CachedBlocks();
  }).join();  // that thread's cache is released as it exits
  EXPECT_EQ(there, 1u);
}

TEST(BlockPoolTest, PoolAllocatorServesContainers) {
  std::vector<std::string, block_pool::Allocator<std::string>> v;
  for (int i = 0; i < 100; ++i) v.push_back(std::to_string(i) + " of a hundred strings, each long");
  EXPECT_EQ(v[42], "42 of a hundred strings, each long");
}

}  // namespace
}  // namespace ehp
