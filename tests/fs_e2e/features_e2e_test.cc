// Bento-fs features and fixes of issue 19 through a real FUSE mount (bentofs + bento_fs.so):
// execute-only files run by other users, atime mount options, page-cache coherency after
// asynchronous O_DIRECT writes, file handles across a remount, fallocate and
// SEEK_DATA/SEEK_HOLE, chattr flags, POSIX ACLs, O_TMPFILE, birth time, and mounting with
// mount(8)/fstab. Needs root and /dev/fuse (skips loudly otherwise).
#include <bento/fiemap_ioctl.h>
#include <bento/fs_types.h>
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <linux/falloc.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "e2e_support.h"

namespace {

using bento::e2e::q;
using bento::e2e::run;
using bento::e2e::RunResult;

class FeaturesE2E : public bento::e2e::BentoMountTest {
 protected:
  bento::e2e::Tools tools() const override {
    return {BENTOFS_BIN, BENTOCTL_BIN, MKFS_BIN, FSCK_BIN};
  }
  void SetUp() override {
    BentoMountTest::SetUp();
    if (IsSkipped()) return;
    // Other users (the exec and ACL tests) must be able to reach the mount point.
    ASSERT_EQ(chmod(root_.c_str(), 0755), 0);
  }
  void mount_fs(const std::string& opts = "") { ASSERT_NO_FATAL_FAILURE(mount(BENTO_FS_SO, opts)); }
  void remount(const std::string& opts = "") {
    ASSERT_NO_FATAL_FAILURE(unmount());
    ASSERT_NO_FATAL_FAILURE(fsck_clean());
    ASSERT_NO_FATAL_FAILURE(mount_fs(opts));
  }
  std::string path(const std::string& rel) const { return mnt_ + "/" + rel; }
  // Runs a shell command as user nobody (65534).
  RunResult as_nobody(const std::string& cmd) {
    return run("setpriv --reuid=65534 --regid=65534 --clear-groups sh -c " + q(cmd));
  }
};

bool write_file(const std::string& p, const std::string& data) {
  std::ofstream f(p, std::ios::binary);
  f << data;
  return static_cast<bool>(f);
}

std::string read_file(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

struct timespec atime_of(const std::string& p) {
  struct stat st {};
  EXPECT_EQ(stat(p.c_str(), &st), 0) << p;
  return st.st_atim;
}

bool later(const struct timespec& a, const struct timespec& b) {
  return a.tv_sec > b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec > b.tv_nsec);
}

// Regression: an execute-only binary (0711, owned by root) could not be run by others: the
// exec open was refused for lack of read permission.
TEST_F(FeaturesE2E, ExecuteOnlyBinaryRunsForOtherUsers) {
  ASSERT_NO_FATAL_FAILURE(mkfs("64M"));
  ASSERT_NO_FATAL_FAILURE(mount_fs());
  ASSERT_EQ(run("cp /bin/true " + q(path("tool")) + " && chmod 0711 " + q(path("tool"))).status, 0);
  RunResult r = as_nobody(path("tool") + " && echo ran");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("ran"), std::string::npos) << r.output;
  // Reading it is still refused.
  EXPECT_NE(as_nobody("cat " + q(path("tool")) + " > /dev/null").status, 0);
  ASSERT_NO_FATAL_FAILURE(unmount());
  ASSERT_NO_FATAL_FAILURE(fsck_clean());
}

