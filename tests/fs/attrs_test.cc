// Inode attributes beyond the mode (issue 19): chattr flags (append-only, immutable,
// noatime, nodump), POSIX ACLs, birth time, many and large extended attributes.
#include <algorithm>
#include <array>
#include <chrono>
#include <thread>

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

// 1,000 attributes of 64 bytes on one inode, and one of 64 KiB, across a remount; listing
// them all; removing them all gives every block back.
TEST(BentoFsAttrs, ThousandXattrsAndOneOf64KiB) {
  TestFs t;
  auto e = t.create(kRootIno, "many");
  const uint64_t free0 = t.fs->statfs(t.r, kRootIno)->blocks_free;
  auto value = [](int i) {
    std::string v(64, '\0');
    for (int k = 0; k < 64; k++) v[k] = static_cast<char>('A' + (i * 7 + k) % 26);
    return v;
  };
  for (int i = 0; i < 1000; i++) {
    auto s = t.fs->setxattr(t.r, e.ino, "user.attr" + std::to_string(i), bytes(value(i)),
                            xattr_flag::kCreate);
    ASSERT_TRUE(s.ok()) << i << ": " << s.error();
  }
  std::string big(65536, '\0');
  for (size_t k = 0; k < big.size(); k++) big[k] = static_cast<char>(k * 31 % 251);
  ASSERT_TRUE(t.fs->setxattr(t.r, e.ino, "user.big", bytes(big), 0).ok());
  t.remount();
  for (int i = 0; i < 1000; i += 37) {
    std::string out(64, '\0');
    auto n = t.fs->getxattr(t.r, e.ino, "user.attr" + std::to_string(i),
                            {reinterpret_cast<uint8_t*>(out.data()), out.size()});
    ASSERT_TRUE(n.ok()) << i;
    EXPECT_EQ(out, value(i)) << i;
  }
  std::string out(65536, '\0');
  auto n =
      t.fs->getxattr(t.r, e.ino, "user.big", {reinterpret_cast<uint8_t*>(out.data()), out.size()});
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(out == big, true);
  // Listing: every name once.
  auto len = t.fs->listxattr(t.r, e.ino, {});
  ASSERT_TRUE(len.ok());
  std::string names(*len, '\0');
  ASSERT_EQ(*t.fs->listxattr(t.r, e.ino, {names.data(), names.size()}), *len);
  EXPECT_EQ(std::count(names.begin(), names.end(), '\0'), 1001);
  // Replacing one in the middle keeps the others.
  ASSERT_TRUE(
      t.fs->setxattr(t.r, e.ino, "user.attr500", bytes("short"), xattr_flag::kReplace).ok());
  EXPECT_EQ(*t.fs->getxattr(t.r, e.ino, "user.attr500", {}), 5u);
  EXPECT_EQ(*t.fs->getxattr(t.r, e.ino, "user.attr999", {}), 64u);
  EXPECT_GT(t.fs->getattr(t.r, e.ino, 0)->blocks, 0u);
  auto rep = t.fsck();
  EXPECT_EQ(rep.exit_code, 0) << (rep.problems.empty() ? "" : rep.problems[0]);
  for (int i = 0; i < 1000; i++)
    ASSERT_TRUE(t.fs->removexattr(t.r, e.ino, "user.attr" + std::to_string(i)).ok()) << i;
  ASSERT_TRUE(t.fs->removexattr(t.r, e.ino, "user.big").ok());
  EXPECT_EQ(t.fs->getattr(t.r, e.ino, 0)->blocks, 0u);
  EXPECT_EQ(t.fs->statfs(t.r, kRootIno)->blocks_free, free0);
  rep = t.fsck();
  EXPECT_EQ(rep.exit_code, 0) << (rep.problems.empty() ? "" : rep.problems[0]);
}

