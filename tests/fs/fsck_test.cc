// fsck.bento's checker finds injected corruption and says what it is.
#include <cstring>

#include "core/geometry.h"
#include "fs_test_util.h"

namespace bentofs::test {
namespace {

using namespace bento;

struct Image {
  std::vector<uint8_t> bytes;
  SuperBlock sb;
};

Image populated() {
  TestFs t;
  auto d = t.fs->mkdir(t.r, kRootIno, "d", 0755);
  auto f = t.create(d->ino, "f");
  t.write(f.ino, 0, std::string(20000, 'f'));
  t.unmount();
  Image img{t.dev->durable_bytes(), {}};
  memcpy(&img.sb, img.bytes.data(), sizeof(img.sb));
  return img;
}

FsckReport check(const std::vector<uint8_t>& bytes) {
  auto d = ImageDevice::from_bytes(bytes);
  return run_fsck(*d, {});
}

bool mentions(const FsckReport& r, const std::string& word) {
  for (auto& p : r.problems)
    if (p.find(word) != std::string::npos) return true;
  return false;
}

TEST(BentoFsFsck, CleanImageIsClean) {
  auto img = populated();
  auto r = check(img.bytes);
  EXPECT_EQ(r.exit_code, 0) << (r.problems.empty() ? "" : r.problems[0]);
  EXPECT_EQ(r.inodes_used, 3u);
}

TEST(BentoFsFsck, FindsBlockBitmapBitClearedForUsedBlock) {
  auto img = populated();
  Geometry g = Geometry::from(img.sb);
  // The root directory's header block is the first data block.
  uint64_t b = g.data_start;
  img.bytes[g.block_bitmap_start * 4096 + b / 8] &= ~(1u << (b % 8));
  auto r = check(img.bytes);
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_TRUE(mentions(r, "marked free in the block bitmap")) << r.problems.size();
}

TEST(BentoFsFsck, FindsWrongLinkCountAndDanglingEntry) {
  auto img = populated();
  Geometry g = Geometry::from(img.sb);
  // Root: nlink 3 (., .., d) -> 7.
  DiskInode root;
  uint64_t off = g.inode_table_start * 4096 + 1 * kInodeSize;
  memcpy(&root, img.bytes.data() + off, sizeof(root));
  root.nlink.set(7);
  memcpy(img.bytes.data() + off, &root, sizeof(root));
  auto r = check(img.bytes);
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_TRUE(mentions(r, "link count"));
  // Free the file's inode in the bitmap: its directory entry now dangles.
  auto img2 = populated();
  img2.bytes[g.inode_bitmap_start * 4096 + 0] &= ~(1u << 3);
  auto r2 = check(img2.bytes);
  EXPECT_EQ(r2.exit_code, 4);
  EXPECT_TRUE(mentions(r2, "marked free in the inode bitmap"));
}

TEST(BentoFsFsck, RepairFixesBitmapsAndLinkCounts) {
  auto img = populated();
  Geometry g = Geometry::from(img.sb);
  uint64_t b = g.data_start;
  img.bytes[g.block_bitmap_start * 4096 + b / 8] &= ~(1u << (b % 8));  // used block freed
  img.bytes[g.block_bitmap_start * 4096 + (g.block_count - 100) / 8] |=
      1u << ((g.block_count - 100) % 8);
  DiskInode root;
  uint64_t off = g.inode_table_start * 4096 + 1 * kInodeSize;
  memcpy(&root, img.bytes.data() + off, sizeof(root));
  root.nlink.set(9);
  memcpy(img.bytes.data() + off, &root, sizeof(root));
  auto d = ImageDevice::from_bytes(img.bytes);
  FsckOptions fix;
  fix.repair = true;
  auto r = run_fsck(*d, fix);
  EXPECT_EQ(r.exit_code, 1) << (r.problems.empty() ? "" : r.problems[0]);
  EXPECT_GE(r.fixed.size(), 2u);
  auto again = run_fsck(*d, {});
  EXPECT_EQ(again.exit_code, 0) << (again.problems.empty() ? "" : again.problems[0]);
  BentoFs fs;
  ASSERT_TRUE(fs.init(root_req(), *d, {}).ok());
  EXPECT_EQ(fs.getattr(root_req(), kRootIno, 0)->nlink, 3u);
  fs.destroy(root_req());
}

// fsck -n after a crash between commit and checkpoint: it does not replay, but says the
// journal holds transactions instead of a bare "clean" (found by tests/fs_e2e kill -9).
TEST(BentoFsFsck, NoReplayNotesPendingJournal) {
  TestFs t;
  auto e = t.create(kRootIno, "f");
  t.write(e.ino, 0, "abc");
  ASSERT_TRUE(t.fs->commit_now().ok());
  auto crashed = ImageDevice::from_bytes(t.dev->durable_bytes());
  FsckOptions no_replay;
  no_replay.replay_journal = false;
  auto rep = run_fsck(*crashed, no_replay);
  EXPECT_EQ(rep.exit_code, 0) << (rep.problems.empty() ? "" : rep.problems[0]);
  // The superblock says "mounted" (issue 15) and the journal holds a transaction.
  ASSERT_EQ(rep.notes.size(), 2u);
  EXPECT_NE(rep.notes[0].find("not unmounted cleanly"), std::string::npos) << rep.notes[0];
  EXPECT_NE(rep.notes[1].find("not replayed"), std::string::npos) << rep.notes[1];
  // Replay, then -n only says it was not unmounted cleanly; a cleanly unmounted image
  // has no notes.
  EXPECT_EQ(run_fsck(*crashed, {}).exit_code, 1);
  auto after = run_fsck(*crashed, no_replay).notes;
  ASSERT_EQ(after.size(), 1u);
  EXPECT_NE(after[0].find("not unmounted cleanly"), std::string::npos);
  t.unmount();
  auto clean = ImageDevice::from_bytes(t.dev->durable_bytes());
  EXPECT_TRUE(run_fsck(*clean, no_replay).notes.empty());
}

// A crash in the middle of a commit (its log blocks written, not its commit block): that
// transaction is not pending, since no replay will ever apply it; fsck -n must not say the
// journal holds transactions, before or after a replay (which found nothing to apply).
TEST(BentoFsFsck, ATornCommitIsNotAPendingTransaction) {
  TestFs t;
  t.unmount();
  t.mount("commit=600000");
  auto e = t.create(kRootIno, "f");
  t.write(e.ino, 0, "abc");
  t.dev->start_recording();
  ASSERT_TRUE(t.fs->commit_now().ok());
  size_t first_flush = 0;
  while (first_flush < t.dev->recorded() && !t.dev->record_is_flush(first_flush)) first_flush++;
  ASSERT_LT(first_flush + 1, t.dev->recorded()) << "the commit block comes after a flush";
  auto torn = ImageDevice::from_bytes(t.dev->image_after(first_flush + 1));
  FsckOptions no_replay;
  no_replay.replay_journal = false;
  auto notes = run_fsck(*torn, no_replay).notes;
  for (const auto& n : notes) EXPECT_EQ(n.find("not replayed"), std::string::npos) << n;
  EXPECT_EQ(run_fsck(*torn, {}).exit_code, 0);  // nothing to replay
  for (const auto& n : run_fsck(*torn, no_replay).notes)
    EXPECT_EQ(n.find("not replayed"), std::string::npos) << n;
  // The whole commit: pending.
  auto whole = ImageDevice::from_bytes(t.dev->image_after(t.dev->recorded()));
  bool pending = false;
  for (const auto& n : run_fsck(*whole, no_replay).notes)
    pending = pending || n.find("not replayed") != std::string::npos;
  EXPECT_TRUE(pending);
}

TEST(BentoFsFsck, ForeignImageIsOperationalError) {
  std::vector<uint8_t> zeros(4096 * 4096, 0);
  auto r = check(zeros);
  EXPECT_EQ(r.exit_code, 8);
  EXPECT_TRUE(mentions(r, "not a Bento-fs image"));
}

}  // namespace
}  // namespace bentofs::test