// Regression: relatime, strictatime, nodiratime, lazytime made the mount fail (libfuse
// rejected them), and atime never changed.
TEST_F(FeaturesE2E, AtimeMountOptions) {
  ASSERT_NO_FATAL_FAILURE(mkfs("64M"));
  ASSERT_NO_FATAL_FAILURE(mount_fs("relatime,nodiratime,lazytime"));
  const std::string f = path("f");
  ASSERT_TRUE(write_file(f, "hello"));
  struct timespec a0 = atime_of(f);
  usleep(20000);
  EXPECT_EQ(read_file(f), "hello");
  struct timespec a1 = atime_of(f);
  EXPECT_TRUE(later(a1, a0)) << "relatime: the first read after a write updates atime";
  usleep(20000);
  EXPECT_EQ(read_file(f), "hello");
  struct timespec a2 = atime_of(f);
  EXPECT_EQ(a2.tv_sec, a1.tv_sec);
  EXPECT_EQ(a2.tv_nsec, a1.tv_nsec) << "relatime: later reads leave it";
  ASSERT_NO_FATAL_FAILURE(remount("strictatime"));
  struct timespec b = atime_of(f);
  for (int i = 0; i < 3; i++) {
    usleep(20000);
    EXPECT_EQ(read_file(f), "hello");
    struct timespec c = atime_of(f);
    EXPECT_TRUE(later(c, b)) << "strictatime: every read (open + read) updates atime, " << i;
    b = c;
  }
  ASSERT_NO_FATAL_FAILURE(remount("noatime"));
  ASSERT_TRUE(write_file(f, "again"));
  struct timespec n0 = atime_of(f);
  usleep(20000);
  EXPECT_EQ(read_file(f), "again");
  struct timespec n1 = atime_of(f);
  EXPECT_EQ(n0.tv_sec, n1.tv_sec);
  EXPECT_EQ(n0.tv_nsec, n1.tv_nsec);
  ASSERT_NO_FATAL_FAILURE(unmount());
  ASSERT_NO_FATAL_FAILURE(fsck_clean());
}

long sys_io_setup(unsigned n, aio_context_t* ctx) {
  return syscall(SYS_io_setup, n, ctx);
}
long sys_io_submit(aio_context_t ctx, long n, struct iocb** iocbs) {
  return syscall(SYS_io_submit, ctx, n, iocbs);
}
long sys_io_getevents(aio_context_t ctx, long min, long max, struct io_event* ev) {
  return syscall(SYS_io_getevents, ctx, min, max, ev, nullptr);
}
long sys_io_destroy(aio_context_t ctx) {
  return syscall(SYS_io_destroy, ctx);
}

