// The CO-RE probes on the running kernel: a real shell pipeline is seen as forks, execs
// with their argv and the pipes between the stages, and exits with their codes; the
// collector's own process can be filtered out kernel-side; nothing is lost under a modest
// load. The fd events (open, pipe, dup, close, SCM_RIGHTS, pipe I/O) are checked field by
// field against what the test itself did and what fstat says. Needs root and kernel BTF
// (skips loudly otherwise).
#include "bento_bpf/probes.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/openat2.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "bento_bpf/events.h"
#include "probe_fixture.h"

namespace {

using namespace bento_bpf_test;

TEST_F(Probes, SeesAPipelineItsArgvPipesAndExitCodes) {
  pid_t sh = spawn_exec("/bin/sh", {"sh", "-c", "seq 5 | sort -r | uniq -c > /dev/null; exit 7"});
  wait_for(sh);
  drain(sh);
  const Exec* shx = exec_of("sh");
  const Exec* seq = exec_of("seq");
  const Exec* sort = exec_of("sort");
  const Exec* uniq = exec_of("uniq");
  ASSERT_TRUE(shx && seq && sort && uniq) << execs_.size() << " execs seen";
  EXPECT_EQ(shx->pid, static_cast<uint32_t>(sh));
  EXPECT_EQ(shx->argv, (std::vector<std::string>{"sh", "-c",
                                                 "seq 5 | sort -r | uniq -c > /dev/null; exit 7"}));
  EXPECT_EQ(sort->argv, (std::vector<std::string>{"sort", "-r"}));
  EXPECT_EQ(uniq->argv, (std::vector<std::string>{"uniq", "-c"}));
  // The stages were forked by the shell and are connected by two pipes.
  EXPECT_EQ(forks_[seq->pid], static_cast<uint32_t>(sh));
  EXPECT_EQ(forks_[uniq->pid], static_cast<uint32_t>(sh));
  ASSERT_NE(seq->pipes[1], 0u);
  EXPECT_EQ(seq->pipes[1], sort->pipes[0]);
  ASSERT_NE(sort->pipes[1], 0u);
  EXPECT_EQ(sort->pipes[1], uniq->pipes[0]);
  EXPECT_NE(seq->pipes[1], sort->pipes[1]);
  EXPECT_EQ(uniq->pipes[1], 0u);  // > /dev/null: not a pipe
  EXPECT_EQ(exits_[static_cast<uint32_t>(sh)], 7 << 8);
  EXPECT_EQ(exits_[uniq->pid], 0);
  // The shell's pipe() calls are the pipes the stages read and wrote.
  std::set<uint64_t> piped;
  for (const auto& p : events<bento_pipe_event>(BENTO_EV_PIPE, static_cast<uint32_t>(sh)))
    piped.insert(p.pipe_ino);
  EXPECT_EQ(piped, (std::set<uint64_t>{seq->pipes[1], sort->pipes[1]}));
  auto io = events<bento_pipe_io_event>(BENTO_EV_PIPE_IO, sort->pid);
  std::set<std::pair<uint64_t, uint32_t>> sort_io;
  for (const auto& e : io) sort_io.insert({e.ino, e.is_write});
  EXPECT_EQ(sort_io,
            (std::set<std::pair<uint64_t, uint32_t>>{{seq->pipes[1], 0}, {sort->pipes[1], 1}}));
  EXPECT_EQ(probes_->stats().lost, 0u);
}

TEST_F(Probes, ExecutableIsStatDevAndIno) {
  pid_t child = spawn_exec("/bin/true", {"true"});
  wait_for(child);
  drain(child);
  const Exec* t = exec_of("true");
  ASSERT_NE(t, nullptr);
  struct stat s = {};
  ASSERT_EQ(stat("/bin/true", &s), 0);
  EXPECT_EQ(t->exe_ino, s.st_ino);
  EXPECT_EQ(t->exe_dev, s.st_dev);
}

// A program exec'd by a relative path (`bin/tool` in a project) is named with the
// directory it was resolved from: the collector cannot ask once the process has gone.
TEST_F(Probes, ARelativeExecCarriesItsWorkingDirectory) {
  pid_t child = run_child([] {
    if (chdir("/usr") != 0) return 1;
    execl("bin/true", "true", nullptr);
    return 127;
  });
  drain(child);
  const Exec* t = exec_of("true");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->filename, "bin/true");
  EXPECT_EQ(t->cwd, "/usr");
  const Exec* abs = nullptr;
  pid_t again = spawn_exec("/bin/true", {"true"});
  wait_for(again);
  drain(again);
  for (const Exec& x : execs_)
    if (x.pid == static_cast<uint32_t>(again)) abs = &x;
  ASSERT_NE(abs, nullptr);
  EXPECT_EQ(abs->cwd, "") << "an absolute path needs none";
}

