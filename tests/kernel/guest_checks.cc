// The checks run inside the QEMU guest on a kernel Bento-fs mount (tests/kernel/run.sh).
// A static binary (the guest has only busybox): the operations and assertions of the FUSE
// end-to-end tests (tests/fs_e2e) that do not need git/make/sqlite, on the kernel mount.
//
//   guest_checks posix MNT           names, attributes, data, xattrs, permissions...
//   guest_checks features MNT        chattr, ACLs, SEEK_DATA/FIEMAP, O_TMPFILE (feature_checks.cc)
//   guest_checks features-remount MNT  what `features` left, after a remount
//   guest_checks crashwork MNT       writes+fsyncs files forever, printing "FSYNCED n"
//   guest_checks crashverify MNT N   every file 0..N (fsynced before the crash) intact
//   guest_checks tree DIR N          makes a deterministic tree of N files under DIR
//   guest_checks bench DIR WHAT      one timed workload (bench/kernel): prints seconds
//   guest_checks time NAME CMD...    runs CMD, prints "BENCH NAME seconds"
//   guest_checks upgradework DIR STOP  4 writer threads until file STOP exists, then
//                                    every byte checked; "UPGRADEWORK ops=N failed=F"
//   guest_checks upgrade MNT TARGET [refuse]  live upgrade through bentoctl's code
//                                    (kernel/host/kernel_upgrade.cc); refuse: the test
//                                    hook, success = refused and rolled back
//
// Each failed check prints "CHECK FAILED: ..."; the exit status is the number of failures.
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "feature_checks.h"
#include "guest_util.h"
#include "kernel_upgrade.h"

namespace {

using guest::as_user;
using guest::read_text;
using guest::write_file;
using guest::write_text;

int g_failures = 0;

#define CHECK(cond)                                                                            \
  do {                                                                                         \
    if (!(cond)) {                                                                             \
      std::printf("CHECK FAILED: %s:%d: %s (errno %d %s)\n", __FILE__, __LINE__, #cond, errno, \
                  std::strerror(errno));                                                       \
      std::fflush(stdout);                                                                     \
      g_failures++;                                                                            \
    }                                                                                          \
  } while (0)

// Deterministic bytes (xorshift64), as tests/fs_e2e's pattern().
std::vector<uint8_t> pattern(uint64_t seed, size_t size) {
  std::vector<uint8_t> v(size);
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (auto& b : v) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    b = static_cast<uint8_t>(x);
  }
  return v;
}

std::set<std::string> list_dir(const std::string& p) {
  std::set<std::string> names;
  DIR* d = opendir(p.c_str());
  if (d == nullptr) return names;
  while (dirent* e = readdir(d)) names.insert(e->d_name);
  closedir(d);
  return names;
}

uint64_t free_blocks(const std::string& mnt) {
  struct statfs s;
  return statfs(mnt.c_str(), &s) == 0 ? s.f_bfree : 0;
}

