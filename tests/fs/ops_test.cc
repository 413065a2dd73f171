// Every operation through the File Operations API, with POSIX errno values.
#include <algorithm>
#include <cstring>
#include <set>

#include "core/superblock_check.h"
#include "fs_test_util.h"

namespace bentofs::test {
namespace {

using namespace bento;

TEST(BentoFsOps, RootIsEmptyDirectory) {
  TestFs t;
  auto a = t.fs->getattr(t.r, kRootIno, 0);
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(mode::is_dir(a->mode));
  EXPECT_EQ(a->nlink, 2u);
  EXPECT_EQ(t.list(kRootIno), (std::vector<std::string>{".", ".."}));
}

TEST(BentoFsOps, CreateWriteReadAndExclusive) {
  TestFs t;
  auto e = t.create(kRootIno, "a.txt");
  t.write(e.ino, 0, "hello world");
  EXPECT_EQ(t.read(e.ino), "hello world");
  EXPECT_EQ(t.fs->getattr(t.r, e.ino, 0)->size, 11u);
  auto again = t.fs->create(t.r, kRootIno, "a.txt", 0644, oflag::kReadWrite | oflag::kExclusive);
  EXPECT_EQ(again.error(), EEXIST);
  // Without O_EXCL create opens the existing file.
  auto open = t.fs->create(t.r, kRootIno, "a.txt", 0644, oflag::kReadWrite);
  ASSERT_TRUE(open.ok());
  EXPECT_EQ(open->entry.ino, e.ino);
  EXPECT_TRUE(t.fs->release(t.r, e.ino, open->open.fh, 0).ok());
}

// Regression (model test): create without O_EXCL on an existing file with O_TRUNC returned
// the Entry looked up before the truncation, i.e. the old size.
TEST(BentoFsOps, CreateTruncOfExistingFileReportsNewSize) {
  TestFs t;
  auto e = t.create(kRootIno, "f");
  t.write(e.ino, 0, "0123456789");
  auto c = t.fs->create(t.r, kRootIno, "f", 0644, oflag::kWriteOnly | oflag::kTruncate);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->entry.ino, e.ino);
  EXPECT_EQ(c->entry.attr.size, 0u);
  EXPECT_EQ(t.fs->getattr(t.r, e.ino, 0)->size, 0u);
  EXPECT_TRUE(t.fs->release(t.r, e.ino, c->open.fh, 0).ok());
}

TEST(BentoFsOps, OpenTruncAndAppend) {
  TestFs t;
  auto e = t.create(kRootIno, "f");
  t.write(e.ino, 0, "0123456789");
  auto o = t.fs->open(t.r, e.ino, oflag::kWriteOnly | oflag::kTruncate);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(t.fs->getattr(t.r, e.ino, 0)->size, 0u);
  EXPECT_TRUE(t.fs->release(t.r, e.ino, o->fh, 0).ok());
  t.write(e.ino, 0, "abc");
  auto ap = t.fs->open(t.r, e.ino, oflag::kWriteOnly | oflag::kAppend);
  ASSERT_TRUE(ap.ok());
  std::string d = "XYZ";
  // The offset is ignored under O_APPEND.
  ASSERT_TRUE(
      t.fs->write(t.r, e.ino, ap->fh, 0, {reinterpret_cast<const uint8_t*>(d.data()), 3}).ok());
  EXPECT_TRUE(t.fs->release(t.r, e.ino, ap->fh, 0).ok());
  EXPECT_EQ(t.read(e.ino), "abcXYZ");
  // A read-only handle cannot write.
  auto ro = t.fs->open(t.r, e.ino, oflag::kReadOnly);
  auto w = t.fs->write(t.r, e.ino, ro->fh, 0, {reinterpret_cast<const uint8_t*>(d.data()), 3});
  EXPECT_EQ(w.error(), EBADF);
  EXPECT_TRUE(t.fs->release(t.r, e.ino, ro->fh, 0).ok());
}

TEST(BentoFsOps, HolesReadAsZeroAndTruncateBothWays) {
  TestFs t;
  auto e = t.create(kRootIno, "sparse");
  t.write(e.ino, 100000, "end");
  std::string all = t.read(e.ino);
  ASSERT_EQ(all.size(), 100003u);
  EXPECT_EQ(all.substr(100000), "end");
  EXPECT_TRUE(std::all_of(all.begin(), all.begin() + 100000, [](char c) { return c == 0; }));
  EXPECT_LE(t.fs->getattr(t.r, e.ino, 0)->blocks, 8u * 2);  // one data block (+slack)
  SetAttr sa;
  sa.valid = SetAttr::kSize;
  sa.size = 100001;  // shrink into the block
  ASSERT_TRUE(t.fs->setattr(t.r, e.ino, sa, 0).ok());
  sa.size = 100010;  // grow again: the cut bytes must read as zero
  ASSERT_TRUE(t.fs->setattr(t.r, e.ino, sa, 0).ok());
  std::string tail = t.read(e.ino, 100000);
  EXPECT_EQ(tail, std::string("e") + std::string(9, '\0'));
  sa.size = 0;
  ASSERT_TRUE(t.fs->setattr(t.r, e.ino, sa, 0).ok());
  EXPECT_EQ(t.fs->getattr(t.r, e.ino, 0)->blocks, 0u);
}

TEST(BentoFsOps, MkdirRmdirAndErrors) {
  TestFs t;
  auto d = t.fs->mkdir(t.r, kRootIno, "d", 0755);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(t.fs->getattr(t.r, kRootIno, 0)->nlink, 3u);
  EXPECT_EQ(t.fs->mkdir(t.r, kRootIno, "d", 0755).error(), EEXIST);
  auto f = t.create(d->ino, "f");
  EXPECT_EQ(t.fs->rmdir(t.r, kRootIno, "d").error(), ENOTEMPTY);
  EXPECT_EQ(t.fs->unlink(t.r, kRootIno, "d").error(), EISDIR);
  EXPECT_EQ(t.fs->rmdir(t.r, d->ino, "f").error(), ENOTDIR);
  EXPECT_EQ(t.fs->lookup(t.r, f.ino, "x").error(), ENOTDIR);
  EXPECT_EQ(t.fs->mkdir(t.r, f.ino, "x", 0755).error(), ENOTDIR);
  EXPECT_EQ(t.lookup_err(kRootIno, "missing"), ENOENT);
  EXPECT_EQ(t.lookup_err(kRootIno, std::string(256, 'n')), ENAMETOOLONG);
  EXPECT_EQ(t.fs->mkdir(t.r, kRootIno, std::string(256, 'n'), 0755).error(), ENAMETOOLONG);
  EXPECT_TRUE(t.fs->mkdir(t.r, kRootIno, std::string(255, 'n'), 0755).ok());
  EXPECT_EQ(t.lookup(d->ino, ".."), kRootIno);
  ASSERT_TRUE(t.fs->unlink(t.r, d->ino, "f").ok());
  ASSERT_TRUE(t.fs->rmdir(t.r, kRootIno, "d").ok());
  EXPECT_EQ(t.fs->getattr(t.r, kRootIno, 0)->nlink, 3u);  // the 255-char one remains
  EXPECT_EQ(t.lookup_err(kRootIno, "d"), ENOENT);
  EXPECT_EQ(t.fs->rmdir(t.r, kRootIno, "d").error(), ENOENT);
}

TEST(BentoFsOps, SymlinkReadlinkMknodLink) {
  TestFs t;
  auto s = t.fs->symlink(t.r, "target/path", kRootIno, "ln");
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(mode::is_symlink(s->attr.mode));
  char buf[64];
  auto n = t.fs->readlink(t.r, s->ino, buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf, *n), "target/path");
  EXPECT_EQ(t.fs->symlink(t.r, std::string(5000, 'x'), kRootIno, "long").error(), ENAMETOOLONG);
  auto f = t.create(kRootIno, "file");
  EXPECT_EQ(t.fs->readlink(t.r, f.ino, buf).error(), EINVAL);
  auto fifo = t.fs->mknod(t.r, kRootIno, "fifo", mode::kFifo | 0600, 0);
  ASSERT_TRUE(fifo.ok());
  EXPECT_EQ(fifo->attr.mode & mode::kTypeMask, mode::kFifo);
  auto l = t.fs->link(t.r, f.ino, kRootIno, "hard");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->attr.nlink, 2u);
  EXPECT_EQ(t.fs->link(t.r, kRootIno, kRootIno, "dirlink").error(), EPERM);
  EXPECT_EQ(t.fs->link(t.r, f.ino, kRootIno, "hard").error(), EEXIST);
  ASSERT_TRUE(t.fs->unlink(t.r, kRootIno, "file").ok());
  EXPECT_EQ(t.fs->getattr(t.r, f.ino, 0)->nlink, 1u);
  EXPECT_EQ(t.list(kRootIno), (std::vector<std::string>{".", "..", "fifo", "hard", "ln"}));
}

