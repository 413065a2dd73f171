// The probes on System V and POSIX IPC and on another process's memory (events.h v14):
// shared memory segments, message queues, process_vm_readv / process_vm_writev, ptrace. Each is a
// way data moves between processes without a file or a socket.
#include <fcntl.h>
#include <mqueue.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/ptrace.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <cstring>
#include <string>

#include "probe_fixture.h"

namespace {

using namespace bento_bpf_test;

class Ipc : public FdProbes {
 protected:
  // The PIPE_IO events of pid on the channel kind.
  std::vector<bento_pipe_io_event> channel_io(pid_t pid, uint8_t channel) {
    std::vector<bento_pipe_io_event> v;
    for (const auto& e : of<bento_pipe_io_event>(BENTO_EV_PIPE_IO, pid))
      if (e.channel == channel) v.push_back(e);
    return v;
  }
};

struct Message {
  long type;
  char text[32];
};

// A segment attached writable is a mapping of its shmem file (what the attacher writes
// there, others read), ended at shmdt; one attached SHM_RDONLY is a read of that file.
TEST_F(Ipc, ASharedMemorySegmentIsAMappingOrARead) {
  const int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
  ASSERT_GE(id, 0) << std::strerror(errno);
  pid_t writer = run_child([&] {
    auto* p = static_cast<char*>(shmat(id, nullptr, 0));
    if (p == reinterpret_cast<char*>(-1)) return 1;
    std::strcpy(p, "segment");
    return shmdt(p) == 0 ? 0 : 2;
  });
  pid_t reader = run_child([&] {
    auto* p = static_cast<const char*>(shmat(id, nullptr, SHM_RDONLY));
    if (p == reinterpret_cast<const char*>(-1)) return 1;
    return std::strcmp(p, "segment") == 0 && shmdt(p) == 0 ? 0 : 2;
  });
  drain(getpid());
  shmctl(id, IPC_RMID, nullptr);
  auto maps = of<bento_mmap_event>(BENTO_EV_MMAP, writer);
  ASSERT_EQ(maps.size(), 1u);
  EXPECT_EQ(maps[0].how, static_cast<uint32_t>(BENTO_MMAP_SHMAT));
  EXPECT_EQ(maps[0].flags, static_cast<uint32_t>(MAP_SHARED | MAP_ANONYMOUS));
  EXPECT_EQ(maps[0].fd, -1);
  EXPECT_EQ(maps[0].len, 4096u);
  // The segment's shmem file is numbered by its id (ipc/shm.c newseg): 0 for the first
  // segment after boot, so not "non-zero" (a fresh Debian 6.1 guest failed that).
  EXPECT_EQ(maps[0].ino, static_cast<uint64_t>(id));
  auto ends = of<bento_mmap_event>(BENTO_EV_MUNMAP, writer);
  ASSERT_EQ(ends.size(), 1u) << "at shmdt";
  EXPECT_EQ(ends[0].how, static_cast<uint32_t>(BENTO_MUNMAP_MUNMAP));
  EXPECT_EQ(ends[0].ino, maps[0].ino);
  EXPECT_TRUE(of<bento_mmap_event>(BENTO_EV_MMAP, reader).empty()) << "read-only: no mapping";
  std::vector<bento_file_io_event> reads;
  for (const auto& e : of<bento_file_io_event>(BENTO_EV_FILE_IO, reader))
    if (e.ino == maps[0].ino && e.dev == maps[0].dev) reads.push_back(e);
  ASSERT_EQ(reads.size(), 1u) << "the read-only attach is a read of the segment";
  EXPECT_EQ(reads[0].is_write, 0);
  EXPECT_EQ(reads[0].syscall_nr, static_cast<uint32_t>(SYS_shmat));
}

// A POSIX message queue's send and receive are a pipe's write and read, named by the
// queue's inode.
TEST_F(Ipc, APosixMessageQueueIsAChannel) {
  const std::string name = "/bento-test-" + std::to_string(getpid());
  mq_attr attr{};
  attr.mq_maxmsg = 4;
  attr.mq_msgsize = 64;
  mqd_t q = mq_open(name.c_str(), O_CREAT | O_RDWR, 0600, &attr);
  ASSERT_NE(q, static_cast<mqd_t>(-1)) << std::strerror(errno);
  struct stat st = {};
  ASSERT_EQ(fstat(q, &st), 0);
  pid_t sender = run_child([&] { return mq_send(q, "job", 3, 0) == 0 ? 0 : 1; });
  pid_t receiver = run_child([&] {
    char buf[64];
    return mq_receive(q, buf, sizeof buf, nullptr) == 3 ? 0 : 1;
  });
  drain(getpid());
  mq_close(q);
  mq_unlink(name.c_str());
  auto sent = channel_io(sender, BENTO_CHANNEL_MQUEUE);
  auto got = channel_io(receiver, BENTO_CHANNEL_MQUEUE);
  ASSERT_EQ(sent.size(), 1u);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(sent[0].is_write, 1);
  EXPECT_EQ(got[0].is_write, 0);
  for (const auto& e : {sent[0], got[0]}) {
    EXPECT_EQ(e.dev, st.st_dev);
    EXPECT_EQ(e.ino, st.st_ino);
    EXPECT_EQ(e.fd, q);
  }
  EXPECT_LT(sent[0].h.ts_ns, got[0].h.ts_ns);
}

// A System V message queue's msgsnd and msgrcv: its msqid in its IPC namespace (the
// namespace's inode number as dev); a receive is reported again after another's send.
TEST_F(Ipc, ASystemVMessageQueueIsAChannel) {
  const int id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
  ASSERT_GE(id, 0) << std::strerror(errno);
  struct stat ns = {};
  ASSERT_EQ(stat("/proc/self/ns/ipc", &ns), 0);
  auto send = [&](const char* text) {
    Message m{1, {}};
    std::strncpy(m.text, text, sizeof m.text - 1);
    return msgsnd(id, &m, std::strlen(text), 0) == 0;
  };
  // In this order: send one, receive it, send two, receive it (the second send is news
  // only when it comes after the first receive: a receiver slow to start would find both).
  int go[2], done[2];
  ASSERT_EQ(pipe(go), 0);
  ASSERT_EQ(pipe(done), 0);
  pid_t receiver = spawn([&] {
    Message m{};
    if (msgrcv(id, &m, sizeof m.text, 0, 0) < 0) return 1;
    if (write(done[1], "r", 1) != 1) return 4;
    char c;
    if (read(go[0], &c, 1) != 1) return 2;  // the second send is made by then
    return msgrcv(id, &m, sizeof m.text, 0, 0) >= 0 ? 0 : 3;
  });
  pid_t first = run_child([&] { return send("one") ? 0 : 1; });
  char c;
  ASSERT_EQ(read(done[0], &c, 1), 1);
  pid_t second = run_child([&] { return send("two") ? 0 : 1; });
  ASSERT_EQ(write(go[1], "g", 1), 1);
  reap(receiver);
  drain(getpid());
  msgctl(id, IPC_RMID, nullptr);
  for (int fd : {go[0], go[1], done[0], done[1]}) close(fd);
  for (pid_t s : {first, second}) {
    auto sent = channel_io(s, BENTO_CHANNEL_SYSV_MSG);
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].is_write, 1);
  }
  auto got = channel_io(receiver, BENTO_CHANNEL_SYSV_MSG);
  ASSERT_EQ(got.size(), 2u) << "the first receive, and the one after another's send";
  EXPECT_EQ(got[0].again, 0);
  EXPECT_EQ(got[1].again, 1);
  for (const auto& e : got) {
    EXPECT_EQ(e.is_write, 0);
    EXPECT_EQ(e.dev, ns.st_ino);
    EXPECT_EQ(e.ino, static_cast<uint64_t>(id));
    EXPECT_EQ(e.fd, -1);
    EXPECT_EQ(e.file_id, 0u);
  }
}