void check_data(const std::string& m) {
  // Round trip, offsets, append, truncate.
  std::string f = m + "/data";
  auto big = pattern(1, 3 * 1024 * 1024 + 123);
  CHECK(write_file(f, big.data(), big.size()));
  struct stat st;
  CHECK(stat(f.c_str(), &st) == 0 && st.st_size == static_cast<off_t>(big.size()));
  std::string back = read_text(f);
  CHECK(back.size() == big.size() && std::memcmp(back.data(), big.data(), big.size()) == 0);
  // Cached re-read gives the same bytes.
  CHECK(read_text(f) == back);
  int fd = open(f.c_str(), O_RDWR);
  CHECK(fd >= 0);
  CHECK(pwrite(fd, "HELLO", 5, 4093) == 5);  // across a page boundary
  char buf[16] = {};
  CHECK(pread(fd, buf, 9, 4091) == 9);
  CHECK(std::memcmp(buf + 2, "HELLO", 5) == 0);
  CHECK(ftruncate(fd, 10000) == 0);
  CHECK(fstat(fd, &st) == 0 && st.st_size == 10000);
  CHECK(ftruncate(fd, 20000) == 0);
  CHECK(pread(fd, buf, 8, 15000) == 8);
  CHECK(std::memcmp(buf, "\0\0\0\0\0\0\0\0", 8) == 0);
  CHECK(fsync(fd) == 0);
  CHECK(fdatasync(fd) == 0);
  CHECK(syncfs(fd) == 0);
  close(fd);
  fd = open(f.c_str(), O_WRONLY | O_APPEND);
  CHECK(write(fd, "tail", 4) == 4);
  close(fd);
  CHECK(stat(f.c_str(), &st) == 0 && st.st_size == 20004);
  CHECK(read_text(f).substr(20000) == "tail");
  // O_TRUNC
  CHECK(write_text(f, "short"));
  CHECK(read_text(f) == "short");

  // A sparse file past 4 GiB: the hole reads as zeroes, the data comes back.
  std::string sp = m + "/sparse";
  fd = open(sp.c_str(), O_RDWR | O_CREAT, 0644);
  CHECK(fd >= 0);
  const off_t far = 5LL << 30;
  CHECK(pwrite(fd, "far", 3, far) == 3);
  CHECK(fstat(fd, &st) == 0 && st.st_size == far + 3);
  CHECK(st.st_blocks < 1024);
  CHECK(pread(fd, buf, 4, far - 1) == 4 && std::memcmp(buf, "\0far", 4) == 0);
  CHECK(pread(fd, buf, 4, 1LL << 32) == 4 && std::memcmp(buf, "\0\0\0\0", 4) == 0);
  close(fd);
  CHECK(unlink(sp.c_str()) == 0);

  // mmap sees the file, and sees a later write() through the descriptor.
  std::string mf = m + "/mapped";
  auto pg = pattern(7, 8192);
  CHECK(write_file(mf, pg.data(), pg.size()));
  fd = open(mf.c_str(), O_RDWR);
  void* p = mmap(nullptr, 8192, PROT_READ, MAP_SHARED, fd, 0);
  CHECK(p != MAP_FAILED);
  if (p != MAP_FAILED) {
    CHECK(std::memcmp(p, pg.data(), 8192) == 0);
    CHECK(pwrite(fd, "MMAP", 4, 4096) == 4);
    CHECK(std::memcmp(static_cast<char*>(p) + 4096, "MMAP", 4) == 0);
    munmap(p, 8192);
  }
  close(fd);

  // fallocate: allocate past the end with KEEP_SIZE, punch a hole that then reads as zeroes.
  std::string fa = m + "/falloc";
  auto fd4 = pattern(11, 65536);
  CHECK(write_file(fa, fd4.data(), fd4.size()));
  fd = open(fa.c_str(), O_RDWR);
  CHECK(fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 1 << 20) == 0);
  CHECK(fstat(fd, &st) == 0 && st.st_size == 65536 && st.st_blocks >= 2048);
  CHECK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 8192, 8192) == 0);
  CHECK(pread(fd, buf, 8, 8192) == 8 && std::memcmp(buf, "\0\0\0\0\0\0\0\0", 8) == 0);
  CHECK(pread(fd, buf, 8, 4096) == 8 && std::memcmp(buf, fd4.data() + 4096, 8) == 0);
  close(fd);

  // BufferedReadAfterAioDirectWriteSeesNewData, with plain O_DIRECT: a cached page must
  // not hide bytes written through another descriptor.
  std::string dio = m + "/direct";
  CHECK(write_text(dio, std::string(8192, 'a')));
  CHECK(read_text(dio) == std::string(8192, 'a'));  // now cached
  int dfd = open(dio.c_str(), O_WRONLY | O_DIRECT);
  void* al = nullptr;
  CHECK(dfd >= 0 && posix_memalign(&al, 4096, 4096) == 0);
  if (dfd >= 0 && al != nullptr) {
    std::memset(al, 'b', 4096);
    CHECK(pwrite(dfd, al, 4096, 4096) == 4096);
    close(dfd);
    CHECK(read_text(dio) == std::string(4096, 'a') + std::string(4096, 'b'));
  }
  free(al);

  // relatime (the default): a read after a change moves atime.
  std::string at = m + "/atime";
  CHECK(write_text(at, "atime"));
  struct timespec old_times[2] = {{1000, 0}, {UTIME_OMIT, 0}};
  CHECK(utimensat(AT_FDCWD, at.c_str(), old_times, 0) == 0);
  CHECK(read_text(at) == "atime");
  CHECK(stat(at.c_str(), &st) == 0 && st.st_atime > 1000);

  // An open, unlinked file stays readable; its blocks come back at the last close.
  std::string uf = m + "/unlinked";
  auto ud = pattern(9, 4 << 20);
  CHECK(write_file(uf, ud.data(), ud.size()));
  CHECK(syncfs(open(m.c_str(), O_RDONLY)) == 0);
  uint64_t before = free_blocks(m);
  fd = open(uf.c_str(), O_RDONLY);
  CHECK(unlink(uf.c_str()) == 0);
  CHECK(access(uf.c_str(), F_OK) != 0 && errno == ENOENT);
  std::vector<uint8_t> rb(ud.size());
  CHECK(pread(fd, rb.data(), rb.size(), 0) == static_cast<ssize_t>(rb.size()) && rb == ud);
  close(fd);
  CHECK(free_blocks(m) >= before + 1000);
}