TEST_F(Probes, IgnoredProcessesSendNothing) {
  std::string path = "/tmp/bento-bpf-ignored." + std::to_string(getpid());
  pid_t child = spawn([&] {
    usleep(200000);  // the parent marks us ignored first
    int p[2];
    if (pipe(p) != 0 || write(p[1], "x", 1) != 1) return 1;
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT, 0600);
    if (fd < 0 || dup2(fd, 50) != 50) return 1;
    close(50);
    execl("/bin/true", "true", nullptr);
    return 127;
  });
  ASSERT_TRUE(probes_->ignore_tgid(static_cast<uint32_t>(child)));
  EXPECT_TRUE(probes_->ignoring(static_cast<uint32_t>(child)));
  const int st = wait_for(child);
  unlink(path.c_str());
  ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  drain(child);
  EXPECT_EQ(exec_of("true"), nullptr);
  EXPECT_EQ(exits_.count(static_cast<uint32_t>(child)), 0u);
  size_t from_child = 0;
  for (const auto& r : raw_)
    from_child +=
        reinterpret_cast<const bento_event_header*>(r.data())->pid == static_cast<uint32_t>(child);
  EXPECT_EQ(from_child, 0u);
  // Gone, it is forgotten: its pid may come back as a process that must be traced.
  EXPECT_FALSE(probes_->ignoring(static_cast<uint32_t>(child)));
}

TEST_F(FdProbes, PipeAndPipe2ReportBothEndsAndThePipeInode) {
  int p[2], q[2];
  ASSERT_EQ(pipe(p), 0);
  ASSERT_EQ(pipe2(q, O_CLOEXEC | O_NONBLOCK), 0);
  drain(getpid());
  auto pipes = events<bento_pipe_event>(BENTO_EV_PIPE, self());
  ASSERT_EQ(pipes.size(), 2u);
  for (int i = 0; i < 2; i++) {
    const int* fds = i == 0 ? p : q;
    const auto& e = pipes[i];
    EXPECT_EQ(e.h.tid, static_cast<uint32_t>(gettid()));
    EXPECT_EQ(e.fds[0], fds[0]);
    EXPECT_EQ(e.fds[1], fds[1]);
    EXPECT_EQ(e.pipe_ino, fstat_of(fds[0]).st_ino);
    EXPECT_EQ(e.pipe_ino, fstat_of(fds[1]).st_ino);
    EXPECT_NE(e.file_ids[0], 0u);
    EXPECT_NE(e.file_ids[1], 0u);
    EXPECT_NE(e.file_ids[0], e.file_ids[1]);  // two open file descriptions
    EXPECT_EQ(e.flags, i == 0 ? 0u : static_cast<uint32_t>(O_CLOEXEC | O_NONBLOCK));
  }
  EXPECT_NE(pipes[0].pipe_ino, pipes[1].pipe_ino);
  for (int fd : {p[0], p[1], q[0], q[1]}) close(fd);
}

TEST_F(FdProbes, DupDup2Dup3AndFcntlCarryTheOriginalFileId) {
  std::string path = file("dup");
  int fd = ::open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  int devnull = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(devnull, 0);
  ASSERT_EQ(fcntl(100, F_GETFD), -1);  // free
  int d = dup(fd);
  ASSERT_GE(d, 0);
  ASSERT_EQ(dup2(fd, 100), 100);
  ASSERT_EQ(dup2(fd, 100), 100);  // replaces itself: same description
  ASSERT_EQ(dup2(fd, devnull), devnull);
  ASSERT_EQ(dup2(fd, fd), fd);  // a no-op: no event
  ASSERT_EQ(dup3(fd, 101, O_CLOEXEC), 101);
  int f1 = fcntl(fd, F_DUPFD_CLOEXEC, 200);
  int f2 = fcntl(fd, F_DUPFD, 300);
  ASSERT_GE(f1, 200);
  ASSERT_GE(f2, 300);
  ASSERT_EQ(fcntl(fd, F_GETFD), 0);  // not a dup: no event
  drain(getpid());
  bento_open_event o = open_event(fd);
  struct stat st = fstat_of(fd);
  auto dups = events<bento_dup_event>(BENTO_EV_DUP, self());
  struct Want {
    uint32_t nr;
    int newfd;
    uint32_t replaced;
  };
  std::vector<Want> want = {{SYS_dup, d, 0},        {SYS_dup2, 100, 0}, {SYS_dup2, 100, 1},
                            {SYS_dup2, devnull, 1}, {SYS_dup3, 101, 0}, {SYS_fcntl, f1, 0},
                            {SYS_fcntl, f2, 0}};
  ASSERT_EQ(dups.size(), want.size());
  for (size_t i = 0; i < want.size(); i++) {
    SCOPED_TRACE(i);
    const auto& e = dups[i];
    EXPECT_EQ(e.syscall_nr, want[i].nr);
    EXPECT_EQ(e.oldfd, fd);
    EXPECT_EQ(e.newfd, want[i].newfd);
    EXPECT_EQ(e.file_id, o.file_id);
    EXPECT_EQ(e.dev, st.st_dev);
    EXPECT_EQ(e.ino, st.st_ino);
    EXPECT_EQ(e.replaced, want[i].replaced);
  }
  EXPECT_EQ(dups[2].replaced_file_id, o.file_id);  // fd 100 already held this file
  EXPECT_NE(dups[3].replaced_file_id, 0u);         // /dev/null's description
  EXPECT_NE(dups[3].replaced_file_id, o.file_id);
  for (int x : {fd, d, 100, devnull, 101, f1, f2}) close(x);
}