// Regression: a buffered read after an asynchronous O_DIRECT write returned the old bytes
// from the page cache.
TEST_F(FeaturesE2E, BufferedReadAfterAioDirectWriteSeesNewData) {
  ASSERT_NO_FATAL_FAILURE(mkfs("64M"));
  ASSERT_NO_FATAL_FAILURE(mount_fs());
  const std::string f = path("f");
  ASSERT_TRUE(write_file(f, std::string(65536, 'o')));
  int fd = open(f.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  std::vector<char> buf(65536);
  ASSERT_EQ(pread(fd, buf.data(), buf.size(), 0), 65536);  // cache the old pages
  int dfd = open(f.c_str(), O_WRONLY | O_DIRECT);
  ASSERT_GE(dfd, 0) << strerror(errno);
  void* mem = nullptr;
  ASSERT_EQ(posix_memalign(&mem, 4096, 16384), 0);
  memset(mem, 'N', 16384);
  aio_context_t ctx = 0;
  ASSERT_EQ(sys_io_setup(4, &ctx), 0) << strerror(errno);
  struct iocb cb {};
  cb.aio_fildes = static_cast<uint32_t>(dfd);
  cb.aio_lio_opcode = IOCB_CMD_PWRITE;
  cb.aio_buf = reinterpret_cast<uint64_t>(mem);
  cb.aio_nbytes = 16384;
  cb.aio_offset = 8192;
  struct iocb* list[1] = {&cb};
  ASSERT_EQ(sys_io_submit(ctx, 1, list), 1) << strerror(errno);
  struct io_event ev {};
  ASSERT_EQ(sys_io_getevents(ctx, 1, 1, &ev), 1);
  EXPECT_EQ(ev.res, 16384);
  sys_io_destroy(ctx);
  free(mem);
  close(dfd);
  ASSERT_EQ(pread(fd, buf.data(), buf.size(), 0), 65536);
  close(fd);
  std::string got(buf.begin(), buf.end());
  std::string want = std::string(8192, 'o') + std::string(16384, 'N') + std::string(40960, 'o');
  EXPECT_EQ(got == want, true) << "first mismatch at "
                               << std::mismatch(got.begin(), got.end(), want.begin()).first -
                                      got.begin();
  ASSERT_NO_FATAL_FAILURE(unmount());
  ASSERT_NO_FATAL_FAILURE(fsck_clean());
}

// Regression: open_by_handle_at failed with ESTALE (export support not negotiated). Handles
// stay valid across a remount; a deleted file's handle is stale.
TEST_F(FeaturesE2E, OpenByHandleAcrossRemount) {
  ASSERT_NO_FATAL_FAILURE(mkfs("64M"));
  ASSERT_NO_FATAL_FAILURE(mount_fs());
  ASSERT_EQ(mkdir(path("d").c_str(), 0755), 0);
  ASSERT_TRUE(write_file(path("d/f"), "by handle"));
  ASSERT_TRUE(write_file(path("gone"), "x"));
  auto handle_of = [](const std::string& p, std::vector<char>* out) {
    out->assign(sizeof(struct file_handle) + MAX_HANDLE_SZ, 0);
    auto* fh = reinterpret_cast<struct file_handle*>(out->data());
    fh->handle_bytes = MAX_HANDLE_SZ;
    int mount_id = 0;
    return name_to_handle_at(AT_FDCWD, p.c_str(), fh, &mount_id, 0);
  };
  std::vector<char> hf, hd, hg;
  ASSERT_EQ(handle_of(path("d/f"), &hf), 0) << strerror(errno);
  ASSERT_EQ(handle_of(path("d"), &hd), 0) << strerror(errno);
  ASSERT_EQ(handle_of(path("gone"), &hg), 0) << strerror(errno);
  ASSERT_EQ(unlink(path("gone").c_str()), 0);
  ASSERT_NO_FATAL_FAILURE(remount());
  int mfd = open(mnt_.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(mfd, 0);
  int fd = open_by_handle_at(mfd, reinterpret_cast<struct file_handle*>(hf.data()), O_RDONLY);
  ASSERT_GE(fd, 0) << strerror(errno);
  char buf[64] = {};
  EXPECT_EQ(read(fd, buf, sizeof buf), 9);
  EXPECT_STREQ(buf, "by handle");
  close(fd);
  int dfd = open_by_handle_at(mfd, reinterpret_cast<struct file_handle*>(hd.data()), O_RDONLY);
  ASSERT_GE(dfd, 0) << strerror(errno);
  EXPECT_EQ(faccessat(dfd, "f", R_OK, 0), 0);
  close(dfd);
  EXPECT_EQ(open_by_handle_at(mfd, reinterpret_cast<struct file_handle*>(hg.data()), O_RDONLY), -1);
  EXPECT_EQ(errno, ESTALE);
  close(mfd);
  ASSERT_NO_FATAL_FAILURE(unmount());
  ASSERT_NO_FATAL_FAILURE(fsck_clean());
}

// fallocate through FUSE: allocation with and without KEEP_SIZE and punch hole reach the
// fs, with true block accounting in st_blocks and statfs; SEEK_DATA/SEEK_HOLE report the
// real holes; the block map comes through BENTO_IOC_FIEMAP (FS_IOC_FIEMAP cannot reach a
// FUSE file system). ZERO_RANGE, COLLAPSE_RANGE and INSERT_RANGE: whatever the kernel
// forwards must work; the kernel's refusal (EOPNOTSUPP before the request is sent) is
// reported, not hidden.
TEST_F(FeaturesE2E, FallocateSeekAndBlockMap) {
  ASSERT_NO_FATAL_FAILURE(mkfs("256M"));
  ASSERT_NO_FATAL_FAILURE(mount_fs());
  const std::string f = path("f");
  int fd = open(f.c_str(), O_RDWR | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  struct statvfs v0 {};
  ASSERT_EQ(statvfs(mnt_.c_str(), &v0), 0);
  ASSERT_EQ(fallocate(fd, 0, 0, 1 << 20), 0) << strerror(errno);
  struct stat st {};
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(st.st_size, 1 << 20);
  EXPECT_EQ(st.st_blocks, (256 + 1) * 8);  // 256 data blocks + the indirect block
  struct statvfs v1 {};
  ASSERT_EQ(statvfs(mnt_.c_str(), &v1), 0);
  EXPECT_EQ(v0.f_bfree - v1.f_bfree, 257u);
  ASSERT_EQ(fallocate(fd, FALLOC_FL_KEEP_SIZE, 1 << 20, 1 << 20), 0) << strerror(errno);
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(st.st_size, 1 << 20);
  EXPECT_EQ(st.st_blocks, (512 + 1) * 8);
  std::string data(8192, 'd');
  ASSERT_EQ(pwrite(fd, data.data(), data.size(), 0), 8192);
  ASSERT_EQ(pwrite(fd, data.data(), data.size(), 512 << 10), 8192);
  ASSERT_EQ(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096, (512 << 10) - 4096), 0)
      << strerror(errno);
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(st.st_blocks, (512 - 127 + 1) * 8);
  std::vector<char> buf(16384);
  ASSERT_EQ(pread(fd, buf.data(), 8192, 0), 8192);
  EXPECT_EQ(std::string(buf.data(), 4096), std::string(4096, 'd'));
  EXPECT_EQ(std::string(buf.data() + 4096, 4096), std::string(4096, '\0'));
  // The hole is [4096, 512 KiB); data again from there to the end.
  EXPECT_EQ(lseek(fd, 0, SEEK_DATA), 0);
  EXPECT_EQ(lseek(fd, 0, SEEK_HOLE), 4096);
  EXPECT_EQ(lseek(fd, 4096, SEEK_DATA), 512 << 10);
  EXPECT_EQ(lseek(fd, 512 << 10, SEEK_HOLE), 1 << 20);  // EOF
  EXPECT_EQ(lseek(fd, 1 << 20, SEEK_DATA), -1);
  EXPECT_EQ(errno, ENXIO);
  // The block map through the Bento ioctl: extents cover exactly the allocated blocks.
  bento::BentoFiemap m{};
  m.start = 0;
  m.length = ~0ull;
  ASSERT_EQ(ioctl(fd, bento::kBentoIocFiemap, &m), 0) << strerror(errno);
  uint64_t mapped = 0;
  for (uint32_t i = 0; i < m.count; i++) mapped += m.extents[i].length;
  EXPECT_EQ(mapped, (512ull - 127) * 4096);
  EXPECT_EQ(m.extents[0].logical, 0u);
  EXPECT_EQ(m.extents[1].logical, 512u << 10);
  EXPECT_NE(m.extents[m.count - 1].flags & bento::extent_flag::kLast, 0u);
  // The same through `bentoctl fiemap`.
  RunResult fm_out = run(std::string(BENTOCTL_BIN) + " fiemap " + q(f) + " --json");
  ASSERT_EQ(fm_out.status, 0) << fm_out.output;
  auto fj = nlohmann::json::parse(fm_out.output);
  ASSERT_EQ(fj["extents"].size(), m.count);
  EXPECT_EQ(fj["extents"][1]["logical"].get<uint64_t>(), 512u << 10);
  // FS_IOC_FIEMAP stops in the VFS: FUSE inodes have no ->fiemap.
  alignas(8) char fm_buf[sizeof(struct fiemap) + 4 * sizeof(struct fiemap_extent)] = {};
  auto* fm = reinterpret_cast<struct fiemap*>(fm_buf);
  fm->fm_length = ~0ull;
  fm->fm_extent_count = 4;
  EXPECT_EQ(ioctl(fd, FS_IOC_FIEMAP, fm), -1);
  EXPECT_EQ(errno, EOPNOTSUPP) << "FS_IOC_FIEMAP now reaches FUSE: wire it to fiemap()";
  // The modes the kernel may not forward.
  struct Mode {
    int mode;
    const char* name;
  };
  for (Mode md :
       {Mode{FALLOC_FL_ZERO_RANGE, "ZERO_RANGE"}, Mode{FALLOC_FL_COLLAPSE_RANGE, "COLLAPSE_RANGE"},
        Mode{FALLOC_FL_INSERT_RANGE, "INSERT_RANGE"}}) {
    off_t before = lseek(fd, 0, SEEK_END);
    int r = fallocate(fd, md.mode, 8192, 8192);
    if (r != 0) {
      EXPECT_EQ(errno, EOPNOTSUPP) << md.name;
      std::printf(
          "note: this kernel's FUSE client refuses FALLOC_FL_%s (EOPNOTSUPP); the fs "
          "implements it (tests/fs/falloc_model_test.cc)\n",
          md.name);
      continue;
    }
    off_t after = lseek(fd, 0, SEEK_END);
    if (md.mode == FALLOC_FL_COLLAPSE_RANGE) {
      EXPECT_EQ(after, before - 8192);
    }
    if (md.mode == FALLOC_FL_INSERT_RANGE) {
      EXPECT_EQ(after, before + 8192);
    }
    if (md.mode == FALLOC_FL_ZERO_RANGE) {
      ASSERT_EQ(pread(fd, buf.data(), 8192, 8192), 8192);
      EXPECT_EQ(std::string(buf.data(), 8192), std::string(8192, '\0'));
    }
  }
  close(fd);
  ASSERT_NO_FATAL_FAILURE(remount());
  ASSERT_EQ(stat(f.c_str(), &st), 0);
  EXPECT_GT(st.st_blocks, 0);
  ASSERT_NO_FATAL_FAILURE(unmount());
  ASSERT_NO_FATAL_FAILURE(fsck_clean());
}

// chattr/lsattr through FUSE (FS_IOC_GETFLAGS/SETFLAGS): +a allows appends only, +i
// nothing; root is held to them too until it clears them.
TEST_F(FeaturesE2E, ChattrAppendOnlyAndImmutable) {
  ASSERT_NO_FATAL_FAILURE(mkfs("64M"));
  ASSERT_NO_FATAL_FAILURE(mount_fs());
  const std::string log = path("audit.log");
  ASSERT_TRUE(write_file(log, "one\n"));
  RunResult r = run("chattr +a " + q(log) + " && lsattr " + q(log));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output.substr(0, r.output.find(' ')).find('a'), 5u) << r.output;
  EXPECT_EQ(run("echo two >> " + q(log)).status, 0);
  EXPECT_EQ(read_file(log), "one\ntwo\n");
  EXPECT_NE(run(": > " + q(log)).status, 0) << "truncating an append-only file";
  EXPECT_NE(run("truncate -s 0 " + q(log)).status, 0);
  EXPECT_NE(run("rm -f " + q(log)).status, 0);
  EXPECT_NE(run("mv " + q(log) + " " + q(path("moved"))).status, 0);
  EXPECT_NE(run("chmod 600 " + q(log)).status, 0);
  EXPECT_NE(as_nobody("chattr -a " + q(log)).status, 0);
  EXPECT_EQ(read_file(log), "one\ntwo\n");
  ASSERT_EQ(mkdir(path("sealed").c_str(), 0755), 0);
  ASSERT_TRUE(write_file(path("sealed/x"), "x"));
  r = run("chattr +i " + q(path("sealed")) + " " + q(path("sealed/x")));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(run("echo y >> " + q(path("sealed/x"))).status, 0);
  EXPECT_NE(run("touch " + q(path("sealed/new"))).status, 0);
  EXPECT_NE(run("rm -f " + q(path("sealed/x"))).status, 0);
  EXPECT_NE(run("touch " + q(path("sealed/x"))).status, 0);
  EXPECT_EQ(read_file(path("sealed/x")), "x");
  ASSERT_NO_FATAL_FAILURE(remount());
  r = run("lsattr -d " + q(path("sealed")));
  EXPECT_NE(r.output.substr(0, r.output.find(' ')).find('i'), std::string::npos) << r.output;
  r = run("chattr -i " + q(path("sealed")) + " " + q(path("sealed/x")) + " && chattr -a " + q(log) +
          " && rm -r " + q(path("sealed")) + " " + q(log));
  EXPECT_EQ(r.status, 0) << r.output;
  ASSERT_NO_FATAL_FAILURE(unmount());
  ASSERT_NO_FATAL_FAILURE(fsck_clean());
}

// POSIX ACLs through FUSE with setfacl/getfacl: a named user is granted access the mode
// denies, others stay denied, and a directory's default ACL is inherited by new files.
TEST_F(FeaturesE2E, PosixAclsGrantDenyAndInherit) {
  ASSERT_NO_FATAL_FAILURE(mkfs("64M"));
  ASSERT_NO_FATAL_FAILURE(mount_fs());
  const std::string f = path("secret");
  ASSERT_TRUE(write_file(f, "classified"));
  ASSERT_EQ(chmod(f.c_str(), 0600), 0);
  EXPECT_NE(as_nobody("cat " + q(f)).status, 0);
  RunResult r = run("setfacl -m u:nobody:r " + q(f) + " && getfacl -cp " + q(f));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("user:nobody:r--"), std::string::npos) << r.output;
  r = as_nobody("cat " + q(f));
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output, "classified");
  EXPECT_NE(as_nobody("echo x >> " + q(f)).status, 0) << "the ACL grants read only";
  // Denial by a named entry: nobody's group may read through the mask, nobody may not.
  ASSERT_EQ(run("setfacl -m u:nobody:---,g:nogroup:r " + q(f)).status, 0);
  EXPECT_NE(as_nobody("cat " + q(f)).status, 0);
  // Inheritance.
  ASSERT_EQ(mkdir(path("team").c_str(), 0700), 0);
  r = run("setfacl -m u:nobody:rwx -d -m u:nobody:rwx " + q(path("team")));
  ASSERT_EQ(r.status, 0) << r.output;
  ASSERT_EQ(run("umask 077 && echo shared > " + q(path("team/doc"))).status, 0);
  r = run("getfacl -cp " + q(path("team/doc")));
  // The inherited entry is the default's rwx, limited by the mask to what the creating
  // open asked for (0666): effective rw-. The umask (077) does not apply.
  EXPECT_NE(r.output.find("user:nobody:rwx\t#effective:rw-"), std::string::npos) << r.output;
  r = as_nobody("cat " + q(path("team/doc")) + " && echo more >> " + q(path("team/doc")));
  EXPECT_EQ(r.status, 0) << r.output;
  ASSERT_NO_FATAL_FAILURE(remount());
  EXPECT_EQ(as_nobody("cat " + q(path("team/doc"))).output, "shared\nmore\n");
  ASSERT_NO_FATAL_FAILURE(unmount());
  ASSERT_NO_FATAL_FAILURE(fsck_clean());
}