TEST(BentoFsOps, RenameVariants) {
  TestFs t;
  auto a = t.create(kRootIno, "a");
  auto b = t.create(kRootIno, "b");
  t.write(a.ino, 0, "AAA");
  t.write(b.ino, 0, "BBB");
  // Plain rename over an existing target replaces it.
  ASSERT_TRUE(t.fs->rename(t.r, kRootIno, "a", kRootIno, "b", 0).ok());
  EXPECT_EQ(t.lookup(kRootIno, "b"), a.ino);
  EXPECT_EQ(t.lookup_err(kRootIno, "a"), ENOENT);
  auto c = t.create(kRootIno, "c");
  EXPECT_EQ(t.fs->rename(t.r, kRootIno, "c", kRootIno, "b", rename_flag::kNoReplace).error(),
            EEXIST);
  ASSERT_TRUE(t.fs->rename(t.r, kRootIno, "c", kRootIno, "b", rename_flag::kExchange).ok());
  EXPECT_EQ(t.lookup(kRootIno, "b"), c.ino);
  EXPECT_EQ(t.lookup(kRootIno, "c"), a.ino);
  EXPECT_EQ(t.fs->rename(t.r, kRootIno, "c", kRootIno, "zz", rename_flag::kExchange).error(),
            ENOENT);
  EXPECT_EQ(t.fs->rename(t.r, kRootIno, "c", kRootIno, "b", 3).error(), EINVAL);
  // Directories: across parents, into itself, over non-empty.
  auto d1 = t.fs->mkdir(t.r, kRootIno, "d1", 0755);
  auto d2 = t.fs->mkdir(t.r, kRootIno, "d2", 0755);
  auto sub = t.fs->mkdir(t.r, d1->ino, "sub", 0755);
  EXPECT_EQ(t.fs->rename(t.r, kRootIno, "d1", sub->ino, "x", 0).error(), EINVAL);
  ASSERT_TRUE(t.fs->rename(t.r, d1->ino, "sub", d2->ino, "moved", 0).ok());
  EXPECT_EQ(t.lookup(sub->ino, ".."), d2->ino);
  EXPECT_EQ(t.fs->getattr(t.r, d1->ino, 0)->nlink, 2u);
  EXPECT_EQ(t.fs->getattr(t.r, d2->ino, 0)->nlink, 3u);
  EXPECT_EQ(t.fs->rename(t.r, kRootIno, "d1", kRootIno, "d2", 0).error(), ENOTEMPTY);
  EXPECT_EQ(t.fs->rename(t.r, kRootIno, "b", kRootIno, "d1", 0).error(), EISDIR);
  EXPECT_EQ(t.fs->rename(t.r, kRootIno, "d1", kRootIno, "b", 0).error(), ENOTDIR);
  ASSERT_TRUE(t.fs->rename(t.r, kRootIno, "d2", kRootIno, "d1", rename_flag::kExchange).ok());
  ASSERT_TRUE(t.fs->rename(t.r, d2->ino, "moved", kRootIno, "top", 0).ok());  // names swapped
  ASSERT_TRUE(t.fs->rename(t.r, kRootIno, "d2", kRootIno, "d1", 0).ok());     // over empty dir
  // The replaced directory lives while the kernel still has it looked up.
  EXPECT_EQ(t.fs->getattr(t.r, d2->ino, 0)->nlink, 0u);
  t.fs->forget(d2->ino, 2);  // mkdir's lookup and the ".." lookup above
  EXPECT_EQ(t.fs->getattr(t.r, d2->ino, 0).error(), ENOENT);
  auto rep = t.fsck();
  EXPECT_EQ(rep.exit_code, 0) << (rep.problems.empty() ? "" : rep.problems[0]);
}

