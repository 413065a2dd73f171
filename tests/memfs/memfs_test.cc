// memfs, one operation at a time: results, errno values and attributes.
#include <string>
#include <vector>

#include "memfs_test_util.h"

namespace memfs_test {
namespace {

using Fs = MemfsFixture;

TEST_F(Fs, RootAndCapabilities) {
  Attr a = attr(kRootIno);
  EXPECT_TRUE(mode::is_dir(a.mode));
  EXPECT_EQ(a.mode & 07777, 0755u);
  EXPECT_EQ(a.nlink, 2u);
  auto c = fs_.capabilities();
  EXPECT_FALSE(c.posix_locks);
  EXPECT_TRUE(c.writeback_cache);
  EXPECT_TRUE(c.needs_open);
  EXPECT_TRUE(c.clears_setid_bits);  // WriteTruncateAndChownClearSetidBits checks it
  EXPECT_EQ(lookup(kRootIno, ".."), kRootIno);
  EXPECT_EQ(lookup(kRootIno, "."), kRootIno);
}

TEST(MemfsOptions, WritethroughTurnsTheWritebackCacheOffAndUnknownOptionsFail) {
  NullDevice dev;
  memfs::Memfs wt;
  InitArgs args;
  args.options = ",writethrough";
  ASSERT_TRUE(wt.init(root_req(), dev, args).ok());
  EXPECT_FALSE(wt.capabilities().writeback_cache);
  memfs::Memfs bad;
  args.options = "writethrough,fast";
  EXPECT_EQ(bad.init(root_req(), dev, args).error(), EINVAL);
}

TEST_F(Fs, CreateWriteReadAttributes) {
  auto c = fs_.create(root_, kRootIno, "f", 0640, oflag::kReadWrite | oflag::kCreate);
  ASSERT_TRUE(c.ok());
  EXPECT_NE(c->open.fh, kNoFh);
  EXPECT_GE(c->entry.entry_timeout_ms, 1000u);
  EXPECT_GE(c->entry.attr_timeout_ms, 1000u);
  EXPECT_TRUE(mode::is_reg(c->entry.attr.mode));
  EXPECT_EQ(c->entry.attr.mode & 07777, 0640u);
  EXPECT_EQ(c->entry.attr.nlink, 1u);
  auto w = fs_.write(root_, c->entry.ino, c->open.fh, 0, bytes("hello world"));
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(*w, 11u);
  std::vector<uint8_t> buf(5);
  auto r = fs_.read(root_, c->entry.ino, c->open.fh, 6, buf);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(std::string(buf.begin(), buf.end()), "world");
  auto past = fs_.read(root_, c->entry.ino, c->open.fh, 100, buf);
  ASSERT_TRUE(past.ok());
  EXPECT_EQ(*past, 0u);
  // Nothing to do on close: ENOSYS stops the kernel sending flush at all.
  EXPECT_EQ(fs_.flush(root_, c->entry.ino, c->open.fh, 0).error(), ENOSYS);
  EXPECT_TRUE(fs_.fsync(root_, c->entry.ino, c->open.fh, false).ok());
  EXPECT_TRUE(fs_.release(root_, c->entry.ino, c->open.fh, 0).ok());
  EXPECT_EQ(fs_.release(root_, c->entry.ino, c->open.fh, 0).error(), EBADF);
  Attr a = attr(c->entry.ino);
  EXPECT_EQ(a.size, 11u);
  EXPECT_EQ(a.blocks, 8u);
  EXPECT_EQ(lookup(kRootIno, "f"), c->entry.ino);
  EXPECT_EQ(read_all(c->entry.ino), "hello world");
}

TEST_F(Fs, UmaskApplied) {
  Request r = root_;
  r.umask = 027;
  auto c = fs_.create(r, kRootIno, "f", 0666, oflag::kWriteOnly);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->entry.attr.mode & 0777, 0640u);
  auto d = fs_.mkdir(r, kRootIno, "d", 0777);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->attr.mode & 0777, 0750u);
}

TEST_F(Fs, LookupErrors) {
  Ino f = mkfile(kRootIno, "file");
  EXPECT_EQ(lookup_err(kRootIno, "missing"), ENOENT);
  EXPECT_EQ(lookup_err(kRootIno, std::string(256, 'x')), ENAMETOOLONG);
  EXPECT_EQ(lookup_err(f, "x"), ENOTDIR);
  EXPECT_EQ(lookup_err(999, "x"), ENOENT);
  EXPECT_EQ(fs_.getattr(root_, 999, kNoFh).error(), ENOENT);
}

TEST_F(Fs, NameLengthLimits) {
  std::string ok(255, 'a'), bad(256, 'b');
  EXPECT_NE(mkfile(kRootIno, ok), 0u);
  EXPECT_EQ(fs_.create(root_, kRootIno, bad, 0644, oflag::kWriteOnly).error(), ENAMETOOLONG);
  EXPECT_EQ(fs_.mkdir(root_, kRootIno, bad, 0755).error(), ENAMETOOLONG);
  EXPECT_EQ(fs_.mknod(root_, kRootIno, bad, mode::kFifo | 0644, 0).error(), ENAMETOOLONG);
  EXPECT_EQ(fs_.symlink(root_, "t", kRootIno, bad).error(), ENAMETOOLONG);
  EXPECT_EQ(fs_.rename(root_, kRootIno, ok, kRootIno, bad, 0).error(), ENAMETOOLONG);
  Ino f = lookup(kRootIno, ok);
  EXPECT_EQ(fs_.link(root_, f, kRootIno, bad).error(), ENAMETOOLONG);
  EXPECT_EQ(fs_.symlink(root_, std::string(4096, 't'), kRootIno, "s").error(), ENAMETOOLONG);
}

TEST_F(Fs, ExistingNames) {
  Ino f = mkfile(kRootIno, "f");
  mkdir(kRootIno, "d");
  EXPECT_EQ(fs_.mkdir(root_, kRootIno, "f", 0755).error(), EEXIST);
  EXPECT_EQ(fs_.mknod(root_, kRootIno, "d", mode::kRegular | 0644, 0).error(), EEXIST);
  EXPECT_EQ(fs_.symlink(root_, "x", kRootIno, "f").error(), EEXIST);
  EXPECT_EQ(fs_.link(root_, f, kRootIno, "d").error(), EEXIST);
  EXPECT_EQ(
      fs_.create(root_, kRootIno, "f", 0644, oflag::kWriteOnly | oflag::kCreate | oflag::kExclusive)
          .error(),
      EEXIST);
  EXPECT_EQ(fs_.mkdir(root_, kRootIno, ".", 0755).error(), EEXIST);
  // create without O_EXCL opens the existing file (a lost race with another creator).
  auto c = fs_.create(root_, kRootIno, "f", 0644, oflag::kWriteOnly | oflag::kCreate);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->entry.ino, f);
  EXPECT_TRUE(fs_.release(root_, f, c->open.fh, 0).ok());
  EXPECT_EQ(fs_.create(root_, kRootIno, "d", 0644, oflag::kWriteOnly).error(), EISDIR);
}

