// The Disks: FileDisk (open_file_disk), MemoryDisk, FaultyDisk, RecordingDisk and
// crash_image().
#include <bento/user/buffer_cache.h>
#include <bento/user/disk.h>
#include <bento/user/recording_disk.h>
#include <bento/user/test_disks.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "test_util.h"

namespace bento::user {
namespace {

using testing::fill_pattern;
using testing::has_pattern;

constexpr uint32_t kBs = 4096;

std::string temp_file(uint64_t bytes) {
  char tmpl[] = "/tmp/bento-disk-test-XXXXXX";
  int fd = mkstemp(tmpl);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(ftruncate(fd, static_cast<off_t>(bytes)), 0);
  close(fd);
  return tmpl;
}

std::vector<uint8_t> block_of(uint64_t n, uint64_t version) {
  std::vector<uint8_t> b(kBs);
  fill_pattern(b, n, version);
  return b;
}

TEST(FileDisk, ReadsAndWritesWholeBlocksAndRoundsSizeDown) {
  std::string path = temp_file(kBs * 3 + 100);
  {
    auto r = open_file_disk(path, kBs, false);
    ASSERT_TRUE(r.disk) << r.error.message;
    Disk& d = *r.disk;
    EXPECT_EQ(d.block_size(), kBs);
    EXPECT_EQ(d.block_count(), 3u);
    ASSERT_TRUE(d.write_block(2, block_of(2, 1)).ok());
    ASSERT_TRUE(d.flush().ok());
    std::vector<uint8_t> buf(kBs);
    ASSERT_TRUE(d.read_block(2, buf).ok());
    EXPECT_TRUE(has_pattern(buf, 2, 1));
    ASSERT_TRUE(d.read_block(0, buf).ok());
    EXPECT_TRUE(has_pattern(buf, 0, 0));
    EXPECT_EQ(d.read_block(3, buf).error(), EINVAL);
    EXPECT_EQ(d.write_block(3, buf).error(), EINVAL);
    std::vector<uint8_t> small(kBs - 1);
    EXPECT_EQ(d.read_block(0, small).error(), EINVAL);
  }
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_size, static_cast<off_t>(kBs * 3 + 100));  // never resized
  unlink(path.c_str());
}

TEST(FileDisk, ReadOnlyRefusesWrites) {
  std::string path = temp_file(kBs * 2);
  auto r = open_file_disk(path, kBs, true);
  ASSERT_TRUE(r.disk) << r.error.message;
  EXPECT_EQ(r.disk->write_block(0, block_of(0, 1)).error(), EROFS);
  EXPECT_TRUE(r.disk->flush().ok());
  unlink(path.c_str());
}

TEST(FileDisk, OpenErrorsSayWhatIsWrong) {
  auto missing = open_file_disk("/nonexistent/bento.img", kBs, false);
  EXPECT_FALSE(missing.disk);
  EXPECT_EQ(missing.error.error, ENOENT);
  EXPECT_EQ(missing.error.message, "image /nonexistent/bento.img: No such file or directory");

  std::string tiny = temp_file(100);
  auto small = open_file_disk(tiny, kBs, false);
  EXPECT_FALSE(small.disk);
  EXPECT_EQ(small.error.error, EINVAL);
  EXPECT_EQ(small.error.message.rfind("image " + tiny + ": smaller than one block", 0), 0u)
      << small.error.message;
  unlink(tiny.c_str());

  auto dir = open_file_disk("/tmp", kBs, true);
  EXPECT_FALSE(dir.disk);
  EXPECT_EQ(dir.error.message, "image /tmp: not a regular file or block device");

  std::string ok = temp_file(kBs);
  auto bad_bs = open_file_disk(ok, 1000, false);
  EXPECT_FALSE(bad_bs.disk);
  EXPECT_EQ(bad_bs.error.error, EINVAL);
  unlink(ok.c_str());
}

// A loop device over a scratch image (root only), detached when the test ends. An
// explicit scratch device can be given with BENTO_TEST_BLOCK_DEVICE=/dev/... instead.
class LoopDevice {
 public:
  LoopDevice() {
    if (geteuid() != 0) {
      why_ = "not root: loop devices need root";
      return;
    }
    char tmpl[] = "/tmp/bento-loop-XXXXXX";
    int fd = mkstemp(tmpl);
    if (fd < 0 || ftruncate(fd, 8 << 20) != 0) {
      why_ = "cannot create a scratch image";
      return;
    }
    close(fd);
    image_ = tmpl;
    FILE* p = popen(("losetup --find --show " + image_ + " 2>&1").c_str(), "r");
    char line[256] = {};
    if (p == nullptr || fgets(line, sizeof line, p) == nullptr) line[0] = 0;
    int rc = p != nullptr ? pclose(p) : -1;
    std::string out(line);
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    if (rc != 0 || out.rfind("/dev/", 0) != 0) {
      why_ = "losetup failed (no loop device support?): " + out;
      return;
    }
    path_ = out;
  }
  ~LoopDevice() {
    if (!path_.empty()) (void)system(("losetup -d " + path_).c_str());
    if (!image_.empty()) unlink(image_.c_str());
  }
  const std::string& path() const { return path_; }
  const std::string& why_not() const { return why_; }

