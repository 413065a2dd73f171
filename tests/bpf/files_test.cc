// The file events (events.h v3) with real processes: shared writable mappings from mmap and
// mprotect to munmap, exit, exec and fork (a C child, Python's mmap, sqlite3 in mmap + WAL
// mode); the first read / first write of regular files; OPEN's inode generation and birth
// time, which keep files apart that reuse an inode number; rename, link, unlink and truncate
// with their paths and directories; the same opens, reads and writes made through io_uring.
#include <dirent.h>
#include <liburing.h>
#include <linux/fs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/syscall.h>

#include "host_facts.h"
#include "probe_fixture.h"

namespace {

using namespace bento_bpf_test;

bool have(const char* prog) {
  std::string cmd = std::string("command -v ") + prog + " > /dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

class Files : public FdProbes {
 protected:
  // MMAP/MUNMAP events of pid for the inode ino.
  std::vector<bento_mmap_event> maps_of(uint32_t type, pid_t pid, uint64_t ino) {
    std::vector<bento_mmap_event> v;
    for (const auto& e : of<bento_mmap_event>(type, pid))
      if (e.ino == ino) v.push_back(e);
    return v;
  }
  std::vector<bento_file_io_event> io_of(pid_t pid, uint64_t ino) {
    std::vector<bento_file_io_event> v;
    for (const auto& e : of<bento_file_io_event>(BENTO_EV_FILE_IO, pid))
      if (e.ino == ino) v.push_back(e);
    return v;
  }
  // A file of n bytes, written by a child process.
  std::string sized(const std::string& name, size_t n) {
    std::string p = dir_ + "/" + name;
    run_child([&] {
      int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      return fd >= 0 && ftruncate(fd, n) == 0 ? 0 : 1;
    });
    return p;
  }
  // FS_IOC_GETVERSION: i_generation where the file system lets userspace read it (ext4,
  // xfs, btrfs; not tmpfs): 0 and a note otherwise, and the caller compares only then.
  uint32_t generation(int fd) {
    int gen = 0;
    if (ioctl(fd, FS_IOC_GETVERSION, &gen) != 0) return 0;
    return static_cast<uint32_t>(gen);
  }
  // A new pseudo-terminal: its master's fd and its slave's path (/dev/pts/N).
  void open_pty(int* master, std::string* slave_path) {
    *master = posix_openpt(O_RDWR | O_NOCTTY);
    ASSERT_GE(*master, 0) << "no pseudo-terminal: " << std::strerror(errno);
    ASSERT_EQ(grantpt(*master), 0);
    ASSERT_EQ(unlockpt(*master), 0);
    *slave_path = ptsname(*master);
  }
  void expect_generation(uint32_t reported, int fd) {
    uint32_t g = generation(fd);
    if (g != 0)
      EXPECT_EQ(reported, g);
    else
      std::printf("(FS_IOC_GETVERSION unsupported here: generation %u not compared)\n", reported);
  }
};

// The C side: a shared writable mapping written through memory, never with write().
TEST_F(Files, SharedWritableMappingFromMmapToMunmap) {
  ASSERT_TRUE(probes_->mprotect_events());
  std::string path = sized("mapped", 3 * 4096);
  struct stat st = {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  struct Seen {
    uint64_t a1, a2, a3;
    int fd;
  };
  int rep[2];
  ASSERT_EQ(pipe(rep), 0);
  pid_t child = run_child([&] {
    int fd = ::open(path.c_str(), O_RDWR);
    // 1. mmap(MAP_SHARED, PROT_WRITE), written, munmap.
    auto* a1 =
        static_cast<char*>(mmap(nullptr, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 4096));
    if (a1 == MAP_FAILED) return 1;
    std::memcpy(a1, "mapped", 6);
    if (munmap(a1, 8192) != 0) return 2;
    // 2. read-only shared mapping, then mprotect adds PROT_WRITE.
    auto* a2 = static_cast<char*>(mmap(nullptr, 4096, PROT_READ, MAP_SHARED, fd, 0));
    if (a2 == MAP_FAILED || mprotect(a2, 4096, PROT_READ | PROT_WRITE) != 0) return 3;
    a2[0] = 'm';
    // a private writable mapping is no MMAP: its writes never reach the file.
    void* priv = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (priv == MAP_FAILED) return 4;
    // 3. mapped again and left mapped: ends at exit.
    auto* a3 = static_cast<char*>(mmap(nullptr, 4096, PROT_WRITE, MAP_SHARED, fd, 0));
    if (a3 == MAP_FAILED) return 5;
    Seen s = {reinterpret_cast<uint64_t>(a1), reinterpret_cast<uint64_t>(a2),
              reinterpret_cast<uint64_t>(a3), fd};
    return write(rep[1], &s, sizeof s) == sizeof s ? 0 : 6;
  });
  Seen s = {};
  ASSERT_EQ(read(rep[0], &s, sizeof s), static_cast<ssize_t>(sizeof s));
  drain(getpid());
  auto maps = maps_of(BENTO_EV_MMAP, child, st.st_ino);
  auto ends = maps_of(BENTO_EV_MUNMAP, child, st.st_ino);
  ASSERT_EQ(maps.size(), 3u);
  ASSERT_EQ(ends.size(), 3u);
  for (const auto& m : maps) {
    EXPECT_EQ(m.dev, st.st_dev);
    EXPECT_EQ(m.generation, maps[0].generation);
    EXPECT_EQ(m.tracked, 1u);
    EXPECT_NE(m.file_id, 0u);
  }
  EXPECT_EQ(maps[0].how, static_cast<uint32_t>(BENTO_MMAP_MMAP));
  EXPECT_EQ(maps[0].addr, s.a1);
  EXPECT_EQ(maps[0].len, 8192u);
  EXPECT_EQ(maps[0].offset, 4096u);
  EXPECT_EQ(maps[0].fd, s.fd);
  EXPECT_EQ(maps[0].prot, static_cast<uint32_t>(PROT_READ | PROT_WRITE));
  EXPECT_EQ(maps[0].flags, static_cast<uint32_t>(MAP_SHARED));
  EXPECT_EQ(ends[0].how, static_cast<uint32_t>(BENTO_MUNMAP_MUNMAP));
  EXPECT_EQ(ends[0].addr, s.a1);
  EXPECT_EQ(ends[0].len, 8192u);
  EXPECT_EQ(ends[0].file_id, maps[0].file_id);
  EXPECT_LT(maps[0].h.ts_ns, ends[0].h.ts_ns);
  EXPECT_EQ(maps[1].how, static_cast<uint32_t>(BENTO_MMAP_MPROTECT));
  EXPECT_EQ(maps[1].addr, s.a2);
  EXPECT_EQ(maps[1].len, 4096u);
  EXPECT_EQ(maps[1].offset, 0u);
  EXPECT_EQ(maps[1].fd, -1);
  EXPECT_EQ(maps[1].file_id, maps[0].file_id);  // the same description (vma->vm_file)
  EXPECT_EQ(maps[2].how, static_cast<uint32_t>(BENTO_MMAP_MMAP));
  EXPECT_EQ(maps[2].addr, s.a3);
  EXPECT_EQ(maps[2].prot, static_cast<uint32_t>(PROT_WRITE));
  // a2 and a3 were never unmapped: they end with the process.
  std::set<uint64_t> at_exit;
  for (size_t i = 1; i < 3; i++) {
    EXPECT_EQ(ends[i].how, static_cast<uint32_t>(BENTO_MUNMAP_EXIT));
    at_exit.insert(ends[i].addr);
  }
  EXPECT_EQ(at_exit, (std::set<uint64_t>{s.a2, s.a3}));
  close(rep[0]);
  close(rep[1]);
}

// Forked children share a parent's shared mapping (and can write through it); exec ends it.
TEST_F(Files, SharedMappingIsInheritedByForkAndEndedByExec) {
  std::string path = sized("forked", 4096);
  struct stat st = {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  pid_t grandchild = 0;
  int rep[2];
  ASSERT_EQ(pipe(rep), 0);
  pid_t child = run_child([&] {
    int fd = ::open(path.c_str(), O_RDWR);
    void* a = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (a == MAP_FAILED) return 1;
    pid_t g = spawn([&] {
      static_cast<char*>(a)[0] = 'g';  // the child writes through the inherited mapping
      execl("/bin/true", "true", nullptr);
      return 127;
    });
    int gs = 0;
    waitpid(g, &gs, 0);
    if (write(rep[1], &g, sizeof g) != sizeof g) return 2;
    return WIFEXITED(gs) && WEXITSTATUS(gs) == 0 ? 0 : 3;
  });
  ASSERT_EQ(read(rep[0], &grandchild, sizeof grandchild), static_cast<ssize_t>(sizeof grandchild));
  drain(getpid());
  auto parent_maps = maps_of(BENTO_EV_MMAP, child, st.st_ino);
  ASSERT_EQ(parent_maps.size(), 1u);
  auto maps = maps_of(BENTO_EV_MMAP, grandchild, st.st_ino);
  ASSERT_EQ(maps.size(), 1u);
  EXPECT_EQ(maps[0].how, static_cast<uint32_t>(BENTO_MMAP_FORK));
  EXPECT_EQ(maps[0].addr, parent_maps[0].addr);
  EXPECT_EQ(maps[0].file_id, parent_maps[0].file_id);
  auto ends = maps_of(BENTO_EV_MUNMAP, grandchild, st.st_ino);
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0].how, static_cast<uint32_t>(BENTO_MUNMAP_EXEC));
  const Exec* t = exec_of("true");
  ASSERT_NE(t, nullptr);
  EXPECT_LE(ends[0].h.ts_ns, t->ts_ns);  // sent before the EXEC
  auto pends = maps_of(BENTO_EV_MUNMAP, child, st.st_ino);
  ASSERT_EQ(pends.size(), 1u);
  EXPECT_EQ(pends[0].how, static_cast<uint32_t>(BENTO_MUNMAP_EXIT));
  close(rep[0]);
  close(rep[1]);
}

// mmap(MAP_SHARED | MAP_ANONYMOUS, PROT_WRITE) is memory a forked child shares: reported as a
// mapping of the shmem file the kernel made for it (one identity for parent and child), not
// a private or read-only one.
TEST_F(Files, AnonymousSharedMappingIsReportedAndInheritedByFork) {
  pid_t grandchild = 0;
  int rep[2];
  ASSERT_EQ(pipe(rep), 0);
  pid_t child = run_child([&] {
    void* a = mmap(nullptr, 8192, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    void* priv = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    void* ro = mmap(nullptr, 4096, PROT_READ, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (a == MAP_FAILED || priv == MAP_FAILED || ro == MAP_FAILED) return 1;
    pid_t g = spawn([&] {
      static_cast<char*>(a)[0] = 'g';  // the parent sees it
      return 0;
    });
    int gs = 0;
    waitpid(g, &gs, 0);
    if (write(rep[1], &g, sizeof g) != sizeof g) return 2;
    return static_cast<char*>(a)[0] == 'g' && WIFEXITED(gs) && WEXITSTATUS(gs) == 0 ? 0 : 3;
  });
  ASSERT_EQ(read(rep[0], &grandchild, sizeof grandchild), static_cast<ssize_t>(sizeof grandchild));
  drain(getpid());
  std::vector<bento_mmap_event> mine;
  for (const auto& e : of<bento_mmap_event>(BENTO_EV_MMAP, child))
    if (e.flags & MAP_ANONYMOUS) mine.push_back(e);
  ASSERT_EQ(mine.size(), 1u) << "the shared writable one only";
  EXPECT_EQ(mine[0].how, static_cast<uint32_t>(BENTO_MMAP_MMAP));
  EXPECT_EQ(mine[0].len, 8192u);
  EXPECT_EQ(mine[0].fd, -1);
  EXPECT_NE(mine[0].ino, 0u);
  auto inherited = maps_of(BENTO_EV_MMAP, grandchild, mine[0].ino);
  ASSERT_EQ(inherited.size(), 1u);
  EXPECT_EQ(inherited[0].how, static_cast<uint32_t>(BENTO_MMAP_FORK));
  EXPECT_EQ(inherited[0].dev, mine[0].dev);
  EXPECT_EQ(inherited[0].addr, mine[0].addr);
  EXPECT_EQ(maps_of(BENTO_EV_MUNMAP, grandchild, mine[0].ino).size(), 1u);  // its exit
  close(rep[0]);
  close(rep[1]);
}

TEST_F(Files, PythonMmapWriteIsAMapping) {
  if (!have("python3")) GTEST_SKIP() << "\n*** SKIPPING: no python3 on this host ***";
  std::string path = sized("py", 4096);
  struct stat st = {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  pid_t py = run_child([&] {
    execlp("python3", "python3", "-c",
           "import mmap, sys\n"
           "with open(sys.argv[1], 'r+b') as f:\n"
           "    m = mmap.mmap(f.fileno(), 0)\n"
           "    m[0:5] = b'hello'\n"
           "    m.flush()\n"
           "    m.close()\n",
           path.c_str(), nullptr);
    return 127;
  });
  drain(getpid());
  auto maps = maps_of(BENTO_EV_MMAP, py, st.st_ino);
  auto ends = maps_of(BENTO_EV_MUNMAP, py, st.st_ino);
  ASSERT_EQ(maps.size(), 1u);
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(maps[0].len, 4096u);
  EXPECT_EQ(maps[0].flags & MAP_SHARED, static_cast<uint32_t>(MAP_SHARED));
  EXPECT_NE(maps[0].prot & PROT_WRITE, 0u);
  EXPECT_EQ(ends[0].how, static_cast<uint32_t>(BENTO_MUNMAP_MUNMAP));
  EXPECT_EQ(ends[0].addr, maps[0].addr);
  char buf[5];
  int fd = ::open(path.c_str(), O_RDONLY);
  ASSERT_EQ(read(fd, buf, 5), 5);
  EXPECT_EQ(std::string(buf, 5), "hello");
  close(fd);
}

// sqlite3 in mmap mode reads the database through a mapping and writes with pwrite; in WAL
// mode its -shm index is a shared writable mapping.
TEST_F(Files, Sqlite3InMmapAndWalMode) {
  if (!have("sqlite3")) GTEST_SKIP() << "\n*** SKIPPING: no sqlite3 on this host ***";
  std::string db = dir_ + "/t.db";
  pid_t sq = run_child([&] {
    int null = ::open("/dev/null", O_WRONLY);
    dup2(null, 1);
    execlp("sqlite3", "sqlite3", db.c_str(),
           "PRAGMA mmap_size=1048576; PRAGMA journal_mode=WAL; CREATE TABLE t(x);"
           "INSERT INTO t VALUES(randomblob(20000)); SELECT count(*) FROM t;",
           nullptr);
    return 127;
  });
  drain(getpid());
  struct stat st = {};
  ASSERT_EQ(stat(db.c_str(), &st), 0);
  auto io = io_of(sq, st.st_ino);
  bool wrote = false, read_it = false;
  for (const auto& e : io) {
    EXPECT_EQ(e.dev, st.st_dev);
    if (e.is_write) wrote = true;
    if (!e.is_write) read_it = true;
  }
  EXPECT_TRUE(wrote) << "no FILE_IO write of the database";
  EXPECT_TRUE(read_it) << "no FILE_IO read of the database";
  // The -shm file is gone after the last connection closed; its mapping was reported.
  size_t shm_maps = 0, shm_ends = 0;
  for (const auto& e : of<bento_mmap_event>(BENTO_EV_MMAP, sq))
    shm_maps += (e.prot & PROT_WRITE) != 0 && e.flags == MAP_SHARED;
  shm_ends = of<bento_mmap_event>(BENTO_EV_MUNMAP, sq).size();
  EXPECT_GE(shm_maps, 1u);
  EXPECT_EQ(shm_ends, shm_maps);
  auto opens = of<bento_open_event>(BENTO_EV_OPEN, sq);
  bool shm_opened = false;
  for (const auto& o : opens) {
    std::string p(o.path, o.path_len);
    if (p == db + "-shm") {
      shm_opened = true;
      for (const auto& e : of<bento_mmap_event>(BENTO_EV_MMAP, sq)) {
        if (e.prot & PROT_WRITE) {
          EXPECT_EQ(e.ino, o.ino);
        }
      }
    }
  }
  EXPECT_TRUE(shm_opened);
}

TEST_F(Files, FirstReadAndFirstWriteOncePerProcessImage) {
  ASSERT_TRUE(probes_->fd_events());
  std::string path = sized("io", 8192);
  struct stat st = {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  int fd = ::open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  char buf[16];
  uint64_t t0 = 0;
  {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    t0 = ts.tv_sec * 1000000000ULL + ts.tv_nsec;
  }
  ASSERT_EQ(read(fd, buf, 4), 4);
  ASSERT_EQ(pread(fd, buf, 4, 100), 4);  // deduplicated
  ASSERT_EQ(write(fd, "w", 1), 1);
  ASSERT_EQ(pwrite(fd, "w", 1, 200), 1);     // deduplicated
  int fd2 = ::open(path.c_str(), O_RDONLY);  // another description of the same file
  ASSERT_EQ(read(fd2, buf, 4), 4);           // deduplicated: the same file
  // A child is another process image: its own first read (with sendfile) and write.
  std::string out = sized("io-out", 0);
  struct stat ost = {};
  ASSERT_EQ(stat(out.c_str(), &ost), 0);
  pid_t child = run_child([&] {
    int o = ::open(out.c_str(), O_WRONLY);
    off_t off = 0;
    if (sendfile(o, fd, &off, 100) != 100) return 1;
    if (syscall(SYS_copy_file_range, fd, nullptr, o, nullptr, 10, 0) != 10) return 2;
    return 0;
  });
  drain(getpid());
  auto mine = io_of(getpid(), st.st_ino);
  ASSERT_EQ(mine.size(), 2u);
  EXPECT_EQ(mine[0].is_write, 0u);
  EXPECT_EQ(mine[0].syscall_nr, static_cast<uint32_t>(SYS_read));
  EXPECT_EQ(mine[0].fd, fd);
  EXPECT_EQ(mine[0].dev, st.st_dev);
  EXPECT_GT(mine[0].h.ts_ns, t0);
  EXPECT_EQ(mine[1].is_write, 1u);
  EXPECT_EQ(mine[1].syscall_nr, static_cast<uint32_t>(SYS_write));
  EXPECT_EQ(mine[1].file_id, mine[0].file_id);
  EXPECT_EQ(mine[1].generation, mine[0].generation);
  expect_generation(mine[0].generation, fd);
  auto theirs = io_of(child, st.st_ino);
  ASSERT_EQ(theirs.size(), 1u);  // sendfile's input, then copy_file_range's (deduplicated)
  EXPECT_EQ(theirs[0].is_write, 0u);
  EXPECT_EQ(theirs[0].syscall_nr, static_cast<uint32_t>(SYS_sendfile));
  EXPECT_EQ(theirs[0].file_id, mine[0].file_id);  // inherited description
  auto outs = io_of(child, ost.st_ino);
  ASSERT_EQ(outs.size(), 1u);
  EXPECT_EQ(outs[0].is_write, 1u);
  EXPECT_EQ(outs[0].syscall_nr, static_cast<uint32_t>(SYS_sendfile));
  // One call reads and writes: its read is stamped at entry, before the write it feeds
  // (else `cp a b` would seem to write b before reading a).
  EXPECT_LT(theirs[0].h.ts_ns, outs[0].h.ts_ns);
  // copy_file_range alone, in another child: the same order.
  std::string out2 = sized("io-out2", 0);
  struct stat ost2 = {};
  ASSERT_EQ(stat(out2.c_str(), &ost2), 0);
  pid_t copier = run_child([&] {
    int o = ::open(out2.c_str(), O_WRONLY);
    loff_t off = 0;
    return syscall(SYS_copy_file_range, fd, &off, o, nullptr, 10, 0) == 10 ? 0 : 1;
  });
  drain(getpid());
  auto copied = io_of(copier, st.st_ino);
  auto copy_out = io_of(copier, ost2.st_ino);
  ASSERT_EQ(copied.size(), 1u);
  ASSERT_EQ(copy_out.size(), 1u);
  EXPECT_EQ(copied[0].syscall_nr, static_cast<uint32_t>(SYS_copy_file_range));
  EXPECT_EQ(copied[0].is_write, 0u);
  EXPECT_LT(copied[0].h.ts_ns, copy_out[0].h.ts_ns);
  close(fd);
  close(fd2);
}

TEST_F(Files, FileIoCanBeTurnedOff) {
  probes_.reset();
  bento::bpf::ProbeOptions o;
  o.file_io = false;
  std::string err;
  probes_ = bento::bpf::Probes::open(o, &err);
  ASSERT_NE(probes_, nullptr) << err;
  ASSERT_TRUE(probes_->warnings().empty()) << probes_->warnings()[0];
  std::string path = sized("off", 16);
  int fd = ::open(path.c_str(), O_RDWR);
  char buf[4];
  ASSERT_EQ(read(fd, buf, 4), 4);
  ASSERT_EQ(write(fd, "x", 1), 1);
  drain(getpid());
  EXPECT_TRUE(of<bento_file_io_event>(BENTO_EV_FILE_IO, getpid()).empty());
  EXPECT_EQ(of<bento_open_event>(BENTO_EV_OPEN, getpid()).size(), 1u);  // the rest stays on
  close(fd);
}

// Files that get the same inode number one after the other stay apart: OPEN and FILE_IO
// carry the inode generation, and FILE_IO is deduplicated per generation.
TEST_F(Files, InodeGenerationSeparatesReusedInodeNumbers) {
  std::string path = dir_ + "/reused";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT, 0600);
  ASSERT_GE(fd, 0);
  struct stat first = {};
  ASSERT_EQ(fstat(fd, &first), 0);
  uint32_t gen1 = generation(fd);
  ASSERT_EQ(write(fd, "1", 1), 1);
  close(fd);
  ASSERT_EQ(unlink(path.c_str()), 0);
  // Create and delete until the file system hands out the first file's inode number again.
  struct stat again = {};
  int tries = 0;
  for (; tries < 2000; tries++) {
    fd = ::open(path.c_str(), O_RDWR | O_CREAT, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(fstat(fd, &again), 0);
    if (again.st_ino == first.st_ino) break;
    close(fd);
    unlink(path.c_str());
  }
  if (again.st_ino != first.st_ino)
    GTEST_SKIP() << "\n*** SKIPPING: this file system (" << dir_
                 << ") did not reuse an inode number in 2000 files ***";
  uint32_t gen2 = generation(fd);
  ASSERT_EQ(write(fd, "2", 1), 1);
  close(fd);
  drain(getpid());
  std::vector<bento_open_event> opens;
  for (const auto& o : of<bento_open_event>(BENTO_EV_OPEN, getpid()))
    if (o.ino == first.st_ino) opens.push_back(o);
  ASSERT_EQ(opens.size(), 2u) << "tries: " << tries;
  EXPECT_NE(opens[0].generation, opens[1].generation);
  if (gen1 != 0) {  // FS_IOC_GETVERSION (ext4) agrees
    EXPECT_EQ(opens[0].generation, gen1);
    EXPECT_EQ(opens[1].generation, gen2);
  }
  auto io = io_of(getpid(), first.st_ino);
  ASSERT_EQ(io.size(), 2u);  // one first write per file, not per inode number
  EXPECT_EQ(io[0].generation, opens[0].generation);
  EXPECT_EQ(io[1].generation, opens[1].generation);
  unlink(path.c_str());
}

// Birth time where the inode has one: the same as statx's btime.
TEST_F(Files, OpenCarriesTheBirthTime) {
  for (const std::string& d : {dir_, std::string("/dev/shm")}) {
    SCOPED_TRACE(d);
    raw_.clear();
    std::string path = d + "/bento-probes-btime." + std::to_string(getpid());
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
    ASSERT_GE(fd, 0);
    struct statx sx = {};
    ASSERT_EQ(statx(fd, "", AT_EMPTY_PATH, STATX_BTIME, &sx), 0);
    drain(getpid());
    close(fd);
    unlink(path.c_str());
    std::vector<bento_open_event> opens;
    for (const auto& o : of<bento_open_event>(BENTO_EV_OPEN, getpid()))
      if (std::string(o.path, o.path_len) == path) opens.push_back(o);
    ASSERT_EQ(opens.size(), 1u);
    if (!(sx.stx_mask & STATX_BTIME)) {
      EXPECT_EQ(opens[0].btime_ns, 0u);
      continue;
    }
    uint64_t want = sx.stx_btime.tv_sec * 1000000000ULL + sx.stx_btime.tv_nsec;
    EXPECT_EQ(opens[0].btime_ns, want);
  }
}

// The close that drops the last open description a process image wrote a file through
// says so, and the image's next write-open and write of the file are reported again (a
// shell's `echo x >> f`, redirected and restored with dup2); a close that leaves a
// reference (a dup) or ends a read-only open does not say so.
TEST_F(Files, LastCloseOfAWriteIsMarkedAndTheNextWriteReported) {
  ASSERT_TRUE(probes_->fd_events());
  std::string path = sized("log", 0);
  struct stat st = {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  pid_t child = run_child([&] {
    int fd = ::open(path.c_str(), O_WRONLY | O_APPEND);
    int copy = ::dup(fd);
    if (fd < 0 || copy < 0 || write(fd, "a", 1) != 1) return 1;
    close(fd);    // the copy still holds it
    close(copy);  // the last: the write ends here
    int ro = ::open(path.c_str(), O_RDONLY);
    close(ro);  // read-only
    int again = ::open(path.c_str(), O_WRONLY | O_APPEND);
    int saved = ::dup(1);
    if (again < 0 || saved < 0 || dup2(again, 1) < 0) return 2;
    close(again);
    if (write(1, "b", 1) != 1) return 3;
    return dup2(saved, 1) < 0 ? 4 : 0;  // replaces the file's last reference
  });
  drain(getpid());
  std::set<uint64_t> ids;  // the file's open descriptions
  std::vector<uint32_t> open_flags;
  for (const auto& o : of<bento_open_event>(BENTO_EV_OPEN, child))
    if (o.ino == st.st_ino) {
      ids.insert(o.file_id);
      open_flags.push_back(o.flags & O_ACCMODE);
    }
  EXPECT_EQ(open_flags, (std::vector<uint32_t>{O_WRONLY, O_RDONLY, O_WRONLY}));
  EXPECT_EQ(io_of(child, st.st_ino).size(), 2u);  // each write after an end: reported
  std::vector<uint32_t> last;
  for (const auto& c : of<bento_close_event>(BENTO_EV_CLOSE, child))
    if (ids.count(c.file_id) != 0) last.push_back(c.how & BENTO_CLOSE_LAST_WRITE);
  EXPECT_EQ(last, (std::vector<uint32_t>{0, BENTO_CLOSE_LAST_WRITE, 0, 0}));
  int ended_by_dup2 = 0;
  for (const auto& d : of<bento_dup_event>(BENTO_EV_DUP, child))
    if (d.replaced != 0 && ids.count(d.replaced_file_id) != 0)
      ended_by_dup2 += (d.replaced & BENTO_DUP_REPLACED_LAST_WRITE) != 0;
  EXPECT_EQ(ended_by_dup2, 1);
}

// A relative open is reported with the opened file's absolute path: the collector cannot
// resolve it against a cwd once the process has moved on or exited.
TEST_F(Files, RelativeOpenCarriesTheAbsolutePath) {
  ASSERT_EQ(mkdir((dir_ + "/sub").c_str(), 0700), 0);
  std::string f = sized("sub/rel", 10);
  pid_t child = run_child([&] {
    if (chdir((dir_ + "/sub").c_str()) != 0) return 1;
    int fd = ::open("rel", O_RDONLY);  // from the cwd
    int dfd = ::open("..", O_RDONLY | O_DIRECTORY);
    int fd2 = ::openat(dfd, "sub/../sub/rel", O_RDWR);  // from a dirfd, through ".."
    return fd >= 0 && dfd >= 0 && fd2 >= 0 ? 0 : 2;
  });
  drain(getpid());
  struct stat st = {};
  ASSERT_EQ(stat(f.c_str(), &st), 0);
  std::vector<std::string> paths;
  for (const auto& o : of<bento_open_event>(BENTO_EV_OPEN, child))
    if (o.ino == st.st_ino) paths.push_back(std::string(o.path, o.path_len));
  // Once per process image, file and access (a read, then a write), with the file's path.
  EXPECT_EQ(paths, (std::vector<std::string>{f, f}));
  unlink(f.c_str());
  rmdir((dir_ + "/sub").c_str());
}

// A directory's listing is data its lister takes in (events.h LISTING, v15): the first
// getdents64 that returned entries of each directory, once per process image, with the
// directory's path from its dentry walk (a relative open of it included). Not an open of a
// directory that is never listed (git and sqlite open directories only to fsync them), not
// /proc. A shell's glob, in a new image, lists again.
TEST_F(Files, ADirectoryListingIsReportedOncePerImageWithItsPath) {
  ASSERT_TRUE(probes_->fd_events());
  ASSERT_EQ(mkdir((dir_ + "/listed").c_str(), 0700), 0);
  ASSERT_EQ(mkdir((dir_ + "/synced").c_str(), 0700), 0);
  std::string f = sized("listed/a", 10);
  pid_t child = run_child([&] {
    if (chdir(dir_.c_str()) != 0) return 1;
    for (int pass = 0; pass < 2; pass++) {  // the second pass is no news
      DIR* d = opendir("listed");
      if (d == nullptr) return 2;
      int n = 0;
      while (readdir(d) != nullptr) n++;
      closedir(d);
      if (n != 3) return 3;
    }
    int s = ::open("synced", O_RDONLY | O_DIRECTORY);  // opened and fsynced, never listed
    if (s < 0 || fsync(s) != 0) return 4;
    ::close(s);
    DIR* p = opendir("/proc/self/fd");
    if (p == nullptr) return 5;
    while (readdir(p) != nullptr) {
    }
    closedir(p);
    return 0;
  });
  pid_t ls = spawn_exec("/bin/sh", {"sh", "-c", "echo " + dir_ + "/listed/* > /dev/null"});
  wait_for(ls);
  drain(getpid());
  struct stat listed = {}, synced = {};
  ASSERT_EQ(stat((dir_ + "/listed").c_str(), &listed), 0);
  ASSERT_EQ(stat((dir_ + "/synced").c_str(), &synced), 0);
  auto listings = [&](pid_t pid) {
    std::vector<std::string> v;
    for (const auto& o : of<bento_open_event>(BENTO_EV_LISTING, pid)) {
      EXPECT_NE(o.ino, synced.st_ino);
      if (o.ino != listed.st_ino) {
        EXPECT_EQ(std::string(o.path, o.path_len).rfind("/proc", 0), std::string::npos);
        continue;
      }
      EXPECT_EQ(o.dev, listed.st_dev);
      EXPECT_EQ(o.mode & S_IFMT, static_cast<uint32_t>(S_IFDIR));
      v.push_back(std::string(o.path, o.path_len));
    }
    return v;
  };
  EXPECT_EQ(listings(child), (std::vector<std::string>{dir_ + "/listed"}));
  EXPECT_EQ(listings(ls), (std::vector<std::string>{dir_ + "/listed"}));
  unlink(f.c_str());
  rmdir((dir_ + "/listed").c_str());
  rmdir((dir_ + "/synced").c_str());
}

// procfs is left out but for a process's environ and mem (events.h OPEN): the opens of
// another process's are reported with their paths (a reader of them takes in what that
// process had), its status and its cmdline are not.
TEST_F(Files, AnOpenOfAnotherProcesssEnvironOrMemIsReported) {
  pid_t sleeper = fork();
  ASSERT_GE(sleeper, 0);
  if (sleeper == 0) {
    pause();
    _exit(0);
  }
  const std::string proc = "/proc/" + std::to_string(sleeper);
  pid_t child = run_child([&] {
    int ok = 0;
    for (const char* name : {"environ", "mem", "status", "cmdline"}) {
      int fd = ::open((proc + "/" + name).c_str(), O_RDONLY);
      if (fd < 0) return 2;
      char buf[16];
      ok |= ::read(fd, buf, sizeof buf) < 0 && std::string(name) != "mem" ? 4 : 0;
      ::close(fd);
    }
    return ok;
  });
  kill(sleeper, SIGKILL);
  waitpid(sleeper, nullptr, 0);
  drain(getpid());
  std::set<std::string> paths;
  for (const auto& o : of<bento_open_event>(BENTO_EV_OPEN, child))
    if (std::string(o.path, o.path_len).rfind("/proc/", 0) == 0)
      paths.insert(std::string(o.path, o.path_len));
  EXPECT_EQ(paths, (std::set<std::string>{proc + "/environ", proc + "/mem"}));
}

// A character device's read that returned data (events.h FILE_IO DEVICE_READ), with the
// device's number: a terminal's (what was typed), again after the reader started a process
// (a shell reads the next command line), and /dev/zero's. Not a read of /dev/null (no data),
// of the pty master (what was written to the terminal), nor a write of the terminal. The
// master's writes (what sshd or script types) are its terminal's (DEVICE_WRITE), once.
TEST_F(Files, AReadOfATerminalIsReportedWithItsDeviceNumberAndAgainAfterAFork) {
  ASSERT_TRUE(probes_->fd_events());
  int master = -1;
  std::string slave_path;
  ASSERT_NO_FATAL_FAILURE(open_pty(&master, &slave_path));
  struct stat slave = {}, ptmx = {}, zero = {};
  ASSERT_EQ(stat(slave_path.c_str(), &slave), 0);
  ASSERT_EQ(fstat(master, &ptmx), 0);
  ASSERT_EQ(stat("/dev/zero", &zero), 0);
  pid_t typist = run_child([&] {  // types into the terminal: what its readers read
    return ::write(master, "one\n", 4) == 4 && ::write(master, "two\n", 4) == 4 ? 0 : 1;
  });
  pid_t child = run_child([&] {
    int tty = ::open(slave_path.c_str(), O_RDWR | O_NOCTTY);
    int null = ::open("/dev/null", O_RDONLY), z = ::open("/dev/zero", O_RDONLY);
    if (tty < 0 || null < 0 || z < 0) return 1;
    char buf[64];
    for (const char* line : {"one\n", "two\n", "three\n"}) {
      if (std::strcmp(line, "three\n") == 0 && ::write(master, line, 6) != 6) return 2;
      if (::read(tty, buf, sizeof buf) <= 0) return 2;
      if (std::strcmp(line, "two\n") == 0) {  // started a process since: reported again
        pid_t p = fork();
        if (p == 0) _exit(0);
        waitpid(p, nullptr, 0);
      }
    }
    if (::write(tty, "out\n", 4) != 4 || ::read(master, buf, sizeof buf) <= 0) return 3;
    if (::read(null, buf, sizeof buf) != 0 || ::read(z, buf, sizeof buf) <= 0) return 4;
    return 0;
  });
  drain(getpid());
  std::vector<bento_file_io_event> reads;
  for (const auto& e : io_of(child, slave.st_ino))
    if (e.is_write != BENTO_FILE_IO_DEVICE_WRITE) reads.push_back(e);
  ASSERT_EQ(reads.size(), 2u) << "the first read, and the first after the fork";
  for (const auto& r : reads) {
    EXPECT_EQ(r.is_write, static_cast<uint32_t>(BENTO_FILE_IO_DEVICE_READ));
    EXPECT_EQ(r.generation, slave.st_rdev);
    EXPECT_EQ(r.dev, slave.st_dev);
  }
  for (const auto& e : of<bento_file_io_event>(BENTO_EV_FILE_IO, child))
    EXPECT_NE(e.generation, ptmx.st_rdev) << "the pty master is not an input";
  auto zeros = io_of(child, zero.st_ino);
  ASSERT_EQ(zeros.size(), 1u);
  EXPECT_EQ(zeros[0].generation, zero.st_rdev);
  bento::collector::ProcHostFacts host;
  EXPECT_EQ(host.device_path(slave.st_rdev), slave_path);
  EXPECT_EQ(host.device_path(zero.st_rdev), "/dev/zero");
  size_t devices = 0;
  for (const auto& e : of<bento_file_io_event>(BENTO_EV_FILE_IO, child))
    devices += e.is_write == BENTO_FILE_IO_DEVICE_READ;
  EXPECT_EQ(devices, 3u) << "no event for /dev/null's empty read nor the terminal's write";
  // The typist's two writes and the reader's: each image's first, as the terminal's.
  for (pid_t writer : {typist, child}) {
    auto typed = io_of(writer, slave.st_ino);
    size_t writes = 0;
    for (const auto& w : typed)
      if (w.is_write == BENTO_FILE_IO_DEVICE_WRITE) {
        writes++;
        EXPECT_EQ(w.generation, slave.st_rdev);
        EXPECT_EQ(w.dev, slave.st_dev);
      }
    EXPECT_EQ(writes, 1u) << "pid " << writer;
  }
  close(master);
}

// /dev/tty is the reader's controlling terminal (getpass, ssh's and sudo's prompts): its
// read is reported as a read of that terminal, /dev/pts/N, so a password typed there has
// the session's writer too.
TEST_F(Files, AReadOfDevTtyIsAReadOfTheTerminalItStandsFor) {
  ASSERT_TRUE(probes_->fd_events());
  int master = -1;
  std::string slave_path;
  ASSERT_NO_FATAL_FAILURE(open_pty(&master, &slave_path));
  struct stat slave = {}, tty = {};
  ASSERT_EQ(stat(slave_path.c_str(), &slave), 0);
  ASSERT_EQ(stat("/dev/tty", &tty), 0);
  ASSERT_EQ(::write(master, "pw\n", 3), 3);
  pid_t child = run_child([&] {
    if (setsid() < 0) return 1;
    int s = ::open(slave_path.c_str(), O_RDWR);  // its controlling terminal now
    if (s < 0 || ioctl(s, TIOCSCTTY, 0) != 0) return 2;
    int t = ::open("/dev/tty", O_RDONLY);
    char buf[16];
    return t >= 0 && ::read(t, buf, sizeof buf) > 0 ? 0 : 3;
  });
  drain(getpid());
  auto reads = io_of(child, slave.st_ino);
  ASSERT_EQ(reads.size(), 1u);
  EXPECT_EQ(reads[0].is_write, static_cast<uint32_t>(BENTO_FILE_IO_DEVICE_READ));
  EXPECT_EQ(reads[0].generation, slave.st_rdev);
  EXPECT_EQ(reads[0].dev, slave.st_dev);
  for (const auto& e : of<bento_file_io_event>(BENTO_EV_FILE_IO, child))
    EXPECT_NE(e.generation, tty.st_rdev) << "reported as /dev/tty itself";
  close(master);
}

// What programs show on a pseudo-terminal is a pipe to its master's holder (events.h v13,
// PIPE_IO `terminal`): a write of /dev/pts/N, or of /dev/tty standing for it, by each image
// once; the master's read that returned data, again after another reported write. Both
// name /dev/pts/N (its dev, ino and device number). Not a write of /dev/null.
TEST_F(Files, ATerminalsOutputIsAPipeFromItsWritersToItsMastersReader) {
  ASSERT_TRUE(probes_->fd_events());
  int master = -1;
  std::string slave_path;
  ASSERT_NO_FATAL_FAILURE(open_pty(&master, &slave_path));
  struct stat slave = {};
  ASSERT_EQ(stat(slave_path.c_str(), &slave), 0);
  auto shown = [&](const char* what) {  // the master's read of it
    char buf[64];
    return ::read(master, buf, sizeof buf) >= static_cast<ssize_t>(std::strlen(what));
  };
  pid_t writer = run_child([&] {
    int tty = ::open(slave_path.c_str(), O_WRONLY | O_NOCTTY);
    int null = ::open("/dev/null", O_WRONLY);
    if (tty < 0 || null < 0 || ::write(null, "x", 1) != 1) return 1;
    return ::write(tty, "one\n", 4) == 4 && ::write(tty, "two\n", 4) == 4 ? 0 : 2;
  });
  pid_t reader = run_child([&] {
    if (!shown("one\ntwo\n")) return 1;
    pid_t second = fork();  // another image shows more, through /dev/tty
    if (second == 0) {
      if (setsid() < 0) _exit(2);
      int s = ::open(slave_path.c_str(), O_RDWR);
      int t = s >= 0 && ioctl(s, TIOCSCTTY, 0) == 0 ? ::open("/dev/tty", O_WRONLY) : -1;
      _exit(t >= 0 && ::write(t, "three\n", 6) == 6 ? 0 : 3);
    }
    int status = 0;
    waitpid(second, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return 4;
    return shown("three\n") ? 0 : 5;
  });
  drain(getpid());
  auto terminal_io = [&](pid_t pid) {
    std::vector<bento_pipe_io_event> out;
    for (const auto& e : of<bento_pipe_io_event>(BENTO_EV_PIPE_IO, pid))
      if (e.channel == BENTO_CHANNEL_TERMINAL) out.push_back(e);
    return out;
  };
  auto w = terminal_io(writer);
  ASSERT_EQ(w.size(), 1u) << "the image's first write, once";
  EXPECT_EQ(w[0].is_write, 1);
  auto reads = terminal_io(reader);
  ASSERT_EQ(reads.size(), 2u) << "the first read, and the one after the other's write";
  EXPECT_EQ(reads[0].is_write, 0);
  EXPECT_EQ(reads[0].again, 0);
  EXPECT_EQ(reads[1].is_write, 0);
  EXPECT_EQ(reads[1].again, 1);
  std::vector<bento_pipe_io_event> through_tty;  // the reader's child's, by its own pid
  for (const auto& e : all_events<bento_pipe_io_event>(BENTO_EV_PIPE_IO))
    if (e.channel == BENTO_CHANNEL_TERMINAL && e.ino == slave.st_ino &&
        e.h.pid != static_cast<uint32_t>(writer) && e.h.pid != static_cast<uint32_t>(reader))
      through_tty.push_back(e);
  ASSERT_EQ(through_tty.size(), 1u) << "the write through /dev/tty, as /dev/pts/N's";
  EXPECT_EQ(through_tty[0].is_write, 1);
  for (const auto& e : {w[0], reads[0], reads[1], through_tty[0]}) {
    EXPECT_EQ(e.dev, slave.st_dev);
    EXPECT_EQ(e.ino, slave.st_ino);
    EXPECT_EQ(e.generation, slave.st_rdev);
  }
  close(master);
}

// An absolute path through a symlink names the link, which may point elsewhere later (a
// `current -> releases/v1` swapped to v2): OPEN sends the opened file's own path.
TEST_F(Files, AnOpenThroughASymlinkNamesTheFileOpened) {
  ASSERT_EQ(mkdir((dir_ + "/v1").c_str(), 0700), 0);
  std::string f = sized("v1/conf", 10);
  std::string cur = dir_ + "/current", file_link = dir_ + "/conf-link";
  ASSERT_EQ(symlink("v1", cur.c_str()), 0);             // a directory link
  ASSERT_EQ(symlink(f.c_str(), file_link.c_str()), 0);  // a link to the file itself
  pid_t child = run_child([&] {
    int a = ::open((cur + "/conf").c_str(), O_RDONLY);
    int b = ::open(file_link.c_str(), O_RDWR);
    return a >= 0 && b >= 0 ? 0 : 2;
  });
  drain(getpid());
  struct stat st = {};
  ASSERT_EQ(stat(f.c_str(), &st), 0);
  std::vector<std::string> paths;
  for (const auto& o : of<bento_open_event>(BENTO_EV_OPEN, child))
    if (o.ino == st.st_ino) paths.push_back(std::string(o.path, o.path_len));
  EXPECT_EQ(paths, (std::vector<std::string>{f, f})) << "the file's path, not the links'";
  unlink(file_link.c_str());
  unlink(cur.c_str());
  unlink(f.c_str());
  rmdir((dir_ + "/v1").c_str());
}

// Under chroot an absolute path names a file under the new root, not the host's file of
// that name: OPEN sends the host path, and the path events and EXEC send the root to put in
// front (the collector cannot: the process may be gone, and the host has its own /bin/sh).
TEST_F(Files, AChrootedProcessNamesHostFiles) {
  ASSERT_EQ(mkdir((dir_ + "/bin").c_str(), 0755), 0);
  ASSERT_EQ(std::system(("cp /bin/busybox " + dir_ + "/bin/busybox").c_str()), 0)
      << "busybox-static is one of scripts/install-deps.sh's packages";
  std::string in = sized("in", 10);
  sized("gone", 1);
  pid_t child = run_child([&] {
    if (chroot(dir_.c_str()) != 0 || chdir("/") != 0) return 1;
    int fd = ::open("/in", O_RDONLY);
    if (fd < 0 || unlink("/gone") != 0 || truncate("/in", 5) != 0) return 2;
    execl("/bin/busybox", "busybox", "true", nullptr);
    return 3;
  });
  drain(getpid());
  struct stat st = {}, root = {};
  ASSERT_EQ(stat(in.c_str(), &st), 0);
  ASSERT_EQ(stat(dir_.c_str(), &root), 0);
  std::vector<std::string> opened;
  for (const auto& o : of<bento_open_event>(BENTO_EV_OPEN, child))
    if (o.ino == st.st_ino) opened.push_back(std::string(o.path, o.path_len));
  EXPECT_EQ(opened, std::vector<std::string>{in}) << "the host's path, not /in";
  auto unlinks = of<bento_path_event>(BENTO_EV_UNLINK, child);
  ASSERT_EQ(unlinks.size(), 1u);
  EXPECT_EQ(std::string(unlinks[0].oldpath, unlinks[0].oldpath_len), "/gone");
  EXPECT_EQ(std::string(unlinks[0].olddir.path, unlinks[0].olddir.path_len), dir_);
  EXPECT_EQ(unlinks[0].olddir.ino, root.st_ino);
  auto truncs = of<bento_truncate_event>(BENTO_EV_TRUNCATE, child);
  ASSERT_EQ(truncs.size(), 1u);
  EXPECT_EQ(std::string(truncs[0].dir.path, truncs[0].dir.path_len), dir_);
  const Exec* x = exec_of("busybox");
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->filename, "/bin/busybox");
  EXPECT_EQ(x->cwd, dir_) << "the root the program path is under";
  // Outside the chroot, absolute paths still come alone.
  pid_t host = run_child([&] { return unlink((dir_ + "/in").c_str()) == 0 ? 0 : 1; });
  drain(getpid());
  auto host_unlinks = of<bento_path_event>(BENTO_EV_UNLINK, host);
  ASSERT_EQ(host_unlinks.size(), 1u);
  EXPECT_EQ(host_unlinks[0].olddir.path_len, 0u);
}

// A process in its own mount namespace (a container, a service with PrivateTmp=) sees
// paths the host does not: here `view` shows `real`'s files. Its events carry the file
// system's own paths (fs form), which the host's mount table places; a passed absolute
// path, which may cross the namespace's mounts, comes without a directory to place it.
TEST_F(Files, AProcessInAnotherMountNamespaceSendsPathsTheHostCanPlace) {
  const std::string real = dir_ + "/real", view = dir_ + "/view";
  ASSERT_EQ(mkdir(real.c_str(), 0755), 0);
  ASSERT_EQ(mkdir(view.c_str(), 0755), 0);
  std::string in = sized("real/in", 10);
  sized("real/gone", 1);
  sized("real/gone-too", 1);
  pid_t child = run_child([&] {
    if (unshare(CLONE_NEWNS) != 0 ||
        mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        mount(real.c_str(), view.c_str(), nullptr, MS_BIND, nullptr) != 0)
      return 1;
    int fd = ::open((view + "/in").c_str(), O_RDONLY);
    if (fd < 0 || chdir(view.c_str()) != 0 || unlink("gone") != 0 ||
        unlink((view + "/gone-too").c_str()) != 0)
      return 2;
    execl("/bin/true", "true", nullptr);
    return 3;
  });
  drain(getpid());
  struct stat st = {};
  ASSERT_EQ(stat(in.c_str(), &st), 0);
  bento::collector::ProcHostFacts host;
  std::vector<std::string> opened;
  for (const auto& o : of<bento_open_event>(BENTO_EV_OPEN, child)) {
    if (o.ino != st.st_ino) continue;
    EXPECT_NE(o.h.mnt_ns, 0u);
    opened.push_back(host.host_path(o.dev, std::string(o.path, o.path_len)));
  }
  EXPECT_EQ(opened, std::vector<std::string>{in}) << "placed in real/, not in view/";
  auto unlinks = of<bento_path_event>(BENTO_EV_UNLINK, child);
  ASSERT_EQ(unlinks.size(), 2u);
  EXPECT_EQ(std::string(unlinks[0].oldpath, unlinks[0].oldpath_len), "gone");
  EXPECT_EQ(host.host_path(unlinks[0].olddir.dev,
                           std::string(unlinks[0].olddir.path, unlinks[0].olddir.path_len)),
            real)
      << "its cwd, placed";
  EXPECT_EQ(unlinks[1].olddir.path_len, 0u) << "an absolute path cannot be placed";
  const Exec* x = exec_of("true");
  ASSERT_NE(x, nullptr);
  EXPECT_NE(x->mnt_ns, 0u);
  char* program = realpath("/bin/true", nullptr);
  ASSERT_NE(program, nullptr);
  EXPECT_EQ(host.host_path(x->exe_dev, x->exe_path), program);
  std::free(program);
  EXPECT_EQ(host.host_path(x->root_dev, x->root_path), "/");
  // In the host's namespace, nothing changes.
  pid_t same = run_child([&] { return ::open(in.c_str(), O_RDONLY) >= 0 ? 0 : 1; });
  drain(getpid());
  auto host_opens = of<bento_open_event>(BENTO_EV_OPEN, same);
  ASSERT_FALSE(host_opens.empty());
  EXPECT_EQ(host_opens[0].h.mnt_ns, 0u);
  EXPECT_EQ(std::string(host_opens[0].path, host_opens[0].path_len), in);
}

// io_uring opens, reads and writes files without the syscalls the probes decode: a program
// that copies secret to out through a ring must show the same OPEN and FILE_IO events, from
// the process itself even where an io-wq worker thread did the read (IOSQE_ASYNC).
TEST_F(Files, IoUringOpenReadAndWriteAreSeen) {
  std::string src = sized("uring-src", 4096);
  std::string dst = dir_ + "/uring-dst";
  pid_t child = run_child([&] {
    io_uring ring;
    if (io_uring_queue_init(8, &ring, 0) != 0) return 10;
    // One request at a time: submit it, wait for its completion, return its result.
    auto run = [&](auto prep) {
      io_uring_sqe* sqe = io_uring_get_sqe(&ring);
      prep(sqe);
      io_uring_cqe* cqe = nullptr;
      if (io_uring_submit(&ring) != 1 || io_uring_wait_cqe(&ring, &cqe) != 0) return -1;
      int res = cqe->res;
      io_uring_cqe_seen(&ring, cqe);
      return res;
    };
    static char buf[4096];
    int in =
        run([&](io_uring_sqe* s) { io_uring_prep_openat(s, AT_FDCWD, src.c_str(), O_RDONLY, 0); });
    if (in < 0) return 11;
    int n = run([&](io_uring_sqe* s) {
      io_uring_prep_read(s, in, buf, sizeof buf, 0);
      s->flags |= IOSQE_ASYNC;  // done by an io-wq worker thread
    });
    if (n != 4096) return 12;
    int out = run([&](io_uring_sqe* s) {
      io_uring_prep_openat(s, AT_FDCWD, dst.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    });
    if (out < 0) return 13;
    if (run([&](io_uring_sqe* s) { io_uring_prep_write(s, out, buf, n, 0); }) != n) return 14;
    io_uring_queue_exit(&ring);
    return 0;
  });
  drain(getpid());
  struct stat s_st = {}, d_st = {};
  ASSERT_EQ(stat(src.c_str(), &s_st), 0);
  ASSERT_EQ(stat(dst.c_str(), &d_st), 0);
  std::vector<bento_open_event> src_opens, dst_opens;
  for (const auto& o : of<bento_open_event>(BENTO_EV_OPEN, child)) {
    if (o.ino == s_st.st_ino) src_opens.push_back(o);
    if (o.ino == d_st.st_ino) dst_opens.push_back(o);
  }
  ASSERT_EQ(src_opens.size(), 1u) << "the ring's open of the input";
  EXPECT_EQ(std::string(src_opens[0].path, src_opens[0].path_len), src);
  EXPECT_EQ(src_opens[0].flags & O_ACCMODE, unsigned{O_RDONLY});
  ASSERT_EQ(dst_opens.size(), 1u) << "the ring's open of the output";
  EXPECT_EQ(std::string(dst_opens[0].path, dst_opens[0].path_len), dst);
  EXPECT_EQ(dst_opens[0].flags & (O_ACCMODE | O_TRUNC), unsigned{O_WRONLY | O_TRUNC});
  auto reads = io_of(child, s_st.st_ino);
  ASSERT_EQ(reads.size(), 1u) << "the ring's read of the input";
  EXPECT_FALSE(reads[0].is_write);
  EXPECT_EQ(reads[0].syscall_nr, BENTO_NR_IO_URING | IORING_OP_READ);
  // The io-wq worker that read is announced as a thread of the process (no fork event
  // makes it), so the fs log's and the probes' requests under its tid find the process.
  bool worker_announced = false;
  for (const auto& f : of<bento_fork_event>(BENTO_EV_FORK, child))
    worker_announced = worker_announced || (f.is_thread && f.child_tid == reads[0].h.tid);
  EXPECT_NE(reads[0].h.tid, static_cast<uint32_t>(child)) << "IOSQE_ASYNC: a worker read it";
  EXPECT_TRUE(worker_announced) << "tid " << reads[0].h.tid;
  auto writes = io_of(child, d_st.st_ino);
  ASSERT_EQ(writes.size(), 1u) << "the ring's write of the output";
  EXPECT_TRUE(writes[0].is_write);
  EXPECT_EQ(writes[0].syscall_nr, BENTO_NR_IO_URING | IORING_OP_WRITE);
  EXPECT_LT(reads[0].h.ts_ns, writes[0].h.ts_ns);
  unlink(src.c_str());
  unlink(dst.c_str());
}

TEST_F(Files, RenameLinkUnlinkAndTruncateWithTheirPaths) {
  std::string a = sized("a", 100);
  int dirfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(dirfd, 0);
  struct stat dst = {};
  ASSERT_EQ(fstat(dirfd, &dst), 0);
  ASSERT_EQ(rename(a.c_str(), (dir_ + "/b").c_str()), 0);
  ASSERT_EQ(renameat(dirfd, "b", dirfd, "c"), 0);
  ASSERT_EQ(syscall(SYS_renameat2, dirfd, "c", AT_FDCWD, (dir_ + "/d").c_str(), RENAME_NOREPLACE),
            0);
  ASSERT_EQ(link((dir_ + "/d").c_str(), (dir_ + "/e").c_str()), 0);
  ASSERT_EQ(linkat(dirfd, "e", dirfd, "f", 0), 0);
  ASSERT_EQ(truncate((dir_ + "/f").c_str(), 10), 0);
  int fd = ::open((dir_ + "/f").c_str(), O_RDWR);
  ASSERT_EQ(ftruncate(fd, 5), 0);
  struct stat fst = {};
  ASSERT_EQ(fstat(fd, &fst), 0);
  ASSERT_EQ(unlink((dir_ + "/d").c_str()), 0);
  ASSERT_EQ(unlinkat(dirfd, "e", 0), 0);
  ASSERT_EQ(mkdir((dir_ + "/sub").c_str(), 0700), 0);
  ASSERT_EQ(unlinkat(dirfd, "sub", AT_REMOVEDIR), 0);
  ASSERT_EQ(mkdir((dir_ + "/sub2").c_str(), 0700), 0);
  ASSERT_EQ(rmdir((dir_ + "/sub2").c_str()), 0);
  ASSERT_LT(unlink((dir_ + "/missing").c_str()), 0);  // failures: no event
  // O_TMPFILE + linkat(AT_EMPTY_PATH): the file that got the name is known.
  int tmp = ::open(dir_.c_str(), O_TMPFILE | O_RDWR, 0600);
  ASSERT_GE(tmp, 0) << std::strerror(errno);
  struct stat tst = {};
  ASSERT_EQ(fstat(tmp, &tst), 0);
  ASSERT_EQ(linkat(tmp, "", dirfd, "g", AT_EMPTY_PATH), 0);
  // Relative to the cwd, from a child that chdir'ed into the directory.
  pid_t child = run_child([&] {
    if (chdir(dir_.c_str()) != 0) return 1;
    if (rename("g", "h") != 0 || truncate("h", 1) != 0 || unlink("h") != 0) return 2;
    return 0;
  });
  drain(getpid());

  auto renames = of<bento_path_event>(BENTO_EV_RENAME, getpid());
  ASSERT_EQ(renames.size(), 3u);
  auto path = [](const char* p, uint32_t n) { return std::string(p, n); };
  EXPECT_EQ(renames[0].syscall_nr, static_cast<uint32_t>(SYS_rename));
  EXPECT_EQ(path(renames[0].oldpath, renames[0].oldpath_len), a);
  EXPECT_EQ(path(renames[0].newpath, renames[0].newpath_len), dir_ + "/b");
  EXPECT_EQ(renames[0].olddir.dev, 0u);  // absolute paths: no directory
  EXPECT_EQ(renames[0].olddir.path_len, 0u);
  EXPECT_EQ(renames[1].syscall_nr, static_cast<uint32_t>(SYS_renameat));
  EXPECT_EQ(path(renames[1].oldpath, renames[1].oldpath_len), "b");
  EXPECT_EQ(path(renames[1].newpath, renames[1].newpath_len), "c");
  for (const auto* d : {&renames[1].olddir, &renames[1].newdir}) {
    EXPECT_EQ(d->dirfd, dirfd);
    EXPECT_EQ(d->dev, dst.st_dev);
    EXPECT_EQ(d->ino, dst.st_ino);
    EXPECT_EQ(path(d->path, d->path_len), dir_);
  }
  EXPECT_EQ(renames[2].syscall_nr, static_cast<uint32_t>(SYS_renameat2));
  EXPECT_EQ(renames[2].flags, static_cast<uint32_t>(RENAME_NOREPLACE));
  EXPECT_EQ(renames[2].olddir.ino, dst.st_ino);
  EXPECT_EQ(renames[2].newdir.ino, 0u);  // absolute newpath
  EXPECT_EQ(renames[2].ino_known, 0u);   // the collector lstat()s newpath

  auto links = of<bento_path_event>(BENTO_EV_LINK, getpid());
  ASSERT_EQ(links.size(), 3u);
  EXPECT_EQ(links[0].syscall_nr, static_cast<uint32_t>(SYS_link));
  EXPECT_EQ(path(links[0].newpath, links[0].newpath_len), dir_ + "/e");
  EXPECT_EQ(links[1].syscall_nr, static_cast<uint32_t>(SYS_linkat));
  EXPECT_EQ(path(links[1].oldpath, links[1].oldpath_len), "e");
  EXPECT_EQ(links[1].newdir.ino, dst.st_ino);
  EXPECT_EQ(links[1].ino_known, 0u);
  EXPECT_EQ(links[2].flags, static_cast<uint32_t>(AT_EMPTY_PATH));
  EXPECT_EQ(links[2].ino_known, 1u);
  EXPECT_EQ(links[2].ino, tst.st_ino);
  EXPECT_EQ(links[2].dev, tst.st_dev);
  expect_generation(links[2].generation, tmp);
  EXPECT_EQ(path(links[2].newpath, links[2].newpath_len), "g");

  auto unlinks = of<bento_path_event>(BENTO_EV_UNLINK, getpid());
  ASSERT_EQ(unlinks.size(), 4u);
  EXPECT_EQ(unlinks[0].syscall_nr, static_cast<uint32_t>(SYS_unlink));
  EXPECT_EQ(path(unlinks[0].oldpath, unlinks[0].oldpath_len), dir_ + "/d");
  EXPECT_EQ(unlinks[0].newpath_len, 0u);
  EXPECT_EQ(unlinks[1].syscall_nr, static_cast<uint32_t>(SYS_unlinkat));
  EXPECT_EQ(unlinks[1].olddir.ino, dst.st_ino);
  EXPECT_EQ(unlinks[1].flags, 0u);
  EXPECT_EQ(unlinks[2].flags, static_cast<uint32_t>(AT_REMOVEDIR));
  EXPECT_EQ(unlinks[3].syscall_nr, static_cast<uint32_t>(SYS_rmdir));
  EXPECT_EQ(unlinks[3].flags, static_cast<uint32_t>(AT_REMOVEDIR));

  auto truncs = of<bento_truncate_event>(BENTO_EV_TRUNCATE, getpid());
  ASSERT_EQ(truncs.size(), 2u);
  EXPECT_EQ(truncs[0].syscall_nr, static_cast<uint32_t>(SYS_truncate));
  EXPECT_EQ(truncs[0].length, 10);
  EXPECT_EQ(truncs[0].fd, -1);
  EXPECT_EQ(path(truncs[0].path, truncs[0].path_len), dir_ + "/f");
  EXPECT_EQ(truncs[0].ino, 0u);
  EXPECT_EQ(truncs[1].syscall_nr, static_cast<uint32_t>(SYS_ftruncate));
  EXPECT_EQ(truncs[1].length, 5);
  EXPECT_EQ(truncs[1].fd, fd);
  EXPECT_EQ(truncs[1].ino, fst.st_ino);
  EXPECT_EQ(truncs[1].dev, fst.st_dev);
  expect_generation(truncs[1].generation, fd);
  EXPECT_NE(truncs[1].file_id, 0u);

  // The child's relative paths name the cwd.
  auto crename = of<bento_path_event>(BENTO_EV_RENAME, child);
  ASSERT_EQ(crename.size(), 1u);
  EXPECT_EQ(crename[0].olddir.dirfd, AT_FDCWD);
  EXPECT_EQ(crename[0].olddir.ino, dst.st_ino);
  EXPECT_EQ(path(crename[0].olddir.path, crename[0].olddir.path_len), dir_);
  auto ctrunc = of<bento_truncate_event>(BENTO_EV_TRUNCATE, child);
  ASSERT_EQ(ctrunc.size(), 1u);
  EXPECT_EQ(path(ctrunc[0].path, ctrunc[0].path_len), "h");
  EXPECT_EQ(path(ctrunc[0].dir.path, ctrunc[0].dir.path_len), dir_);
  auto cunlink = of<bento_path_event>(BENTO_EV_UNLINK, child);
  ASSERT_EQ(cunlink.size(), 1u);
  EXPECT_EQ(cunlink[0].olddir.ino, dst.st_ino);
  for (int x : {dirfd, fd, tmp}) close(x);
}

}  // namespace
