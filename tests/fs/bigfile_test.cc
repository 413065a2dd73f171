// Scale: a sparse file past 4 GiB (double-indirect) and a directory of 100k names.

#include <cstring>

#include "core/superblock_check.h"
#include "fs_test_util.h"

namespace bentofs::test {
namespace {

using namespace bento;

TEST(BentoFsScale, SparseFileBeyondFourGiB) {
  TestFs t;
  auto e = t.create(kRootIno, "huge");
  uint64_t off = (4ULL << 30) + (1 << 20);
  t.write(e.ino, off, "past four gib");
  auto a = *t.fs->getattr(t.r, e.ino, 0);
  EXPECT_EQ(a.size, off + 13);
  EXPECT_LE(a.blocks, 3u * 8);  // data + indirect + double-indirect
  EXPECT_EQ(t.read(e.ino, off, 13), "past four gib");
  EXPECT_EQ(t.read(e.ino, off - 4096, 4096), std::string(4096, '\0'));
  EXPECT_EQ(t.read(e.ino, 1ULL << 32, 10), std::string(10, '\0'));
  auto mapped = t.fs->bmap(t.r, e.ino, 4096, off / 4096);
  ASSERT_TRUE(mapped.ok());
  EXPECT_NE(*mapped, 0u);
  EXPECT_EQ(*t.fs->bmap(t.r, e.ino, 4096, 5), 0u);  // a hole
  t.remount();
  EXPECT_EQ(t.read(e.ino, off, 13), "past four gib");
  // Beyond the largest mappable offset: EFBIG.
  auto fh = t.open(e.ino);
  std::string x = "x";
  EXPECT_EQ(
      t.fs->write(t.r, e.ino, fh, kMaxFileSizeBig, {reinterpret_cast<const uint8_t*>(x.data()), 1})
          .error(),
      EFBIG);
  ASSERT_TRUE(t.fs->release(t.r, e.ino, fh, 0).ok());
  SetAttr sa;
  sa.valid = SetAttr::kSize;
  sa.size = 0;
  ASSERT_TRUE(t.fs->setattr(t.r, e.ino, sa, 0).ok());
  EXPECT_EQ(t.fs->getattr(t.r, e.ino, 0)->blocks, 0u);
  EXPECT_EQ(t.fsck().exit_code, 0);
}

// Feature BIGFILE: triple- and quadruple-indirect trees. A 2 TiB sparse file, one past
// 16 TiB and one at the largest offset; holes read as zeroes, block counts are exact, and
// truncation frees every pointer block again.
TEST(BentoFsScale, SparseFilesPastTwoAndSixteenTiB) {
  TestFs t;
  struct Point {
    uint64_t off;
    std::string text;
  };
  const std::vector<Point> points = {
      {2ULL << 40, "two tib"},                        // triple-indirect
      {(16ULL << 40) + (5ULL << 20), "sixteen tib"},  // quadruple-indirect
      {kMaxFileSizeBig - 3, "end"},                   // the last bytes a file can have
  };
  for (size_t i = 0; i < points.size(); i++) {
    auto e = t.create(kRootIno, "big" + std::to_string(i));
    t.write(e.ino, points[i].off, points[i].text);
    auto a = *t.fs->getattr(t.r, e.ino, 0);
    EXPECT_EQ(a.size, points[i].off + points[i].text.size());
    // One data block plus one pointer block per tree level (3 or 4), 8 sectors each.
    EXPECT_LE(a.blocks, 5u * 8) << i;
    EXPECT_GE(a.blocks, 4u * 8) << i;
    EXPECT_EQ(t.read(e.ino, points[i].off, 64), points[i].text);
    EXPECT_EQ(t.read(e.ino, points[i].off - 8192, 8192), std::string(8192, '\0'));
    EXPECT_EQ(t.read(e.ino, points[i].off / 2, 100), std::string(100, '\0'));
  }
  t.remount();
  std::vector<Ino> inos;
  for (size_t i = 0; i < points.size(); i++) {
    inos.push_back(t.lookup(kRootIno, "big" + std::to_string(i)));
    EXPECT_EQ(t.read(inos.back(), points[i].off, 64), points[i].text);
  }
  auto rep = t.fsck();
  EXPECT_EQ(rep.exit_code, 0) << (rep.problems.empty() ? "" : rep.problems[0]);
  uint64_t before = t.fs->statfs(t.r, kRootIno)->blocks_free;
  for (size_t i = 0; i < points.size(); i++) {
    ASSERT_TRUE(t.fs->unlink(t.r, kRootIno, "big" + std::to_string(i)).ok());
    t.fs->forget(inos[i], 1);
  }
  EXPECT_GE(t.fs->statfs(t.r, kRootIno)->blocks_free, before + 3 * 4);
  rep = t.fsck();
  EXPECT_EQ(rep.exit_code, 0) << (rep.problems.empty() ? "" : rep.problems[0]);
}

// Images made before BIGFILE (feature bit clear) still mount; their files stop where the
// double-indirect tree ends (EFBIG), as before.
TEST(BentoFsScale, ImagesWithoutBigFileStillMountAndStopAtFourGiB) {
  TestFs t;
  t.unmount();
  {
    auto bh = t.dev->bread(kSuperBlockNo);
    ASSERT_TRUE(bh.ok());
    SuperBlock sb;
    memcpy(&sb, bh->data().data(), sizeof sb);
    sb.feature_incompat.set(sb.feature_incompat.get() & ~feature::kIncompatBigFile);
    seal_superblock(sb);
    memcpy(bh->data_mut().data(), &sb, sizeof sb);
    bh->mark_dirty();
    ASSERT_TRUE(t.dev->sync_all().ok());
  }
  t.mount();
  auto e = t.create(kRootIno, "f");
  t.write(e.ino, kMaxFileSizeV1 - 4, "last");
  auto fh = t.open(e.ino);
  std::string x = "x";
  EXPECT_EQ(
      t.fs->write(t.r, e.ino, fh, kMaxFileSizeV1, {reinterpret_cast<const uint8_t*>(x.data()), 1})
          .error(),
      EFBIG);
  ASSERT_TRUE(t.fs->release(t.r, e.ino, fh, 0).ok());
  EXPECT_EQ(t.read(e.ino, kMaxFileSizeV1 - 4, 10), "last");
  auto rep = t.fsck();
  EXPECT_EQ(rep.exit_code, 0) << (rep.problems.empty() ? "" : rep.problems[0]);
}

TEST(BentoFsScale, HundredThousandEntryDirectory) {
  FormatOptions o;
  o.inode_count = 120000;
  TestFs t(65536, o);  // 256 MiB
  auto d = t.fs->mkdir(t.r, kRootIno, "big", 0755);
  constexpr int kN = 100000;
  for (int i = 0; i < kN; i++) {
    auto m = t.fs->mknod(t.r, d->ino, "entry-" + std::to_string(i), mode::kRegular | 0644, 0);
    ASSERT_TRUE(m.ok()) << i << ": " << m.error();
    t.fs->forget(m->ino, 1);
  }
  for (int i = 0; i < kN; i += 997) EXPECT_NE(t.lookup(d->ino, "entry-" + std::to_string(i)), 0u);
  EXPECT_EQ(t.lookup_err(d->ino, "entry-" + std::to_string(kN)), ENOENT);
  for (int i = 0; i < 2000; i++) {
    auto e = t.fs->lookup(t.r, d->ino, "entry-" + std::to_string(i * 37));
    ASSERT_TRUE(e.ok());
    t.fs->forget(e->ino, 1);
  }
  VecFiller all;
  ASSERT_TRUE(t.fs->readdir(t.r, d->ino, 0, 0, all).ok());
  EXPECT_EQ(all.items.size(), static_cast<size_t>(kN + 2));
  t.remount();
  EXPECT_NE(t.lookup(t.lookup(kRootIno, "big"), "entry-99999"), 0u);
  auto rep = t.fsck();
  EXPECT_EQ(rep.exit_code, 0) << (rep.problems.empty() ? "" : rep.problems[0]);
}

}  // namespace
}  // namespace bentofs::test