 private:
  std::string image_, path_, why_;
};

TEST(FileDisk, BlockDeviceSizeComesFromTheDevice) {
  LoopDevice loop;
  std::string dev;
  if (const char* env = getenv("BENTO_TEST_BLOCK_DEVICE")) dev = env;
  if (dev.empty()) dev = loop.path();
  if (dev.empty()) GTEST_SKIP() << "NO BLOCK DEVICE TO TEST ON: " << loop.why_not();
  auto r = open_file_disk(dev, kBs, false);
  ASSERT_TRUE(r.disk) << r.error.message;
  if (getenv("BENTO_TEST_BLOCK_DEVICE") == nullptr) {
    EXPECT_EQ(r.disk->block_count(), (8u << 20) / kBs);  // the loop device's size, via ioctl
  }
  EXPECT_GT(r.disk->block_count(), 0u);
  uint64_t last = r.disk->block_count() - 1;
  ASSERT_TRUE(r.disk->write_block(last, block_of(last, 1)).ok());
  ASSERT_TRUE(r.disk->flush().ok());
  std::vector<uint8_t> buf(kBs);
  ASSERT_TRUE(r.disk->read_block(last, buf).ok());
  EXPECT_TRUE(has_pattern(buf, last, 1));
  EXPECT_EQ(r.disk->read_block(last + 1, buf).error(), EINVAL);
}

TEST(MemoryDisk, StoresBlocksAndCounts) {
  MemoryDisk d(kBs, 8);
  EXPECT_TRUE(has_pattern(d.block(3), 3, 0));
  ASSERT_TRUE(d.write_block(3, block_of(3, 2)).ok());
  std::vector<uint8_t> buf(kBs);
  ASSERT_TRUE(d.read_block(3, buf).ok());
  EXPECT_TRUE(has_pattern(buf, 3, 2));
  EXPECT_EQ(d.read_block(8, buf).error(), EINVAL);
  EXPECT_TRUE(d.block(8).empty());
  auto copy = d.clone();
  EXPECT_TRUE(copy->same_contents(d));
  ASSERT_TRUE(copy->write_block(0, block_of(0, 1)).ok());
  EXPECT_FALSE(copy->same_contents(d));
  EXPECT_EQ(d.reads(), 1u);
  EXPECT_EQ(d.writes(), 1u);
}

TEST(FaultyDisk, FailsChosenBlocksAndAfterACountdown) {
  FaultyDisk d(std::make_unique<MemoryDisk>(kBs, 8));
  std::vector<uint8_t> buf(kBs);
  d.fail_reads_of(2);
  d.fail_writes_of(3);
  EXPECT_EQ(d.read_block(2, buf).error(), EIO);
  EXPECT_TRUE(d.write_block(2, buf).ok());
  EXPECT_EQ(d.write_block(3, buf).error(), EIO);
  EXPECT_TRUE(d.read_block(3, buf).ok());
  d.fail_flushes(true);
  EXPECT_EQ(d.flush().error(), EIO);
  d.heal();
  EXPECT_TRUE(d.read_block(2, buf).ok());
  EXPECT_TRUE(d.flush().ok());
  d.fail_after(2);
  EXPECT_TRUE(d.read_block(0, buf).ok());
  EXPECT_TRUE(d.write_block(0, buf).ok());
  EXPECT_EQ(d.read_block(0, buf).error(), EIO);
  EXPECT_EQ(d.flush().error(), EIO);
  EXPECT_EQ(d.injected_failures(), 5u);
}

TEST(RecordingDisk, LogsWritesAndFlushesInOrder) {
  auto rec = RecordingDisk(std::make_unique<MemoryDisk>(kBs, 8));
  ASSERT_TRUE(rec.write_block(1, block_of(1, 1)).ok());
  ASSERT_TRUE(rec.write_block(2, block_of(2, 1)).ok());
  ASSERT_TRUE(rec.flush().ok());
  ASSERT_TRUE(rec.write_block(1, block_of(1, 2)).ok());
  std::vector<uint8_t> buf(kBs);
  ASSERT_TRUE(rec.read_block(1, buf).ok());  // reads pass through, unlogged
  EXPECT_TRUE(has_pattern(buf, 1, 2));
  auto entries = rec.log()->entries();
  ASSERT_EQ(entries.size(), 4u);
  EXPECT_EQ(entries[0].kind, DiskLogEntry::Kind::kWrite);
  EXPECT_EQ(entries[0].block, 1u);
  EXPECT_TRUE(has_pattern(entries[0].data, 1, 1));
  EXPECT_EQ(entries[1].block, 2u);
  EXPECT_EQ(entries[2].kind, DiskLogEntry::Kind::kFlush);
  EXPECT_EQ(entries[3].block, 1u);
  EXPECT_TRUE(has_pattern(entries[3].data, 1, 2));
  EXPECT_EQ(rec.log()->write_count(), 3u);
  EXPECT_EQ(rec.log()->flush_points(), std::vector<size_t>{2});
  rec.log()->clear();
  EXPECT_EQ(rec.log()->write_count(), 0u);
}

TEST(RecordingDisk, FailedOperationsAreNotLogged) {
  auto faulty = std::make_unique<FaultyDisk>(std::make_unique<MemoryDisk>(kBs, 8));
  faulty->fail_writes_of(3);
  faulty->fail_flushes(true);
  RecordingDisk rec(std::move(faulty));
  EXPECT_EQ(rec.write_block(3, block_of(3, 1)).error(), EIO);
  EXPECT_EQ(rec.flush().error(), EIO);
  EXPECT_TRUE(rec.write_block(4, block_of(4, 1)).ok());
  EXPECT_EQ(rec.log()->entries().size(), 1u);
}

TEST(RecordingDisk, CrashImagesReplayPrefixesOfTheWrites) {
  MemoryDisk base(kBs, 8);
  ASSERT_TRUE(base.write_block(1, block_of(1, 10)).ok());
  ASSERT_TRUE(base.write_block(2, block_of(2, 10)).ok());
  RecordingDisk rec(base.clone());
  ASSERT_TRUE(rec.write_block(1, block_of(1, 11)).ok());
  ASSERT_TRUE(rec.write_block(2, block_of(2, 11)).ok());
  ASSERT_TRUE(rec.flush().ok());
  ASSERT_TRUE(rec.write_block(1, block_of(1, 12)).ok());
  const DiskLog& log = *rec.log();
  struct Want {
    uint64_t v1, v2;
  };
  const Want want[] = {{10, 10}, {11, 10}, {11, 11}, {12, 11}};
  for (size_t k = 0; k < 4; k++) {
    auto img = crash_image(base, log, k);
    ASSERT_TRUE(img);
    EXPECT_TRUE(has_pattern(img->block(1), 1, want[k].v1)) << "k=" << k;
    EXPECT_TRUE(has_pattern(img->block(2), 2, want[k].v2)) << "k=" << k;
    EXPECT_TRUE(has_pattern(img->block(3), 3, 0)) << "k=" << k;
  }
  auto all = crash_image(base, log, 1000);  // clamped
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->same_contents(static_cast<MemoryDisk&>(rec.inner())));
  EXPECT_TRUE(has_pattern(base.block(1), 1, 10));  // the base is untouched
  MemoryDisk other_geometry(kBs, 1);
  EXPECT_FALSE(crash_image(other_geometry, log, 2));  // block 2 does not fit
}