void check_names(const std::string& m) {
  std::string d = m + "/dir";
  CHECK(mkdir(d.c_str(), 0755) == 0);
  CHECK(mkdir(d.c_str(), 0755) != 0 && errno == EEXIST);
  CHECK(write_text(d + "/a", "A"));
  CHECK(rmdir(d.c_str()) != 0 && errno == ENOTEMPTY);
  CHECK(open((d + "/missing").c_str(), O_RDONLY) < 0 && errno == ENOENT);
  CHECK(open((d + "/a/x").c_str(), O_RDONLY) < 0 && errno == ENOTDIR);
  CHECK(open(d.c_str(), O_WRONLY) < 0 && errno == EISDIR);
  CHECK(open((d + "/a").c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644) < 0 && errno == EEXIST);
  std::string longname(256, 'n');
  CHECK(open((d + "/" + longname).c_str(), O_CREAT | O_WRONLY, 0644) < 0 && errno == ENAMETOOLONG);
  struct stat st;
  CHECK(stat(d.c_str(), &st) == 0 && st.st_nlink == 2);
  CHECK(mkdir((d + "/sub").c_str(), 0700) == 0);
  CHECK(stat(d.c_str(), &st) == 0 && st.st_nlink == 3);

  // Hard links.
  CHECK(link((d + "/a").c_str(), (d + "/b").c_str()) == 0);
  CHECK(stat((d + "/a").c_str(), &st) == 0 && st.st_nlink == 2);
  CHECK(unlink((d + "/a").c_str()) == 0);
  CHECK(stat((d + "/b").c_str(), &st) == 0 && st.st_nlink == 1);
  CHECK(read_text(d + "/b") == "A");
  CHECK(link(d.c_str(), (d + "/dirlink").c_str()) != 0 && errno == EPERM);

  // Symlinks.
  CHECK(symlink("b", (d + "/s").c_str()) == 0);
  char t[64] = {};
  CHECK(readlink((d + "/s").c_str(), t, sizeof t) == 1 && t[0] == 'b');
  CHECK(read_text(d + "/s") == "A");
  CHECK(lstat((d + "/s").c_str(), &st) == 0 && S_ISLNK(st.st_mode) && st.st_size == 1);
  std::string long_target(4000, 'x');
  CHECK(symlink(long_target.c_str(), (d + "/longlink").c_str()) == 0);
  std::vector<char> lt(4096);
  CHECK(readlink((d + "/longlink").c_str(), lt.data(), lt.size()) == 4000);

  // Special files.
  CHECK(mknod((d + "/fifo").c_str(), S_IFIFO | 0600, 0) == 0);
  CHECK(lstat((d + "/fifo").c_str(), &st) == 0 && S_ISFIFO(st.st_mode));
  CHECK(mknod((d + "/null").c_str(), S_IFCHR | 0600, makedev(1, 3)) == 0);
  CHECK(lstat((d + "/null").c_str(), &st) == 0 && S_ISCHR(st.st_mode) &&
        st.st_rdev == makedev(1, 3));
  CHECK(write_text(d + "/null", "gone"));  // a device node works through the mount

  // Renames.
  CHECK(write_text(d + "/r1", "one"));
  CHECK(write_text(d + "/r2", "two"));
  CHECK(rename((d + "/r1").c_str(), (d + "/r3").c_str()) == 0);
  CHECK(read_text(d + "/r3") == "one");
  CHECK(rename((d + "/r3").c_str(), (d + "/r2").c_str()) == 0);  // over an existing file
  CHECK(read_text(d + "/r2") == "one");
  CHECK(access((d + "/r3").c_str(), F_OK) != 0);
  CHECK(write_text(d + "/r4", "four"));
  CHECK(syscall(SYS_renameat2, AT_FDCWD, (d + "/r4").c_str(), AT_FDCWD, (d + "/r2").c_str(),
                RENAME_NOREPLACE) != 0 &&
        errno == EEXIST);
  CHECK(syscall(SYS_renameat2, AT_FDCWD, (d + "/r4").c_str(), AT_FDCWD, (d + "/r2").c_str(),
                RENAME_EXCHANGE) == 0);
  CHECK(read_text(d + "/r2") == "four" && read_text(d + "/r4") == "one");
  CHECK(mkdir((d + "/m1").c_str(), 0755) == 0);
  CHECK(write_text(d + "/m1/in", "in"));
  CHECK(rename((d + "/m1").c_str(), (d + "/sub/m2").c_str()) == 0);
  CHECK(read_text(d + "/sub/m2/in") == "in");
  CHECK(stat((d + "/sub").c_str(), &st) == 0 && st.st_nlink == 3);
  CHECK(rename((d + "/sub").c_str(), (d + "/sub/m2/x").c_str()) != 0 && errno == EINVAL);
  CHECK(rename((d + "/r2").c_str(), (d + "/sub").c_str()) != 0 && errno == EISDIR);

  // readdir: every name once, also while names are deleted during the listing.
  std::string big = m + "/many";
  CHECK(mkdir(big.c_str(), 0755) == 0);
  for (int i = 0; i < 3000; i++) CHECK(write_text(big + "/f" + std::to_string(i), ""));
  std::set<std::string> names = list_dir(big);
  CHECK(names.size() == 3002);
  DIR* dp = opendir(big.c_str());
  std::set<std::string> seen;
  int dups = 0, n = 0;
  while (dirent* e = readdir(dp)) {
    if (!seen.insert(e->d_name).second) dups++;
    if (++n == 1000)  // delete 500 names; the rest must still each come once
      for (int i = 0; i < 500; i++) unlink((big + "/f" + std::to_string(i)).c_str());
  }
  closedir(dp);
  CHECK(dups == 0);
  CHECK(seen.size() >= 2502);
  CHECK(list_dir(big).size() == 2502);
  // telldir/seekdir: a listing resumes at a saved offset.
  dp = opendir(big.c_str());
  for (int i = 0; i < 100; i++) readdir(dp);
  long pos = telldir(dp);
  std::string next = readdir(dp)->d_name;
  seekdir(dp, pos);
  CHECK(next == readdir(dp)->d_name);
  closedir(dp);
}