// An ACL value in the Linux xattr encoding (format/acl.h).
std::string acl_value(std::initializer_list<std::array<uint32_t, 3>> entries) {
  std::string v = {2, 0, 0, 0};
  for (auto& e : entries) {
    for (int b = 0; b < 2; b++) v.push_back(static_cast<char>(e[0] >> (8 * b)));
    for (int b = 0; b < 2; b++) v.push_back(static_cast<char>(e[1] >> (8 * b)));
    for (int b = 0; b < 4; b++) v.push_back(static_cast<char>(e[2] >> (8 * b)));
  }
  return v;
}
constexpr uint32_t kU = 0xFFFFFFFF;

// An access ACL grants a named user what the mode does not, a named group is limited by
// the mask, and the rest are denied; chmod moves the mask; removing the ACL restores the
// mode's verdict.
TEST(BentoFsAttrs, AccessAclGrantsAndDenies) {
  TestFs t;
  auto e = t.create(kRootIno, "report", 0640);
  Request alice = user_req(1001, 1001), bob = user_req(1002, 1002), eve = user_req(1003, 100);
  EXPECT_EQ(t.fs->open(alice, e.ino, oflag::kReadOnly).error(), EACCES);
  // user::rw- user:alice:rw- group::r-- group:100:rw- mask::r-- other::---
  std::string a = acl_value({{0x01, 6, kU},
                             {0x02, 6, 1001},
                             {0x04, 4, kU},
                             {0x08, 6, 100},
                             {0x10, 4, kU},
                             {0x20, 0, kU}});
  ASSERT_TRUE(t.fs->setxattr(t.r, e.ino, "system.posix_acl_access", bytes(a), 0).ok());
  EXPECT_EQ(t.fs->getattr(t.r, e.ino, 0)->mode & 0777, 0640u);  // group bits = the mask
  auto o = t.fs->open(alice, e.ino, oflag::kReadOnly);          // alice: rw, limited to r by mask
  ASSERT_TRUE(o.ok()) << o.error();
  ASSERT_TRUE(t.fs->release(alice, e.ino, o->fh, 0).ok());
  EXPECT_EQ(t.fs->open(alice, e.ino, oflag::kWriteOnly).error(), EACCES);
  EXPECT_EQ(t.fs->open(bob, e.ino, oflag::kReadOnly).error(), EACCES);  // other: none
  auto g = t.fs->open(eve, e.ino, oflag::kReadOnly);                    // group 100: r (mask)
  ASSERT_TRUE(g.ok());
  ASSERT_TRUE(t.fs->release(eve, e.ino, g->fh, 0).ok());
  EXPECT_EQ(t.fs->open(eve, e.ino, oflag::kWriteOnly).error(), EACCES);
  // chmod g+w widens the mask: alice and group 100 may write now.
  SetAttr ch;
  ch.valid = SetAttr::kMode;
  ch.mode = 0660;
  ASSERT_TRUE(t.fs->setattr(t.r, e.ino, ch, 0).ok());
  auto w = t.fs->open(alice, e.ino, oflag::kWriteOnly);
  ASSERT_TRUE(w.ok()) << w.error();
  ASSERT_TRUE(t.fs->release(alice, e.ino, w->fh, 0).ok());
  // Only the owner (or root) changes an ACL; it survives a remount.
  EXPECT_EQ(t.fs->setxattr(alice, e.ino, "system.posix_acl_access", bytes(a), 0).error(), EPERM);
  t.remount();
  auto w2 = t.fs->open(alice, e.ino, oflag::kWriteOnly);
  ASSERT_TRUE(w2.ok());
  ASSERT_TRUE(t.fs->release(alice, e.ino, w2->fh, 0).ok());
  // Malformed ACLs are refused.
  EXPECT_EQ(t.fs->setxattr(t.r, e.ino, "system.posix_acl_access",
                           bytes(acl_value({{0x01, 6, kU}, {0x02, 6, 1001}, {0x20, 0, kU}})), 0)
                .error(),
            EINVAL);
  ASSERT_TRUE(t.fs->removexattr(t.r, e.ino, "system.posix_acl_access").ok());
  EXPECT_EQ(t.fs->open(alice, e.ino, oflag::kWriteOnly).error(), EACCES);
  auto rep = t.fsck();
  EXPECT_EQ(rep.exit_code, 0) << (rep.problems.empty() ? "" : rep.problems[0]);
}