TEST_F(FdProbes, CloseIsReportedOnlyForReportedFds) {
  std::string path = file("close");
  int fd = ::open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  int devnull = ::open("/dev/null", O_RDONLY);  // not reported (not a regular file)
  ASSERT_GE(devnull, 0);
  int a = dup(fd);
  int b = dup(fd);
  ASSERT_EQ(b, a + 1);
  ASSERT_EQ(close(fd), 0);
  ASSERT_EQ(close(devnull), 0);
  int sock = socket(AF_UNIX, SOCK_DGRAM, 0);  // reuses fd's number: not reported
  ASSERT_EQ(sock, fd < devnull ? fd : devnull);
  ASSERT_EQ(close(sock), 0);
  ASSERT_NE(close(fd), 0);  // EBADF
  ASSERT_EQ(syscall(SYS_close_range, a, b, 0), 0);
  // A forked child inherits the parent's reported fds: its close of a pipe end counts.
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  pid_t child = spawn([&] {
    close(p[0]);
    return 0;
  });
  wait_for(child);
  drain(getpid());  // follows the fork: the child's events too
  uint64_t id = open_event(fd).file_id;
  auto closes = events<bento_close_event>(BENTO_EV_CLOSE, self());
  ASSERT_EQ(closes.size(), 3u);
  EXPECT_EQ(closes[0].fd, fd);
  EXPECT_EQ(closes[0].how, static_cast<uint32_t>(BENTO_CLOSE_SYSCALL));
  EXPECT_EQ(closes[0].file_id, id);
  EXPECT_EQ(closes[1].fd, a);
  EXPECT_EQ(closes[2].fd, b);
  for (int i = 1; i < 3; i++) {
    EXPECT_EQ(closes[i].how, static_cast<uint32_t>(BENTO_CLOSE_RANGE));
    EXPECT_EQ(closes[i].file_id, id);
  }
  auto pipes = events<bento_pipe_event>(BENTO_EV_PIPE, self());
  ASSERT_EQ(pipes.size(), 1u);
  auto child_closes = events<bento_close_event>(BENTO_EV_CLOSE, static_cast<uint32_t>(child));
  ASSERT_EQ(child_closes.size(), 1u);
  EXPECT_EQ(child_closes[0].fd, p[0]);
  EXPECT_EQ(child_closes[0].file_id, pipes[0].file_ids[0]);
  close(p[0]);
  close(p[1]);
}

TEST_F(FdProbes, CloseOnExecIsReportedAfterTheExec) {
  std::string path = file("cloexec");
  pid_t child = run_child([&] {
    int keep = ::open(path.c_str(), O_RDONLY);
    int gone = ::open((path + "2").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (keep < 0 || gone < 0) return 1;
    execl("/bin/true", "true", nullptr);
    return 127;
  });
  drain(child);
  std::vector<bento_open_event> opens;  // (true's own opens, ld.so and libc, follow)
  for (const auto& o : events<bento_open_event>(BENTO_EV_OPEN, static_cast<uint32_t>(child)))
    if (std::string(o.path).rfind(dir_, 0) == 0) opens.push_back(o);
  ASSERT_EQ(opens.size(), 2u);
  EXPECT_EQ(std::string(opens[1].path), path + "2");
  EXPECT_NE(opens[1].flags & O_CLOEXEC, 0u);
  const Exec* t = exec_of("true");
  ASSERT_NE(t, nullptr);
  auto closes = events<bento_close_event>(BENTO_EV_CLOSE, static_cast<uint32_t>(child));
  ASSERT_GE(closes.size(), 1u);
  EXPECT_EQ(closes[0].fd, opens[1].fd);
  EXPECT_EQ(closes[0].how, static_cast<uint32_t>(BENTO_CLOSE_EXEC));
  EXPECT_EQ(closes[0].file_id, opens[1].file_id);
  EXPECT_GE(closes[0].h.ts_ns, t->ts_ns);
  for (const auto& c : closes) EXPECT_NE(c.fd, opens[0].fd);  // kept across exec
}

// Sends fds over a unix socket with one SCM_RIGHTS control message.
ssize_t send_fds(int sock, const std::vector<int>& fds) {
  char byte = 'x';
  iovec iov = {&byte, 1};
  std::vector<char> ctl(CMSG_SPACE(sizeof(int) * fds.size()));
  msghdr m = {};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = ctl.data();
  m.msg_controllen = ctl.size();
  cmsghdr* c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
  std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  return sendmsg(sock, &m, 0);
}

std::vector<int> recv_fds(int sock) {
  char byte;
  iovec iov = {&byte, 1};
  alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int) * 8)];
  msghdr m = {};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = ctl;
  m.msg_controllen = sizeof ctl;
  std::vector<int> fds;
  if (recvmsg(sock, &m, 0) != 1) return fds;
  for (cmsghdr* c = CMSG_FIRSTHDR(&m); c != nullptr; c = CMSG_NXTHDR(&m, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    fds.resize(n);
    std::memcpy(fds.data(), CMSG_DATA(c), n * sizeof(int));
  }
  return fds;
}