TEST(BentoFsOps, UnlinkedOpenFileLivesUntilRelease) {
  TestFs t;
  auto e = t.create(kRootIno, "tmp");
  t.write(e.ino, 0, "still here");
  auto free_before = t.fs->statfs(t.r, kRootIno)->blocks_free;
  bento::Fh fh = t.open(e.ino);
  ASSERT_TRUE(t.fs->unlink(t.r, kRootIno, "tmp").ok());
  EXPECT_EQ(t.lookup_err(kRootIno, "tmp"), ENOENT);
  EXPECT_EQ(t.read(e.ino), "still here");
  EXPECT_EQ(t.fs->getattr(t.r, e.ino, 0)->nlink, 0u);
  // The kernel still holds the create's lookup: forget it, then release.
  t.fs->forget(e.ino, 1);
  EXPECT_EQ(t.read(e.ino), "still here");
  ASSERT_TRUE(t.fs->release(t.r, e.ino, fh, 0).ok());
  EXPECT_EQ(t.fs->getattr(t.r, e.ino, 0).error(), ENOENT);
  EXPECT_GT(t.fs->statfs(t.r, kRootIno)->blocks_free, free_before);
  EXPECT_EQ(t.fsck().exit_code, 0);
}

// `rm big; df`: statfs counts the blocks of a file being freed as free from the start of
// its deletion, not as each step gives them back.
TEST(BentoFsOps, StatfsCountsAFileBeingFreedAsFree) {
  TestFs t;
  const uint64_t free0 = t.fs->statfs(t.r, kRootIno)->blocks_free;
  auto e = t.create(kRootIno, "big");
  t.write(e.ino, 0, std::string(64 * 4096, 'b'));
  bento::Fh fh = t.open(e.ino);
  ASSERT_TRUE(t.fs->unlink(t.r, kRootIno, "big").ok());
  const uint64_t held = t.fs->getattr(t.r, e.ino, 0)->blocks / 8;  // 512-byte units
  ASSERT_GE(held, 64u);
  EXPECT_EQ(t.fs->statfs(t.r, kRootIno)->blocks_free, free0 - held) << "still open: held";
  ASSERT_TRUE(FsAccess::note_deleting(*t.fs, e.ino));
  EXPECT_EQ(t.fs->statfs(t.r, kRootIno)->blocks_free, free0) << "being freed: free";
  t.fs->forget(e.ino, 1);
  ASSERT_TRUE(t.fs->release(t.r, e.ino, fh, 0).ok());
  EXPECT_EQ(t.fs->statfs(t.r, kRootIno)->blocks_free, free0) << "freed: counted once";
  EXPECT_EQ(t.fsck().exit_code, 0);
}

