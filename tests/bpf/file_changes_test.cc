// FILE_IO around a file's changes (events.h v5), with real processes: a write reported at
// its call's entry that then fails (or writes nothing) is followed by a "failed" FILE_IO,
// and the image's next write is reported again; a reader holding a file open reports its
// next read again after another process changed the file (`tail -f`), and only then.
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "probe_fixture.h"

namespace {

using namespace bento_bpf_test;

class FileChanges : public FdProbes {
 protected:
  std::vector<bento_file_io_event> io_of(pid_t pid, uint64_t ino) {
    std::vector<bento_file_io_event> v;
    for (const auto& e : of<bento_file_io_event>(BENTO_EV_FILE_IO, pid))
      if (e.ino == ino) v.push_back(e);
    return v;
  }
  uint64_t ino_of(const std::string& p) {
    struct stat st = {};
    EXPECT_EQ(stat(p.c_str(), &st), 0) << p;
    return st.st_ino;
  }
  static std::vector<uint32_t> kinds(const std::vector<bento_file_io_event>& v) {
    std::vector<uint32_t> k;
    for (const auto& e : v) k.push_back(e.is_write);
    return k;
  }
};

constexpr uint32_t kRead = 0, kWrite = 1, kFailed = BENTO_FILE_IO_WRITE_FAILED;

// EFBIG past RLIMIT_FSIZE (SIGXFSZ ignored), a write of 0 bytes, EBADF on an fd opened for
// reading and copy_file_range's on an O_APPEND one: each first write is reported at entry,
// then failed at the return; the next write that succeeds is reported again (the failed one
// did not use up the image's report).
TEST_F(FileChanges, AFailedWriteIsMarkedAndTheNextWriteReported) {
  ASSERT_TRUE(probes_->fd_events());
  const std::string big = file("big"), empty = file("empty"), ro = file("ro"), app = file("app");
  pid_t child = run_child([&] {
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim = {16, 16};
    if (setrlimit(RLIMIT_FSIZE, &lim) != 0) return 1;
    int fd = ::open(big.c_str(), O_WRONLY);
    if (fd < 0 || pwrite(fd, "x", 1, 100) != -1 || errno != EFBIG) return 2;
    if (pwrite(fd, "y", 1, 0) != 1 || pwrite(fd, "z", 1, 1) != 1) return 3;  // then ok
    int e = ::open(empty.c_str(), O_WRONLY);
    struct iovec none = {const_cast<char*>(""), 0};
    if (e < 0 || write(e, "", 0) != 0 || writev(e, &none, 1) != 0) return 4;
    int r = ::open(ro.c_str(), O_RDONLY);
    if (r < 0 || write(r, "x", 1) != -1 || errno != EBADF) return 5;
    int a = ::open(app.c_str(), O_WRONLY | O_APPEND);  // copy_file_range refuses O_APPEND
    if (a < 0 || syscall(SYS_copy_file_range, r, nullptr, a, nullptr, 1, 0) != -1 || errno != EBADF)
      return 6;
    return 0;
  });
  drain(getpid());
  auto b = io_of(child, ino_of(big));
  ASSERT_EQ(kinds(b), (std::vector<uint32_t>{kWrite, kFailed, kWrite}));
  EXPECT_EQ(b[1].syscall_nr, static_cast<uint32_t>(SYS_pwrite64));
  EXPECT_EQ(b[1].file_id, b[0].file_id);
  EXPECT_EQ(b[1].fd, b[0].fd);
  EXPECT_EQ(b[1].dev, b[0].dev);
  EXPECT_EQ(b[1].generation, b[0].generation);
  EXPECT_LT(b[0].h.ts_ns, b[1].h.ts_ns);  // the failure at the return
  EXPECT_LT(b[1].h.ts_ns, b[2].h.ts_ns);
  // write(0 bytes) and writev(0 bytes) each wrote nothing.
  auto z = io_of(child, ino_of(empty));
  EXPECT_EQ(kinds(z), (std::vector<uint32_t>{kWrite, kFailed, kWrite, kFailed}));
  EXPECT_EQ(kinds(io_of(child, ino_of(ro))), (std::vector<uint32_t>{kWrite, kFailed, kRead}));
  auto c = io_of(child, ino_of(app));
  EXPECT_EQ(kinds(c), (std::vector<uint32_t>{kWrite, kFailed}));
  if (c.size() == 2) {
    EXPECT_EQ(c[1].syscall_nr, static_cast<uint32_t>(SYS_copy_file_range));
  }
}

// Writes that succeed are reported once, without a failure, whatever they write through
// (write, pwritev, copy_file_range) and however many follow.
TEST_F(FileChanges, WritesThatSucceedAreNotMarked) {
  ASSERT_TRUE(probes_->fd_events());
  const std::string a = file("a"), b = file("b");
  pid_t child = run_child([&] {
    int fa = ::open(a.c_str(), O_RDWR), fb = ::open(b.c_str(), O_WRONLY);
    if (fa < 0 || fb < 0) return 1;
    for (int i = 0; i < 3; i++)
      if (write(fa, "abc", 3) != 3) return 2;
    loff_t off = 0;
    if (syscall(SYS_copy_file_range, fa, &off, fb, nullptr, 3, 0) != 3) return 3;
    return write(fb, "d", 1) == 1 ? 0 : 4;
  });
  drain(getpid());
  EXPECT_EQ(kinds(io_of(child, ino_of(a))), (std::vector<uint32_t>{kWrite, kRead}));
  EXPECT_EQ(kinds(io_of(child, ino_of(b))), (std::vector<uint32_t>{kWrite}));
}

// A reader that holds a file open and reads it again after another process wrote it
// (`tail -f log`) reports that read again; a read with no change since does not, nor does
// a read after the reader's own write. An O_TRUNC open and an ftruncate by another process
// change the file too.
TEST_F(FileChanges, AHeldReaderReportsItsReadAgainAfterAnotherProcessChangedTheFile) {
  ASSERT_TRUE(probes_->fd_events());
  const std::string log = file("log");
  int go[2], done[2];  // parent -> reader: read now; reader -> parent: read done
  ASSERT_EQ(pipe(go), 0);
  ASSERT_EQ(pipe(done), 0);
  pid_t reader = spawn([&] {
    int fd = ::open(log.c_str(), O_RDWR);
    char buf[64], c;
    for (int step = 0; step < 6; step++) {
      if (read(go[0], &c, 1) != 1) return 1;
      if (c == 'w' && write(fd, "r", 1) != 1) return 2;  // its own write
      if (pread(fd, buf, sizeof buf, 0) < 0) return 3;
      if (write(done[1], "k", 1) != 1) return 4;
    }
    return 0;
  });
  auto step = [&](char what) {
    ASSERT_EQ(write(go[1], &what, 1), 1);
    char c;
    ASSERT_EQ(read(done[0], &c, 1), 1);
  };
  auto by_another = [&](int flags, bool trunc) {
    run_child([&] {
      int fd = ::open(log.c_str(), flags);
      if (fd < 0) return 1;
      if (trunc) return ftruncate(fd, 0) == 0 ? 0 : 2;
      return (flags & O_TRUNC) || write(fd, "more", 4) == 4 ? 0 : 3;
    });
  };
  step('r');                               // first read: reported
  step('r');                               // nothing changed: not
  by_another(O_WRONLY | O_APPEND, false);  // another process appends
  step('r');                               // reported again
  step('w');                               // its own write, then a read: not
  by_another(O_WRONLY | O_TRUNC, false);   // emptied by an O_TRUNC open
  step('r');
  by_another(O_WRONLY, true);  // ftruncate
  step('r');
  reap(reader);
  drain(getpid());
  auto io = io_of(reader, ino_of(log));
  EXPECT_EQ(kinds(io), (std::vector<uint32_t>{kRead, kRead, kWrite, kRead, kRead}));
  for (size_t i = 1; i < io.size(); i++) EXPECT_LT(io[i - 1].h.ts_ns, io[i].h.ts_ns);
  for (int fd : {go[0], go[1], done[0], done[1]}) close(fd);
}

}  // namespace