TEST_F(Fs, DirectoriesAndLinkCounts) {
  Ino d = mkdir(kRootIno, "d");
  EXPECT_EQ(attr(kRootIno).nlink, 3u);
  EXPECT_EQ(attr(d).nlink, 2u);
  Ino sub = mkdir(d, "sub");
  EXPECT_EQ(attr(d).nlink, 3u);
  EXPECT_EQ(lookup(sub, ".."), d);
  mkfile(d, "f");
  EXPECT_EQ(fs_.rmdir(root_, kRootIno, "d").error(), ENOTEMPTY);
  EXPECT_EQ(fs_.rmdir(root_, d, "f").error(), ENOTDIR);
  EXPECT_EQ(fs_.unlink(root_, d, "sub").error(), EISDIR);
  EXPECT_EQ(fs_.rmdir(root_, d, "nothere").error(), ENOENT);
  EXPECT_EQ(fs_.unlink(root_, d, "nothere").error(), ENOENT);
  EXPECT_EQ(fs_.rmdir(root_, d, ".").error(), EINVAL);
  EXPECT_TRUE(fs_.unlink(root_, d, "f").ok());
  EXPECT_TRUE(fs_.rmdir(root_, d, "sub").ok());
  EXPECT_EQ(attr(d).nlink, 2u);
  EXPECT_TRUE(fs_.rmdir(root_, kRootIno, "d").ok());
  EXPECT_EQ(attr(kRootIno).nlink, 2u);
  // d is still looked up once (mkdir's entry): it lives on, empty and unlinked.
  Attr a = attr(d);
  EXPECT_EQ(a.nlink, 0u);
  EXPECT_EQ(fs_.mkdir(root_, d, "x", 0755).error(), ENOENT);
  EXPECT_EQ(names(d).size(), 0u);
  fs_.forget(d, 1);
  EXPECT_EQ(fs_.getattr(root_, d, kNoFh).error(), ENOENT);
  EXPECT_EQ(fs_.mkdir(root_, kRootIno, "y", 0755).ok(), true);
  EXPECT_EQ(fs_.mkdir(root_, mkfile(kRootIno, "file"), "x", 0755).error(), ENOTDIR);
}

TEST_F(Fs, Symlinks) {
  auto s = fs_.symlink(root_, "../some/target", kRootIno, "s");
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(mode::is_symlink(s->attr.mode));
  EXPECT_EQ(s->attr.size, 14u);
  char buf[64];
  auto n = fs_.readlink(root_, s->ino, buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf, *n), "../some/target");
  char small[4];
  auto m = fs_.readlink(root_, s->ino, small);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(std::string(small, *m), "../s");
  Ino f = mkfile(kRootIno, "f");
  EXPECT_EQ(fs_.readlink(root_, f, buf).error(), EINVAL);
  EXPECT_EQ(fs_.symlink(root_, "", kRootIno, "e").error(), ENOENT);
  EXPECT_EQ(fs_.open(root_, s->ino, oflag::kReadOnly).error(), ELOOP);
}

TEST_F(Fs, HardLinks) {
  Ino f = mkfile(kRootIno, "a", "data");
  Ino d = mkdir(kRootIno, "d");
  auto l = fs_.link(root_, f, d, "b");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->ino, f);
  EXPECT_EQ(l->attr.nlink, 2u);
  EXPECT_EQ(fs_.link(root_, d, kRootIno, "dl").error(), EPERM);
  EXPECT_TRUE(fs_.unlink(root_, kRootIno, "a").ok());
  EXPECT_EQ(attr(f).nlink, 1u);
  EXPECT_EQ(read_all(lookup(d, "b")), "data");
}

TEST_F(Fs, SpecialFiles) {
  auto fifo = fs_.mknod(root_, kRootIno, "fifo", mode::kFifo | 0600, 0);
  ASSERT_TRUE(fifo.ok());
  EXPECT_EQ(fifo->attr.mode & mode::kTypeMask, mode::kFifo);
  auto sock = fs_.mknod(root_, kRootIno, "sock", mode::kSocket | 0600, 0);
  ASSERT_TRUE(sock.ok());
  EXPECT_EQ(sock->attr.mode & mode::kTypeMask, mode::kSocket);
  auto chr = fs_.mknod(root_, kRootIno, "null", mode::kCharDev | 0666, (1 << 8) | 3);
  ASSERT_TRUE(chr.ok());
  EXPECT_EQ(chr->attr.rdev, (1u << 8) | 3);
  auto blk = fs_.mknod(root_, kRootIno, "blk", mode::kBlockDev | 0660, 0x0801);
  ASSERT_TRUE(blk.ok());
  EXPECT_EQ(attr(blk->ino).rdev, 0x0801u);
  auto reg = fs_.mknod(root_, kRootIno, "reg", 0644, 0);
  ASSERT_TRUE(reg.ok());
  EXPECT_TRUE(mode::is_reg(reg->attr.mode));
  EXPECT_EQ(fs_.mknod(root_, kRootIno, "dir", mode::kDirectory | 0755, 0).error(), EPERM);
  EXPECT_EQ(fs_.mknod(root_, kRootIno, "lnk", mode::kSymlink | 0755, 0).error(), EINVAL);
  for (auto& e : list(kRootIno)) {
    if (e.name == "fifo") {
      EXPECT_EQ(mode::dirent_type(e.mode), 1);  // DT_FIFO
    }
  }
}