void check_attrs(const std::string& m) {
  std::string f = m + "/attrs";
  CHECK(write_text(f, "x"));
  CHECK(chmod(f.c_str(), 0640) == 0);
  struct stat st;
  CHECK(stat(f.c_str(), &st) == 0 && (st.st_mode & 07777) == 0640);
  CHECK(chown(f.c_str(), 1000, 1000) == 0);
  CHECK(stat(f.c_str(), &st) == 0 && st.st_uid == 1000 && st.st_gid == 1000);
  struct timespec ts[2] = {{1000000000, 5}, {1234567890, 123456789}};
  CHECK(utimensat(AT_FDCWD, f.c_str(), ts, 0) == 0);
  CHECK(stat(f.c_str(), &st) == 0 && st.st_mtim.tv_sec == 1234567890 &&
        st.st_mtim.tv_nsec == 123456789 && st.st_atim.tv_sec == 1000000000);
  // mtime moves on write, ctime on chmod.
  time_t t0 = time(nullptr);
  CHECK(write_text(f, "y"));
  CHECK(stat(f.c_str(), &st) == 0 && st.st_mtime >= t0 - 1);
  struct statx sx;
  CHECK(statx(AT_FDCWD, f.c_str(), 0, STATX_BTIME, &sx) == 0);

  // Permissions, checked by the kernel and the fs for another user.
  std::string priv = m + "/private";
  CHECK(write_text(priv, "secret"));
  CHECK(chmod(priv.c_str(), 0600) == 0);
  CHECK(as_user(1000, 1000, [&] { return open(priv.c_str(), O_RDONLY) < 0 && errno == EACCES; }) ==
        1);
  std::string ro = m + "/rodir";
  CHECK(mkdir(ro.c_str(), 0755) == 0);
  CHECK(as_user(1000, 1000, [&] {
          return open((ro + "/new").c_str(), O_CREAT | O_WRONLY, 0644) < 0 && errno == EACCES;
        }) == 1);
  CHECK(as_user(1000, 1000, [&] { return chmod(priv.c_str(), 0777) != 0 && errno == EPERM; }) == 1);
  // Sticky directory: others cannot delete your file.
  std::string tmp = m + "/sticky";
  CHECK(mkdir(tmp.c_str(), 01777) == 0 && chmod(tmp.c_str(), 01777) == 0);
  CHECK(as_user(1000, 1000, [&] { return write_text(tmp + "/mine", "m") ? 1 : 0; }) == 1);
  CHECK(as_user(1001, 1001,
                [&] { return unlink((tmp + "/mine").c_str()) != 0 && errno == EPERM; }) == 1);
  // Writes by another user drop set-id bits (WritesByOthersAndChownDropSetIdBits).
  std::string suid = m + "/suid";
  CHECK(write_text(suid, "#!/bin/sh\n"));
  CHECK(chmod(suid.c_str(), 06777) == 0);
  CHECK(as_user(1000, 1000, [&] {
          int fd = open(suid.c_str(), O_WRONLY | O_APPEND);
          return fd >= 0 && write(fd, "x", 1) == 1 && close(fd) == 0;
        }) == 1);
  CHECK(stat(suid.c_str(), &st) == 0 && (st.st_mode & 06000) == 0);
  CHECK(chmod(suid.c_str(), 06755) == 0);
  CHECK(chown(suid.c_str(), 1000, -1) == 0);
  CHECK(stat(suid.c_str(), &st) == 0 && (st.st_mode & 04000) == 0);
  // An executable runs from the mount, also for another user when it is execute-only.
  std::string exe = m + "/exe";
  std::string self = read_text("/proc/self/exe");
  CHECK(write_file(exe, self.data(), self.size(), O_TRUNC, 0711));
  CHECK(chmod(exe.c_str(), 0711) == 0);
  CHECK(as_user(1000, 1000, [&] {
          pid_t pid = fork();
          if (pid == 0) {
            execl(exe.c_str(), exe.c_str(), "true", nullptr);
            _exit(99);
          }
          int s = 0;
          waitpid(pid, &s, 0);
          return WIFEXITED(s) && WEXITSTATUS(s) == 0 ? 1 : 0;
        }) == 1);

  // statfs
  struct statfs sf;
  CHECK(statfs(m.c_str(), &sf) == 0 && sf.f_type == 0x42454e54 && sf.f_bsize == 4096 &&
        sf.f_namelen == 255 && sf.f_bfree > 0 && sf.f_ffree > 0);
}

