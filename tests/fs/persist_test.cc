// Remount persistence: destroy, new instance on the same device, everything is there.
#include "fs_test_util.h"

namespace bentofs::test {
namespace {

using namespace bento;

TEST(BentoFsPersist, EverythingSurvivesRemount) {
  TestFs t;
  auto d = t.fs->mkdir(t.r, kRootIno, "dir", 0750);
  auto f = t.create(d->ino, "file", 0640);
  t.write(f.ino, 0, "persistent data");
  t.write(f.ino, 5 << 20, "far");  // indirect block
  ASSERT_TRUE(t.fs->symlink(t.r, "dir/file", kRootIno, "ln").ok());
  ASSERT_TRUE(t.fs->link(t.r, f.ino, kRootIno, "hard").ok());
  std::string v = "xv";
  ASSERT_TRUE(
      t.fs->setxattr(t.r, f.ino, "user.k", {reinterpret_cast<const uint8_t*>(v.data()), 2}, 0)
          .ok());
  SetAttr sa;
  sa.valid = SetAttr::kUid | SetAttr::kGid;
  sa.uid = 42;
  sa.gid = 43;
  ASSERT_TRUE(t.fs->setattr(t.r, f.ino, sa, 0).ok());
  auto before = *t.fs->getattr(t.r, f.ino, 0);
  t.remount();
  Ino dir = t.lookup(kRootIno, "dir");
  EXPECT_EQ(dir, d->ino);
  Ino file = t.lookup(dir, "file");
  EXPECT_EQ(t.lookup(kRootIno, "hard"), file);
  EXPECT_EQ(t.read(file, 0, 15), "persistent data");
  EXPECT_EQ(t.read(file, 5 << 20), "far");
  auto after = *t.fs->getattr(t.r, file, 0);
  EXPECT_EQ(after.uid, 42u);
  EXPECT_EQ(after.gid, 43u);
  EXPECT_EQ(after.mode, before.mode);
  EXPECT_EQ(after.nlink, 2u);
  EXPECT_EQ(after.size, before.size);
  EXPECT_EQ(after.mtime, before.mtime);
  char buf[32];
  auto n = t.fs->readlink(t.r, t.lookup(kRootIno, "ln"), buf);
  EXPECT_EQ(std::string(buf, *n), "dir/file");
  uint8_t xb[8];
  auto xn = t.fs->getxattr(t.r, file, "user.k", xb);
  ASSERT_TRUE(xn.ok());
  EXPECT_EQ(std::string(reinterpret_cast<char*>(xb), *xn), "xv");
  auto rep = t.fsck();
  EXPECT_EQ(rep.exit_code, 0) << (rep.problems.empty() ? "" : rep.problems[0]);
}

TEST(BentoFsPersist, AllocationCursorAndCountsPersist) {
  TestFs t;
  for (int i = 0; i < 20; i++) t.write(t.create(kRootIno, "f" + std::to_string(i)).ino, 0, "x");
  auto s1 = *t.fs->statfs(t.r, kRootIno);
  t.remount();
  auto s2 = *t.fs->statfs(t.r, kRootIno);
  EXPECT_EQ(s1.blocks_free, s2.blocks_free);
  EXPECT_EQ(s1.files_free, s2.files_free);
  // New files do not land on live inodes (the original Bento's cursor bug).
  auto n = t.create(kRootIno, "new");
  for (int i = 0; i < 20; i++) EXPECT_EQ(t.read(t.lookup(kRootIno, "f" + std::to_string(i))), "x");
  EXPECT_NE(n.ino, 0u);
}

TEST(BentoFsPersist, ReadOnlyMountWritesNothing) {
  TestFs t;
  auto f = t.create(kRootIno, "f");
  t.write(f.ino, 0, "ro data");
  t.unmount();
  auto before = t.dev->durable_bytes();
  t.mount("ro");
  EXPECT_EQ(t.read(t.lookup(kRootIno, "f")), "ro data");
  EXPECT_EQ(t.fs->mkdir(t.r, kRootIno, "x", 0755).error(), EROFS);
  EXPECT_EQ(t.fs->open(t.r, f.ino, oflag::kWriteOnly).error(), EROFS);
  t.unmount();
  EXPECT_EQ(t.dev->durable_bytes(), before);
  BentoFs fs;
  InitArgs a;
  a.options = "bogus=1";
  EXPECT_EQ(fs.init(t.r, *t.dev, a).error(), EINVAL);
}

}  // namespace
}  // namespace bentofs::test