TEST_F(Fs, SparseFilesAndTruncate) {
  auto c = fs_.create(root_, kRootIno, "sparse", 0644, oflag::kReadWrite);
  ASSERT_TRUE(c.ok());
  Ino ino = c->entry.ino;
  Fh fh = c->open.fh;
  const uint64_t far = 10ull << 20;
  ASSERT_TRUE(fs_.write(root_, ino, fh, far, bytes("END")).ok());
  Attr a = attr(ino);
  EXPECT_EQ(a.size, far + 3);
  EXPECT_EQ(a.blocks, 8u);  // one page
  std::vector<uint8_t> buf(8192, 0xAA);
  auto n = fs_.read(root_, ino, fh, 4096 * 7 + 100, buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, buf.size());
  for (uint8_t b : buf) ASSERT_EQ(b, 0);
  // A write straddling pages, then a shrink into the middle of a page and a re-extension:
  // the bytes beyond the cut must read as zero.
  std::string pattern(6000, 'x');
  ASSERT_TRUE(fs_.write(root_, ino, fh, 1000, bytes(pattern)).ok());
  SetAttr sa;
  sa.valid = SetAttr::kSize;
  sa.size = 3000;
  auto t = fs_.setattr(root_, ino, sa, kNoFh);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->size, 3000u);
  EXPECT_EQ(t->blocks, 8u);
  sa.size = 9000;
  ASSERT_TRUE(fs_.setattr(root_, ino, sa, kNoFh).ok());
  std::string all = read_all(ino);
  ASSERT_EQ(all.size(), 9000u);
  EXPECT_EQ(all.substr(0, 1000), std::string(1000, '\0'));
  EXPECT_EQ(all.substr(1000, 2000), std::string(2000, 'x'));
  EXPECT_EQ(all.substr(3000), std::string(6000, '\0'));
  // Shrink to zero frees everything.
  sa.size = 0;
  ASSERT_TRUE(fs_.setattr(root_, ino, sa, kNoFh).ok());
  EXPECT_EQ(attr(ino).blocks, 0u);
  // A huge sparse size is fine; beyond the limit is EFBIG.
  sa.size = 1ull << 40;
  ASSERT_TRUE(fs_.setattr(root_, ino, sa, kNoFh).ok());
  ASSERT_TRUE(fs_.write(root_, ino, fh, (1ull << 40) - 1, bytes("z")).ok());
  sa.size = 1;
  ASSERT_TRUE(fs_.setattr(root_, ino, sa, kNoFh).ok());
  EXPECT_EQ(attr(ino).blocks, 0u);
  sa.size = 1ull << 50;
  EXPECT_EQ(fs_.setattr(root_, ino, sa, kNoFh).error(), EFBIG);
  EXPECT_EQ(fs_.write(root_, ino, fh, 1ull << 50, bytes("z")).error(), EFBIG);
  EXPECT_TRUE(fs_.release(root_, ino, fh, 0).ok());
  Ino d = mkdir(kRootIno, "d");
  EXPECT_EQ(fs_.setattr(root_, d, sa, kNoFh).error(), EISDIR);
  auto fifo = fs_.mknod(root_, kRootIno, "p", mode::kFifo | 0644, 0);
  sa.size = 0;
  EXPECT_EQ(fs_.setattr(root_, fifo->ino, sa, kNoFh).error(), EINVAL);
}

TEST_F(Fs, OpenTruncAndCreateTrunc) {
  Ino f = mkfile(kRootIno, "f", "contents");
  auto o = fs_.open(root_, f, oflag::kWriteOnly | oflag::kTruncate);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(attr(f).size, 0u);
  EXPECT_TRUE(fs_.release(root_, f, o->fh, 0).ok());
  ASSERT_TRUE(fs_.write(root_, f, kNoFh, 0, bytes("again")).ok());
  // O_TRUNC on a read-only open does nothing.
  auto ro = fs_.open(root_, f, oflag::kReadOnly | oflag::kTruncate);
  ASSERT_TRUE(ro.ok());
  EXPECT_EQ(attr(f).size, 5u);
  EXPECT_TRUE(fs_.release(root_, f, ro->fh, 0).ok());
  auto c = fs_.create(root_, kRootIno, "f", 0644, oflag::kWriteOnly | oflag::kTruncate);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->entry.attr.size, 0u);
  EXPECT_TRUE(fs_.release(root_, f, c->open.fh, 0).ok());
}

TEST_F(Fs, AppendWritesAtEnd) {
  Ino f = mkfile(kRootIno, "log", "start\n");
  auto a1 = fs_.open(root_, f, oflag::kWriteOnly | oflag::kAppend);
  auto a2 = fs_.open(root_, f, oflag::kWriteOnly | oflag::kAppend);
  ASSERT_TRUE(a1.ok() && a2.ok());
  ASSERT_TRUE(fs_.write(root_, f, a1->fh, 0, bytes("one\n")).ok());
  ASSERT_TRUE(fs_.write(root_, f, a2->fh, 0, bytes("two\n")).ok());
  ASSERT_TRUE(fs_.write(root_, f, a1->fh, 3, bytes("three\n")).ok());
  EXPECT_EQ(read_all(f), "start\none\ntwo\nthree\n");
  EXPECT_TRUE(fs_.release(root_, f, a1->fh, 0).ok());
  EXPECT_TRUE(fs_.release(root_, f, a2->fh, 0).ok());
}

TEST_F(Fs, HandleChecks) {
  Ino f = mkfile(kRootIno, "f", "abc");
  Ino d = mkdir(kRootIno, "d");
  EXPECT_EQ(fs_.open(root_, d, oflag::kWriteOnly).error(), EISDIR);
  EXPECT_EQ(fs_.open(root_, d, oflag::kReadWrite).error(), EISDIR);
  auto ro = fs_.open(root_, f, oflag::kReadOnly);
  ASSERT_TRUE(ro.ok());
  EXPECT_EQ(fs_.write(root_, f, ro->fh, 0, bytes("x")).error(), EBADF);
  std::vector<uint8_t> buf(4);
  EXPECT_EQ(fs_.read(root_, f, 12345, 0, buf).error(), EBADF);
  EXPECT_EQ(fs_.write(root_, f, 12345, 0, bytes("x")).error(), EBADF);
  EXPECT_EQ(fs_.opendir(root_, f, 0).error(), ENOTDIR);
  EXPECT_EQ(fs_.releasedir(root_, f, ro->fh).error(), EBADF);  // a file handle
  EXPECT_TRUE(fs_.release(root_, f, ro->fh, 0).ok());
  auto dh = fs_.opendir(root_, d, 0);
  ASSERT_TRUE(dh.ok());
  EXPECT_EQ(fs_.read(root_, d, dh->fh, 0, buf).error(), EISDIR);
  EXPECT_TRUE(fs_.fsyncdir(root_, d, dh->fh, true).ok());
  EXPECT_TRUE(fs_.releasedir(root_, d, dh->fh).ok());
}