void check_xattrs(const std::string& m) {
  std::string f = m + "/xa";
  CHECK(write_text(f, ""));
  CHECK(setxattr(f.c_str(), "user.one", "1", 1, 0) == 0);
  CHECK(setxattr(f.c_str(), "user.one", "1", 1, XATTR_CREATE) != 0 && errno == EEXIST);
  CHECK(setxattr(f.c_str(), "user.two", "2", 1, XATTR_REPLACE) != 0 && errno == ENODATA);
  char v[16] = {};
  CHECK(getxattr(f.c_str(), "user.one", v, sizeof v) == 1 && v[0] == '1');
  CHECK(getxattr(f.c_str(), "user.one", nullptr, 0) == 1);
  CHECK(getxattr(f.c_str(), "user.none", v, sizeof v) < 0 && errno == ENODATA);
  CHECK(getxattr(f.c_str(), "user.one", v, 0) == 1);
  std::vector<uint8_t> big = pattern(3, 60000);
  CHECK(setxattr(f.c_str(), "user.big", big.data(), big.size(), 0) == 0);
  std::vector<uint8_t> bb(65536);
  CHECK(getxattr(f.c_str(), "user.big", bb.data(), bb.size()) == 60000 &&
        std::memcmp(bb.data(), big.data(), 60000) == 0);
  CHECK(setxattr(f.c_str(), "trusted.t", "t", 1, 0) == 0);
  CHECK(setxattr(f.c_str(), "security.s", "s", 1, 0) == 0);
  char list[256] = {};
  ssize_t n = listxattr(f.c_str(), list, sizeof list);
  CHECK(n > 0);
  std::set<std::string> names;
  for (ssize_t i = 0; i < n; i += static_cast<ssize_t>(std::strlen(list + i)) + 1)
    names.insert(list + i);
  CHECK(names.count("user.one") && names.count("user.big") && names.count("trusted.t") &&
        names.count("security.s"));
  CHECK(removexattr(f.c_str(), "user.one") == 0);
  CHECK(getxattr(f.c_str(), "user.one", v, sizeof v) < 0 && errno == ENODATA);
  // Unprivileged users neither see nor set trusted.*.
  CHECK(chmod(f.c_str(), 0666) == 0);
  CHECK(as_user(1000, 1000, [&] {
          return setxattr(f.c_str(), "trusted.x", "x", 1, 0) != 0 && errno == EPERM;
        }) == 1);
  // Many attributes on one file.
  for (int i = 0; i < 300; i++)
    CHECK(setxattr(f.c_str(), ("user.k" + std::to_string(i)).c_str(), "v", 1, 0) == 0);
  CHECK(listxattr(f.c_str(), nullptr, 0) > 300 * 8);
}