TEST_F(FdProbes, ScmRightsSenderAndReceiverShareFileIds) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  std::string path = file("passed");
  int fd = ::open(path.c_str(), O_RDONLY);
  int p[2];
  ASSERT_GE(fd, 0);
  ASSERT_EQ(pipe(p), 0);
  // The sender is another process, as in real life.
  pid_t child = run_child([&] { return send_fds(sv[0], {fd, p[1]}) == 1 ? 0 : 1; });
  std::vector<int> got = recv_fds(sv[1]);
  ASSERT_EQ(got.size(), 2u);
  ASSERT_EQ(close(got[0]), 0);  // received fds are reported, so their close is
  drain(getpid());              // follows the fork: the child's events too
  uint64_t file_ino = fstat_of(fd).st_ino, pipe_ino = fstat_of(p[1]).st_ino;
  uint64_t ino0 = fstat_of(sv[0]).st_ino, ino1 = fstat_of(sv[1]).st_ino;
  uint64_t file_id = open_event(fd).file_id;
  auto pipes = events<bento_pipe_event>(BENTO_EV_PIPE, self());
  ASSERT_EQ(pipes.size(), 1u);
  auto sends = events<bento_fd_pass_event>(BENTO_EV_FD_SEND, static_cast<uint32_t>(child));
  ASSERT_EQ(sends.size(), 1u);
  const auto& s = sends[0];
  EXPECT_EQ(s.sock_fd, sv[0]);
  EXPECT_EQ(s.sock_ino, ino0);
  EXPECT_EQ(s.peer_sock_ino, ino1);
  ASSERT_EQ(s.nfds, 2u);
  EXPECT_EQ(s.truncated, 0u);
  EXPECT_EQ(s.fds[0], fd);
  EXPECT_EQ(s.fds[1], p[1]);
  EXPECT_EQ(s.fds[2], -1);
  EXPECT_EQ(s.file_ids[0], file_id);
  EXPECT_EQ(s.file_ids[1], pipes[0].file_ids[1]);
  EXPECT_EQ(s.inos[0], file_ino);
  EXPECT_EQ(s.devs[0], fstat_of(fd).st_dev);
  EXPECT_EQ(s.inos[1], pipe_ino);
  auto recvs = events<bento_fd_pass_event>(BENTO_EV_FD_RECV, self());
  ASSERT_EQ(recvs.size(), 1u);
  const auto& r = recvs[0];
  EXPECT_EQ(r.sock_fd, sv[1]);
  EXPECT_EQ(r.sock_ino, ino1);
  EXPECT_EQ(r.peer_sock_ino, ino0);
  ASSERT_EQ(r.nfds, 2u);
  EXPECT_EQ(r.fds[0], got[0]);
  EXPECT_EQ(r.fds[1], got[1]);
  EXPECT_EQ(r.file_ids[0], s.file_ids[0]);  // the same open file descriptions
  EXPECT_EQ(r.file_ids[1], s.file_ids[1]);
  EXPECT_EQ(r.inos[0], file_ino);
  EXPECT_EQ(r.inos[1], pipe_ino);
  auto closes = events<bento_close_event>(BENTO_EV_CLOSE, self());
  ASSERT_EQ(closes.size(), 1u);
  EXPECT_EQ(closes[0].fd, got[0]);
  EXPECT_EQ(closes[0].file_id, file_id);
  for (int x : {sv[0], sv[1], fd, p[0], p[1], got[1]}) close(x);
}

TEST_F(FdProbes, ScmRightsThroughSendmmsgAndRecvmmsg) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  char bytes[2] = {'a', 'b'};
  iovec iov[2] = {{&bytes[0], 1}, {&bytes[1], 1}};
  alignas(cmsghdr) char ctl[2][CMSG_SPACE(sizeof(int))] = {};
  mmsghdr msgs[2] = {};
  for (int i = 0; i < 2; i++) {
    msghdr& m = msgs[i].msg_hdr;
    m.msg_iov = &iov[i];
    m.msg_iovlen = 1;
    m.msg_control = ctl[i];
    m.msg_controllen = sizeof ctl[i];
    cmsghdr* c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &p[i], sizeof(int));
  }
  ASSERT_EQ(sendmmsg(sv[0], msgs, 2, 0), 2);
  char in[2];
  iovec riov[2] = {{&in[0], 1}, {&in[1], 1}};
  alignas(cmsghdr) char rctl[2][CMSG_SPACE(sizeof(int))] = {};
  mmsghdr rmsgs[2] = {};
  for (int i = 0; i < 2; i++) {
    rmsgs[i].msg_hdr.msg_iov = &riov[i];
    rmsgs[i].msg_hdr.msg_iovlen = 1;
    rmsgs[i].msg_hdr.msg_control = rctl[i];
    rmsgs[i].msg_hdr.msg_controllen = sizeof rctl[i];
  }
  ASSERT_EQ(recvmmsg(sv[1], rmsgs, 2, 0, nullptr), 2);
  int got[2];
  for (int i = 0; i < 2; i++) {
    cmsghdr* c = CMSG_FIRSTHDR(&rmsgs[i].msg_hdr);
    ASSERT_NE(c, nullptr);
    std::memcpy(&got[i], CMSG_DATA(c), sizeof(int));
  }
  drain(getpid());
  auto pipes = events<bento_pipe_event>(BENTO_EV_PIPE, self());
  ASSERT_EQ(pipes.size(), 1u);
  auto sends = events<bento_fd_pass_event>(BENTO_EV_FD_SEND, self());
  auto recvs = events<bento_fd_pass_event>(BENTO_EV_FD_RECV, self());
  ASSERT_EQ(sends.size(), 2u);
  ASSERT_EQ(recvs.size(), 2u);
  for (int i = 0; i < 2; i++) {
    SCOPED_TRACE(i);
    ASSERT_EQ(sends[i].nfds, 1u);
    ASSERT_EQ(recvs[i].nfds, 1u);
    EXPECT_EQ(sends[i].fds[0], p[i]);
    EXPECT_EQ(sends[i].file_ids[0], pipes[0].file_ids[i]);
    EXPECT_EQ(recvs[i].fds[0], got[i]);
    EXPECT_EQ(recvs[i].file_ids[0], pipes[0].file_ids[i]);
    EXPECT_EQ(recvs[i].sock_ino, fstat_of(sv[1]).st_ino);
  }
  for (int x : {sv[0], sv[1], p[0], p[1], got[0], got[1]}) close(x);
}