TEST_F(Fs, SetattrModeOwnerTimes) {
  Ino f = mkfile(kRootIno, "f", "x", 04755);
  Attr before = attr(f);
  SetAttr sa;
  sa.valid = SetAttr::kMode;
  sa.mode = 0600;
  auto r = fs_.setattr(root_, f, sa, kNoFh);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->mode, mode::kRegular | 0600);
  EXPECT_GE(r->ctime.to_ns(), before.ctime.to_ns());
  // chown clears setuid (root too, as Linux does for non-directories).
  sa.mode = 06755;
  ASSERT_TRUE(fs_.setattr(root_, f, sa, kNoFh).ok());
  sa.valid = SetAttr::kUid | SetAttr::kGid;
  sa.uid = 1000;
  sa.gid = 1000;
  r = fs_.setattr(root_, f, sa, kNoFh);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->uid, 1000u);
  EXPECT_EQ(r->gid, 1000u);
  EXPECT_EQ(r->mode & 07777, 0755u);
  // Explicit times.
  sa.valid = SetAttr::kAtime | SetAttr::kMtime;
  sa.atime = {1000, 5};
  sa.mtime = {2000, 7};
  r = fs_.setattr(root_, f, sa, kNoFh);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->atime, (Timespec{1000, 5}));
  EXPECT_EQ(r->mtime, (Timespec{2000, 7}));
  // *_NOW.
  sa.valid = SetAttr::kAtime | SetAttr::kAtimeNow | SetAttr::kMtime | SetAttr::kMtimeNow;
  r = fs_.setattr(root_, f, sa, kNoFh);
  ASSERT_TRUE(r.ok());
  EXPECT_GT(r->mtime.sec, 2000);
  EXPECT_GT(r->atime.sec, 1000);
  // Explicit ctime (the kernel sends it with writeback caching).
  sa.valid = SetAttr::kCtime;
  sa.ctime = {3000, 0};
  r = fs_.setattr(root_, f, sa, kNoFh);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->ctime, (Timespec{3000, 0}));
}

TEST_F(Fs, SetattrPermissionsForNonRoot) {
  Ino f = mkfile(kRootIno, "f", "x", 0644);
  Request alice = user_req(1000, 1000);
  uint32_t groups[] = {50};
  alice.groups = groups;
  alice.ngroups = 1;
  SetAttr sa;
  sa.valid = SetAttr::kMode;
  sa.mode = 0777;
  EXPECT_EQ(fs_.setattr(alice, f, sa, kNoFh).error(), EPERM);
  sa.valid = SetAttr::kUid;
  sa.uid = 1000;
  EXPECT_EQ(fs_.setattr(alice, f, sa, kNoFh).error(), EPERM);
  sa.valid = SetAttr::kAtime | SetAttr::kMtime;
  EXPECT_EQ(fs_.setattr(alice, f, sa, kNoFh).error(), EPERM);
  sa.valid = SetAttr::kAtime | SetAttr::kAtimeNow;
  EXPECT_EQ(fs_.setattr(alice, f, sa, kNoFh).error(), EACCES);
  sa.valid = SetAttr::kSize;
  sa.size = 0;
  EXPECT_EQ(fs_.setattr(alice, f, sa, kNoFh).error(), EACCES);
  // Owned by alice: chmod yes, chgrp to a group she is in yes, to another no, chown no.
  sa.valid = SetAttr::kUid;
  sa.uid = 1000;
  ASSERT_TRUE(fs_.setattr(root_, f, sa, kNoFh).ok());
  sa.valid = SetAttr::kMode;
  sa.mode = 02755;
  auto r = fs_.setattr(alice, f, sa, kNoFh);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->mode & 07777, 0755u);  // not in group 0: setgid dropped
  sa.valid = SetAttr::kGid;
  sa.gid = 50;
  EXPECT_TRUE(fs_.setattr(alice, f, sa, kNoFh).ok());
  sa.gid = 7;
  EXPECT_EQ(fs_.setattr(alice, f, sa, kNoFh).error(), EPERM);
  sa.valid = SetAttr::kUid;
  sa.uid = 0;
  EXPECT_EQ(fs_.setattr(alice, f, sa, kNoFh).error(), EPERM);
  sa.valid = SetAttr::kMtime | SetAttr::kMtimeNow;
  EXPECT_TRUE(fs_.setattr(alice, f, sa, kNoFh).ok());
  // ftruncate through a writable handle needs no permission.
  Ino g = mkfile(kRootIno, "g", "data", 0666);
  auto o = fs_.open(alice, g, oflag::kWriteOnly);
  ASSERT_TRUE(o.ok());
  sa.valid = SetAttr::kMode;
  sa.mode = 0444;
  ASSERT_TRUE(fs_.setattr(root_, g, sa, kNoFh).ok());
  sa.valid = SetAttr::kSize;
  sa.size = 1;
  EXPECT_EQ(fs_.setattr(alice, g, sa, kNoFh).error(), EACCES);
  EXPECT_TRUE(fs_.setattr(alice, g, sa, o->fh).ok());
  EXPECT_TRUE(fs_.release(alice, g, o->fh, 0).ok());
}

TEST_F(Fs, WriteTruncateAndChownClearSetidBits) {
  Ino f = mkfile(kRootIno, "f", "x", 06777);
  Request bob = user_req(2000, 2000);
  auto o = fs_.open(bob, f, oflag::kWriteOnly);
  ASSERT_TRUE(o.ok());
  ASSERT_TRUE(fs_.write(bob, f, o->fh, 0, bytes("y")).ok());
  EXPECT_EQ(attr(f).mode & 07777, 0777u);
  EXPECT_TRUE(fs_.release(bob, f, o->fh, 0).ok());
  // Root keeps the bits.
  Ino g = mkfile(kRootIno, "g", "x", 04755);
  ASSERT_TRUE(fs_.write(root_, g, kNoFh, 0, bytes("y")).ok());
  EXPECT_EQ(attr(g).mode & 07777, 04755u);
  // setgid without group-execute (mandatory locking) stays.
  Ino lockish = mkfile(kRootIno, "lockish", "x", 02666);
  ASSERT_TRUE(fs_.write(bob, lockish, kNoFh, 0, bytes("y")).ok());
  EXPECT_EQ(attr(lockish).mode & 07777, 02666u);
  // Truncation by another drops them, through setattr and through O_TRUNC.
  SetAttr size;
  size.valid = SetAttr::kSize;
  size.size = 0;
  Ino t = mkfile(kRootIno, "t", "x", 04777);
  ASSERT_TRUE(fs_.setattr(bob, t, size, kNoFh).ok());
  EXPECT_EQ(attr(t).mode & 07777, 0777u);
  Ino ot = mkfile(kRootIno, "ot", "x", 06777);
  auto oto = fs_.open(bob, ot, oflag::kWriteOnly | oflag::kTruncate);
  ASSERT_TRUE(oto.ok());
  EXPECT_EQ(attr(ot).mode & 07777, 0777u);
  EXPECT_TRUE(fs_.release(bob, ot, oto->fh, 0).ok());
  // chown drops them even by root to the same owner, unless the same call sets the mode.
  Ino ch = mkfile(kRootIno, "ch", "x", 06755);
  SetAttr own;
  own.valid = SetAttr::kUid;
  own.uid = 0;
  ASSERT_TRUE(fs_.setattr(root_, ch, own, kNoFh).ok());
  EXPECT_EQ(attr(ch).mode & 07777, 0755u);
  own.valid = SetAttr::kUid | SetAttr::kMode;
  own.mode = 04755;
  ASSERT_TRUE(fs_.setattr(root_, ch, own, kNoFh).ok());
  EXPECT_EQ(attr(ch).mode & 07777, 04755u);
  // Anyone may clear the bits (the kernel does so as the writer), nothing else.
  Ino other = mkfile(kRootIno, "other", "x", 04777);
  SetAttr drop;
  drop.valid = SetAttr::kMode;
  drop.mode = 0777;
  EXPECT_TRUE(fs_.setattr(bob, other, drop, kNoFh).ok());
  EXPECT_EQ(attr(other).mode & 07777, 0777u);
  drop.mode = 0755;
  EXPECT_EQ(fs_.setattr(bob, other, drop, kNoFh).error(), EPERM);
  drop.mode = 04777;
  EXPECT_EQ(fs_.setattr(bob, other, drop, kNoFh).error(), EPERM);
}

