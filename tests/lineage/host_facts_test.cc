// The host facts the collector reads from /proc for processes the probes never saw
// (collector/host_facts.h): a process's identity (pid, start time) must be the kernel's
// and must not change while it runs, or one process becomes many.
#include "host_facts.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

uint64_t boottime_ns() {
  timespec ts{};
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

TEST(HostFacts, AProcessStartTimeIsTheKernelsAndStaysTheSame) {
  bento::collector::ProcHostFacts host;
  const bento::collector::ProcessFacts first = host.process_of_thread(getpid());
  ASSERT_TRUE(first.found);
  EXPECT_EQ(first.pid, static_cast<uint32_t>(getpid()));
  // Started since boot, and not long ago (this test binary is young).
  EXPECT_LE(first.start_ns, boottime_ns());
  EXPECT_GT(first.start_ns + 3'600'000'000'000ULL, boottime_ns());
  // Growing the process (its memory size is the next field of /proc/PID/stat) changes nothing.
  std::vector<char> grow(64 << 20, 1);
  EXPECT_EQ(host.process_of_thread(getpid()).start_ns, first.start_ns);
  EXPECT_EQ(grow[grow.size() - 1], 1);
}

// A process running when provd started that exits before the collector reads its first
// event (a shell that forks a pipeline and exits) is still named: by what /proc said of it
// at start. One that had exited before then stays unknown.
TEST(HostFacts, AProcessRunningAtStartIsNamedAfterItExits) {
  bento::collector::ProcHostFacts host;
  const pid_t early = fork();
  ASSERT_GE(early, 0);
  if (early == 0) _exit(0);
  ASSERT_EQ(waitpid(early, nullptr, 0), early);

  int hold[2];
  ASSERT_EQ(pipe(hold), 0);
  const pid_t held = fork();
  ASSERT_GE(held, 0);
  if (held == 0) {
    close(hold[1]);
    dup2(hold[0], 0);
    execlp("sh", "sh", "-c", "read x; exit 0", nullptr);
    _exit(127);
  }
  close(hold[0]);
  // Until its exec shows in /proc (the forked child runs this test binary first).
  for (int i = 0; i < 400; i++) {
    if (host.process_of_thread(held).argv_json.find("read x") != std::string::npos) break;
    usleep(5000);
  }
  host.remember_running_processes();
  const bento::collector::ProcessFacts then = host.process_of_thread(held);
  ASSERT_TRUE(then.found);
  ASSERT_NE(then.argv_json.find("read x"), std::string::npos) << then.argv_json;
  ASSERT_EQ(write(hold[1], "\n", 1), 1);
  close(hold[1]);
  ASSERT_EQ(waitpid(held, nullptr, 0), held);

  const bento::collector::ProcessFacts gone = host.process_of_thread(held);
  ASSERT_TRUE(gone.found) << "a process running at start is unknown once it exited";
  EXPECT_EQ(gone.pid, static_cast<uint32_t>(held));
  EXPECT_EQ(gone.start_ns, then.start_ns);
  EXPECT_EQ(gone.argv_json, then.argv_json);
  EXPECT_EQ(gone.exe, then.exe);
  EXPECT_FALSE(host.process_of_thread(early).found);
}

// A memfd's fd reads "/memfd:stage (deleted)" in /proc: it is named "memfd:stage" (what
// the kernel calls it), not taken for a deleted file, nor for no name. A deleted file
// on a real file system still has no name to give.
TEST(HostFacts, AMemfdIsNamedAsTheKernelNamesIt) {
  bento::collector::ProcHostFacts host;
  const int fd = memfd_create("stage", MFD_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "x", 1), 1);
  struct stat st = {};
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(host.fd_path(getpid(), fd, st.st_dev, st.st_ino), "memfd:stage");
  EXPECT_EQ(host.fd_path(getpid(), fd, st.st_dev, st.st_ino + 1), "");  // another file now
  close(fd);

  char name[] = "/tmp/memfd:stage-XXXXXX";
  const int real = mkstemp(name);
  ASSERT_GE(real, 0);
  ASSERT_EQ(fstat(real, &st), 0);
  EXPECT_EQ(host.fd_path(getpid(), real, st.st_dev, st.st_ino), name);
  unlink(name);
  EXPECT_EQ(host.fd_path(getpid(), real, st.st_dev, st.st_ino), "");
  close(real);
}

}  // namespace

namespace {

using bento::collector::MountTable;

// The host's mount table places a path given in fs form (from a file system's root): the
// probes' paths for a task in another mount namespace.
TEST(MountTable, PlacesAFileSystemsPathUnderTheMountShowingIt) {
  const MountTable t = MountTable::parse(
      "22 1 8:3 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
      "30 22 0:40 / /tmp rw shared:5 - tmpfs tmpfs rw\n"
      "41 22 0:52 / /var/lib/docker/overlay2/abc/merged rw - overlay overlay rw\n"
      "45 22 8:3 /srv/exports /home/share\\040dir rw - ext4 /dev/vda rw\n"
      "46 22 0:60 /sub /mnt/sub rw - tmpfs tmpfs rw\n"
      "garbage line\n");
  EXPECT_EQ(t.size(), 5u);
  EXPECT_EQ(t.host_path(makedev(0, 40), "/systemd-private-x/tmp/in"),
            "/tmp/systemd-private-x/tmp/in");
  EXPECT_EQ(t.host_path(makedev(8, 3), "/etc/passwd"), "/etc/passwd");
  EXPECT_EQ(t.host_path(makedev(8, 3), "/"), "/");
  // The longest root holding it wins: a bind mount of a directory shows its files there.
  EXPECT_EQ(t.host_path(makedev(8, 3), "/srv/exports/a"), "/home/share dir/a");
  EXPECT_EQ(t.host_path(makedev(8, 3), "/srv/exportsX"), "/srv/exportsX");
  EXPECT_EQ(t.host_path(makedev(0, 52), "/usr/lib/x.so"),
            "/var/lib/docker/overlay2/abc/merged/usr/lib/x.so");
  EXPECT_EQ(t.host_path(makedev(0, 60), "/sub"), "/mnt/sub");
  // Not shown on the host: this file system's other directories, unknown file systems.
  EXPECT_EQ(t.host_path(makedev(0, 60), "/other/f"), "");
  EXPECT_EQ(t.host_path(makedev(0, 99), "/f"), "");
}

// The real table follows mounts made after it was first read.
TEST(MountTable, TheHostsTableFollowsNewMounts) {
  bento::collector::ProcHostFacts host;
  struct stat root = {};
  ASSERT_EQ(stat("/", &root), 0);
  EXPECT_FALSE(host.host_path(root.st_dev, "/etc").empty());
  if (geteuid() != 0) GTEST_SKIP() << "\n*** SKIPPING: mounting a tmpfs needs root ***";
  char dir[] = "/tmp/bento-mounts.XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  ASSERT_EQ(mount("bento-test", dir, "tmpfs", 0, nullptr), 0) << strerror(errno);
  struct stat st = {};
  EXPECT_EQ(stat(dir, &st), 0);
  EXPECT_EQ(host.host_path(st.st_dev, "/a/b"), std::string(dir) + "/a/b");
  umount(dir);
  rmdir(dir);
}

}  // namespace
