// FILE_COPY (events.h v6), with real processes: which file's bytes each write of a regular
// file carried. copy_file_range and sendfile from a file name it; write() of the buffer the
// thread's last read of a file filled names that file; a write of any other bytes (another
// buffer, a buffer a pipe read refilled, writev) names none; nor does a buffer a message
// queue or another process's memory refilled (events.h v14).
#include <mqueue.h>
#include <sys/msg.h>
#include <sys/sendfile.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "probe_fixture.h"

namespace {

using namespace bento_bpf_test;

class Copies : public FdProbes {
 protected:
  uint64_t ino_of(const std::string& p) {
    struct stat st = {};
    EXPECT_EQ(stat(p.c_str(), &st), 0) << p;
    return st.st_ino;
  }
  // The sources the child's writes of `path` were reported with (0: other bytes).
  std::set<uint64_t> sources(pid_t pid, const std::string& path) {
    std::set<uint64_t> s;
    for (const auto& e : of<bento_file_copy_event>(BENTO_EV_FILE_COPY, pid))
      if (e.ino == ino_of(path)) s.insert(e.src_ino);
    return s;
  }
};

TEST_F(Copies, EachWriteNamesTheFileWhoseBytesItCarried) {
  ASSERT_TRUE(probes_->fd_events());
  ASSERT_TRUE(probes_->copy_events()) << "copies are off on this kernel (see Probes::warnings)";
  const std::string a = file("a"), b = file("b");
  const std::string by_read = file("by_read"), by_range = file("by_range"),
                    by_sendfile = file("by_sendfile"), refilled = file("refilled"),
                    other_buf = file("other_buf"), vectored = file("vectored");
  pid_t child = run_child([&] {
    int fa = ::open(a.c_str(), O_RDWR), fb = ::open(b.c_str(), O_RDWR);
    if (fa < 0 || fb < 0 || write(fa, "aaaa", 4) != 4 || write(fb, "bbbb", 4) != 4) return 1;
    char buf[4], other[4] = {'x', 'x', 'x', 'x'};
    int p[2];
    if (pipe(p) != 0 || write(p[1], "pppp", 4) != 4) return 2;
    // read a into buf, write buf: a's bytes (cp, cat, dd).
    int o1 = ::open(by_read.c_str(), O_WRONLY);
    if (o1 < 0 || pread(fa, buf, 4, 0) != 4 || write(o1, buf, 4) != 4) return 3;
    if (write(o1, buf + 2, 2) != 2) return 4;  // a part of the same bytes
    // copy_file_range(b -> by_range), sendfile(by_sendfile <- a).
    int o2 = ::open(by_range.c_str(), O_WRONLY);
    loff_t off = 0;
    if (o2 < 0 || syscall(SYS_copy_file_range, fb, &off, o2, nullptr, 4, 0) != 4) return 5;
    int o3 = ::open(by_sendfile.c_str(), O_WRONLY);
    off_t soff = 0;
    if (o3 < 0 || sendfile(o3, fa, &soff, 4) != 4) return 6;
    // read a into buf, then a pipe's bytes into it: not a's any more.
    int o4 = ::open(refilled.c_str(), O_WRONLY);
    if (o4 < 0 || pread(fa, buf, 4, 0) != 4 || read(p[0], buf, 4) != 4 || write(o4, buf, 4) != 4)
      return 7;
    // read a into buf, write another buffer; writev of buf.
    int o5 = ::open(other_buf.c_str(), O_WRONLY);
    if (o5 < 0 || pread(fa, buf, 4, 0) != 4 || write(o5, other, 4) != 4) return 8;
    int o6 = ::open(vectored.c_str(), O_WRONLY);
    struct iovec v = {buf, 4};
    if (o6 < 0 || pread(fa, buf, 4, 0) != 4 || writev(o6, &v, 1) != 4) return 9;
    return 0;
  });
  drain(getpid());
  const uint64_t ia = ino_of(a), ib = ino_of(b);
  EXPECT_EQ(sources(child, by_read), std::set<uint64_t>{ia});
  EXPECT_EQ(sources(child, by_range), std::set<uint64_t>{ib});
  EXPECT_EQ(sources(child, by_sendfile), std::set<uint64_t>{ia});
  EXPECT_EQ(sources(child, refilled), std::set<uint64_t>{0});
  EXPECT_EQ(sources(child, other_buf), std::set<uint64_t>{0});
  EXPECT_EQ(sources(child, vectored), std::set<uint64_t>{0});
  // a and b were written from string literals: other bytes.
  EXPECT_EQ(sources(child, a), std::set<uint64_t>{0});
  for (const auto& e : of<bento_file_copy_event>(BENTO_EV_FILE_COPY, child)) {
    if (e.src_ino == ia) {
      EXPECT_EQ(e.src_dev, e.dev);  // same file system here
    }
  }
}

TEST_F(Copies, ABufferAQueueOrAnotherProcessRefilledIsNotTheFilesBytes) {
  ASSERT_TRUE(probes_->fd_events());
  ASSERT_TRUE(probes_->copy_events()) << "copies are off on this kernel (see Probes::warnings)";
  const std::string a = file("a"), by_mq = file("by_mq"), by_msg = file("by_msg"),
                    by_vm = file("by_vm");
  const std::string queue = "/bento-copies-" + std::to_string(getpid());
  mq_attr attr{};
  attr.mq_maxmsg = 2;
  attr.mq_msgsize = 16;
  mqd_t q = mq_open(queue.c_str(), O_CREAT | O_RDWR, 0600, &attr);
  ASSERT_NE(q, static_cast<mqd_t>(-1)) << std::strerror(errno);
  const int msq = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
  ASSERT_GE(msq, 0) << std::strerror(errno);
  pid_t child = run_child([&] {
    int fa = ::open(a.c_str(), O_RDWR);
    if (fa < 0 || write(fa, "aaaaaaaaaaaaaaaa", 16) != 16) return 1;
    struct {
      long type;
      char text[16];
    } m = {1, "queued"};
    char buf[16];
    int o1 = ::open(by_mq.c_str(), O_WRONLY), o2 = ::open(by_msg.c_str(), O_WRONLY),
        o3 = ::open(by_vm.c_str(), O_WRONLY);
    if (o1 < 0 || o2 < 0 || o3 < 0) return 2;
    // read a into buf, then a message into it.
    if (pread(fa, buf, 16, 0) != 16 || mq_send(q, "queued", 6, 0) != 0 ||
        mq_receive(q, buf, 16, nullptr) != 6 || write(o1, buf, 6) != 6)
      return 3;
    if (msgsnd(msq, &m, 6, 0) != 0 || pread(fa, &m, 16, 0) != 16 ||
        msgrcv(msq, &m, 16, 0, 0) != 6 || write(o2, m.text, 6) != 6)
      return 4;
    // read a into buf, then (another process's, here its own) memory into it.
    static char there[16] = "elsewhere";
    iovec local{buf, 9}, remote{there, 9};
    if (pread(fa, buf, 16, 0) != 16 || process_vm_readv(getpid(), &local, 1, &remote, 1, 0) != 9 ||
        write(o3, buf, 9) != 9)
      return 5;
    return 0;
  });
  drain(getpid());
  mq_close(q);
  mq_unlink(queue.c_str());
  msgctl(msq, IPC_RMID, nullptr);
  EXPECT_EQ(sources(child, by_mq), std::set<uint64_t>{0});
  EXPECT_EQ(sources(child, by_msg), std::set<uint64_t>{0});
  EXPECT_EQ(sources(child, by_vm), std::set<uint64_t>{0});
}

}  // namespace