TEST_F(Fs, PermissionChecks) {
  Request alice = user_req(1000, 1000);
  Request bob = user_req(2000, 2000);
  uint32_t groups[] = {100};
  Request carol = user_req(3000, 3000);
  carol.groups = groups;
  carol.ngroups = 1;

  Ino f = mkfile(kRootIno, "f", "secret", 0640);
  SetAttr sa;
  sa.valid = SetAttr::kUid | SetAttr::kGid;
  sa.uid = 1000;
  sa.gid = 100;
  ASSERT_TRUE(fs_.setattr(root_, f, sa, kNoFh).ok());
  sa.valid = SetAttr::kMode;
  sa.mode = 0640;
  ASSERT_TRUE(fs_.setattr(root_, f, sa, kNoFh).ok());
  // owner rw, group (via supplementary group) r, other nothing.
  EXPECT_TRUE(fs_.access(alice, f, amode::kRead | amode::kWrite).ok());
  EXPECT_EQ(fs_.access(alice, f, amode::kExec).error(), EACCES);
  EXPECT_TRUE(fs_.access(carol, f, amode::kRead).ok());
  EXPECT_EQ(fs_.access(carol, f, amode::kWrite).error(), EACCES);
  EXPECT_EQ(fs_.access(bob, f, amode::kRead).error(), EACCES);
  EXPECT_TRUE(fs_.access(bob, f, amode::kExists).ok());
  EXPECT_EQ(fs_.open(bob, f, oflag::kReadOnly).error(), EACCES);
  EXPECT_EQ(fs_.open(carol, f, oflag::kReadWrite).error(), EACCES);
  EXPECT_EQ(read_all(f, &carol), "secret");
  // Root: everything but exec without any x bit.
  EXPECT_TRUE(fs_.access(root_, f, amode::kRead | amode::kWrite).ok());
  EXPECT_EQ(fs_.access(root_, f, amode::kExec).error(), EACCES);
  Ino d = mkdir(kRootIno, "d", 0700);
  EXPECT_TRUE(fs_.access(root_, d, amode::kExec).ok());

  // Directory search and write permission.
  mkfile(d, "inner", "x", 0666);
  EXPECT_EQ(fs_.lookup(bob, d, "inner").error(), EACCES);
  EXPECT_EQ(fs_.opendir(bob, d, 0).error(), EACCES);
  EXPECT_EQ(fs_.create(bob, d, "new", 0644, oflag::kWriteOnly).error(), EACCES);
  EXPECT_EQ(fs_.mkdir(bob, kRootIno, "bobdir", 0755).error(), EACCES);
  EXPECT_EQ(fs_.unlink(bob, kRootIno, "f").error(), EACCES);
  EXPECT_EQ(fs_.rename(bob, kRootIno, "f", kRootIno, "g", 0).error(), EACCES);

  // A world-writable sticky directory (like /tmp).
  Ino tmp = mkdir(kRootIno, "tmp", 01777);
  auto af = fs_.create(alice, tmp, "alice", 0644, oflag::kWriteOnly);
  ASSERT_TRUE(af.ok());
  EXPECT_EQ(af->entry.attr.uid, 1000u);
  EXPECT_TRUE(fs_.release(alice, af->entry.ino, af->open.fh, 0).ok());
  EXPECT_EQ(fs_.unlink(bob, tmp, "alice").error(), EPERM);
  EXPECT_EQ(fs_.rename(bob, tmp, "alice", tmp, "bob", 0).error(), EPERM);
  EXPECT_TRUE(fs_.rename(alice, tmp, "alice", tmp, "alice2", 0).ok());
  EXPECT_TRUE(fs_.unlink(alice, tmp, "alice2").ok());

  // A creator may write through the handle even when the new mode forbids writing.
  auto ro = fs_.create(alice, tmp, "ro", 0444, oflag::kWriteOnly | oflag::kCreate);
  ASSERT_TRUE(ro.ok());
  EXPECT_TRUE(fs_.write(alice, ro->entry.ino, ro->open.fh, 0, bytes("ok")).ok());
  EXPECT_TRUE(fs_.release(alice, ro->entry.ino, ro->open.fh, 0).ok());
  EXPECT_EQ(fs_.open(alice, ro->entry.ino, oflag::kWriteOnly).error(), EACCES);
}

TEST_F(Fs, SetgidDirectoryInheritsGroup) {
  Ino d = mkdir(kRootIno, "shared", 02775);
  SetAttr sa;
  sa.valid = SetAttr::kGid;
  sa.gid = 77;
  ASSERT_TRUE(fs_.setattr(root_, d, sa, kNoFh).ok());
  sa.valid = SetAttr::kMode;
  sa.mode = 02777;
  ASSERT_TRUE(fs_.setattr(root_, d, sa, kNoFh).ok());
  Request alice = user_req(1000, 1000);
  auto f = fs_.mknod(alice, d, "f", mode::kRegular | 0644, 0);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->attr.gid, 77u);
  auto sub = fs_.mkdir(alice, d, "sub", 0755);
  ASSERT_TRUE(sub.ok());
  EXPECT_EQ(sub->attr.gid, 77u);
  EXPECT_TRUE(sub->attr.mode & mode::kSetGid);
}