TEST(BentoFsOps, OrphanFreedAtNextMountAfterCrash) {
  TestFs t;
  auto e = t.create(kRootIno, "orphan");
  t.write(e.ino, 0, std::string(50000, 'o'));
  bento::Fh fh = t.open(e.ino);
  ASSERT_TRUE(t.fs->unlink(t.r, kRootIno, "orphan").ok());
  ASSERT_TRUE(t.fs->commit_now().ok());
  // Crash: the instance vanishes with the file still open.
  auto crashed = ImageDevice::from_bytes(t.dev->durable_bytes());
  (void)fh;
  auto pre = run_fsck(*ImageDevice::from_bytes(crashed->durable_bytes()), {});
  EXPECT_NE(pre.exit_code, 4) << "orphan must be a legal state";
  BentoFs fs2;
  bento::InitArgs a;
  ASSERT_TRUE(fs2.init(t.r, *crashed, a).ok());
  EXPECT_EQ(fs2.getattr(t.r, e.ino, 0).error(), ENOENT);
  fs2.destroy(t.r);
  auto rep = run_fsck(*crashed, {});
  EXPECT_EQ(rep.exit_code, 0) << (rep.problems.empty() ? "" : rep.problems[0]);
}

TEST(BentoFsOps, PermissionChecks) {
  TestFs t;
  auto d = t.fs->mkdir(t.r, kRootIno, "priv", 0700);
  auto f = t.create(d->ino, "secret", 0600);
  Request u = user_req(1000, 1000);
  EXPECT_EQ(t.fs->lookup(u, d->ino, "secret").error(), EACCES);
  EXPECT_EQ(t.fs->create(u, d->ino, "new", 0644, oflag::kWriteOnly).error(), EACCES);
  EXPECT_EQ(t.fs->open(u, f.ino, oflag::kReadOnly).error(), EACCES);
  EXPECT_EQ(t.fs->access(u, f.ino, amode::kRead).error(), EACCES);
  EXPECT_TRUE(t.fs->access(t.r, f.ino, amode::kRead).ok());
  SetAttr sa;
  sa.valid = SetAttr::kMode;
  sa.mode = 0777;
  EXPECT_EQ(t.fs->setattr(u, f.ino, sa, 0).error(), EPERM);
  sa.valid = SetAttr::kUid;
  sa.uid = 1000;
  EXPECT_EQ(t.fs->setattr(u, f.ino, sa, 0).error(), EPERM);
  ASSERT_TRUE(t.fs->setattr(t.r, f.ino, sa, 0).ok());  // root chowns
  ASSERT_TRUE(t.fs->setattr(t.r, d->ino, sa, 0).ok());
  EXPECT_TRUE(t.fs->open(u, f.ino, oflag::kReadWrite).ok());
  // Supplementary groups grant group access.
  auto g = t.create(kRootIno, "grp", 0640);
  SetAttr sg;
  sg.valid = SetAttr::kGid;
  sg.gid = 55;
  ASSERT_TRUE(t.fs->setattr(t.r, g.ino, sg, 0).ok());
  uint32_t groups[] = {7, 55};
  Request ug = user_req(1000, 1000);
  ug.groups = groups;
  ug.ngroups = 2;
  EXPECT_TRUE(t.fs->access(ug, g.ino, amode::kRead).ok());
  EXPECT_EQ(t.fs->access(u, g.ino, amode::kRead).error(), EACCES);
  // utimens: explicit times need ownership; "now" needs write permission.
  SetAttr tm;
  tm.valid = SetAttr::kMtime;
  tm.mtime = {12345, 678};
  EXPECT_EQ(t.fs->setattr(ug, g.ino, tm, 0).error(), EPERM);
  auto ok = t.fs->setattr(t.r, g.ino, tm, 0);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->mtime, (Timespec{12345, 678}));
  // Sticky directory: others cannot delete.
  auto tmp = t.fs->mkdir(t.r, kRootIno, "tmp", 01777);
  auto mine = t.fs->create(t.r, tmp->ino, "rootfile", 0644, oflag::kWriteOnly);
  EXPECT_EQ(t.fs->unlink(u, tmp->ino, "rootfile").error(), EPERM);
  (void)mine;
}