// A directory's default ACL is inherited: files get it as their access ACL (limited by the
// requested mode, and the umask is not applied), subdirectories as both.
TEST(BentoFsAttrs, DefaultAclIsInheritedOnCreate) {
  TestFs t;
  auto d = t.fs->mkdir(t.r, kRootIno, "shared", 0755);
  ASSERT_TRUE(d.ok());
  std::string def =
      acl_value({{0x01, 7, kU}, {0x02, 7, 1001}, {0x04, 5, kU}, {0x10, 7, kU}, {0x20, 0, kU}});
  ASSERT_TRUE(t.fs->setxattr(t.r, d->ino, "system.posix_acl_default", bytes(def), 0).ok());
  EXPECT_EQ(t.fs->setxattr(t.r, t.create(kRootIno, "plain").ino, "system.posix_acl_default",
                           bytes(def), 0)
                .error(),
            EACCES);  // only directories have default ACLs
  Request creator = t.r;
  creator.umask = 077;  // ignored under a default ACL
  auto f = t.fs->create(creator, d->ino, "f", 0666, oflag::kReadWrite);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(t.fs->release(creator, f->entry.ino, f->open.fh, 0).ok());
  EXPECT_EQ(f->entry.attr.mode & 0777, 0660u);  // user rw, mask rw (from 0666), other 0
  Request alice = user_req(1001, 1001);
  auto o = t.fs->open(alice, f->entry.ino, oflag::kReadWrite);
  ASSERT_TRUE(o.ok()) << o.error();
  ASSERT_TRUE(t.fs->release(alice, f->entry.ino, o->fh, 0).ok());
  EXPECT_EQ(t.fs->open(user_req(1002, 1002), f->entry.ino, oflag::kReadOnly).error(), EACCES);
  auto sub = t.fs->mkdir(creator, d->ino, "sub", 0777);
  ASSERT_TRUE(sub.ok());
  EXPECT_EQ(sub->attr.mode & 0777, 0770u);
  std::string got(256, '\0');
  auto n = t.fs->getxattr(t.r, sub->ino, "system.posix_acl_default",
                          {reinterpret_cast<uint8_t*>(got.data()), got.size()});
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(got.substr(0, *n), def);
  EXPECT_TRUE(t.fs->getxattr(t.r, sub->ino, "system.posix_acl_access", {}).ok());
  // Without a default ACL the umask applies.
  auto p = t.fs->create(creator, kRootIno, "masked", 0666, oflag::kReadWrite);
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE(t.fs->release(creator, p->entry.ino, p->open.fh, 0).ok());
  EXPECT_EQ(p->entry.attr.mode & 0777, 0600u);
  auto rep = t.fsck();
  EXPECT_EQ(rep.exit_code, 0) << (rep.problems.empty() ? "" : rep.problems[0]);
}