TEST_F(Fs, TimestampsMove) {
  Attr r0 = attr(kRootIno);
  SetAttr sa;
  sa.valid = SetAttr::kMtime | SetAttr::kAtime;
  sa.mtime = sa.atime = {100, 0};
  ASSERT_TRUE(fs_.setattr(root_, kRootIno, sa, kNoFh).ok());
  Ino f = mkfile(kRootIno, "f");
  Attr r1 = attr(kRootIno);
  EXPECT_GT(r1.mtime.sec, 100);
  EXPECT_GE(r1.ctime.to_ns(), r0.ctime.to_ns());
  ASSERT_TRUE(fs_.setattr(root_, f, sa, kNoFh).ok());
  ASSERT_TRUE(fs_.write(root_, f, kNoFh, 0, bytes("x")).ok());
  EXPECT_GT(attr(f).mtime.sec, 100);
  ASSERT_TRUE(fs_.setattr(root_, f, sa, kNoFh).ok());
  read_all(f);
  EXPECT_GT(attr(f).atime.sec, 100);
}

TEST_F(Fs, ReaddirBasicsAndPlus) {
  Ino d = mkdir(kRootIno, "d");
  Ino a = mkfile(d, "a");
  Ino b = mkdir(d, "b");
  auto all = list(d);
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0].name, ".");
  EXPECT_EQ(all[0].ino, d);
  EXPECT_EQ(all[0].next, 1u);
  EXPECT_EQ(all[1].name, "..");
  EXPECT_EQ(all[1].ino, kRootIno);
  EXPECT_EQ(all[1].next, 2u);
  EXPECT_EQ(all[2].name, "a");
  EXPECT_EQ(all[2].ino, a);
  EXPECT_TRUE(mode::is_reg(all[2].mode));
  EXPECT_EQ(all[3].name, "b");
  EXPECT_EQ(all[3].ino, b);
  EXPECT_TRUE(mode::is_dir(all[3].mode));
  // Resuming from any returned offset gives the rest.
  auto o = fs_.opendir(root_, d, 0);
  ASSERT_TRUE(o.ok());
  VecFiller rest;
  ASSERT_TRUE(fs_.readdir(root_, d, o->fh, all[2].next, rest).ok());
  ASSERT_EQ(rest.out.size(), 1u);
  EXPECT_EQ(rest.out[0].name, "b");
  VecFiller none;
  ASSERT_TRUE(fs_.readdir(root_, d, o->fh, all[3].next, none).ok());
  EXPECT_TRUE(none.out.empty());
  // Plus mode: each entry (not "." / "..") counts a lookup. Prove it with the lifetime of
  // an unlinked file: the lookup from readdirplus keeps it alive until forgotten.
  fs_.forget(a, 1);  // mkfile's lookup
  VecFiller plus(true);
  ASSERT_TRUE(fs_.readdir(root_, d, o->fh, 0, plus).ok());
  ASSERT_EQ(plus.out.size(), 4u);
  for (auto& e : plus.out) EXPECT_TRUE(e.has_entry);
  ASSERT_TRUE(fs_.unlink(root_, d, "a").ok());
  EXPECT_TRUE(fs_.getattr(root_, a, kNoFh).ok());
  fs_.forget(a, 1);
  EXPECT_EQ(fs_.getattr(root_, a, kNoFh).error(), ENOENT);
  EXPECT_TRUE(fs_.releasedir(root_, d, o->fh).ok());
  // Plus mode on "." and ".." counts nothing: forgetting d's mkdir lookup after rmdir frees it.
  ASSERT_TRUE(fs_.rmdir(root_, d, "b").ok());
  fs_.forget(b, 2);  // mkdir + readdirplus
  EXPECT_EQ(fs_.getattr(root_, b, kNoFh).error(), ENOENT);
}

TEST_F(Fs, ReaddirStableWhileEntriesChange) {
  Ino d = mkdir(kRootIno, "d");
  for (int i = 0; i < 100; i++) mkfile(d, "f" + std::to_string(i));
  auto o = fs_.opendir(root_, d, 0);
  ASSERT_TRUE(o.ok());
  std::vector<std::string> seen;
  uint64_t off = 0;
  int round = 0;
  for (;;) {
    VecFiller f(false, 7);
    ASSERT_TRUE(fs_.readdir(root_, d, o->fh, off, f).ok());
    if (f.out.empty()) break;
    for (auto& e : f.out) seen.push_back(e.name);
    off = f.out.back().next;
    // Between calls: remove two entries not yet seen... and some already seen, add new ones.
    int k = round++;
    (void)fs_.unlink(root_, d, "f" + std::to_string(99 - k));  // not yet seen
    (void)fs_.unlink(root_, d, "f" + std::to_string(k));       // already seen
    if (k < 10) mkfile(d, "new" + std::to_string(k));          // bounded: the cursor must win
  }
  EXPECT_TRUE(fs_.releasedir(root_, d, o->fh).ok());
  // No duplicates; every entry that existed for the whole listing was returned.
  std::vector<std::string> sorted = seen;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::adjacent_find(sorted.begin(), sorted.end()), sorted.end());
  for (const auto& name : names(d)) {
    if (name.rfind("new", 0) == 0) continue;  // added during the listing: may or may not be seen
    EXPECT_TRUE(std::binary_search(sorted.begin(), sorted.end(), name)) << name;
  }
  // Entries removed before the cursor reached them were not returned.
  for (int k = 0; k < round && 99 - k > 7 * (k + 1); k++) {
    std::string gone = "f" + std::to_string(99 - k);
    EXPECT_EQ(std::find(seen.begin(), seen.end(), gone), seen.end()) << gone;
  }
  // Many removals: offsets stay valid across the internal compaction.
  for (int i = 0; i < 100; i++) (void)fs_.unlink(root_, d, "f" + std::to_string(i));
  EXPECT_EQ(names(d).size(), 10u);
}