// As Linux does: a write or truncate by a non-root caller and any chown drop setuid, and
// setgid when group-execute is set (the FUSE kernel client also asks for it with setattr).
TEST(BentoFsOps, SetIdBitsDropOnWriteTruncateAndChown) {
  TestFs t;
  Request u = user_req(1000, 1000);
  auto mode_of = [&](Ino ino) { return t.fs->getattr(t.r, ino, 0)->mode & 07777; };
  auto make = [&](const std::string& name, uint32_t mode) {
    auto e = t.create(kRootIno, name, 0666);
    SetAttr sa;
    sa.valid = SetAttr::kMode | SetAttr::kUid;
    sa.mode = mode;
    sa.uid = 1000;
    EXPECT_TRUE(t.fs->setattr(t.r, e.ino, sa, 0).ok());
    EXPECT_EQ(mode_of(e.ino), mode);
    return e.ino;
  };
  const uint8_t byte = 'x';
  // Root keeps the bits on write (CAP_FSETID); another writer drops them.
  Ino w = make("w", 06775);
  auto fh = t.fs->open(t.r, w, oflag::kReadWrite);
  ASSERT_TRUE(fh.ok());
  ASSERT_TRUE(t.fs->write(t.r, w, fh->fh, 0, {&byte, 1}).ok());
  EXPECT_EQ(mode_of(w), 06775u);
  auto ufh = t.fs->open(u, w, oflag::kWriteOnly);
  ASSERT_TRUE(ufh.ok());
  ASSERT_TRUE(t.fs->write(u, w, ufh->fh, 1, {&byte, 1}).ok());
  EXPECT_EQ(mode_of(w), 0775u);
  // setgid without group-execute (mandatory locking) stays.
  Ino lockish = make("lockish", 02664);
  auto lfh = t.fs->open(u, lockish, oflag::kWriteOnly);
  ASSERT_TRUE(lfh.ok());
  ASSERT_TRUE(t.fs->write(u, lockish, lfh->fh, 0, {&byte, 1}).ok());
  EXPECT_EQ(mode_of(lockish), 02664u);
  // Truncation by the owner drops them.
  Ino tr = make("tr", 04755);
  SetAttr size;
  size.valid = SetAttr::kSize;
  size.size = 0;
  ASSERT_TRUE(t.fs->setattr(u, tr, size, 0).ok());
  EXPECT_EQ(mode_of(tr), 0755u);
  // chown drops them even when done by root to the same owner...
  Ino ch = make("ch", 06755);
  SetAttr own;
  own.valid = SetAttr::kUid;
  own.uid = 1000;
  ASSERT_TRUE(t.fs->setattr(t.r, ch, own, 0).ok());
  EXPECT_EQ(mode_of(ch), 0755u);
  // ...unless the same call sets the mode; and directories keep setgid.
  Ino both = make("both", 0755);
  SetAttr mo;
  mo.valid = SetAttr::kUid | SetAttr::kMode;
  mo.uid = 0;
  mo.mode = 04755;
  ASSERT_TRUE(t.fs->setattr(t.r, both, mo, 0).ok());
  EXPECT_EQ(mode_of(both), 04755u);
  // Anyone may clear the bits (the kernel does so as the writer), nothing else.
  Ino other = make("other", 04777);
  Request stranger = user_req(2000, 2000);
  SetAttr drop;
  drop.valid = SetAttr::kMode;
  drop.mode = 0777;
  EXPECT_TRUE(t.fs->setattr(stranger, other, drop, 0).ok());
  EXPECT_EQ(mode_of(other), 0777u);
  drop.mode = 0700;
  EXPECT_EQ(t.fs->setattr(stranger, other, drop, 0).error(), EPERM);
  drop.mode = 04777;
  EXPECT_EQ(t.fs->setattr(stranger, other, drop, 0).error(), EPERM);
  EXPECT_EQ(mode_of(other), 0777u);
  auto d = t.fs->mkdir(t.r, kRootIno, "d", 02775);
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE(t.fs->setattr(t.r, d->ino, own, 0).ok());
  EXPECT_EQ(mode_of(d->ino), 02775u);
}