TEST_F(FdProbes, PipeIoIsReportedOncePerProcessImageAndDirection) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  char buf[8];
  ASSERT_EQ(write(p[1], "ab", 2), 2);
  ASSERT_EQ(write(p[1], "cd", 2), 2);  // deduplicated
  iovec v = {const_cast<char*>("e"), 1};
  ASSERT_EQ(writev(p[1], &v, 1), 1);  // same direction: deduplicated too
  ASSERT_EQ(read(p[0], buf, 1), 1);
  ASSERT_EQ(read(p[0], buf, 1), 1);
  // A child is another process: it gets its own event, and again after its exec.
  pid_t child = run_child([&] {
    if (write(p[1], "f", 1) != 1 || write(p[1], "g", 1) != 1) return 1;
    if (dup2(p[1], 1) != 1) return 1;
    execl("/bin/sh", "sh", "-c", "echo h", nullptr);
    return 127;
  });
  drain(getpid());  // follows the fork: the child's events too
  uint64_t ino = fstat_of(p[0]).st_ino;
  dev_t dev = fstat_of(p[0]).st_dev;
  auto pipes = events<bento_pipe_event>(BENTO_EV_PIPE, self());
  ASSERT_EQ(pipes.size(), 1u);
  std::vector<bento_pipe_io_event> mine;
  for (const auto& e : events<bento_pipe_io_event>(BENTO_EV_PIPE_IO, self()))
    if (e.ino == ino) mine.push_back(e);
  ASSERT_EQ(mine.size(), 2u);
  EXPECT_EQ(mine[0].is_write, 1u);
  EXPECT_EQ(mine[0].fd, p[1]);
  EXPECT_EQ(mine[0].file_id, pipes[0].file_ids[1]);
  EXPECT_EQ(mine[1].is_write, 0u);
  EXPECT_EQ(mine[1].fd, p[0]);
  EXPECT_EQ(mine[1].file_id, pipes[0].file_ids[0]);
  for (const auto& e : mine) EXPECT_EQ(e.dev, dev);
  std::vector<bento_pipe_io_event> theirs;
  for (const auto& e : events<bento_pipe_io_event>(BENTO_EV_PIPE_IO, static_cast<uint32_t>(child)))
    if (e.ino == ino) theirs.push_back(e);
  const Exec* sh = exec_of("sh");
  ASSERT_NE(sh, nullptr);
  ASSERT_EQ(theirs.size(), 2u);  // before and after exec
  EXPECT_LT(theirs[0].h.ts_ns, sh->ts_ns);
  EXPECT_GT(theirs[1].h.ts_ns, sh->ts_ns);
  for (const auto& e : theirs) {
    EXPECT_EQ(e.is_write, 1u);
    EXPECT_EQ(e.file_id, pipes[0].file_ids[1]);
  }
  close(p[0]);
  close(p[1]);
}

// A reader that blocks before the writer writes: its PIPE_IO read is stamped when the read
// returned with data, so the writer's write (stamped at its entry) comes first.
TEST_F(FdProbes, PipeReadIsStampedAfterTheWriteThatFedIt) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  pid_t reader = spawn([&] {
    char c;
    return read(p[0], &c, 1) == 1 ? 0 : 1;
  });
  usleep(300000);  // the reader is blocked in read() by now
  ASSERT_EQ(write(p[1], "x", 1), 1);
  reap(reader);
  drain(getpid());
  uint64_t ino = fstat_of(p[0]).st_ino;
  std::vector<bento_pipe_io_event> w, r;
  for (const auto& e : events<bento_pipe_io_event>(BENTO_EV_PIPE_IO, self()))
    if (e.ino == ino && e.is_write) w.push_back(e);
  for (const auto& e : events<bento_pipe_io_event>(BENTO_EV_PIPE_IO, static_cast<uint32_t>(reader)))
    if (e.ino == ino && !e.is_write) r.push_back(e);
  ASSERT_EQ(w.size(), 1u);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_LT(w[0].h.ts_ns, r[0].h.ts_ns);
  EXPECT_EQ(r[0].fd, p[0]);
  close(p[0]);
  close(p[1]);
}