int posix(const std::string& m) {
  std::printf("== posix checks on %s\n", m.c_str());
  check_data(m);
  check_names(m);
  check_attrs(m);
  check_xattrs(m);
  std::printf("== posix checks: %d failed\n", g_failures);
  return g_failures;
}

// The crash workload: file i holds pattern(i, size(i)); "FSYNCED i" is printed only after
// fsync(file) and fsync(dir) returned.
size_t crash_size(int i) {
  return static_cast<size_t>(1 + (i * 7919) % 200000);
}

int crashwork(const std::string& m) {
  std::string d = m + "/crash";
  mkdir(d.c_str(), 0755);
  int dfd = open(d.c_str(), O_RDONLY | O_DIRECTORY);
  for (int i = 0;; i++) {
    std::string f = d + "/f" + std::to_string(i);
    auto data = pattern(static_cast<uint64_t>(i), crash_size(i));
    int fd = open(f.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, data.data(), data.size()) != static_cast<ssize_t>(data.size()) ||
        fsync(fd) != 0 || close(fd) != 0 || fsync(dfd) != 0) {
      std::printf("crashwork: file %d failed: %s\n", i, std::strerror(errno));
      return 1;
    }
    // Unsynced noise: a file rewritten and deleted around the synced ones.
    write_text(d + "/noise", std::string(static_cast<size_t>(i % 5000), 'z'));
    if (i % 3 == 0) unlink((d + "/noise").c_str());
    std::printf("FSYNCED %d\n", i);
    std::fflush(stdout);
  }
}

int crashverify(const std::string& m, int last) {
  std::string d = m + "/crash";
  for (int i = 0; i <= last; i++) {
    auto want = pattern(static_cast<uint64_t>(i), crash_size(i));
    std::string got = read_text(d + "/f" + std::to_string(i));
    bool ok = got.size() == want.size() && std::memcmp(got.data(), want.data(), want.size()) == 0;
    if (!ok)
      std::printf("CHECK FAILED: crash file f%d (fsynced) lost or wrong: %zu bytes, want %zu\n", i,
                  got.size(), want.size());
    if (!ok) g_failures++;
  }
  std::printf("== crashverify: %d fsynced files checked, %d failed\n", last + 1, g_failures);
  return g_failures;
}