TEST_F(Fs, UnlinkedButOpenLivesUntilLastReference) {
  auto c = fs_.create(root_, kRootIno, "tmp", 0600, oflag::kReadWrite);
  ASSERT_TRUE(c.ok());
  Ino ino = c->entry.ino;
  ASSERT_TRUE(fs_.write(root_, ino, c->open.fh, 0, bytes("still here")).ok());
  auto before = fs_.statfs(root_, kRootIno);
  ASSERT_TRUE(fs_.unlink(root_, kRootIno, "tmp").ok());
  EXPECT_EQ(lookup_err(kRootIno, "tmp"), ENOENT);
  Attr a = attr(ino);
  EXPECT_EQ(a.nlink, 0u);
  std::vector<uint8_t> buf(64);
  auto n = fs_.read(root_, ino, c->open.fh, 0, buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf.begin(), buf.begin() + *n), "still here");
  fs_.forget(ino, 1);  // lookups reach zero; the handle still pins it
  EXPECT_TRUE(fs_.getattr(root_, ino, kNoFh).ok());
  ASSERT_TRUE(fs_.write(root_, ino, c->open.fh, 10, bytes("!")).ok());
  EXPECT_EQ(fs_.link(root_, ino, kRootIno, "back").error(), ENOENT);
  EXPECT_TRUE(fs_.release(root_, ino, c->open.fh, 0).ok());
  EXPECT_EQ(fs_.getattr(root_, ino, kNoFh).error(), ENOENT);
  auto after = fs_.statfs(root_, kRootIno);
  EXPECT_EQ(after->files_free, before->files_free + 1);
  EXPECT_EQ(after->blocks_free, before->blocks_free + 1);

  // The other order: handle released first, then the lookup forgotten.
  auto c2 = fs_.create(root_, kRootIno, "tmp2", 0600, oflag::kReadWrite);
  ASSERT_TRUE(c2.ok());
  ASSERT_TRUE(fs_.unlink(root_, kRootIno, "tmp2").ok());
  EXPECT_TRUE(fs_.release(root_, c2->entry.ino, c2->open.fh, 0).ok());
  EXPECT_TRUE(fs_.getattr(root_, c2->entry.ino, kNoFh).ok());
  fs_.forget(c2->entry.ino, 1);
  EXPECT_EQ(fs_.getattr(root_, c2->entry.ino, kNoFh).error(), ENOENT);
  // Forgetting with a linked name keeps the inode.
  Ino keep = mkfile(kRootIno, "keep", "x");
  fs_.forget(keep, 100);
  EXPECT_EQ(read_all(keep), "x");
}

TEST_F(Fs, RenameBasics) {
  Ino a = mkfile(kRootIno, "a", "A");
  Ino b = mkfile(kRootIno, "b", "B");
  ASSERT_TRUE(fs_.rename(root_, kRootIno, "a", kRootIno, "c", 0).ok());
  EXPECT_EQ(lookup_err(kRootIno, "a"), ENOENT);
  EXPECT_EQ(lookup(kRootIno, "c"), a);
  EXPECT_EQ(fs_.rename(root_, kRootIno, "nope", kRootIno, "x", 0).error(), ENOENT);
  // Over an existing file: the target is replaced (and freed once forgotten).
  ASSERT_TRUE(fs_.rename(root_, kRootIno, "c", kRootIno, "b", 0).ok());
  EXPECT_EQ(lookup(kRootIno, "b"), a);
  EXPECT_EQ(attr(b).nlink, 0u);
  fs_.forget(b, 1);
  EXPECT_EQ(fs_.getattr(root_, b, kNoFh).error(), ENOENT);
  EXPECT_EQ(names(kRootIno), (std::vector<std::string>{"b"}));
  // NOREPLACE.
  mkfile(kRootIno, "z");
  EXPECT_EQ(fs_.rename(root_, kRootIno, "b", kRootIno, "z", rename_flag::kNoReplace).error(),
            EEXIST);
  EXPECT_TRUE(fs_.rename(root_, kRootIno, "b", kRootIno, "y", rename_flag::kNoReplace).ok());
  EXPECT_EQ(fs_.rename(root_, kRootIno, "y", kRootIno, "w", rename_flag::kWhiteout).error(),
            EINVAL);
  EXPECT_EQ(fs_.rename(root_, kRootIno, "y", kRootIno, "w",
                       rename_flag::kNoReplace | rename_flag::kExchange)
                .error(),
            EINVAL);
  // Two names of one inode: nothing happens.
  ASSERT_TRUE(fs_.link(root_, a, kRootIno, "y2").ok());
  EXPECT_TRUE(fs_.rename(root_, kRootIno, "y", kRootIno, "y2", 0).ok());
  EXPECT_EQ(lookup(kRootIno, "y"), a);
  EXPECT_EQ(lookup(kRootIno, "y2"), a);
  EXPECT_EQ(attr(a).nlink, 2u);
}

TEST_F(Fs, RenameTypeChecks) {
  Ino d1 = mkdir(kRootIno, "d1");
  Ino d2 = mkdir(kRootIno, "d2");
  mkfile(kRootIno, "f");
  mkfile(d2, "inside");
  Ino empty = mkdir(kRootIno, "empty");
  EXPECT_EQ(fs_.rename(root_, kRootIno, "f", kRootIno, "d1", 0).error(), EISDIR);
  EXPECT_EQ(fs_.rename(root_, kRootIno, "d1", kRootIno, "f", 0).error(), ENOTDIR);
  EXPECT_EQ(fs_.rename(root_, kRootIno, "d1", kRootIno, "d2", 0).error(), ENOTEMPTY);
  // Into its own subtree.
  Ino deep = mkdir(d1, "deep");
  EXPECT_EQ(fs_.rename(root_, kRootIno, "d1", deep, "x", 0).error(), EINVAL);
  EXPECT_EQ(fs_.rename(root_, kRootIno, "d1", d1, "x", 0).error(), EINVAL);
  // Over an empty directory: replaced, link counts follow.
  uint32_t root_links = attr(kRootIno).nlink;
  ASSERT_TRUE(fs_.rename(root_, kRootIno, "d1", kRootIno, "empty", 0).ok());
  EXPECT_EQ(attr(kRootIno).nlink, root_links - 1);
  EXPECT_EQ(attr(empty).nlink, 0u);
  EXPECT_EQ(lookup(kRootIno, "empty"), d1);
  // Moving a directory to another parent updates ".." and both link counts.
  ASSERT_TRUE(fs_.rename(root_, d1, "deep", d2, "deep", 0).ok());
  EXPECT_EQ(lookup(deep, ".."), d2);
  EXPECT_EQ(attr(d1).nlink, 2u);
  EXPECT_EQ(attr(d2).nlink, 3u);
  auto l = list(deep);
  EXPECT_EQ(l[1].ino, d2);
  EXPECT_EQ(fs_.rename(root_, kRootIno, ".", kRootIno, "x", 0).error(), EBUSY);
}

TEST_F(Fs, RenameExchange) {
  Ino d1 = mkdir(kRootIno, "d1");
  Ino d2 = mkdir(kRootIno, "d2");
  Ino f = mkfile(d1, "f", "file");
  Ino sub = mkdir(d2, "sub");
  EXPECT_EQ(fs_.rename(root_, d1, "f", d2, "missing", rename_flag::kExchange).error(), ENOENT);
  ASSERT_TRUE(fs_.rename(root_, d1, "f", d2, "sub", rename_flag::kExchange).ok());
  EXPECT_EQ(lookup(d1, "f"), sub);
  EXPECT_EQ(lookup(d2, "sub"), f);
  EXPECT_EQ(lookup(sub, ".."), d1);
  EXPECT_EQ(attr(d1).nlink, 3u);
  EXPECT_EQ(attr(d2).nlink, 2u);
  // A directory cannot be exchanged into its own subtree.
  Ino inner = mkdir(sub, "inner");
  mkfile(inner, "leaf");
  EXPECT_EQ(fs_.rename(root_, d1, "f", inner, "leaf", rename_flag::kExchange).error(), EINVAL);
}