// events.h v10: a writer's next write of a pipe is reported again once it has reported an
// input since (it may be sending other data now), and a reader's next read once someone's
// write of the pipe was reported since its last reported read; with nothing new, neither is.
// (A multiprocessing pool's worker that read its next input file before sending again.)
TEST_F(FdProbes, PipeIoIsReportedAgainAfterNewsAndOnlyThen) {
  const std::string input = file("input");
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  pid_t reader = spawn([&] {
    char c;
    for (int i = 0; i < 3; i++)
      if (read(p[0], &c, 1) != 1) return 1;
    return 0;
  });
  ASSERT_EQ(write(p[1], "a", 1), 1);  // the first write: reported
  usleep(200000);                     // the reader's first read: reported
  ASSERT_EQ(write(p[1], "b", 1), 1);  // nothing read since: not reported, nor its read
  usleep(200000);
  char buf[8];
  int fd = ::open(input.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_GT(read(fd, buf, sizeof(buf)), 0);  // an input of this process
  close(fd);
  ASSERT_EQ(write(p[1], "c", 1), 1);  // reported again, and so the read of it
  reap(reader);
  drain(getpid());
  const uint64_t ino = fstat_of(p[0]).st_ino;
  std::vector<bento_pipe_io_event> w, r;
  for (const auto& e : events<bento_pipe_io_event>(BENTO_EV_PIPE_IO, self()))
    if (e.ino == ino && e.is_write) w.push_back(e);
  for (const auto& e : events<bento_pipe_io_event>(BENTO_EV_PIPE_IO, static_cast<uint32_t>(reader)))
    if (e.ino == ino && !e.is_write) r.push_back(e);
  ASSERT_EQ(w.size(), 2u);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(w[0].again, 0u);
  EXPECT_EQ(w[1].again, 1u);
  EXPECT_EQ(r[0].again, 0u);
  EXPECT_EQ(r[1].again, 1u);
  EXPECT_LT(w[0].h.ts_ns, r[0].h.ts_ns);
  EXPECT_LT(r[0].h.ts_ns, w[1].h.ts_ns);  // "b" went unreported between them
  EXPECT_LT(w[1].h.ts_ns, r[1].h.ts_ns);
  close(p[0]);
  close(p[1]);
}

// Any receive on a UDP socket is news for the next pipe write, reported or not: a UDP
// socket's later data is not reported (a statsd relay's later writes carry what came
// later).
TEST_F(FdProbes, PipeWriteIsReportedAgainAfterAnyReceiveOnAUdpSocket) {
  int sv[2], p[2];
  for (int& s : sv) {  // two UDP sockets on loopback, each connected to the other
    s = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a = {};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  }
  for (int i = 0; i < 2; i++) {
    sockaddr_in a = {};
    socklen_t len = sizeof a;
    ASSERT_EQ(getsockname(sv[1 - i], reinterpret_cast<sockaddr*>(&a), &len), 0);
    ASSERT_EQ(connect(sv[i], reinterpret_cast<sockaddr*>(&a), len), 0);
  }
  ASSERT_EQ(pipe(p), 0);
  char buf[8];
  ASSERT_EQ(write(sv[1], "x", 1), 1);
  ASSERT_EQ(write(sv[1], "y", 1), 1);
  ASSERT_EQ(read(sv[0], buf, 1), 1);  // the first receive: reported
  ASSERT_EQ(write(p[1], "a", 1), 1);  // the first write
  ASSERT_EQ(write(p[1], "b", 1), 1);  // nothing new: not reported
  ASSERT_EQ(read(sv[0], buf, 1), 1);  // a later receive: not reported, but news
  ASSERT_EQ(write(p[1], "c", 1), 1);  // reported again
  drain(getpid());
  const uint64_t ino = fstat_of(p[0]).st_ino;
  std::vector<bento_pipe_io_event> w;
  for (const auto& e : events<bento_pipe_io_event>(BENTO_EV_PIPE_IO, self()))
    if (e.ino == ino && e.is_write) w.push_back(e);
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[0].again, 0u);
  EXPECT_EQ(w[1].again, 1u);
  for (int x : {sv[0], sv[1], p[0], p[1]}) close(x);
}

// A stream socket's receives are reported again after news of the sender (events.h v11):
// one that is not reported brought nothing new, and is no news for the next pipe write.
TEST_F(FdProbes, AStreamReceiveNotReportedIsNoNewsForAPipeWrite) {
  int sv[2], p[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  ASSERT_EQ(pipe(p), 0);
  char buf[8];
  ASSERT_EQ(write(sv[1], "xy", 2), 2);
  ASSERT_EQ(read(sv[0], buf, 1), 1);  // the first receive: reported, news
  ASSERT_EQ(write(p[1], "a", 1), 1);  // the first write
  ASSERT_EQ(read(sv[0], buf, 1), 1);  // nothing sent since: not reported, no news
  ASSERT_EQ(write(p[1], "b", 1), 1);  // not reported
  drain(getpid());
  const uint64_t ino = fstat_of(p[0]).st_ino;
  int writes = 0;
  for (const auto& e : events<bento_pipe_io_event>(BENTO_EV_PIPE_IO, self()))
    writes += e.ino == ino && e.is_write;
  EXPECT_EQ(writes, 1);
  for (int x : {sv[0], sv[1], p[0], p[1]}) close(x);
}

// A read after the image started a process is reported again, news or not: a shell's
// `while read f; do cmd "$f"; done < list` reads each line for the command it starts next.
TEST_F(FdProbes, PipeReadIsReportedAgainAfterAFork) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  ASSERT_EQ(write(p[1], "abc", 3), 3);
  char c;
  ASSERT_EQ(read(p[0], &c, 1), 1);  // the first read: reported
  ASSERT_EQ(read(p[0], &c, 1), 1);  // nothing new: not reported
  reap(spawn([] { return 0; }));    // a command started
  ASSERT_EQ(read(p[0], &c, 1), 1);  // reported again
  drain(getpid());
  const uint64_t ino = fstat_of(p[0]).st_ino;
  std::vector<bento_pipe_io_event> r;
  for (const auto& e : events<bento_pipe_io_event>(BENTO_EV_PIPE_IO, self()))
    if (e.ino == ino && !e.is_write) r.push_back(e);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].again, 0u);
  EXPECT_EQ(r[1].again, 1u);
  close(p[0]);
  close(p[1]);
}