// statx birth time: set at creation, kept on disk, never changed by later writes.
TEST(BentoFsAttrs, BirthTimeSurvivesRemount) {
  TestFs t;
  auto e = t.create(kRootIno, "born");
  auto a = t.fs->getattr(t.r, e.ino, 0);
  ASSERT_TRUE(a->has_btime);
  EXPECT_NE(a->btime.sec, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  t.write(e.ino, 0, "later");
  t.remount();
  auto b = t.fs->getattr(t.r, e.ino, 0);
  EXPECT_EQ(b->btime, a->btime);
  EXPECT_NE(b->mtime, a->btime);
}

// O_TMPFILE: an unnamed file (on the orphan list) that link() names, or that is freed when
// closed unnamed, or at the next mount after a crash.
TEST(BentoFsAttrs, TmpfileLinkedOrFreed) {
  TestFs t;
  auto d = t.fs->mkdir(t.r, kRootIno, "tmp", 01777);
  ASSERT_TRUE(d.ok());
  const uint64_t free0 = t.fs->statfs(t.r, kRootIno)->blocks_free;
  const uint64_t ifree0 = t.fs->statfs(t.r, kRootIno)->files_free;
  auto tf = t.fs->tmpfile(t.r, d->ino, 0600, oflag::kReadWrite | oflag::kTmpFile);
  ASSERT_TRUE(tf.ok()) << tf.error();
  EXPECT_EQ(tf->entry.attr.nlink, 0u);
  EXPECT_EQ(t.list(d->ino), (std::vector<std::string>{".", ".."}));
  ASSERT_TRUE(write_at(t, tf->entry.ino, tf->open.fh, 0, "staged").ok());
  auto l = t.fs->link(t.r, tf->entry.ino, d->ino, "final");
  ASSERT_TRUE(l.ok()) << l.error();
  EXPECT_EQ(l->attr.nlink, 1u);
  ASSERT_TRUE(t.fs->release(t.r, tf->entry.ino, tf->open.fh, 0).ok());
  t.fs->forget(tf->entry.ino, 2);
  EXPECT_EQ(t.read(t.lookup(d->ino, "final")), "staged");
  // Never linked: freed at close.
  auto gone = t.fs->tmpfile(t.r, d->ino, 0600, oflag::kReadWrite | oflag::kTmpFile);
  ASSERT_TRUE(gone.ok());
  ASSERT_TRUE(write_at(t, gone->entry.ino, gone->open.fh, 0, std::string(10000, 'x')).ok());
  ASSERT_TRUE(t.fs->release(t.r, gone->entry.ino, gone->open.fh, 0).ok());
  t.fs->forget(gone->entry.ino, 1);
  EXPECT_EQ(t.fs->statfs(t.r, kRootIno)->files_free, ifree0 - 1);  // only "final"
  // O_EXCL: never linkable.
  auto ex =
      t.fs->tmpfile(t.r, d->ino, 0600, oflag::kReadWrite | oflag::kTmpFile | oflag::kExclusive);
  ASSERT_TRUE(ex.ok());
  EXPECT_EQ(t.fs->link(t.r, ex->entry.ino, d->ino, "nope").error(), ENOENT);
  ASSERT_TRUE(t.fs->release(t.r, ex->entry.ino, ex->open.fh, 0).ok());
  t.fs->forget(ex->entry.ino, 1);
  // A crash while one is open: the next mount frees it.
  auto crash = t.fs->tmpfile(t.r, d->ino, 0600, oflag::kReadWrite | oflag::kTmpFile);
  ASSERT_TRUE(crash.ok());
  ASSERT_TRUE(write_at(t, crash->entry.ino, crash->open.fh, 0, std::string(20000, 'c')).ok());
  ASSERT_TRUE(t.fs->commit_now().ok());
  auto img = t.dev->durable_bytes();
  t.unmount();
  t.dev = ImageDevice::from_bytes(img);
  t.mount();
  EXPECT_EQ(t.fs->statfs(t.r, kRootIno)->files_free, ifree0 - 1);
  EXPECT_EQ(t.fs->statfs(t.r, kRootIno)->blocks_free, free0 - 1);  // "final"'s data block
  // Errors: not a directory, no write permission.
  auto f = t.create(kRootIno, "plainfile");
  EXPECT_EQ(t.fs->tmpfile(t.r, f.ino, 0600, oflag::kReadWrite | oflag::kTmpFile).error(), ENOTDIR);
  EXPECT_EQ(
      t.fs->tmpfile(user_req(5, 5), kRootIno, 0600, oflag::kReadWrite | oflag::kTmpFile).error(),
      EACCES);
  auto rep = t.fsck();
  EXPECT_EQ(rep.exit_code, 0) << (rep.problems.empty() ? "" : rep.problems[0]);
}

}  // namespace
}  // namespace bentofs::test
