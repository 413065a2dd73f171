// Regressions for the bugs a broad file-system test suite found (issue 19), in process.
// The FUSE-level ones (O_DIRECT coherency, mount options, open_by_handle) are in
// tests/fs_e2e.
#include <thread>

#include "fs_test_util.h"

namespace bentofs::test {
namespace {

using namespace bento;

uint64_t free_blocks(TestFs& t) {
  return t.fs->statfs(t.r, kRootIno)->blocks_free;
}

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// setxattr of a value that cannot fit returned ENOSPC but left the block it had allocated
// first owned by nobody (fsck: leaked blocks).
TEST(BentoFsRegress, XattrThatDoesNotFitLeaksNoBlock) {
  TestFs t;
  auto e = t.create(kRootIno, "f");
  const uint64_t before = free_blocks(t);
  // Too big for the file's attribute space however it is laid out.
  std::string huge(60000, 'v');
  for (int i = 0; i < 64; i++) {
    auto s = t.fs->setxattr(t.r, e.ino, "user.big" + std::to_string(i), bytes(huge), 0);
    if (!s.ok()) {
      EXPECT_EQ(s.error(), ENOSPC);
      break;
    }
  }
  // Whatever was stored is accounted for; remove it all and nothing may be left over.
  std::string names(65536, '\0');
  auto n = t.fs->listxattr(t.r, e.ino, {names.data(), names.size()});
  ASSERT_TRUE(n.ok());
  for (size_t at = 0; at < *n;) {
    std::string name(names.data() + at);
    ASSERT_TRUE(t.fs->removexattr(t.r, e.ino, name).ok()) << name;
    at += name.size() + 1;
  }
  EXPECT_EQ(free_blocks(t), before);
  EXPECT_EQ(t.fs->getattr(t.r, e.ino, 0)->blocks, 0u);
  auto rep = t.fsck();
  EXPECT_EQ(rep.exit_code, 0) << (rep.problems.empty() ? "" : rep.problems[0]);
}

// The same on a full file system: the allocation itself fails.
TEST(BentoFsRegress, XattrOnAFullFileSystemLeaksNoBlock) {
  TestFs t(4096);
  auto e = t.create(kRootIno, "f");
  auto filler = t.create(kRootIno, "filler");
  Fh fh = t.open(filler.ino);
  std::string chunk(1 << 20, 'x');
  for (uint64_t off = 0;; off += chunk.size()) {
    auto w = t.fs->write(t.r, filler.ino, fh, off, bytes(chunk));
    if (!w.ok() || *w < chunk.size()) break;
  }
  ASSERT_TRUE(t.fs->release(t.r, filler.ino, fh, 0).ok());
  const uint64_t before = free_blocks(t);
  ASSERT_LT(before, 4u);
  std::string v(3000, 'v');
  for (int i = 0; i < 8; i++)
    (void)t.fs->setxattr(t.r, e.ino, "user.a" + std::to_string(i), bytes(v), 0);
  auto rep = t.fsck();
  EXPECT_EQ(rep.exit_code, 0) << (rep.problems.empty() ? "" : rep.problems[0]);
}

// An execute-only file (0711, owned by root) can be executed by anyone: the kernel's exec
// open carries __FMODE_EXEC and needs MAY_EXEC, and open() re-checked read (EACCES).
TEST(BentoFsRegress, ExecuteOnlyFileOpensForExec) {
  TestFs t;
  auto e = t.create(kRootIno, "tool", 0711);
  t.write(e.ino, 0, "#!/bin/true\n");
  Request user = user_req(1000, 1000);
  auto ex = t.fs->open(user, e.ino, oflag::kReadOnly | oflag::kExecOpen);
  ASSERT_TRUE(ex.ok()) << ex.error();
  EXPECT_TRUE(t.fs->release(user, e.ino, ex->fh, 0).ok());
  // A plain read open is still refused, and so is exec without any x bit for the caller.
  EXPECT_EQ(t.fs->open(user, e.ino, oflag::kReadOnly).error(), EACCES);
  auto na = t.create(kRootIno, "noexec", 0700);
  EXPECT_EQ(t.fs->open(user, na.ino, oflag::kReadOnly | oflag::kExecOpen).error(), EACCES);
  // Root needs some x bit to exec, too.
  auto data = t.create(kRootIno, "data", 0644);
  EXPECT_EQ(t.fs->open(t.r, data.ino, oflag::kReadOnly | oflag::kExecOpen).error(), EACCES);
}

Timespec atime_of(TestFs& t, Ino ino) {
  return t.fs->getattr(t.r, ino, 0)->atime;
}

bool later(Timespec a, Timespec b) {
  return a.sec > b.sec || (a.sec == b.sec && a.nsec > b.nsec);
}

void settle() {
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

// atime was never updated. relatime (the default): a read after a change updates it once;
// further reads leave it alone until the next change.
TEST(BentoFsRegress, RelatimeIsTheDefault) {
  TestFs t;
  auto e = t.create(kRootIno, "f");
  t.write(e.ino, 0, "data");
  Timespec a0 = atime_of(t, e.ino);
  Timespec m0 = t.fs->getattr(t.r, e.ino, 0)->mtime;
  settle();
  // An open for reading while atime is due asks the kernel to drop cached pages, so the
  // read reaches the fs.
  auto o = t.fs->open(t.r, e.ino, oflag::kReadOnly);
  ASSERT_TRUE(o.ok());
  EXPECT_FALSE(o->keep_cache);
  EXPECT_EQ(t.read(e.ino), "data");
  ASSERT_TRUE(t.fs->release(t.r, e.ino, o->fh, 0).ok());
  Timespec a1 = atime_of(t, e.ino);
  EXPECT_TRUE(later(a1, a0));
  EXPECT_TRUE(later(a1, m0));
  settle();
  auto o2 = t.fs->open(t.r, e.ino, oflag::kReadOnly);
  ASSERT_TRUE(o2.ok());
  EXPECT_TRUE(o2->keep_cache);  // nothing due: cached pages stay
  ASSERT_TRUE(t.fs->release(t.r, e.ino, o2->fh, 0).ok());
  EXPECT_EQ(t.read(e.ino), "data");
  EXPECT_EQ(atime_of(t, e.ino), a1);
  settle();
  t.write(e.ino, 0, "more");
  EXPECT_EQ(t.read(e.ino), "more");
  EXPECT_TRUE(later(atime_of(t, e.ino), a1));
  // Directories: readdir counts as an access.
  Timespec d0 = atime_of(t, kRootIno);
  settle();
  (void)t.list(kRootIno);
  EXPECT_TRUE(later(atime_of(t, kRootIno), d0));
  // It is on disk.
  Timespec a2 = atime_of(t, e.ino);
  t.remount();
  EXPECT_EQ(atime_of(t, e.ino), a2);
}

TEST(BentoFsRegress, StrictatimeNoatimeNodiratime) {
  TestFs t;
  auto e = t.create(kRootIno, "f");
  t.write(e.ino, 0, "data");
  t.unmount();
  t.mount("strictatime,nodiratime");
  Timespec a = atime_of(t, e.ino);
  for (int i = 0; i < 3; i++) {
    settle();
    EXPECT_EQ(t.read(e.ino), "data");
    Timespec b = atime_of(t, e.ino);
    EXPECT_TRUE(later(b, a)) << "read " << i;
    a = b;
  }
  Timespec d = atime_of(t, kRootIno);
  settle();
  (void)t.list(kRootIno);
  EXPECT_EQ(atime_of(t, kRootIno), d) << "nodiratime";
  t.unmount();
  t.mount("noatime");
  t.write(e.ino, 0, "DATA");
  Timespec n = atime_of(t, e.ino);
  settle();
  EXPECT_EQ(t.read(e.ino), "DATA");
  (void)t.list(kRootIno);
  EXPECT_EQ(atime_of(t, e.ino), n);
  // Unknown options still refuse the mount.
  t.unmount();
  auto fs = std::make_unique<BentoFs>();
  InitArgs args;
  args.options = "relatime,bogus";
  EXPECT_EQ(fs->init(t.r, *t.dev, args).error(), EINVAL);
}

// lazytime: an atime-only update does not make fsync wait for a commit.
TEST(BentoFsRegress, LazytimeAtimeDoesNotMakeFsyncCommit) {
  TestFs t;
  auto e = t.create(kRootIno, "f");
  t.write(e.ino, 0, "data");
  ASSERT_TRUE(t.fs->sync_now().ok());
  t.unmount();
  t.mount("lazytime,commit=600000");
  auto o = t.fs->open(t.r, e.ino, oflag::kReadOnly);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(t.read(e.ino), "data");
  t.dev->start_recording();
  ASSERT_TRUE(t.fs->fsync(t.r, e.ino, o->fh, false).ok());
  EXPECT_EQ(t.dev->recorded(), 0u) << "fsync committed an atime-only change";
  ASSERT_TRUE(t.fs->release(t.r, e.ino, o->fh, 0).ok());
}

// open_by_handle_at returned ESTALE: the kernel resolves a handle whose inode it no longer
// caches with a lookup of "." in that inode (any type), and the fs refused non-directories.
TEST(BentoFsRegress, ExportLookupOfDotWorksOnAnyInode) {
  TestFs t;
  EXPECT_TRUE(t.fs->capabilities().export_support);
  auto e = t.create(kRootIno, "f");
  auto d = t.fs->mkdir(t.r, kRootIno, "d", 0755);
  ASSERT_TRUE(d.ok());
  t.remount();  // handles outlive a remount: same inode numbers and generations
  auto f = t.fs->lookup(user_req(1000, 1000), e.ino, ".");
  ASSERT_TRUE(f.ok()) << f.error();
  EXPECT_EQ(f->ino, e.ino);
  EXPECT_EQ(f->generation, e.generation);
  auto dd = t.fs->lookup(t.r, d->ino, ".");
  ASSERT_TRUE(dd.ok());
  EXPECT_EQ(dd->generation, d->generation);
  auto up = t.fs->lookup(t.r, d->ino, "..");
  ASSERT_TRUE(up.ok());
  EXPECT_EQ(up->ino, kRootIno);
  t.fs->forget(e.ino, 1);
  t.fs->forget(d->ino, 1);
  t.fs->forget(kRootIno, 1);
  // A deleted inode is stale.
  ASSERT_TRUE(t.fs->unlink(t.r, kRootIno, "f").ok());
  t.fs->forget(e.ino, 1);
  EXPECT_NE(t.fs->lookup(t.r, e.ino, ".").error(), 0);
}

// rename freed a child that nothing else referenced (closed, and forgotten by the kernel:
// an NFS export's rename by name, or a forget racing the rename) while its inode lock was
// still held, then unlocked the freed lock: heap corruption, seen as a segfault once in
// BentoFsUpgrade.RepeatedUpgradesUnderConcurrentLoad. Debug builds abort when a held lock is
// destroyed (kernel/user/services.cc), so this fails there without the fix.
TEST(BentoFsRegress, RenameOfFilesNothingElseReferencesKeepsThemUntilUnlocked) {
  TestFs t;
  auto a = t.create(kRootIno, "a");
  t.write(a.ino, 0, "alpha");
  auto b = t.create(kRootIno, "b");
  t.write(b.ino, 0, "beta");
  t.fs->forget(a.ino, 1);
  t.fs->forget(b.ino, 1);
  ASSERT_TRUE(t.fs->rename(t.r, kRootIno, "a", kRootIno, "c", 0).ok());
  ASSERT_TRUE(t.fs->rename(t.r, kRootIno, "c", kRootIno, "b", rename_flag::kExchange).ok());
  ASSERT_TRUE(t.fs->rename(t.r, kRootIno, "c", kRootIno, "b", 0).ok());  // replaces alpha
  EXPECT_EQ(t.read(t.lookup(kRootIno, "b")), "beta");
  EXPECT_EQ(t.fs->lookup(t.r, kRootIno, "c").error(), ENOENT);
  auto rep = t.fsck();
  EXPECT_EQ(rep.exit_code, 0) << (rep.problems.empty() ? "" : rep.problems[0]);
}

}  // namespace
}  // namespace bentofs::test
