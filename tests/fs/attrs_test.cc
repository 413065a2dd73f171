// Inode attributes beyond the mode (issue 19): chattr flags (append-only, immutable,
// noatime, nodump), POSIX ACLs, birth time, many and large extended attributes.
#include "fs_test_util.h"

namespace bentofs::test {
namespace {

using namespace bento;

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

Status write_at(TestFs& t, Ino ino, Fh fh, uint64_t off, const std::string& d) {
  auto w = t.fs->write(t.r, ino, fh, off, bytes(d));
  return w.ok() ? Status::Ok() : Status(Err(w.error()));
}

// chattr +a: only appends. No truncation, no overwrite, no unlink, rename, link, chmod,
// chown or xattr change, for anyone (root included) until root clears the flag.
TEST(BentoFsAttrs, AppendOnlyFileOnlyGrows) {
  TestFs t;
  auto d = t.fs->mkdir(t.r, kRootIno, "logs", 0755);
  ASSERT_TRUE(d.ok());
  auto e = t.create(d->ino, "audit.log");
  t.write(e.ino, 0, "first\n");
  ASSERT_TRUE(t.fs->setflags(t.r, e.ino, iflag::kAppend).ok());
  EXPECT_EQ(*t.fs->getflags(t.r, e.ino), iflag::kAppend);
  // Appends work.
  auto ap = t.fs->open(t.r, e.ino, oflag::kWriteOnly | oflag::kAppend);
  ASSERT_TRUE(ap.ok());
  ASSERT_TRUE(write_at(t, e.ino, ap->fh, 0, "second\n").ok());
  ASSERT_TRUE(t.fs->release(t.r, e.ino, ap->fh, 0).ok());
  EXPECT_EQ(t.read(e.ino), "first\nsecond\n");
  // Everything else is refused with EPERM, to root as well.
  EXPECT_EQ(t.fs->open(t.r, e.ino, oflag::kWriteOnly).error(), EPERM);
  EXPECT_EQ(t.fs->open(t.r, e.ino, oflag::kWriteOnly | oflag::kAppend | oflag::kTruncate).error(),
            EPERM);
  SetAttr sz;
  sz.valid = SetAttr::kSize;
  sz.size = 0;
  EXPECT_EQ(t.fs->setattr(t.r, e.ino, sz, 0).error(), EPERM);
  SetAttr ch;
  ch.valid = SetAttr::kMode;
  ch.mode = 0600;
  EXPECT_EQ(t.fs->setattr(t.r, e.ino, ch, 0).error(), EPERM);
  EXPECT_EQ(t.fs->unlink(t.r, d->ino, "audit.log").error(), EPERM);
  EXPECT_EQ(t.fs->rename(t.r, d->ino, "audit.log", d->ino, "renamed", 0).error(), EPERM);
  EXPECT_EQ(t.fs->link(t.r, e.ino, d->ino, "hard").error(), EPERM);
  EXPECT_EQ(t.fs->setxattr(t.r, e.ino, "user.x", bytes("1"), 0).error(), EPERM);
  EXPECT_EQ(t.fs->fallocate(t.r, e.ino, 0, falloc::kPunchHole | falloc::kKeepSize, 0, 4096).error(),
            EPERM);
  // Replacing it by a rename onto its name is a removal too.
  auto other = t.create(d->ino, "other");
  EXPECT_EQ(t.fs->rename(t.r, d->ino, "other", d->ino, "audit.log", 0).error(), EPERM);
  // Only root changes the flags, and the owner cannot clear them.
  Request owner = user_req(0, 0);
  Request user = user_req(1000, 1000);
  auto mine = t.create(d->ino, "mine");
  SetAttr own;
  own.valid = SetAttr::kUid | SetAttr::kGid;
  own.uid = 1000;
  own.gid = 1000;
  ASSERT_TRUE(t.fs->setattr(owner, mine.ino, own, 0).ok());
  EXPECT_EQ(t.fs->setflags(user, mine.ino, iflag::kAppend).error(), EPERM);
  EXPECT_TRUE(t.fs->setflags(user, mine.ino, iflag::kNoDump).ok());  // 'd' is the owner's
  EXPECT_EQ(t.fs->setflags(user, e.ino, 0).error(), EPERM);
  EXPECT_EQ(t.fs->setflags(t.r, e.ino, 0x1000).error(), EOPNOTSUPP);  // unknown flag
  // It persists, and after root clears it everything works again.
  t.remount();
  EXPECT_EQ(*t.fs->getflags(t.r, e.ino), iflag::kAppend);
  EXPECT_EQ(t.fs->unlink(t.r, d->ino, "audit.log").error(), EPERM);
  ASSERT_TRUE(t.fs->setflags(t.r, e.ino, 0).ok());
  EXPECT_TRUE(t.fs->setattr(t.r, e.ino, sz, 0).ok());
  EXPECT_TRUE(t.fs->unlink(t.r, d->ino, "audit.log").ok());
  auto rep = t.fsck();
  EXPECT_EQ(rep.exit_code, 0) << (rep.problems.empty() ? "" : rep.problems[0]);
  (void)other;
}

// chattr +i: nothing at all, not even appends or a new name in an immutable directory.
TEST(BentoFsAttrs, ImmutableFileAndDirectoryRefuseEverything) {
  TestFs t;
  auto d = t.fs->mkdir(t.r, kRootIno, "sealed", 0755);
  ASSERT_TRUE(d.ok());
  auto e = t.create(d->ino, "evidence");
  t.write(e.ino, 0, "exhibit A");
  ASSERT_TRUE(t.fs->setflags(t.r, e.ino, iflag::kImmutable).ok());
  ASSERT_TRUE(t.fs->setflags(t.r, d->ino, iflag::kImmutable).ok());
  EXPECT_EQ(t.fs->open(t.r, e.ino, oflag::kWriteOnly | oflag::kAppend).error(), EPERM);
  EXPECT_EQ(t.fs->open(t.r, e.ino, oflag::kReadWrite).error(), EPERM);
  auto ro = t.fs->open(t.r, e.ino, oflag::kReadOnly);  // reading is fine
  ASSERT_TRUE(ro.ok());
  EXPECT_EQ(t.fs->fallocate(t.r, e.ino, 0, 0, 0, 4096).error(), EPERM);
  ASSERT_TRUE(t.fs->release(t.r, e.ino, ro->fh, 0).ok());
  SetAttr times;
  times.valid = SetAttr::kAtimeNow | SetAttr::kMtimeNow | SetAttr::kAtime | SetAttr::kMtime;
  EXPECT_EQ(t.fs->setattr(t.r, e.ino, times, 0).error(), EPERM);
  EXPECT_EQ(t.fs->access(t.r, e.ino, amode::kWrite).error(), EPERM);
  EXPECT_EQ(t.fs->unlink(t.r, d->ino, "evidence").error(), EPERM);
  EXPECT_EQ(t.fs->create(t.r, d->ino, "new", 0644, oflag::kReadWrite).error(), EPERM);
  EXPECT_EQ(t.fs->mkdir(t.r, d->ino, "sub", 0755).error(), EPERM);
  EXPECT_EQ(t.fs->rename(t.r, kRootIno, "sealed", kRootIno, "moved", 0).error(), EPERM);
  EXPECT_EQ(t.fs->setxattr(t.r, d->ino, "user.x", bytes("1"), 0).error(), EPERM);
  EXPECT_EQ(t.read(e.ino), "exhibit A");
  ASSERT_TRUE(t.fs->setflags(t.r, d->ino, 0).ok());
  ASSERT_TRUE(t.fs->setflags(t.r, e.ino, 0).ok());
  EXPECT_TRUE(t.fs->unlink(t.r, d->ino, "evidence").ok());
}

// chattr +A: reads never update atime, whatever the mount says.
TEST(BentoFsAttrs, NoAtimeFlag) {
  TestFs t;
  t.unmount();
  t.mount("strictatime");
  auto e = t.create(kRootIno, "f");
  t.write(e.ino, 0, "x");
  ASSERT_TRUE(t.fs->setflags(t.r, e.ino, iflag::kNoAtime).ok());
  Timespec a = t.fs->getattr(t.r, e.ino, 0)->atime;
  EXPECT_EQ(t.read(e.ino), "x");
  EXPECT_EQ(t.fs->getattr(t.r, e.ino, 0)->atime, a);
}

}  // namespace
}  // namespace bentofs::test