TEST(BentoFsOps, XattrsSetGetListRemove) {
  TestFs t;
  auto f = t.create(kRootIno, "x");
  std::string v = "value1";
  std::span<const uint8_t> val(reinterpret_cast<const uint8_t*>(v.data()), v.size());
  ASSERT_TRUE(t.fs->setxattr(t.r, f.ino, "user.a", val, 0).ok());
  EXPECT_EQ(t.fs->setxattr(t.r, f.ino, "user.a", val, xattr_flag::kCreate).error(), EEXIST);
  EXPECT_EQ(t.fs->setxattr(t.r, f.ino, "user.b", val, xattr_flag::kReplace).error(), ENODATA);
  ASSERT_TRUE(t.fs->setxattr(t.r, f.ino, "user.b", {}, 0).ok());
  EXPECT_EQ(t.fs->setxattr(t.r, f.ino, "system.other", val, 0).error(), EOPNOTSUPP);
  EXPECT_EQ(t.fs->setxattr(t.r, f.ino, "system.posix_acl_access", val, 0).error(), EINVAL);
  EXPECT_EQ(*t.fs->getxattr(t.r, f.ino, "user.a", {}), 6u);
  uint8_t small[2];
  EXPECT_EQ(t.fs->getxattr(t.r, f.ino, "user.a", small).error(), ERANGE);
  uint8_t buf[64];
  auto n = t.fs->getxattr(t.r, f.ino, "user.a", buf);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(buf), *n), "value1");
  EXPECT_EQ(t.fs->getxattr(t.r, f.ino, "user.none", buf).error(), ENODATA);
  char names[64];
  auto ln = t.fs->listxattr(t.r, f.ino, names);
  ASSERT_TRUE(ln.ok());
  EXPECT_EQ(std::string(names, *ln), std::string("user.a\0user.b\0", 14));
  ASSERT_TRUE(t.fs->removexattr(t.r, f.ino, "user.a").ok());
  EXPECT_EQ(t.fs->removexattr(t.r, f.ino, "user.a").error(), ENODATA);
  ASSERT_TRUE(t.fs->removexattr(t.r, f.ino, "user.b").ok());
  EXPECT_EQ(*t.fs->listxattr(t.r, f.ino, {}), 0u);
  EXPECT_EQ(t.fs->getattr(t.r, f.ino, 0)->blocks, 0u);  // xattr block freed
  // Larger than a block (format v2: a map block and a stream of blocks).
  std::string big(5000, 'b');
  ASSERT_TRUE(t.fs->setxattr(t.r, f.ino, "user.big",
                             {reinterpret_cast<const uint8_t*>(big.data()), big.size()}, 0)
                  .ok());
  EXPECT_EQ(t.fs->getattr(t.r, f.ino, 0)->blocks, 3u * 8);  // map + 2 stream blocks
  EXPECT_EQ(*t.fs->getxattr(t.r, f.ino, "user.big", {}), 5000u);
  // Over XATTR_SIZE_MAX: E2BIG.
  std::string huge(65537, 'h');
  EXPECT_EQ(t.fs->setxattr(t.r, f.ino, "user.huge",
                           {reinterpret_cast<const uint8_t*>(huge.data()), huge.size()}, 0)
                .error(),
            E2BIG);
}

