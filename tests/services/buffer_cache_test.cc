// BufferCache behaviour with one thread: hits and misses, getblk, bounds, eviction and
// write-back, growth when pinned, error propagation, persistence over a file image.
#include <bento/user/buffer_cache.h>
#include <bento/user/test_disks.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "test_util.h"

namespace bento::user {
namespace {

using testing::fill_pattern;
using testing::has_pattern;

constexpr uint32_t kBs = 4096;

struct Fixture {
  MemoryDisk* mem;  // owned by cache
  std::unique_ptr<BufferCache> cache;
};

Fixture make_cache(uint64_t blocks, uint64_t capacity) {
  auto disk = std::make_unique<MemoryDisk>(kBs, blocks);
  MemoryDisk* mem = disk.get();
  return {mem, std::make_unique<BufferCache>(std::move(disk), capacity)};
}

void put_on_disk(MemoryDisk& d, uint64_t n, uint64_t version) {
  std::vector<uint8_t> b(kBs);
  fill_pattern(b, n, version);
  ASSERT_TRUE(d.write_block(n, b).ok());
}

TEST(BufferCache, BreadReadsOnceThenHits) {
  auto f = make_cache(64, 32);
  put_on_disk(*f.mem, 9, 1);
  uint64_t writes_before = f.mem->writes();
  {
    auto bh = f.cache->bread(9);
    ASSERT_TRUE(bh.ok());
    EXPECT_EQ(bh->blockno(), 9u);
    EXPECT_EQ(bh->data().size(), kBs);
    EXPECT_TRUE(has_pattern(bh->data(), 9, 1));
  }
  auto again = f.cache->bread(9);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(has_pattern(again->data(), 9, 1));
  EXPECT_EQ(f.mem->reads(), 1u);
  auto st = f.cache->stats();
  EXPECT_EQ(st.misses, 1u);
  EXPECT_EQ(st.hits, 1u);
  EXPECT_EQ(st.cached, 1u);
  EXPECT_EQ(st.dirty, 0u);
  EXPECT_EQ(f.mem->writes(), writes_before);  // clean buffers are never written
}

TEST(BufferCache, TwoHeadsForOneBlockShareTheBuffer) {
  auto f = make_cache(16, 8);
  auto a = f.cache->bread(3);
  auto b = f.cache->bread(3);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->data().data(), b->data().data());
  a->data_mut()[0] = 0x5a;
  EXPECT_EQ(b->data()[0], 0x5a);
}

TEST(BufferCache, GetblkZeroFillsWithoutReading) {
  auto f = make_cache(16, 8);
  put_on_disk(*f.mem, 5, 1);
  {
    auto bh = f.cache->getblk(5);
    ASSERT_TRUE(bh.ok());
    EXPECT_TRUE(has_pattern(bh->data(), 5, 0));
  }
  EXPECT_EQ(f.mem->reads(), 0u);
  // Once cached, both calls return the cached contents.
  auto a = f.cache->getblk(5);
  ASSERT_TRUE(a.ok());
  fill_pattern(a->data_mut(), 5, 7);
  a->mark_dirty();
  auto b = f.cache->getblk(5);
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(has_pattern(b->data(), 5, 7));
  auto c = f.cache->bread(5);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(has_pattern(c->data(), 5, 7));
  EXPECT_EQ(f.mem->reads(), 0u);
}

TEST(BufferCache, OutOfRangeIsEinval) {
  auto f = make_cache(16, 8);
  EXPECT_EQ(f.cache->bread(16).error(), EINVAL);
  EXPECT_EQ(f.cache->getblk(16).error(), EINVAL);
  EXPECT_EQ(f.cache->bread(UINT64_MAX).error(), EINVAL);
  EXPECT_TRUE(f.cache->bread(15).ok());
  EXPECT_EQ(f.cache->block_count(), 16u);
  EXPECT_EQ(f.cache->block_size(), kBs);
}

TEST(BufferCache, CapacityRespectedWhenUnpinned) {
  auto f = make_cache(2048, 64);
  for (uint64_t n = 0; n < 1000; n++) {
    auto bh = f.cache->bread(n);
    ASSERT_TRUE(bh.ok());
    ASSERT_LE(f.cache->stats().cached, 64u) << "after block " << n;
  }
  auto st = f.cache->stats();
  EXPECT_GE(st.evictions, 1000u - 64u);
  EXPECT_EQ(st.misses, 1000u);
}

TEST(BufferCache, GrowsWhenEverythingIsPinnedThenShrinksBack) {
  auto f = make_cache(1024, 16);
  std::vector<BufferHead> held;
  for (uint64_t n = 0; n < 100; n++) {
    auto bh = f.cache->getblk(n);
    ASSERT_TRUE(bh.ok()) << n;
    fill_pattern(bh->data_mut(), n, 1);
    held.push_back(std::move(*bh));
  }
  EXPECT_EQ(f.cache->stats().cached, 100u);
  for (uint64_t n = 0; n < 100; n++) EXPECT_TRUE(has_pattern(held[n].data(), n, 1)) << n;
  held.clear();
  EXPECT_LE(f.cache->stats().cached, 16u);
}

TEST(BufferCache, EvictionWritesDirtyDataBack) {
  auto f = make_cache(1024, 16);
  for (uint64_t n = 0; n < 200; n++) {
    auto bh = f.cache->getblk(n);
    ASSERT_TRUE(bh.ok());
    fill_pattern(bh->data_mut(), n, 3);
    bh->mark_dirty();
  }
  auto st = f.cache->stats();
  EXPECT_LE(st.cached, 16u);
  EXPECT_GE(st.writebacks, 184u);
  EXPECT_EQ(f.mem->flushes(), 0u);
  // Every block is either still cached (dirty) or already on the disk.
  int on_disk = 0;
  for (uint64_t n = 0; n < 200; n++) on_disk += has_pattern(f.mem->block(n), n, 3);
  EXPECT_EQ(on_disk + static_cast<int>(st.dirty), 200);
  for (uint64_t n = 0; n < 200; n++) {
    auto bh = f.cache->bread(n);
    ASSERT_TRUE(bh.ok());
    EXPECT_TRUE(has_pattern(bh->data(), n, 3)) << n;
  }
}

TEST(BufferCache, SyncAllWritesEveryDirtyBufferThenFlushes) {
  auto f = make_cache(256, 128);
  for (uint64_t n = 10; n < 20; n++) {
    auto bh = f.cache->getblk(n);
    ASSERT_TRUE(bh.ok());
    fill_pattern(bh->data_mut(), n, 1);
    bh->mark_dirty();
  }
  EXPECT_EQ(f.cache->stats().dirty, 10u);
  EXPECT_EQ(f.mem->writes(), 0u);
  ASSERT_TRUE(f.cache->sync_all().ok());
  EXPECT_EQ(f.mem->writes(), 10u);
  EXPECT_EQ(f.mem->flushes(), 1u);
  EXPECT_EQ(f.cache->stats().dirty, 0u);
  for (uint64_t n = 10; n < 20; n++) EXPECT_TRUE(has_pattern(f.mem->block(n), n, 1));
  ASSERT_TRUE(f.cache->sync_all().ok());
  EXPECT_EQ(f.mem->writes(), 10u);  // nothing left to write
  EXPECT_EQ(f.mem->flushes(), 2u);
}

TEST(BufferCache, BufferHeadSyncWritesThatBlockNow) {
  auto f = make_cache(64, 32);
  auto a = f.cache->getblk(1);
  auto b = f.cache->getblk(2);
  ASSERT_TRUE(a.ok() && b.ok());
  fill_pattern(a->data_mut(), 1, 1);
  fill_pattern(b->data_mut(), 2, 1);
  a->mark_dirty();
  b->mark_dirty();
  ASSERT_TRUE(a->sync().ok());
  EXPECT_EQ(f.mem->writes(), 1u);
  EXPECT_TRUE(has_pattern(f.mem->block(1), 1, 1));
  EXPECT_TRUE(has_pattern(f.mem->block(2), 2, 0));
  EXPECT_EQ(f.cache->stats().dirty, 1u);
  ASSERT_TRUE(a->sync().ok());  // clean: no second write
  EXPECT_EQ(f.mem->writes(), 1u);
  EXPECT_EQ(f.cache->stats().writebacks, 1u);
}

// A journal's checkpoint writes a frozen copy home while the cached buffer already holds
// the next transaction's content: the disk gets the copy, the cache keeps its buffer.
TEST(BufferCache, WriteAroundReachesTheDiskAndLeavesTheCachedBufferAlone) {
  auto f = make_cache(64, 32);
  EXPECT_TRUE(f.cache->can_write_around());
  auto live = f.cache->getblk(5);
  ASSERT_TRUE(live.ok());
  fill_pattern(live->data_mut(), 5, 2);  // the newer content, not dirty
  std::vector<uint8_t> frozen(kBs);
  fill_pattern(frozen, 5, 1);
  ASSERT_TRUE(f.cache->write_around(5, frozen).ok());
  EXPECT_TRUE(has_pattern(f.mem->block(5), 5, 1));
  EXPECT_TRUE(has_pattern(live->data(), 5, 2));
  ASSERT_TRUE(f.cache->sync_all().ok());  // the clean buffer is not written over it
  EXPECT_TRUE(has_pattern(f.mem->block(5), 5, 1));
  EXPECT_EQ(f.cache->write_around(64, frozen).error(), EINVAL);
  EXPECT_EQ(f.cache->write_around(5, std::span<const uint8_t>(frozen).first(100)).error(), EINVAL);
}

TEST(BufferCache, ReleaseEarlyEmptiesTheHandle) {
  auto f = make_cache(64, 32);
  auto bh = f.cache->bread(4);
  ASSERT_TRUE(bh.ok());
  EXPECT_TRUE(static_cast<bool>(*bh));
  bh->release();
  EXPECT_FALSE(static_cast<bool>(*bh));
  bh->release();  // idempotent
  BufferHead moved_from = f.cache->bread(4).value();
  BufferHead to = std::move(moved_from);
  EXPECT_FALSE(static_cast<bool>(moved_from));
  EXPECT_EQ(to.blockno(), 4u);
}

TEST(BufferCache, DestructorWritesBackAndFlushes) {
  MemoryDisk mem(kBs, 64);
  {
    BufferCache cache(std::make_unique<testing::BorrowedDisk>(mem), 32);
    auto bh = cache.getblk(7);
    ASSERT_TRUE(bh.ok());
    fill_pattern(bh->data_mut(), 7, 2);
    bh->mark_dirty();
  }
  EXPECT_TRUE(has_pattern(mem.block(7), 7, 2));
  EXPECT_EQ(mem.flushes(), 1u);
}

// --- Errors --------------------------------------------------------------------------------

struct FaultyFixture {
  MemoryDisk* mem;
  FaultyDisk* faulty;
  std::unique_ptr<BufferCache> cache;
};

FaultyFixture make_faulty(uint64_t blocks, uint64_t capacity) {
  auto disk = std::make_unique<MemoryDisk>(kBs, blocks);
  MemoryDisk* mem = disk.get();
  auto faulty = std::make_unique<FaultyDisk>(std::move(disk));
  FaultyDisk* fp = faulty.get();
  return {mem, fp, std::make_unique<BufferCache>(std::move(faulty), capacity)};
}

TEST(BufferCacheErrors, ReadErrorIsEioAndNotCached) {
  auto f = make_faulty(64, 32);
  put_on_disk(*f.mem, 7, 4);
  f.faulty->fail_reads_of(7);
  EXPECT_EQ(f.cache->bread(7).error(), EIO);
  EXPECT_EQ(f.cache->bread(7).error(), EIO);  // tried again, not served from a bad buffer
  EXPECT_EQ(f.faulty->injected_failures(), 2u);
  EXPECT_EQ(f.cache->stats().cached, 0u);
  f.faulty->heal();
  auto bh = f.cache->bread(7);
  ASSERT_TRUE(bh.ok());
  EXPECT_TRUE(has_pattern(bh->data(), 7, 4));
  EXPECT_TRUE(f.cache->bread(8).ok());  // the cache is still usable
}

TEST(BufferCacheErrors, SyncAllWriteErrorIsEioAndKeepsBufferDirty) {
  auto f = make_faulty(64, 32);
  for (uint64_t n = 1; n <= 3; n++) {
    auto bh = f.cache->getblk(n);
    ASSERT_TRUE(bh.ok());
    fill_pattern(bh->data_mut(), n, 1);
    bh->mark_dirty();
  }
  f.faulty->fail_writes_of(2);
  EXPECT_EQ(f.cache->sync_all().error(), EIO);
  EXPECT_TRUE(has_pattern(f.mem->block(1), 1, 1));  // the others were still written
  EXPECT_TRUE(has_pattern(f.mem->block(3), 3, 1));
  EXPECT_TRUE(has_pattern(f.mem->block(2), 2, 0));
  EXPECT_EQ(f.cache->stats().dirty, 1u);
  EXPECT_EQ(f.cache->sync_all().error(), EIO);  // still failing, still reported
  f.faulty->heal();
  ASSERT_TRUE(f.cache->sync_all().ok());
  EXPECT_TRUE(has_pattern(f.mem->block(2), 2, 1));
  EXPECT_EQ(f.cache->stats().dirty, 0u);
}

TEST(BufferCacheErrors, BufferHeadSyncErrorKeepsBufferDirty) {
  auto f = make_faulty(64, 32);
  auto bh = f.cache->getblk(5);
  ASSERT_TRUE(bh.ok());
  fill_pattern(bh->data_mut(), 5, 1);
  bh->mark_dirty();
  f.faulty->fail_writes_of(5);
  EXPECT_EQ(bh->sync().error(), EIO);
  EXPECT_EQ(f.cache->stats().dirty, 1u);
  f.faulty->heal();
  EXPECT_TRUE(bh->sync().ok());
  EXPECT_TRUE(has_pattern(f.mem->block(5), 5, 1));
}

TEST(BufferCacheErrors, FailedEvictionWritebackLosesNothing) {
  auto f = make_faulty(1024, 16);
  {
    auto bh = f.cache->getblk(0);
    ASSERT_TRUE(bh.ok());
    fill_pattern(bh->data_mut(), 0, 9);
    bh->mark_dirty();
  }
  f.faulty->fail_writes_of(0);
  for (uint64_t n = 1; n < 200; n++) ASSERT_TRUE(f.cache->bread(n).ok()) << n;
  EXPECT_GT(f.faulty->injected_failures(), 0u);  // it did try to evict block 0
  EXPECT_EQ(f.cache->stats().dirty, 1u);
  {
    auto bh = f.cache->bread(0);
    ASSERT_TRUE(bh.ok());
    EXPECT_TRUE(has_pattern(bh->data(), 0, 9));  // the cached copy, not the stale disk
  }
  f.faulty->heal();
  ASSERT_TRUE(f.cache->sync_all().ok());
  EXPECT_TRUE(has_pattern(f.mem->block(0), 0, 9));
}

TEST(BufferCacheErrors, FlushErrorIsEio) {
  auto f = make_faulty(64, 32);
  f.faulty->fail_flushes(true);
  EXPECT_EQ(f.cache->flush().error(), EIO);
  EXPECT_EQ(f.cache->sync_all().error(), EIO);
  f.faulty->heal();
  EXPECT_TRUE(f.cache->flush().ok());
}

TEST(BufferCacheErrors, DiskDyingMidRunKeepsCachedDataReadable) {
  auto f = make_faulty(64, 32);
  for (uint64_t n = 0; n < 8; n++) ASSERT_TRUE(f.cache->bread(n).ok());
  f.faulty->fail_after(0);
  for (uint64_t n = 0; n < 8; n++) EXPECT_TRUE(f.cache->bread(n).ok()) << n;  // hits
  EXPECT_EQ(f.cache->bread(9).error(), EIO);
  {
    auto bh = f.cache->bread(1);
    ASSERT_TRUE(bh.ok());
    bh->mark_dirty();
    EXPECT_EQ(bh->sync().error(), EIO);
  }
  f.faulty->heal();
}

// --- Persistence through a file image -----------------------------------------------------

class TempImage {
 public:
  explicit TempImage(uint64_t bytes) {
    char tmpl[] = "/tmp/bento-cache-test-XXXXXX";
    int fd = mkstemp(tmpl);
    EXPECT_GE(fd, 0);
    path_ = tmpl;
    EXPECT_EQ(ftruncate(fd, static_cast<off_t>(bytes)), 0);
    close(fd);
  }
  ~TempImage() { unlink(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(BufferCache, PersistsAcrossReopenOfAFileImage) {
  TempImage img(kBs * 256);
  {
    auto opened = open_file_disk(img.path(), kBs, false);
    ASSERT_TRUE(opened.disk) << opened.error.message;
    BufferCache cache(std::move(opened.disk), 32);
    for (uint64_t n = 0; n < 256; n += 3) {
      auto bh = cache.getblk(n);
      ASSERT_TRUE(bh.ok());
      fill_pattern(bh->data_mut(), n, 5);
      bh->mark_dirty();
    }
    ASSERT_TRUE(cache.sync_all().ok());
    auto bh = cache.bread(1);  // written back only by the destructor
    ASSERT_TRUE(bh.ok());
    fill_pattern(bh->data_mut(), 1, 6);
    bh->mark_dirty();
  }
  auto opened = open_file_disk(img.path(), kBs, true);
  ASSERT_TRUE(opened.disk) << opened.error.message;
  BufferCache cache(std::move(opened.disk), 32);
  for (uint64_t n = 0; n < 256; n++) {
    auto bh = cache.bread(n);
    ASSERT_TRUE(bh.ok());
    uint64_t version = n == 1 ? 6 : (n % 3 == 0 ? 5 : 0);
    EXPECT_TRUE(has_pattern(bh->data(), n, version)) << n;
  }
}

}  // namespace
}  // namespace bento::user