// process_vm_readv / process_vm_writev: once per image, target and direction, naming the
// target process (pid and start); never a process's calls on itself.
TEST_F(Ipc, AnotherProcesssMemoryReadOrWrittenIsReportedOncePerTarget) {
  static char box[64] = "held in memory";
  int hold[2];
  ASSERT_EQ(pipe(hold), 0);
  pid_t target = spawn([&] {
    char c;
    return read(hold[0], &c, 1) == 1 ? 0 : 1;
  });
  auto move = [&](pid_t pid, bool write) {
    char buf[64] = "written over";
    iovec local{buf, sizeof buf}, remote{box, sizeof box};
    return (write ? process_vm_writev : process_vm_readv)(pid, &local, 1, &remote, 1, 0) ==
           static_cast<ssize_t>(sizeof buf);
  };
  pid_t reader = run_child([&] { return move(target, false) && move(target, false) ? 0 : 1; });
  pid_t writer = run_child([&] { return move(target, true) ? 0 : 1; });
  pid_t self = run_child([&] { return move(getpid(), false) ? 0 : 1; });
  ASSERT_EQ(write(hold[1], "x", 1), 1);
  reap(target);
  drain(getpid());
  close(hold[0]);
  close(hold[1]);
  const uint64_t start = start_ns_of(static_cast<uint32_t>(target));
  ASSERT_NE(start, 0u);
  auto taken = of<bento_proc_memory_event>(BENTO_EV_PROC_MEMORY, reader);
  ASSERT_EQ(taken.size(), 1u) << "once, for two calls";
  EXPECT_EQ(taken[0].is_write, 0u);
  EXPECT_EQ(taken[0].syscall_nr, static_cast<uint32_t>(SYS_process_vm_readv));
  auto written = of<bento_proc_memory_event>(BENTO_EV_PROC_MEMORY, writer);
  ASSERT_EQ(written.size(), 1u);
  EXPECT_EQ(written[0].is_write, 1u);
  EXPECT_EQ(written[0].syscall_nr, static_cast<uint32_t>(SYS_process_vm_writev));
  for (const auto& e : {taken[0], written[0]}) {
    EXPECT_EQ(e.target_pid, target);
    EXPECT_EQ(e.resolved, 1u);
    EXPECT_EQ(e.target_start_ns, start);
    EXPECT_EQ(e.bytes, 64u);
  }
  EXPECT_TRUE(of<bento_proc_memory_event>(BENTO_EV_PROC_MEMORY, self).empty());
}