// A deterministic tree of n files (sizes 0..12 KiB, 20 per directory, 3 levels).
int tree(const std::string& root, int n) {
  mkdir(root.c_str(), 0755);
  for (int i = 0; i < n; i++) {
    std::string d1 = root + "/d" + std::to_string(i / 400);
    std::string d2 = d1 + "/e" + std::to_string((i / 20) % 20);
    if (i % 400 == 0) mkdir(d1.c_str(), 0755);
    if (i % 20 == 0) mkdir(d2.c_str(), 0755);
    auto data = pattern(static_cast<uint64_t>(i) + 100, static_cast<size_t>((i * 131) % 12289));
    if (!write_file(d2 + "/file" + std::to_string(i), data.data(), data.size())) {
      std::printf("tree: cannot write file %d: %s\n", i, std::strerror(errno));
      return 1;
    }
  }
  return 0;
}

double now_s() {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

// bench DIR WHAT: creates (10,000 small files), seqwrite (256 MiB in 1 MiB writes + fsync),
// cachedread (the seqwrite file read twice, the second timed), mix (a fileserver-like loop
// of create/write/read/append/stat/delete over 1,000 files).
int bench(const std::string& dir, const std::string& what) {
  mkdir(dir.c_str(), 0755);
  double t0 = now_s();
  if (what == "creates") {
    auto data = pattern(5, 2048);
    for (int i = 0; i < 10000; i++)
      if (!write_file(dir + "/c" + std::to_string(i), data.data(), data.size())) return 1;
    sync();
  } else if (what == "seqwrite" || what == "cachedread") {
    std::string f = dir + "/seq";
    auto mb = pattern(6, 1 << 20);
    if (what == "seqwrite") {
      int fd = open(f.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      for (int i = 0; i < 256; i++)
        if (write(fd, mb.data(), mb.size()) != static_cast<ssize_t>(mb.size())) return 1;
      fsync(fd);
      close(fd);
    } else {
      std::vector<char> buf(1 << 20);
      for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) t0 = now_s();
        int fd = open(f.c_str(), O_RDONLY);
        while (read(fd, buf.data(), buf.size()) > 0) {
        }
        close(fd);
      }
    }
  } else if (what == "mix") {
    uint64_t x = 12345;
    auto data = pattern(8, 16384);
    std::vector<char> buf(16384);
    for (int op = 0; op < 20000; op++) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      std::string f = dir + "/m" + std::to_string(x % 1000);
      switch (op % 5) {
        case 0:
          write_file(f, data.data(), 1 + x % data.size());
          break;
        case 1: {
          int fd = open(f.c_str(), O_RDONLY);
          if (fd >= 0) {
            while (read(fd, buf.data(), buf.size()) > 0) {
            }
            close(fd);
          }
          break;
        }
        case 2:
          write_file(f, data.data(), 4096, O_APPEND);
          break;
        case 3: {
          struct stat st;
          stat(f.c_str(), &st);
          break;
        }
        case 4:
          unlink(f.c_str());
          break;
      }
    }
    sync();
  } else {
    return 2;
  }
  std::printf("BENCH %s %.3f\n", what.c_str(), now_s() - t0);
  return 0;
}