// Many and large extended attributes through FUSE (setfattr/getfattr).
TEST_F(FeaturesE2E, ManyAndLargeXattrs) {
  ASSERT_NO_FATAL_FAILURE(mkfs("64M"));
  ASSERT_NO_FATAL_FAILURE(mount_fs());
  const std::string f = path("tagged");
  ASSERT_TRUE(write_file(f, "x"));
  std::string v64(64, 'v');
  for (int i = 0; i < 1000; i++) {
    std::string name = "user.tag" + std::to_string(i);
    ASSERT_EQ(setxattr(f.c_str(), name.c_str(), v64.data(), v64.size(), 0), 0)
        << i << ": " << strerror(errno);
  }
  std::string big(65536, 'B');
  ASSERT_EQ(setxattr(f.c_str(), "user.big", big.data(), big.size(), 0), 0) << strerror(errno);
  ASSERT_NO_FATAL_FAILURE(remount());
  std::vector<char> buf(65536);
  EXPECT_EQ(getxattr(f.c_str(), "user.big", buf.data(), buf.size()), 65536);
  EXPECT_EQ(std::string(buf.data(), 65536), big);
  EXPECT_EQ(getxattr(f.c_str(), "user.tag777", buf.data(), buf.size()), 64);
  ssize_t n = listxattr(f.c_str(), buf.data(), buf.size());
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::count(buf.begin(), buf.begin() + n, '\0'), 1001);
  ASSERT_NO_FATAL_FAILURE(unmount());
  ASSERT_NO_FATAL_FAILURE(fsck_clean());
}

