// Bento-fs features and fixes of issue 19 through a real FUSE mount (bentofs + bento_fs.so):
// execute-only files run by other users, atime mount options, page-cache coherency after
// asynchronous O_DIRECT writes, file handles across a remount, fallocate and
// SEEK_DATA/SEEK_HOLE, chattr flags, POSIX ACLs, O_TMPFILE, birth time, and mounting with
// mount(8)/fstab. Needs root and /dev/fuse (skips loudly otherwise).
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
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

}  // namespace