TEST(BentoFsOps, ReaddirOffsetsAreStableWhileEntriesChange) {
  TestFs t;
  for (int i = 0; i < 300; i++) t.create(kRootIno, "f" + std::to_string(i));
  // Read 50 entries, then delete some already-read and some unread ones, then continue.
  VecFiller first(50);
  ASSERT_TRUE(t.fs->readdir(t.r, kRootIno, 0, 0, first).ok());
  ASSERT_EQ(first.items.size(), 50u);
  std::set<std::string> seen;
  for (auto& i : first.items) seen.insert(i.name);
  for (int i = 0; i < 300; i += 3) {
    std::string n = "f" + std::to_string(i);
    ASSERT_TRUE(t.fs->unlink(t.r, kRootIno, n).ok());
  }
  for (int i = 0; i < 100; i++) t.create(kRootIno, "new" + std::to_string(i));  // splits buckets
  VecFiller rest;
  ASSERT_TRUE(t.fs->readdir(t.r, kRootIno, 0, first.items.back().next, rest).ok());
  for (auto& i : rest.items) {
    EXPECT_FALSE(seen.count(i.name)) << "duplicate " << i.name;
    seen.insert(i.name);
  }
  // Every surviving original name was returned exactly once.
  for (int i = 0; i < 300; i++) {
    if (i % 3 != 0) {
      EXPECT_TRUE(seen.count("f" + std::to_string(i))) << i;
    }
  }
}

TEST(BentoFsOps, StatfsCountsAndEnospcIsCleanAndRecoverable) {
  TestFs t(4096);  // 16 MiB
  auto s0 = *t.fs->statfs(t.r, kRootIno);
  EXPECT_EQ(s0.blocks, 4096u);
  auto e = t.create(kRootIno, "fill");
  bento::Fh fh = t.open(e.ino);
  std::string chunk(1 << 20, 'z');
  uint64_t off = 0;
  int err = 0;
  for (int i = 0; i < 64; i++) {
    auto w = t.fs->write(t.r, e.ino, fh, off,
                         {reinterpret_cast<const uint8_t*>(chunk.data()), chunk.size()});
    if (!w.ok()) {
      err = w.error();
      break;
    }
    off += *w;
    if (*w < chunk.size()) {
      auto w2 =
          t.fs->write(t.r, e.ino, fh, off, {reinterpret_cast<const uint8_t*>(chunk.data()), 1});
      err = w2.ok() ? 0 : w2.error();
      break;
    }
  }
  EXPECT_EQ(err, ENOSPC);
  EXPECT_EQ(t.fs->statfs(t.r, kRootIno)->blocks_free, 0u);
  EXPECT_EQ(t.fs->getattr(t.r, e.ino, 0)->size, off);
  EXPECT_EQ(t.fs->mkdir(t.r, kRootIno, "nospace", 0755).error(), ENOSPC);
  EXPECT_EQ(t.lookup_err(kRootIno, "nospace"), ENOENT);
  ASSERT_TRUE(t.fs->release(t.r, e.ino, fh, 0).ok());
  EXPECT_EQ(t.fsck().exit_code, 0);
  ASSERT_TRUE(t.fs->unlink(t.r, kRootIno, "fill").ok());
  t.fs->forget(e.ino, 1);
  EXPECT_EQ(t.fs->statfs(t.r, kRootIno)->blocks_free, s0.blocks_free);
  auto e2 = t.create(kRootIno, "again");
  t.write(e2.ino, 0, std::string(1 << 20, 'q'));
  EXPECT_EQ(t.read(e2.ino, (1 << 20) - 1, 1), "q");
  auto rep = t.fsck();
  EXPECT_EQ(rep.exit_code, 0) << (rep.problems.empty() ? "" : rep.problems[0]);
}