// O_TMPFILE + linkat on a real mount (FUSE_TMPFILE, answered by bentofs itself), an
// unlinked one freed at close, and the birth time through statx (FUSE_STATX) across a
// remount.
TEST_F(FeaturesE2E, TmpfileLinkatAndBirthTime) {
  ASSERT_NO_FATAL_FAILURE(mkfs("64M"));
  ASSERT_NO_FATAL_FAILURE(mount_fs());
  struct statvfs v0 {};
  ASSERT_EQ(statvfs(mnt_.c_str(), &v0), 0);
  int fd = open(mnt_.c_str(), O_TMPFILE | O_RDWR, 0640);
  ASSERT_GE(fd, 0) << "O_TMPFILE: " << strerror(errno);
  ASSERT_EQ(write(fd, "unnamed", 7), 7);
  struct stat st {};
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(st.st_nlink, 0u);
  std::string proc = "/proc/self/fd/" + std::to_string(fd);
  ASSERT_EQ(linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, path("named").c_str(), AT_SYMLINK_FOLLOW), 0)
      << strerror(errno);
  close(fd);
  EXPECT_EQ(read_file(path("named")), "unnamed");
  int gone = open(mnt_.c_str(), O_TMPFILE | O_WRONLY, 0600);
  ASSERT_GE(gone, 0);
  std::string big(1 << 20, 'g');
  ASSERT_EQ(write(gone, big.data(), big.size()), static_cast<ssize_t>(big.size()));
  close(gone);
  int excl = open(mnt_.c_str(), O_TMPFILE | O_WRONLY | O_EXCL, 0600);
  ASSERT_GE(excl, 0);
  std::string proc2 = "/proc/self/fd/" + std::to_string(excl);
  EXPECT_NE(linkat(AT_FDCWD, proc2.c_str(), AT_FDCWD, path("never").c_str(), AT_SYMLINK_FOLLOW), 0);
  close(excl);
  struct statx sx {};
  ASSERT_EQ(statx(AT_FDCWD, path("named").c_str(), 0, STATX_ALL, &sx), 0);
  ASSERT_NE(sx.stx_mask & STATX_BTIME, 0u) << "no birth time through FUSE_STATX";
  const auto btime = sx.stx_btime;
  EXPECT_GT(btime.tv_sec, 0);
  usleep(20000);
  ASSERT_TRUE(write_file(path("named"), "rewritten"));
  ASSERT_NO_FATAL_FAILURE(remount());
  ASSERT_EQ(statx(AT_FDCWD, path("named").c_str(), 0, STATX_ALL, &sx), 0);
  EXPECT_EQ(sx.stx_btime.tv_sec, btime.tv_sec);
  EXPECT_EQ(sx.stx_btime.tv_nsec, btime.tv_nsec);
  EXPECT_TRUE(sx.stx_mtime.tv_sec > btime.tv_sec ||
              (sx.stx_mtime.tv_sec == btime.tv_sec && sx.stx_mtime.tv_nsec > btime.tv_nsec));
  struct statvfs v1 {};
  ASSERT_EQ(statvfs(mnt_.c_str(), &v1), 0);
  EXPECT_EQ(v0.f_ffree - v1.f_ffree, 1u) << "the unlinked O_TMPFILE files were not freed";
  ASSERT_NO_FATAL_FAILURE(unmount());
  ASSERT_NO_FATAL_FAILURE(fsck_clean());
}

