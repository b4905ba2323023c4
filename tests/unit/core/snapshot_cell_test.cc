#include "proxy/core/snapshot_cell.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace ehp {
namespace {

// Scenario: a reader sees each published snapshot, and old ones are released by the cell.
TEST(SnapshotCellTest, ReadersSeeNewSnapshots) {
  SnapshotCell<int> cell(std::make_shared<const int>(1));
  EXPECT_EQ(*cell.Get(), 1);
  EXPECT_EQ(*cell.Get(), 1);  // cached path
  auto two = std::make_shared<const int>(2);
  std::weak_ptr<const int> weak = two;
  cell.Set(std::move(two));
  EXPECT_EQ(*cell.Get(), 2);
  cell.Set(std::make_shared<const int>(3));
  EXPECT_EQ(*cell.Get(), 3);
  EXPECT_TRUE(weak.expired());  // nothing but the cell kept 2 alive
}

// Scenario: a destroyed cell's snapshot is released at once, whatever threads cached it.
TEST(SnapshotCellTest, CachesDoNotKeepSnapshotsAlive) {
  std::weak_ptr<const int> weak;
  {
    auto value = std::make_shared<const int>(5);
    weak = value;
    SnapshotCell<int> cell(std::move(value));
    std::thread([&] { EXPECT_EQ(*cell.Get(), 5); }).join();
    EXPECT_EQ(*cell.Get(), 5);
  }
  EXPECT_TRUE(weak.expired());
}

// Scenario: two cells never share a cached entry.
TEST(SnapshotCellTest, CellsAreIndependent) {
  SnapshotCell<int> a(std::make_shared<const int>(10));
  SnapshotCell<int> b(std::make_shared<const int>(20));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(*a.Get(), 10);
    EXPECT_EQ(*b.Get(), 20);
  }
  std::vector<std::unique_ptr<SnapshotCell<int>>> many;
  for (int i = 0; i < 8; ++i)
    many.push_back(std::make_unique<SnapshotCell<int>>(std::make_shared<const int>(i)));
  for (int i = 0; i < 8; ++i) EXPECT_EQ(*many[i]->Get(), i);
  EXPECT_EQ(*a.Get(), 10);
}

// Scenario: concurrent readers and a writer; readers only ever see published values, in order.
TEST(SnapshotCellTest, ConcurrentReadersAndWriter) {
  SnapshotCell<int> cell(std::make_shared<const int>(0));
  std::atomic<bool> stop{false};
  std::atomic<int> violations{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      int last = 0;
      while (!stop) {
        const int v = *cell.Get();
        if (v < last) violations++;
        last = v;
      }
    });
  }
  for (int i = 1; i <= 2000; ++i) cell.Set(std::make_shared<const int>(i));
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(violations.load(), 0);
  EXPECT_EQ(*cell.Get(), 2000);
}

}  // namespace
}  // namespace ehp