// ptrace's PEEKDATA reads a word of the tracee's memory, POKEDATA writes one (code
// injection): reported like process_vm_readv / process_vm_writev, with 8 bytes.
TEST_F(Ipc, APtracersPeekAndPokeAreReportedAsMemoryReadAndWritten) {
  static long word = 0x1234;
  int hold[2];
  ASSERT_EQ(pipe(hold), 0);
  pid_t target = spawn([&] {
    char c;
    return read(hold[0], &c, 1) == 1 ? 0 : 1;
  });
  pid_t tracer = run_child([&] {
    if (ptrace(PTRACE_ATTACH, target, nullptr, nullptr) != 0) return 1;
    int st = 0;
    if (waitpid(target, &st, 0) != target) return 2;
    errno = 0;
    const long got = ptrace(PTRACE_PEEKDATA, target, &word, nullptr);
    if (errno != 0 || got != 0x1234) return 3;
    if (ptrace(PTRACE_POKEDATA, target, &word, reinterpret_cast<void*>(0x5678)) != 0) return 4;
    return ptrace(PTRACE_DETACH, target, nullptr, nullptr) == 0 ? 0 : 5;
  });
  ASSERT_EQ(write(hold[1], "x", 1), 1);
  reap(target);
  drain(getpid());
  close(hold[0]);
  close(hold[1]);
  auto moved = of<bento_proc_memory_event>(BENTO_EV_PROC_MEMORY, tracer);
  ASSERT_EQ(moved.size(), 2u) << "a peek and a poke";
  EXPECT_EQ(moved[0].is_write, 0u);
  EXPECT_EQ(moved[1].is_write, 1u);
  for (const auto& e : moved) {
    EXPECT_EQ(e.syscall_nr, static_cast<uint32_t>(SYS_ptrace));
    EXPECT_EQ(e.target_pid, target);
    EXPECT_EQ(e.resolved, 1u);
    EXPECT_EQ(e.bytes, 8u);
  }
}

}  // namespace