TEST_F(Fs, RenameOverOpenFileKeepsItReadable) {
  Ino old = mkfile(kRootIno, "target", "old data");
  mkfile(kRootIno, "src", "new data");
  auto o = fs_.open(root_, old, oflag::kReadOnly);
  ASSERT_TRUE(o.ok());
  ASSERT_TRUE(fs_.rename(root_, kRootIno, "src", kRootIno, "target", 0).ok());
  fs_.forget(old, 1);
  std::vector<uint8_t> buf(64);
  auto n = fs_.read(root_, old, o->fh, 0, buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf.begin(), buf.begin() + *n), "old data");
  EXPECT_TRUE(fs_.release(root_, old, o->fh, 0).ok());
  EXPECT_EQ(fs_.getattr(root_, old, kNoFh).error(), ENOENT);
  EXPECT_EQ(read_all(lookup(kRootIno, "target")), "new data");
}

TEST_F(Fs, Xattrs) {
  Ino f = mkfile(kRootIno, "f");
  const std::string value1 = "value1";
  auto v = bytes(value1);
  EXPECT_TRUE(fs_.setxattr(root_, f, "user.a", v, 0).ok());
  EXPECT_EQ(fs_.setxattr(root_, f, "user.a", v, xattr_flag::kCreate).error(), EEXIST);
  EXPECT_EQ(fs_.setxattr(root_, f, "user.b", v, xattr_flag::kReplace).error(), ENODATA);
  EXPECT_TRUE(fs_.setxattr(root_, f, "user.a", bytes("v2"), xattr_flag::kReplace).ok());
  EXPECT_TRUE(fs_.setxattr(root_, f, "user.empty", {}, xattr_flag::kCreate).ok());
  EXPECT_TRUE(fs_.setxattr(root_, f, "trusted.t", v, 0).ok());
  auto size = fs_.getxattr(root_, f, "user.a", {});
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 2u);
  std::vector<uint8_t> one(1);
  EXPECT_EQ(fs_.getxattr(root_, f, "user.a", one).error(), ERANGE);
  std::vector<uint8_t> buf(16);
  auto got = fs_.getxattr(root_, f, "user.a", buf);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(std::string(buf.begin(), buf.begin() + *got), "v2");
  EXPECT_EQ(fs_.getxattr(root_, f, "user.empty", {}).value(), 0u);
  EXPECT_EQ(fs_.getxattr(root_, f, "user.none", buf).error(), ENODATA);
  auto lsize = fs_.listxattr(root_, f, {});
  ASSERT_TRUE(lsize.ok());
  EXPECT_EQ(*lsize, std::string("user.a\0user.empty\0trusted.t\0", 28).size());
  std::vector<char> small(3);
  EXPECT_EQ(fs_.listxattr(root_, f, small).error(), ERANGE);
  std::vector<char> names_buf(*lsize);
  ASSERT_TRUE(fs_.listxattr(root_, f, names_buf).ok());
  std::vector<std::string> got_names;
  for (size_t i = 0; i < names_buf.size();) {
    std::string n(&names_buf[i]);
    i += n.size() + 1;
    got_names.push_back(n);
  }
  std::sort(got_names.begin(), got_names.end());
  EXPECT_EQ(got_names, (std::vector<std::string>{"trusted.t", "user.a", "user.empty"}));
  EXPECT_TRUE(fs_.removexattr(root_, f, "user.a").ok());
  EXPECT_EQ(fs_.removexattr(root_, f, "user.a").error(), ENODATA);
  EXPECT_EQ(fs_.getxattr(root_, f, "user.a", buf).error(), ENODATA);
  EXPECT_EQ(fs_.setxattr(root_, f, std::string(256, 'n'), v, 0).error(), ERANGE);
  EXPECT_EQ(fs_.setxattr(root_, f, "", v, 0).error(), EINVAL);
  std::vector<uint8_t> huge(65537);
  EXPECT_EQ(fs_.setxattr(root_, f, "user.big", huge, 0).error(), E2BIG);
  // Permissions: trusted.* is root's; user.* follows the mode; no user.* on symlinks.
  Request bob = user_req(2000, 2000);
  EXPECT_EQ(fs_.setxattr(bob, f, "trusted.x", v, 0).error(), EPERM);
  EXPECT_EQ(fs_.getxattr(bob, f, "trusted.t", buf).error(), EPERM);
  EXPECT_EQ(fs_.setxattr(bob, f, "user.x", v, 0).error(), EACCES);
  auto bv = fs_.getxattr(bob, f, "user.empty", buf);  // 0644: others may read
  EXPECT_TRUE(bv.ok());
  auto s = fs_.symlink(root_, "t", kRootIno, "s");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(fs_.setxattr(root_, s->ino, "user.x", v, 0).error(), EPERM);
  EXPECT_TRUE(fs_.setxattr(root_, s->ino, "trusted.x", v, 0).ok());
  Ino d = mkdir(kRootIno, "d");
  EXPECT_TRUE(fs_.setxattr(root_, d, "user.dir", v, 0).ok());
}

TEST_F(Fs, StatfsCounts) {
  auto s0 = fs_.statfs(root_, kRootIno);
  ASSERT_TRUE(s0.ok());
  EXPECT_EQ(s0->block_size, 4096u);
  EXPECT_GE(s0->blocks, 1ull << 20);
  EXPECT_EQ(s0->name_max, 255u);
  EXPECT_EQ(s0->files - s0->files_free, 1u);  // root
  Ino f = mkfile(kRootIno, "f", std::string(10000, 'x'));
  auto s1 = fs_.statfs(root_, kRootIno);
  EXPECT_EQ(s1->files_free, s0->files_free - 1);
  EXPECT_EQ(s1->blocks_free, s0->blocks_free - 3);
  EXPECT_EQ(s1->blocks_avail, s1->blocks_free);
  fs_.forget(f, 1);
  ASSERT_TRUE(fs_.unlink(root_, kRootIno, "f").ok());
  auto s2 = fs_.statfs(root_, kRootIno);
  EXPECT_EQ(s2->files_free, s0->files_free);
  EXPECT_EQ(s2->blocks_free, s0->blocks_free);
}

TEST_F(Fs, DestroyFreesEverything) {
  mkfile(kRootIno, "f", "x");
  fs_.destroy(root_);
  EXPECT_EQ(fs_.getattr(root_, kRootIno, kNoFh).error(), ENOENT);
}

}  // namespace
}  // namespace memfs_test