// Mounting like any file system: the helpers scripts/install.sh puts in /sbin let an fstab
// line (mount -T: a private fstab, the machine's is left alone) mount the image with
// mount(8); plain umount(8) returns only once bentofs has written everything back, so
// fsck -t bento finds the image clean right away; mkfs -t bento makes one. After a crash
// (bentofs killed) the image needs replay, and the next mount does it.
TEST_F(FeaturesE2E, FstabMountAndPlainUmount) {
  const std::string src = BENTO_SOURCE_DIR;
  for (const char* h : {"mount.fuse.bento", "umount.fuse.bento"}) {
    std::string installed = read_file(std::string("/sbin/") + h);
    ASSERT_FALSE(installed.empty())
        << "/sbin/" << h << " is missing: run scripts/install.sh (scripts/test.sh does)";
    ASSERT_EQ(installed, read_file(src + "/kernel/host/mount_helpers/" + h))
        << "/sbin/" << h << " is stale: run scripts/install.sh";
  }
  // The helpers run the binaries of this build.
  std::string bin_dir = BENTOFS_BIN;
  bin_dir = bin_dir.substr(0, bin_dir.rfind('/'));
  setenv("BENTO_BIN_DIR", bin_dir.c_str(), 1);
  RunResult r = run("mkfs -t bento -s 64M " + q(img_));
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string fstab = root_ + "/fstab";
  ASSERT_TRUE(write_file(fstab, "# test fstab\n" + img_ + " " + mnt_ +
                                    " fuse.bento relatime,nodiratime,noauto,nofail,"
                                    "x-systemd.automount,commit=200 0 0\n"));
  auto mount_fstab = [&]() {
    RunResult m = run("mount -T " + q(fstab) + " " + q(mnt_));
    ASSERT_EQ(m.status, 0) << m.output;
    ASSERT_TRUE(bento::e2e::is_fuse_mount(mnt_));
    RunResult st = run(std::string(BENTOCTL_BIN) + " status " + q(mnt_) + " --json");
    ASSERT_EQ(st.status, 0) << st.output;
    pid_ = nlohmann::json::parse(st.output).value("pid", 0L);
    mounted_ = true;
  };
  ASSERT_NO_FATAL_FAILURE(mount_fstab());
  RunResult mi = run("grep " + q(mnt_) + " /proc/self/mountinfo");
  EXPECT_NE(mi.output.find("fuse.bento"), std::string::npos) << mi.output;
  ASSERT_EQ(run("cp -r /etc/default " + q(path("tree")) +
                " && dd if=/dev/urandom of=" + q(path("blob")) + " bs=1M count=8 status=none")
                .status,
            0);
  const long pid = pid_;
  r = run("umount " + q(mnt_));
  ASSERT_EQ(r.status, 0) << r.output;
  mounted_ = false;
  EXPECT_FALSE(bento::e2e::process_alive(pid)) << "umount returned before bentofs finished";
  pid_ = 0;
  r = run("fsck -t bento -n " + q(img_));
  EXPECT_EQ(r.status, 0) << "not clean right after umount:\n" << r.output;
  // A crash: bentofs killed after an fsync. The image needs replay; the next mount does it.
  ASSERT_NO_FATAL_FAILURE(mount_fstab());
  ASSERT_EQ(run("echo survived > " + q(path("crash")) + " && sync " + q(path("crash"))).status, 0);
  ASSERT_NO_FATAL_FAILURE(kill_host());
  // fsck with replay on a copy: exit 1, "journal replayed" -- the image said it needed it.
  r = run("cp --sparse=always " + q(img_) + " " + q(img_ + ".copy") + " && " + FSCK_BIN + " " +
          q(img_ + ".copy"));
  EXPECT_EQ(r.status, 1) << "a killed bentofs left nothing to replay?\n" << r.output;
  ASSERT_NO_FATAL_FAILURE(mount_fstab());
  EXPECT_EQ(read_file(path("crash")), "survived\n");
  ASSERT_EQ(run("umount " + q(mnt_)).status, 0);
  mounted_ = false;
  pid_ = 0;
  r = run("fsck -t bento -n " + q(img_));
  EXPECT_EQ(r.status, 0) << r.output;
  unsetenv("BENTO_BIN_DIR");
}

}  // namespace