// Writers during live upgrades: each thread appends chunks to its own 8 files (fsync every
// 8th op, a read-back every 32nd) until STOP exists; then every file must hold exactly
// what was written. Any failed system call is a failure: an upgrade must be invisible.
int upgradework(const std::string& dir, const std::string& stop) {
  constexpr int kThreads = 4, kFiles = 8;
  std::atomic<long> ops{0}, failed{0};
  std::atomic<bool> done{false};
  auto bad = [&](const std::string& what) {
    std::printf("CHECK FAILED: upgradework: %s (errno %d %s)\n", what.c_str(), errno,
                std::strerror(errno));
    failed++;
  };
  std::vector<std::vector<std::vector<uint8_t>>> want(kThreads,
                                                      std::vector<std::vector<uint8_t>>(kFiles));
  auto name = [&](int t, int f) {
    return dir + "/w" + std::to_string(t) + "-" + std::to_string(f);
  };
  auto verify = [&](int t, int f) {
    std::string got = read_text(name(t, f));
    const auto& w = want[t][f];
    if (got.size() != w.size() || std::memcmp(got.data(), w.data(), w.size()) != 0) {
      bad(name(t, f) + ": content differs (" + std::to_string(got.size()) + " bytes, want " +
          std::to_string(w.size()) + ")");
      return false;
    }
    return true;
  };
  auto worker = [&](int t) {
    for (uint64_t i = 0; !done.load(); i++) {
      int f = static_cast<int>(i % kFiles);
      auto chunk = pattern(t * 1000003ull + i, 512 + (i * 7919) % 6000);
      int fd = open(name(t, f).c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd < 0) {
        bad("open " + name(t, f));
        continue;
      }
      ssize_t w = write(fd, chunk.data(), chunk.size());
      if (w != static_cast<ssize_t>(chunk.size()))
        bad("write " + name(t, f));
      else
        want[t][f].insert(want[t][f].end(), chunk.begin(), chunk.end());
      if (i % 8 == 7 && fsync(fd) != 0) bad("fsync " + name(t, f));
      if (close(fd) != 0) bad("close " + name(t, f));
      struct stat st {};
      if (stat(name(t, f).c_str(), &st) != 0 || st.st_size != static_cast<off_t>(want[t][f].size()))
        bad("stat " + name(t, f));
      if (i % 32 == 31) verify(t, f);
      ops += 4;
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) threads.emplace_back(worker, t);
  while (access(stop.c_str(), F_OK) != 0) usleep(50000);
  done = true;
  for (auto& th : threads) th.join();
  long bytes = 0;
  for (int t = 0; t < kThreads; t++)
    for (int f = 0; f < kFiles; f++) {
      verify(t, f);
      bytes += static_cast<long>(want[t][f].size());
    }
  std::printf("UPGRADEWORK ops=%ld failed=%ld bytes=%ld\n", ops.load(), failed.load(), bytes);
  return failed.load() == 0 ? 0 : 1;
}

int upgrade(const std::string& mnt, const std::string& target, bool refuse) {
  std::string mp, type;
  if (!bento::host::find_kernel_mount(mnt, &mp, &type)) {
    std::printf("CHECK FAILED: %s is not a kernel bento mount\n", mnt.c_str());
    return 1;
  }
  auto r = bento::host::kernel_upgrade(mp, target, refuse);
  std::printf("UPGRADE %s %s -> %s (%s): %s pause_ns=%lld wait_ns=%lld%s%s\n", mp.c_str(),
              r.from.c_str(), r.to.c_str(), target.c_str(),
              r.ok ? "upgraded" : (r.rolled_back ? "refused, rolled back" : "FAILED"),
              static_cast<long long>(r.pause_ns), static_cast<long long>(r.wait_ns),
              r.message.empty() ? "" : ": ", r.message.c_str());
  return refuse ? (!r.ok && r.rolled_back ? 0 : 1) : (r.ok ? 0 : 1);
}

}  // namespace

int main(int argc, char** argv) {
  setvbuf(stdout, nullptr, _IOLBF, 0);
  std::string cmd = argc > 1 ? argv[1] : "";
  if (cmd == "true") return 0;
  if (cmd == "posix" && argc == 3) return posix(argv[2]);
  if (cmd == "features" && argc == 3) return feature_checks(argv[2]);
  if (cmd == "features-remount" && argc == 3) return feature_checks_after_remount(argv[2]);
  if (cmd == "crashwork" && argc == 3) return crashwork(argv[2]);
  if (cmd == "crashverify" && argc == 4) return crashverify(argv[2], std::atoi(argv[3]));
  if (cmd == "tree" && argc == 4) return tree(argv[2], std::atoi(argv[3]));
  if (cmd == "bench" && argc == 4) return bench(argv[2], argv[3]);
  if (cmd == "upgradework" && argc == 4) return upgradework(argv[2], argv[3]);
  if (cmd == "upgrade" && (argc == 4 || argc == 5))
    return upgrade(argv[2], argv[3], argc == 5 && std::string(argv[4]) == "refuse");
  if (cmd == "time" && argc >= 4) {  // time NAME CMD ARGS...: runs it, prints BENCH NAME s
    double t0 = now_s();
    pid_t pid = fork();
    if (pid == 0) {
      execvp(argv[3], argv + 3);
      _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    std::printf("BENCH %s %.3f\n", argv[2], now_s() - t0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
  }
  std::fprintf(stderr,
               "usage: guest_checks posix MNT | crashwork MNT | crashverify MNT N | tree DIR N "
               "| bench DIR WHAT\n");
  return 2;
}