// Through the buffer cache: each flush point replays to exactly what the disk held when
// that sync_all returned, and the whole log replays to the final disk.
TEST(RecordingDisk, FlushPointsMatchTheDiskAtEachSync) {
  MemoryDisk base(kBs, 256);
  auto inner = base.clone();
  MemoryDisk* disk = inner.get();
  auto recorder = std::make_unique<RecordingDisk>(std::move(inner));
  std::shared_ptr<DiskLog> log = recorder->log();
  std::vector<std::unique_ptr<MemoryDisk>> at_sync;
  {
    BufferCache cache(std::move(recorder), 16);  // small: evictions write between syncs
    for (uint64_t round = 1; round <= 4; round++) {
      for (uint64_t n = 0; n < 64; n += round) {
        auto bh = cache.bread(n);
        ASSERT_TRUE(bh.ok());
        fill_pattern(bh->data_mut(), n, round);
        bh->mark_dirty();
      }
      ASSERT_TRUE(cache.sync_all().ok());
      at_sync.push_back(disk->clone());
    }
    auto points = log->flush_points();
    ASSERT_EQ(points.size(), 4u);
    for (size_t i = 0; i < points.size(); i++) {
      auto img = crash_image(base, *log, points[i]);
      ASSERT_TRUE(img);
      EXPECT_TRUE(img->same_contents(*at_sync[i])) << "flush " << i;
    }
    for (size_t i = 1; i < points.size(); i++) EXPECT_GT(points[i], points[i - 1]);
  }
  auto final_img = crash_image(base, *log, log->write_count());
  ASSERT_TRUE(final_img);
  EXPECT_TRUE(final_img->same_contents(*at_sync.back()));
}

}  // namespace
}  // namespace bento::user