// An event loop's self-pipe: a process that writes its own pipe and reads it back, over and
// over. Its own writes are no news to its reads, so the reports stop (else each call would
// be reported: every read is an input, after which the next write is news).
TEST_F(FdProbes, APipeAProcessWritesAndReadsItselfIsReportedAHandfulOfTimes) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  char c;
  for (int i = 0; i < 50; i++) {
    ASSERT_EQ(write(p[1], "x", 1), 1);
    ASSERT_EQ(read(p[0], &c, 1), 1);
  }
  drain(getpid());
  const uint64_t ino = fstat_of(p[0]).st_ino;
  int n = 0;
  for (const auto& e : events<bento_pipe_io_event>(BENTO_EV_PIPE_IO, self())) n += e.ino == ino;
  EXPECT_GE(n, 2);  // its first write and read
  EXPECT_LE(n, 3);  // and the write after that read
  close(p[0]);
  close(p[1]);
}

// Two processes in a request/response loop over two pipes: each message is news to the
// other, so each is reported, up to BENTO_PIPE_IO_REPORTS per image, pipe and direction;
// the last says so (BENTO_PIPE_IO_OPEN) and the rest go unreported.
TEST_F(FdProbes, AChattyPairStopsReportingAfterTheBudget) {
  int req[2], rep[2];
  ASSERT_EQ(pipe(req), 0);
  ASSERT_EQ(pipe(rep), 0);
  const int rounds = BENTO_PIPE_IO_REPORTS + 500;
  pid_t echo = spawn([&] {
    char c;
    for (int i = 0; i < rounds; i++)
      if (read(req[0], &c, 1) != 1 || write(rep[1], &c, 1) != 1) return 1;
    return 0;
  });
  char c = 'x';
  for (int i = 0; i < rounds; i++) {
    ASSERT_EQ(write(req[1], &c, 1), 1);
    ASSERT_EQ(read(rep[0], &c, 1), 1);
  }
  reap(echo);
  drain(getpid());
  const uint64_t ino = fstat_of(rep[0]).st_ino;
  std::vector<bento_pipe_io_event> r;
  for (const auto& e : events<bento_pipe_io_event>(BENTO_EV_PIPE_IO, self()))
    if (e.ino == ino && !e.is_write) r.push_back(e);
  ASSERT_EQ(r.size(), static_cast<size_t>(BENTO_PIPE_IO_REPORTS));
  EXPECT_EQ(r.front().again, 0u);
  EXPECT_EQ(r[1].again, 1u);
  EXPECT_EQ(r.back().again, BENTO_PIPE_IO_OPEN);
  for (int x : {req[0], req[1], rep[0], rep[1]}) close(x);
}

TEST_F(FdProbes, PipeIoOnAFifoCarriesItsDevAndInode) {
  std::string fifo = dir_ + "/fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  int fd = ::open(fifo.c_str(), O_RDWR);  // Linux: no need for a second opener
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "x", 1), 1);
  char c;
  ASSERT_EQ(read(fd, &c, 1), 1);
  drain(getpid());
  struct stat st = fstat_of(fd);
  std::vector<bento_pipe_io_event> io;
  for (const auto& e : events<bento_pipe_io_event>(BENTO_EV_PIPE_IO, self()))
    if (e.ino == st.st_ino) io.push_back(e);
  ASSERT_EQ(io.size(), 2u);
  EXPECT_EQ(io[0].is_write, 1u);
  EXPECT_EQ(io[1].is_write, 0u);
  for (const auto& e : io) {
    EXPECT_EQ(e.fd, fd);
    EXPECT_EQ(e.dev, st.st_dev);
    EXPECT_EQ(e.file_id, io[0].file_id);
  }
  // Its data moves in PIPE_IO; its OPEN names it (a FIFO's ends may be gone before the
  // collector could read their fds), with its mode.
  int opens = 0;
  for (const auto& o : events<bento_open_event>(BENTO_EV_OPEN, self())) {
    if (o.ino != st.st_ino) continue;
    opens++;
    EXPECT_TRUE(S_ISFIFO(o.mode)) << o.mode;
    EXPECT_EQ(std::string(o.path, o.path_len), fifo);
    // v12: PIPE_IO carries the FIFO's inode generation too (OPEN's), which tells it apart
    // from the next file that gets its inode number; ext4 and tmpfs make it random.
    EXPECT_NE(o.generation, 0u);
    for (const auto& e : io) EXPECT_EQ(e.generation, o.generation);
  }
  EXPECT_EQ(opens, 1);
  close(fd);
}

// OPEN says whether the open made the file (FMODE_CREATED): with O_CREAT alone too, so
// the collector knows `cmd > /tmp/new` held nothing before; not for a name that existed.
TEST_F(FdProbes, OpenSaysWhetherItMadeTheFile) {
  const std::string old = file("old");  // made by a child of this test
  const std::string fresh = dir_ + "/fresh";
  int fo = ::open(old.c_str(), O_WRONLY | O_CREAT, 0600);
  int ff = ::open(fresh.c_str(), O_WRONLY | O_CREAT, 0600);
  ASSERT_GE(fo, 0);
  ASSERT_GE(ff, 0);
  drain(getpid());
  const struct stat so = fstat_of(fo), sf = fstat_of(ff);
  int seen = 0;
  for (const auto& o : events<bento_open_event>(BENTO_EV_OPEN, self())) {
    if (o.ino == so.st_ino && o.dev == so.st_dev) {
      seen++;
      EXPECT_EQ(o.created, 0u) << "existed before the open";
    } else if (o.ino == sf.st_ino && o.dev == sf.st_dev) {
      seen++;
      EXPECT_EQ(o.created, 1u) << "made by the open";
    }
  }
  EXPECT_EQ(seen, 2);
  close(fo);
  close(ff);
}