TEST(BentoFsOps, RunningOutOfInodesIsEnospcAndClean) {
  FormatOptions o;
  o.inode_count = 64;
  TestFs t(4096, o);
  std::vector<Ino> inos;
  int err = 0;
  for (int i = 0; i < 100; i++) {
    auto c = t.fs->mknod(t.r, kRootIno, "n" + std::to_string(i), mode::kRegular | 0644, 0);
    if (!c.ok()) {
      err = c.error();
      break;
    }
    inos.push_back(c->ino);
  }
  EXPECT_EQ(err, ENOSPC);
  EXPECT_EQ(inos.size(), 62u);  // 64 slots minus slot 0 and the root
  EXPECT_EQ(t.fs->statfs(t.r, kRootIno)->files_free, 0u);
  EXPECT_EQ(t.lookup_err(kRootIno, "n62"), ENOENT);
  ASSERT_TRUE(t.fs->unlink(t.r, kRootIno, "n0").ok());
  // Still looked up (mknod's count): the inode is not free yet.
  EXPECT_EQ(t.fs->mknod(t.r, kRootIno, "again", mode::kRegular | 0644, 0).error(), ENOSPC);
  t.fs->forget(inos[0], 1);
  EXPECT_TRUE(t.fs->mknod(t.r, kRootIno, "again", mode::kRegular | 0644, 0).ok());
  auto rep = t.fsck();
  EXPECT_EQ(rep.exit_code, 0) << (rep.problems.empty() ? "" : rep.problems[0]);
}

TEST(BentoFsOps, TimestampsHaveNanoseconds) {
  TestFs t;
  auto e = t.create(kRootIno, "ts");
  auto a1 = *t.fs->getattr(t.r, e.ino, 0);
  t.write(e.ino, 0, "x");
  auto a2 = *t.fs->getattr(t.r, e.ino, 0);
  EXPECT_GE(a2.mtime.to_ns(), a1.mtime.to_ns());
  EXPECT_GT(a1.ctime.to_ns(), int64_t{1600000000} * 1000000000);
  SetAttr sa;
  sa.valid = SetAttr::kAtime | SetAttr::kMtime;
  sa.atime = {1000, 999999999};
  sa.mtime = {2000, 1};
  ASSERT_TRUE(t.fs->setattr(t.r, e.ino, sa, 0).ok());
  t.remount();
  auto a3 = *t.fs->getattr(t.r, e.ino, 0);
  EXPECT_EQ(a3.atime, (Timespec{1000, 999999999}));
  EXPECT_EQ(a3.mtime, (Timespec{2000, 1}));
}

TEST(BentoFsOps, CorruptOrForeignImagesAreRefused) {
  TestFs t;
  t.unmount();
  auto bytes = t.dev->durable_bytes();
  auto try_mount = [&](std::vector<uint8_t> img) {
    auto d = ImageDevice::from_bytes(std::move(img));
    BentoFs fs;
    return fs.init(root_req(), *d, {}).error();
  };
  EXPECT_EQ(try_mount(bytes), 0);
  auto bad_magic = bytes;
  bad_magic[0] ^= 0xff;
  EXPECT_EQ(try_mount(bad_magic), EINVAL);
  auto bad_sum = bytes;
  bad_sum[100] ^= 0x01;  // inside the superblock, checksum no longer matches
  EXPECT_EQ(try_mount(bad_sum), EUCLEAN);
  // A different version with a correct checksum: refused as unsupported.
  auto bad_ver = bytes;
  SuperBlock sb;
  memcpy(&sb, bad_ver.data(), sizeof(sb));
  sb.version.set(99);
  seal_superblock(sb);
  memcpy(bad_ver.data(), &sb, sizeof(sb));
  EXPECT_EQ(try_mount(bad_ver), EINVAL);
  // Regions that overlap: damaged.
  memcpy(&sb, bytes.data(), sizeof(sb));
  sb.inode_table_start.set(sb.inode_table_start.get() + 1);
  seal_superblock(sb);
  auto bad_layout = bytes;
  memcpy(bad_layout.data(), &sb, sizeof(sb));
  EXPECT_EQ(try_mount(bad_layout), EUCLEAN);
  EXPECT_EQ(try_mount(std::vector<uint8_t>(bytes.size(), 0)), EINVAL);  // all zero
  // Bad journal superblock.
  auto bad_j = bytes;
  bad_j[4096 + 8] ^= 0xff;
  EXPECT_EQ(try_mount(bad_j), EUCLEAN);
}

}  // namespace
}  // namespace bentofs::test
