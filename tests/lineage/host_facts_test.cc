// The host facts the collector reads from /proc for processes the probes never saw
// (collector/host_facts.h): a process's identity (pid, start time) must be the kernel's
// and must not change while it runs, or one process becomes many.
#include "host_facts.h"

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
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