TEST_F(FdProbes, OpenIsReportedOncePerFileAndAccessAndNotForPseudoFiles) {
  std::string a = file("a");
  int fd1 = ::open(a.c_str(), O_RDONLY);
  int fd2 = openat(AT_FDCWD, a.c_str(), O_RDWR);   // the same file to write: reported
  int fd2b = openat(AT_FDCWD, a.c_str(), O_RDWR);  // again: deduplicated
  int fd2c = ::open(a.c_str(), O_RDONLY);          // deduplicated
  ASSERT_GE(fd1, 0);
  ASSERT_GE(fd2, 0);
  ASSERT_GE(fd2b, 0);
  ASSERT_GE(fd2c, 0);
  std::string b = dir_ + "/b";
  open_how how = {};
  how.flags = O_WRONLY | O_CREAT | O_EXCL;
  how.mode = 0600;
  int fd3 = static_cast<int>(syscall(SYS_openat2, AT_FDCWD, b.c_str(), &how, sizeof how));
  ASSERT_GE(fd3, 0) << std::strerror(errno);
  std::string c = dir_ + "/c";
  int fd4 = static_cast<int>(syscall(SYS_creat, c.c_str(), 0600));
  ASSERT_GE(fd4, 0);
  int handle = ::open(file("d").c_str(), O_PATH);  // not an open for I/O: no event
  ASSERT_GE(handle, 0);
  int proc = ::open("/proc/self/status", O_RDONLY);
  int sys = ::open("/sys/kernel/btf/vmlinux", O_RDONLY);
  int dev = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(proc, 0);
  ASSERT_GE(sys, 0);
  ASSERT_GE(dev, 0);
  ASSERT_LT(::open((dir_ + "/missing").c_str(), O_RDONLY), 0);  // failures: no event
  drain(getpid());
  auto opens = events<bento_open_event>(BENTO_EV_OPEN, self());
  std::vector<bento_open_event> ours;
  for (const auto& o : opens) {
    std::string path(o.path, o.path_len);
    EXPECT_NE(path.rfind("/proc/", 0), 0u) << path;
    EXPECT_NE(path.rfind("/sys/", 0), 0u) << path;
    EXPECT_NE(path, "/dev/null");
    if (path.rfind(dir_, 0) == 0) ours.push_back(o);
  }
  ASSERT_EQ(ours.size(), 4u);
  struct Want {
    int fd;
    std::string path;
    uint32_t flags;
    uint32_t created;
  };
  std::vector<Want> want = {{fd1, a, O_RDONLY, 0},
                            {fd2, a, O_RDWR, 0},
                            {fd3, b, O_WRONLY | O_CREAT | O_EXCL, 1},
                            {fd4, c, O_CREAT | O_WRONLY | O_TRUNC, 1}};
  for (size_t i = 0; i < want.size(); i++) {
    SCOPED_TRACE(want[i].path);
    const auto& o = ours[i];
    struct stat st = fstat_of(want[i].fd);
    EXPECT_EQ(o.fd, want[i].fd);
    EXPECT_EQ(std::string(o.path), want[i].path);
    EXPECT_EQ(o.path_len, want[i].path.size());
    EXPECT_EQ(o.flags, want[i].flags);
    EXPECT_EQ(o.created, want[i].created);
    EXPECT_EQ(o.dev, st.st_dev);
    EXPECT_EQ(o.ino, st.st_ino);
    EXPECT_EQ(o.mode, st.st_mode);
    EXPECT_NE(o.file_id, 0u);
  }
  for (int x : {fd1, fd2, fd2b, fd2c, fd3, fd4, handle, proc, sys, dev}) close(x);
  EXPECT_EQ(probes_->stats().lost, 0u);
}

TEST_F(FdProbes, FileIdsAreKeyedAndStableWithTheKeyFile) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  drain(getpid());
  auto before = events<bento_pipe_event>(BENTO_EV_PIPE, self());
  ASSERT_EQ(before.size(), 1u);
  // No kernel address shows through (x86_64 kernel pointers start 0xffff...).
  EXPECT_FALSE((before[0].file_ids[0] >> 48) == 0xffff && (before[0].file_ids[1] >> 48) == 0xffff);
  // Reopened with the same (per-boot) key: the same description has the same id; with a
  // fresh random key it does not.
  for (bool same_key : {true, false}) {
    SCOPED_TRACE(same_key);
    probes_.reset();
    bento::bpf::ProbeOptions o;
    if (!same_key) o.file_id_key_path.clear();
    std::string err;
    probes_ = bento::bpf::Probes::open(o, &err);
    ASSERT_NE(probes_, nullptr) << err;
    raw_.clear();
    int d = dup(p[0]);
    ASSERT_GE(d, 0);
    drain(getpid());
    auto dups = events<bento_dup_event>(BENTO_EV_DUP, self());
    ASSERT_EQ(dups.size(), 1u);
    if (same_key)
      EXPECT_EQ(dups[0].file_id, before[0].file_ids[0]);
    else
      EXPECT_NE(dups[0].file_id, before[0].file_ids[0]);
    close(d);
  }
  close(p[0]);
  close(p[1]);
}

}  // namespace
