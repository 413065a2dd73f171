// Guest checks of the fs features the kernel host reaches through the same File Operations
// API as the FUSE host (tests/fs_e2e/features_e2e_test.cc makes the same assertions on a
// FUSE mount): chattr flags, POSIX ACLs, SEEK_DATA/SEEK_HOLE and FIEMAP, fallocate modes,
// O_TMPFILE, shared writable mappings (bentofs's FUSE mounts have them through the
// kernel's writeback cache) and file handles (open_by_handle_at). The guest has no setfacl/chattr,
// so the checks use the system calls those tools make.
//
//   guest_checks features MNT         everything, on a fresh directory of the mount
//   guest_checks features-remount MNT what must survive a remount (run after one), then
//                                     clears the flags and removes the files
#include "feature_checks.h"

#include <bento/fiemap_ioctl.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/falloc.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "guest_util.h"

namespace {

using guest::as_user;
using guest::read_text;
using guest::write_file;
using guest::write_text;

int g_failed = 0;

#define FCHECK(cond)                                                                           \
  do {                                                                                         \
    if (!(cond)) {                                                                             \
      std::printf("CHECK FAILED: %s:%d: %s (errno %d %s)\n", __FILE__, __LINE__, #cond, errno, \
                  std::strerror(errno));                                                       \
      std::fflush(stdout);                                                                     \
      g_failed++;                                                                              \
    }                                                                                          \
  } while (0)

constexpr uid_t kNobody = 65534;
constexpr gid_t kNogroup = 65534;

// 1 when the caller (in a child) can read the file, 0 when refused with EACCES.
int can_read(const std::string& p) {
  int fd = open(p.c_str(), O_RDONLY);
  if (fd >= 0) close(fd);
  return fd >= 0 ? 1 : (errno == EACCES ? 0 : 2);
}
int can_append(const std::string& p) {
  int fd = open(p.c_str(), O_WRONLY | O_APPEND);
  if (fd < 0) return errno == EACCES ? 0 : 2;
  bool ok = write(fd, "more\n", 5) == 5;
  close(fd);
  return ok ? 1 : 3;
}

// ---- chattr ----

int getflags(const std::string& p) {
  int fd = open(p.c_str(), O_RDONLY | O_NONBLOCK);
  if (fd < 0) return -1;
  int f = 0;
  int r = ioctl(fd, FS_IOC_GETFLAGS, &f);
  close(fd);
  return r == 0 ? f : -1;
}

bool setflags(const std::string& p, int flags) {
  int fd = open(p.c_str(), O_RDONLY | O_NONBLOCK);
  if (fd < 0) return false;
  int r = ioctl(fd, FS_IOC_SETFLAGS, &flags);
  close(fd);
  return r == 0;
}

// chattr +a allows appends only, +i nothing; root is held to them too; others may not
// clear them (ChattrAppendOnlyAndImmutable).
void check_chattr(const std::string& d) {
  const std::string log = d + "/audit.log";
  FCHECK(write_text(log, "one\n"));
  FCHECK(setflags(log, FS_APPEND_FL));
  FCHECK(getflags(log) == FS_APPEND_FL);
  FCHECK(write_text(log, "two\n", O_APPEND));
  FCHECK(read_text(log) == "one\ntwo\n");
  FCHECK(open(log.c_str(), O_WRONLY | O_TRUNC) < 0 && errno == EPERM);
  FCHECK(open(log.c_str(), O_WRONLY) < 0 && errno == EPERM);  // writes must append
  FCHECK(truncate(log.c_str(), 0) != 0 && errno == EPERM);
  FCHECK(unlink(log.c_str()) != 0 && errno == EPERM);
  FCHECK(rename(log.c_str(), (d + "/moved").c_str()) != 0 && errno == EPERM);
  FCHECK(chmod(log.c_str(), 0600) != 0 && errno == EPERM);
  FCHECK(as_user(kNobody, kNogroup,
                 [&] { return setflags(log, 0) ? 0 : (errno == EPERM ? 1 : 2); }) == 1);
  FCHECK(read_text(log) == "one\ntwo\n");
  // FS_IOC_FSGETXATTR: the same flag as an xflag.
  int fd = open(log.c_str(), O_RDONLY);
  struct fsxattr fx {};
  FCHECK(fd >= 0 && ioctl(fd, FS_IOC_FSGETXATTR, &fx) == 0 && (fx.fsx_xflags & FS_XFLAG_APPEND));
  if (fd >= 0) close(fd);
  // statx reports it too (STATX_ATTR_APPEND), as on ext4.
  struct statx sx {};
  FCHECK(statx(AT_FDCWD, log.c_str(), 0, STATX_BASIC_STATS, &sx) == 0 &&
         (sx.stx_attributes_mask & STATX_ATTR_APPEND) && (sx.stx_attributes & STATX_ATTR_APPEND) &&
         !(sx.stx_attributes & STATX_ATTR_IMMUTABLE));

  const std::string sealed = d + "/sealed";
  FCHECK(mkdir(sealed.c_str(), 0755) == 0);
  FCHECK(write_text(sealed + "/x", "x"));
  FCHECK(setflags(sealed, FS_IMMUTABLE_FL) && setflags(sealed + "/x", FS_IMMUTABLE_FL));
  FCHECK(open((sealed + "/x").c_str(), O_WRONLY | O_APPEND) < 0 && errno == EPERM);
  FCHECK(open((sealed + "/new").c_str(), O_WRONLY | O_CREAT, 0644) < 0 && errno == EPERM);
  FCHECK(unlink((sealed + "/x").c_str()) != 0 && errno == EPERM);
  FCHECK(utimensat(AT_FDCWD, (sealed + "/x").c_str(), nullptr, 0) != 0 && errno == EPERM);
  FCHECK(setxattr((sealed + "/x").c_str(), "user.k", "v", 1, 0) != 0 && errno == EPERM);
  FCHECK(read_text(sealed + "/x") == "x");
  FCHECK(statx(AT_FDCWD, (sealed + "/x").c_str(), 0, STATX_BASIC_STATS, &sx) == 0 &&
         (sx.stx_attributes & STATX_ATTR_IMMUTABLE));
  // Unknown flags are refused by the fs.
  FCHECK(!setflags(d, FS_COMPR_FL) && errno == EOPNOTSUPP);
}

// ---- POSIX ACLs (the xattr encoding setfacl writes: linux/posix_acl_xattr.h) ----

enum : uint16_t { kUserObj = 1, kUser = 2, kGroupObj = 4, kGroup = 8, kMask = 0x10, kOther = 0x20 };
struct AclEnt {
  uint16_t tag, perm;
  uint32_t id;
};

std::vector<uint8_t> acl_value(const std::vector<AclEnt>& ents) {
  std::vector<uint8_t> v(4 + 8 * ents.size());
  uint32_t version = 2;
  std::memcpy(v.data(), &version, 4);
  for (size_t i = 0; i < ents.size(); i++) std::memcpy(&v[4 + 8 * i], &ents[i], 8);
  return v;
}

bool set_acl(const std::string& p, const char* name, const std::vector<AclEnt>& ents) {
  auto v = acl_value(ents);
  return setxattr(p.c_str(), name, v.data(), v.size(), 0) == 0;
}

std::vector<AclEnt> get_acl(const std::string& p, const char* name) {
  uint8_t buf[512];
  ssize_t n = getxattr(p.c_str(), name, buf, sizeof buf);
  std::vector<AclEnt> out;
  for (ssize_t i = 4; n > 0 && i + 8 <= n; i += 8) {
    AclEnt e;
    std::memcpy(&e, buf + i, 8);
    out.push_back(e);
  }
  return out;
}

int perm_of(const std::vector<AclEnt>& acl, uint16_t tag, uint32_t id = ~0u) {
  for (const AclEnt& e : acl)
    if (e.tag == tag && (id == ~0u || e.id == id)) return e.perm;
  return -1;
}

mode_t mode_of(const std::string& p) {
  struct stat st {};
  return stat(p.c_str(), &st) == 0 ? st.st_mode & 07777 : 0;
}

// A named user is granted what the mode denies, others stay denied, chmod rewrites the
// mask, and a directory's default ACL is inherited in place of the umask
// (PosixAclsGrantDenyAndInherit).
void check_acls(const std::string& d) {
  const std::string f = d + "/secret";
  const char* acc = "system.posix_acl_access";
  const char* def = "system.posix_acl_default";
  FCHECK(write_text(f, "classified"));
  FCHECK(chmod(f.c_str(), 0600) == 0);
  FCHECK(as_user(kNobody, kNogroup, [&] { return can_read(f); }) == 0);
  FCHECK(set_acl(
      f, acc,
      {{kUserObj, 6, 0}, {kUser, 4, kNobody}, {kGroupObj, 0, 0}, {kMask, 4, 0}, {kOther, 0, 0}}));
  FCHECK(perm_of(get_acl(f, acc), kUser, kNobody) == 4);
  FCHECK(mode_of(f) == 0640);  // the group bits show the mask
  FCHECK(as_user(kNobody, kNogroup, [&] { return can_read(f); }) == 1);
  FCHECK(as_user(kNobody, kNogroup, [&] { return read_text(f) == "classified" ? 0 : 1; }) == 0);
  FCHECK(as_user(kNobody, kNogroup, [&] { return can_append(f); }) == 0);  // read only
  FCHECK(as_user(1000, 1000, [&] { return can_read(f); }) == 0);
  // chmod sets the mask: nobody's entry no longer grants anything.
  FCHECK(chmod(f.c_str(), 0600) == 0);
  FCHECK(perm_of(get_acl(f, acc), kMask) == 0);
  FCHECK(as_user(kNobody, kNogroup, [&] { return can_read(f); }) == 0);
  FCHECK(chmod(f.c_str(), 0640) == 0);
  FCHECK(as_user(kNobody, kNogroup, [&] { return can_read(f); }) == 1);
  // Denial by a named entry: nobody's group may read through the mask, nobody may not.
  FCHECK(set_acl(f, acc,
                 {{kUserObj, 6, 0},
                  {kUser, 0, kNobody},
                  {kGroupObj, 0, 0},
                  {kGroup, 4, kNogroup},
                  {kMask, 4, 0},
                  {kOther, 0, 0}}));
  FCHECK(as_user(kNobody, kNogroup, [&] { return can_read(f); }) == 0);
  FCHECK(as_user(1000, kNogroup, [&] { return can_read(f); }) == 1);
  // Only the owner may change the ACL.
  FCHECK(as_user(kNobody, kNogroup, [&] {
           return set_acl(f, acc, {{kUserObj, 7, 0}, {kGroupObj, 7, 0}, {kOther, 7, 0}})
                      ? 2
                      : (errno == EPERM ? 1 : 3);
         }) == 1);
  // Removing the ACL leaves the mode.
  FCHECK(removexattr(f.c_str(), acc) == 0);
  FCHECK(getxattr(f.c_str(), acc, nullptr, 0) < 0 && errno == ENODATA);
  FCHECK(as_user(kNobody, kNogroup, [&] { return can_read(f); }) == 0);
  FCHECK(as_user(1000, 0, [&] { return can_read(f); }) ==
         1);  // the owning group: r-- (the old mask)

  // Inheritance.
  const std::string team = d + "/team";
  FCHECK(mkdir(team.c_str(), 0700) == 0);
  const std::vector<AclEnt> rwx = {
      {kUserObj, 7, 0}, {kUser, 7, kNobody}, {kGroupObj, 0, 0}, {kMask, 7, 0}, {kOther, 0, 0}};
  FCHECK(set_acl(team, acc, rwx));
  FCHECK(set_acl(team, def, rwx));
  mode_t old = umask(077);
  int fd = open((team + "/doc").c_str(), O_WRONLY | O_CREAT | O_EXCL, 0666);
  FCHECK(fd >= 0 && write(fd, "shared\n", 7) == 7);
  if (fd >= 0) close(fd);
  FCHECK(mkdir((team + "/sub").c_str(), 0777) == 0);
  umask(old);
  // The inherited entry is the default's rwx, the mask what the creating open asked for
  // (0666): effective rw-. The umask (077) does not apply.
  auto doc = get_acl(team + "/doc", acc);
  FCHECK(perm_of(doc, kUser, kNobody) == 7);
  FCHECK(perm_of(doc, kMask) == 6);
  FCHECK(mode_of(team + "/doc") == 0660);
  FCHECK(get_acl(team + "/sub", def).size() == 5);  // a directory inherits the default too
  FCHECK(mode_of(team + "/sub") == 0770);
  FCHECK(as_user(kNobody, kNogroup, [&] { return can_read(team + "/doc"); }) == 1);
  FCHECK(as_user(kNobody, kNogroup, [&] { return can_append(team + "/doc"); }) == 1);
  FCHECK(as_user(1000, 1000, [&] { return can_read(team + "/doc"); }) == 0);
  // A default ACL only on directories.
  FCHECK(!set_acl(f, def, rwx) && errno == EACCES);
}

// ---- SEEK_DATA/SEEK_HOLE, FIEMAP, fallocate modes (FallocateSeekAndBlockMap) ----

void check_space(const std::string& d) {
  const std::string f = d + "/sparse";
  int fd = open(f.c_str(), O_RDWR | O_CREAT, 0644);
  FCHECK(fd >= 0);
  if (fd < 0) return;
  struct stat st {};
  FCHECK(fallocate(fd, 0, 0, 1 << 20) == 0);
  FCHECK(fstat(fd, &st) == 0 && st.st_size == 1 << 20);
  FCHECK(st.st_blocks == (256 + 1) * 8);  // 256 data blocks + the indirect block
  FCHECK(fallocate(fd, FALLOC_FL_KEEP_SIZE, 1 << 20, 1 << 20) == 0);
  FCHECK(fstat(fd, &st) == 0 && st.st_size == 1 << 20 && st.st_blocks == (512 + 1) * 8);
  std::string data(8192, 'd');
  FCHECK(pwrite(fd, data.data(), data.size(), 0) == 8192);
  FCHECK(pwrite(fd, data.data(), data.size(), 512 << 10) == 8192);
  FCHECK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096, (512 << 10) - 4096) == 0);
  FCHECK(fstat(fd, &st) == 0 && st.st_blocks == (512 - 127 + 1) * 8);
  // The hole is [4096, 512 KiB); data again from there to the end.
  FCHECK(lseek(fd, 0, SEEK_DATA) == 0);
  FCHECK(lseek(fd, 0, SEEK_HOLE) == 4096);
  FCHECK(lseek(fd, 4096, SEEK_DATA) == 512 << 10);
  FCHECK(lseek(fd, 512 << 10, SEEK_HOLE) == 1 << 20);  // EOF
  FCHECK(lseek(fd, 1 << 20, SEEK_DATA) == -1 && errno == ENXIO);
  FCHECK(lseek(fd, 5000, SEEK_CUR) == (1 << 20) + 5000);  // the others still work
  // FS_IOC_FIEMAP: extents cover exactly the allocated blocks.
  alignas(8) char buf[sizeof(struct fiemap) + 32 * sizeof(struct fiemap_extent)] = {};
  auto* fm = reinterpret_cast<struct fiemap*>(buf);
  fm->fm_length = ~0ull;
  fm->fm_extent_count = 32;
  FCHECK(ioctl(fd, FS_IOC_FIEMAP, fm) == 0);
  uint64_t mapped = 0;
  for (uint32_t i = 0; i < fm->fm_mapped_extents; i++) mapped += fm->fm_extents[i].fe_length;
  FCHECK(mapped == (512ull - 127) * 4096);
  FCHECK(fm->fm_mapped_extents >= 2 && fm->fm_extents[0].fe_logical == 0 &&
         fm->fm_extents[1].fe_logical == 512u << 10);
  FCHECK(fm->fm_mapped_extents > 0 &&
         (fm->fm_extents[fm->fm_mapped_extents - 1].fe_flags & FIEMAP_EXTENT_LAST));
  const uint32_t all = fm->fm_mapped_extents;
  // The same extents through BENTO_IOC_FIEMAP (the FUSE host's ioctl, bentoctl fiemap).
  bento::BentoFiemap bm{};
  bm.length = ~0ull;
  FCHECK(ioctl(fd, bento::kBentoIocFiemap, &bm) == 0 && bm.count == all);
  for (uint32_t i = 0; i < bm.count && i < all; i++)
    FCHECK(bm.extents[i].logical == fm->fm_extents[i].fe_logical &&
           bm.extents[i].physical == fm->fm_extents[i].fe_physical &&
           bm.extents[i].length == fm->fm_extents[i].fe_length);
  FCHECK(bm.count > 0 && (bm.extents[bm.count - 1].flags & FIEMAP_EXTENT_LAST));
  // Counting only (no array), and a window starting mid-file.
  std::memset(buf, 0, sizeof buf);
  fm->fm_length = ~0ull;
  FCHECK(ioctl(fd, FS_IOC_FIEMAP, fm) == 0 && fm->fm_mapped_extents == all);
  std::memset(buf, 0, sizeof buf);
  fm->fm_start = 256 << 10;
  fm->fm_length = ~0ull;
  fm->fm_extent_count = 32;
  FCHECK(ioctl(fd, FS_IOC_FIEMAP, fm) == 0 && fm->fm_mapped_extents >= 1 &&
         fm->fm_extents[0].fe_logical == 512u << 10);
  // The modes a FUSE kernel may refuse reach the fs here.
  FCHECK(fallocate(fd, FALLOC_FL_ZERO_RANGE, 8192, 8192) == 0);
  char z[8192];
  FCHECK(pread(fd, z, sizeof z, 8192) == 8192 && z[0] == 0 && z[8191] == 0);
  off_t before = lseek(fd, 0, SEEK_END);
  FCHECK(fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, 0, 8192) == 0);
  FCHECK(lseek(fd, 0, SEEK_END) == before - 8192);
  FCHECK(pread(fd, z, 4, (512 << 10) - 8192) == 4 && std::memcmp(z, "dddd", 4) == 0);
  FCHECK(fallocate(fd, FALLOC_FL_INSERT_RANGE, 0, 8192) == 0);
  FCHECK(lseek(fd, 0, SEEK_END) == before);
  FCHECK(pread(fd, z, 4, 512 << 10) == 4 && std::memcmp(z, "dddd", 4) == 0);
  FCHECK(lseek(fd, 0, SEEK_DATA) == 8192);  // the inserted range is a hole
  close(fd);
}

// ---- O_TMPFILE (TmpfileLinkatAndBirthTime) ----

void check_tmpfile(const std::string& d) {
  struct statvfs v0 {};
  FCHECK(statvfs(d.c_str(), &v0) == 0);
  int fd = open(d.c_str(), O_TMPFILE | O_RDWR, 0640);
  FCHECK(fd >= 0);
  if (fd < 0) return;
  FCHECK(write(fd, "unnamed", 7) == 7);
  struct stat st {};
  FCHECK(fstat(fd, &st) == 0 && st.st_nlink == 0 && (st.st_mode & 0777) == 0640);
  std::string proc = "/proc/self/fd/" + std::to_string(fd);
  FCHECK(linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, (d + "/named").c_str(), AT_SYMLINK_FOLLOW) == 0);
  FCHECK(fstat(fd, &st) == 0 && st.st_nlink == 1);
  close(fd);
  FCHECK(read_text(d + "/named") == "unnamed");
  int gone = open(d.c_str(), O_TMPFILE | O_WRONLY, 0600);
  FCHECK(gone >= 0);
  std::string big(1 << 20, 'g');
  FCHECK(write(gone, big.data(), big.size()) == static_cast<ssize_t>(big.size()));
  close(gone);
  int excl = open(d.c_str(), O_TMPFILE | O_WRONLY | O_EXCL, 0600);
  FCHECK(excl >= 0);
  std::string proc2 = "/proc/self/fd/" + std::to_string(excl);
  FCHECK(linkat(AT_FDCWD, proc2.c_str(), AT_FDCWD, (d + "/never").c_str(), AT_SYMLINK_FOLLOW) != 0);
  close(excl);
  FCHECK(open((d + "/named").c_str(), O_TMPFILE | O_RDWR, 0600) < 0 && errno == ENOTDIR);
  struct statvfs v1 {};
  FCHECK(statvfs(d.c_str(), &v1) == 0);
  FCHECK(v0.f_ffree - v1.f_ffree == 1);  // the unnamed ones were freed at close
}

// ---- shared writable mappings ----

// Drops the clean cached pages (msync/fsync must have cleaned them): reads go to the fs.
bool drop_caches() {
  int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
  bool ok = fd >= 0 && write(fd, "3", 1) == 1;
  if (fd >= 0) close(fd);
  return ok;
}

std::string mapped_expect() {
  std::string want(3 * 4096 + 100, 'a');  // the last page is partial
  want.replace(10, 5, "STORE");
  want.replace(20, 5, "WRITE");
  want.replace(2 * 4096 + 7, 5, "PAGE2");
  want.replace(3 * 4096 + 90, 3, "END");
  return want;
}

// Stores through MAP_SHARED reach the fs (msync, fsync, close without either), stay
// coherent with write(2) and read(2), never extend the file, move mtime, and show in
// SEEK_DATA; an O_APPEND handle cannot be mapped writable.
void check_shared_mmap(const std::string& d) {
  const std::string f = d + "/mapped";
  const std::string want = mapped_expect();
  FCHECK(write_text(f, std::string(want.size(), 'a')));
  struct stat st0 {};
  FCHECK(stat(f.c_str(), &st0) == 0);
  int fd = open(f.c_str(), O_RDWR);
  FCHECK(fd >= 0);
  void* p = mmap(nullptr, want.size(), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  FCHECK(p != MAP_FAILED);
  if (fd < 0 || p == MAP_FAILED) return;
  char* c = static_cast<char*>(p);
  std::memcpy(c + 10, "STORE", 5);
  std::memcpy(c + 2 * 4096 + 7, "PAGE2", 5);
  std::memcpy(c + 3 * 4096 + 90, "END", 3);
  char buf[8] = {};
  FCHECK(pread(fd, buf, 5, 10) == 5 && std::memcmp(buf, "STORE", 5) == 0);
  // write(2) into a page with unwritten stores: both survive, the mapping sees the write.
  FCHECK(pwrite(fd, "WRITE", 5, 20) == 5);
  FCHECK(std::memcmp(c + 20, "WRITE", 5) == 0 && std::memcmp(c + 10, "STORE", 5) == 0);
  FCHECK(msync(p, want.size(), MS_SYNC) == 0);
  struct stat st1 {};
  FCHECK(fstat(fd, &st1) == 0 && st1.st_size == static_cast<off_t>(want.size()));
  FCHECK(st1.st_mtim.tv_sec > st0.st_mtim.tv_sec ||
         (st1.st_mtim.tv_sec == st0.st_mtim.tv_sec && st1.st_mtim.tv_nsec > st0.st_mtim.tv_nsec));
  munmap(p, want.size());
  close(fd);
  // From the fs, not the page cache.
  FCHECK(drop_caches());
  FCHECK(read_text(f) == want);

  // fsync instead of msync; a read-only shared mapping made writable with mprotect.
  const std::string g = d + "/mprotect";
  FCHECK(write_text(g, std::string(8192, 'b')));
  fd = open(g.c_str(), O_RDWR);
  p = mmap(nullptr, 8192, PROT_READ, MAP_SHARED, fd, 0);
  FCHECK(p != MAP_FAILED && mprotect(p, 8192, PROT_READ | PROT_WRITE) == 0);
  if (p != MAP_FAILED) {
    std::memcpy(static_cast<char*>(p) + 4096, "SYNCED", 6);
    FCHECK(fsync(fd) == 0);
    munmap(p, 8192);
  }
  close(fd);
  FCHECK(drop_caches());
  FCHECK(read_text(g).substr(4096, 6) == "SYNCED");

  // Neither msync nor fsync: close writes the pages (checked again after the remount).
  const std::string h = d + "/unsynced";
  FCHECK(write_text(h, std::string(4096, 'c')));
  fd = open(h.c_str(), O_RDWR);
  p = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  FCHECK(p != MAP_FAILED);
  if (p != MAP_FAILED) {
    std::memcpy(p, "CLOSED", 6);
    munmap(p, 4096);
  }
  close(fd);

  // A store into a hole is data for SEEK_DATA; truncation drops stores past the new end.
  const std::string sp = d + "/sparse-mapped";
  fd = open(sp.c_str(), O_RDWR | O_CREAT, 0644);
  FCHECK(fd >= 0 && ftruncate(fd, 1 << 20) == 0);
  p = mmap(nullptr, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  FCHECK(p != MAP_FAILED);
  if (p != MAP_FAILED) {
    std::memcpy(static_cast<char*>(p) + (512 << 10), "HOLE", 4);
    std::memcpy(static_cast<char*>(p) + (900 << 10), "CUT", 3);
    FCHECK(lseek(fd, 0, SEEK_DATA) == 512 << 10);
    FCHECK(ftruncate(fd, 600 << 10) == 0);
    munmap(p, 1 << 20);
  }
  struct stat st {};
  FCHECK(fstat(fd, &st) == 0 && st.st_size == 600 << 10);
  FCHECK(pread(fd, buf, 4, 512 << 10) == 4 && std::memcmp(buf, "HOLE", 4) == 0);
  close(fd);

  // An O_APPEND handle would write pages at the end of file: refused, read-only allowed.
  fd = open(f.c_str(), O_RDWR | O_APPEND);
  FCHECK(mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED &&
         errno == EINVAL);
  p = mmap(nullptr, 4096, PROT_READ, MAP_SHARED, fd, 0);
  FCHECK(p != MAP_FAILED);
  if (p != MAP_FAILED) {
    FCHECK(mprotect(p, 4096, PROT_READ | PROT_WRITE) != 0 && errno == EACCES);
    munmap(p, 4096);
  }
  close(fd);
}

bool write_proc(const char* path, const std::string& v) {
  int fd = open(path, O_WRONLY);
  bool ok = fd >= 0 && write(fd, v.data(), v.size()) == static_cast<ssize_t>(v.size());
  if (fd >= 0) close(fd);
  return ok;
}

std::string page_tag(char who, int page, int round) {
  char t[32];
  std::snprintf(t, sizeof t, "%c-%03d-%05d", who, page, round);
  return t;
}

// Mapped stores, write(2), fsync, SEEK_DATA and the flusher (every 100 ms) at once on
// one file: a child stores into the even pages through a shared
// mapping, another writes the odd ones with pwrite and the even ones at another offset
// (write(2) racing with stores into the same page), the parent fsyncs and seeks; every
// page ends with its owners' last tags (checked again after the remount).
constexpr int kStressPages = 64, kStressRounds = 300;

void check_mmap_concurrent(const std::string& d) {
  const std::string f = d + "/stress";
  FCHECK(write_text(f, std::string(kStressPages * 4096, '.')));
  FCHECK(write_proc("/proc/sys/vm/dirty_writeback_centisecs", "10"));
  FCHECK(write_proc("/proc/sys/vm/dirty_expire_centisecs", "10"));
  // Progress, shared with the children; a watchdog reports it (and every task's stack)
  // if the three are not done in time, instead of a silent harness timeout.
  auto* progress = static_cast<volatile int*>(
      mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  progress[0] = 0;
  progress[1] = 0;
  progress[2] = 0;
  pid_t watchdog = fork();
  if (watchdog == 0) {
    for (int s = 0; s < 600; s++) {
      sleep(1);
      if (s % 30 == 29)
        std::printf("shared-mmap-concurrent: %d s: mapper round %d, writer round %d, fsyncs %d\n",
                    s + 1, progress[0], progress[1], progress[2]);
      std::fflush(stdout);
    }
    std::printf("shared-mmap-concurrent: STUCK, dumping tasks\n");
    std::fflush(stdout);
    write_proc("/proc/sysrq-trigger", "t");
    _exit(0);
  }
  pid_t mapper = fork();
  if (mapper == 0) {
    int fd = open(f.c_str(), O_RDWR);
    void* p = mmap(nullptr, kStressPages * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) _exit(1);
    char* c = static_cast<char*>(p);
    for (int r = 0; r < kStressRounds; r++) {
      for (int pg = 0; pg < kStressPages; pg += 2) {
        std::string t = page_tag('M', pg, r);
        std::memcpy(c + pg * 4096, t.data(), t.size());
      }
      if (r % 50 == 0 && msync(p, kStressPages * 4096, MS_ASYNC) != 0) _exit(2);
      progress[0] = r + 1;
    }
    _exit(munmap(p, kStressPages * 4096) == 0 && close(fd) == 0 ? 0 : 3);
  }
  pid_t writer = fork();
  if (writer == 0) {
    int fd = open(f.c_str(), O_RDWR);
    int stale = 0;
    for (int r = 0; r < kStressRounds; r++)
      for (int pg = 0; pg < kStressPages; pg++) {
        // Odd pages: the writer's alone. Even pages: the mapper's, and at 2048 the writer's.
        std::string t = page_tag('W', pg, r);
        off_t at = pg * 4096 + (pg % 2 ? 0 : 2048);
        if (pwrite(fd, t.data(), t.size(), at) != static_cast<ssize_t>(t.size())) _exit(1);
        // Read back at once (through the page cache): a page the mapper dirtied during
        // the write must not hide the bytes just written.
        char back[16] = {};
        if (pread(fd, back, t.size(), at) != static_cast<ssize_t>(t.size()) ||
            t.compare(0, t.size(), back, t.size()) != 0)
          stale++;
        progress[1] = r + 1;
      }
    std::printf("shared-mmap-concurrent: %d stale read-backs\n", stale);
    std::fflush(stdout);
    _exit(close(fd) != 0 ? 2 : stale != 0 ? 3 : 0);
  }
  int fd = open(f.c_str(), O_RDWR);
  int syncs = 0;
  for (;;) {
    int st = 0;
    if (mapper != 0 && waitpid(mapper, &st, WNOHANG) == mapper) {
      FCHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
      mapper = 0;
    }
    if (writer != 0 && waitpid(writer, &st, WNOHANG) == writer) {
      FCHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
      writer = 0;
    }
    if (mapper == 0 && writer == 0) break;
    FCHECK(fsync(fd) == 0);
    FCHECK(lseek(fd, 0, SEEK_DATA) == 0);
    progress[2] = ++syncs;
    usleep(5000);
  }
  close(fd);
  kill(watchdog, SIGKILL);
  waitpid(watchdog, nullptr, 0);
  std::string got = read_text(f);
  FCHECK(got.size() == kStressPages * 4096u);
  for (int pg = 0; pg < kStressPages && got.size() == kStressPages * 4096u; pg++) {
    std::string t = page_tag(pg % 2 ? 'W' : 'M', pg, kStressRounds - 1);
    FCHECK(got.compare(pg * 4096, t.size(), t) == 0);
    if (pg % 2 == 0)
      FCHECK(got.compare(pg * 4096 + 2048, 11, page_tag('W', pg, kStressRounds - 1)) == 0);
  }
  std::printf("shared-mmap-concurrent: %d fsyncs meanwhile\n", syncs);
  FCHECK(write_proc("/proc/sys/vm/dirty_writeback_centisecs", "500"));
  FCHECK(write_proc("/proc/sys/vm/dirty_expire_centisecs", "3000"));
}

// ---- file handles ----

// name_to_handle_at of P into *out (a struct file_handle with room for any handle).
bool handle_of(const std::string& p, std::vector<char>* out) {
  out->assign(sizeof(struct file_handle) + MAX_HANDLE_SZ, 0);
  auto* fh = reinterpret_cast<struct file_handle*>(out->data());
  fh->handle_bytes = MAX_HANDLE_SZ;
  int mount_id = 0;
  return name_to_handle_at(AT_FDCWD, p.c_str(), fh, &mount_id, 0) == 0;
}

// Where `features` leaves f's handle for `features-remount` (the guest's /tmp outlives it).
constexpr const char* kSavedHandle = "/tmp/file-handles.bin";

int open_handle(int mfd, std::vector<char>& h, int flags) {
  return open_by_handle_at(mfd, reinterpret_cast<struct file_handle*>(h.data()), flags);
}

std::string read_fd(int fd) {
  std::string out;
  char buf[4096];
  for (ssize_t r; (r = read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(r));
  return out;
}

// open_by_handle_at (and NFS export): a file's and a nested directory's handles open them
// again after the VFS dropped them (the directory reconnected up to the mount through
// ".."), reading the right bytes; a deleted file's handle and the handle of a file whose
// inode number a newer file got are ESTALE, never the other file (OpenByHandleAcrossRemount).
void check_handles(const std::string& d) {
  const std::string dir = d + "/x/y", f = dir + "/f", gone = d + "/gone", old = d + "/old";
  FCHECK(mkdir((d + "/x").c_str(), 0755) == 0 && mkdir(dir.c_str(), 0755) == 0);
  FCHECK(write_text(f, "by handle\n") && write_text(gone, "gone\n") && write_text(old, "old\n"));
  struct stat st_f {
  }, st_old{};
  FCHECK(stat(f.c_str(), &st_f) == 0 && stat(old.c_str(), &st_old) == 0);
  std::vector<char> hf, hd, hg, ho;
  FCHECK(handle_of(f, &hf) && handle_of(dir, &hd) && handle_of(gone, &hg) && handle_of(old, &ho));
  FCHECK(write_file(kSavedHandle, hf.data(), hf.size()));
  const int mfd = open(d.c_str(), O_RDONLY | O_DIRECTORY);
  FCHECK(mfd >= 0);
  // While the VFS still has the inode: the same file.
  int fd = open_handle(mfd, hf, O_RDONLY);
  FCHECK(fd >= 0 && read_fd(fd) == "by handle\n");
  if (fd >= 0) close(fd);
  FCHECK(unlink(gone.c_str()) == 0 && unlink(old.c_str()) == 0);
  // The VFS forgets every unused inode and dentry: handles are decoded from the fs.
  FCHECK(drop_caches());
  fd = open_handle(mfd, hf, O_RDONLY);
  struct stat st {};
  FCHECK(fd >= 0 && fstat(fd, &st) == 0 && st.st_ino == st_f.st_ino);
  FCHECK(fd >= 0 && read_fd(fd) == "by handle\n");
  if (fd >= 0) close(fd);
  const int dfd = open_handle(mfd, hd, O_RDONLY | O_DIRECTORY);
  FCHECK(dfd >= 0);
  if (dfd >= 0) {
    // Reconnected through get_parent (".."): the kernel knows its path again.
    char link[512] = {};
    const std::string self = "/proc/self/fd/" + std::to_string(dfd);
    FCHECK(readlink(self.c_str(), link, sizeof link - 1) > 0 && dir == link);
    fd = openat(dfd, "f", O_RDONLY);
    FCHECK(fd >= 0 && read_fd(fd) == "by handle\n");
    if (fd >= 0) close(fd);
    close(dfd);
  }
  errno = 0;
  FCHECK(open_handle(mfd, hg, O_RDONLY) == -1 && errno == ESTALE);
  // A newer file on old's inode number (freed once the VFS forgot it): old's handle is
  // stale. The allocator hands out inode numbers from a cursor: creates reach the freed
  // number once the cursor wraps (run.sh makes the image with 256 inodes).
  struct statvfs vfs {};
  FCHECK(statvfs(d.c_str(), &vfs) == 0);
  std::string reused;
  unsigned long creates = 0;
  for (; creates < vfs.f_files && reused.empty(); creates++) {
    const std::string p = d + "/new" + std::to_string(creates);
    struct stat sn {};
    if (!write_text(p, "new\n") || stat(p.c_str(), &sn) != 0) {
      FCHECK(!"create");
      break;
    }
    if (sn.st_ino == st_old.st_ino) reused = p;
  }
  std::printf("file-handles: inode %lu reused after %lu creates\n",
              static_cast<unsigned long>(st_old.st_ino), creates);
  FCHECK(!reused.empty());
  if (!reused.empty()) {
    errno = 0;
    FCHECK(open_handle(mfd, ho, O_RDONLY) == -1 && errno == ESTALE);
    FCHECK(drop_caches());
    errno = 0;
    FCHECK(open_handle(mfd, ho, O_RDONLY) == -1 && errno == ESTALE);
    std::vector<char> hn;
    FCHECK(handle_of(reused, &hn));
    fd = open_handle(mfd, hn, O_RDONLY);
    FCHECK(fd >= 0 && read_fd(fd) == "new\n");
    if (fd >= 0) close(fd);
  }
  for (unsigned long i = 0; i < creates; i++) unlink((d + "/new" + std::to_string(i)).c_str());
  close(mfd);
}

}  // namespace

int feature_checks(const std::string& mnt) {
  const std::string d = mnt + "/features";
  std::printf("== feature checks on %s\n", d.c_str());
  if (mkdir(d.c_str(), 0755) != 0) {
    std::printf("CHECK FAILED: mkdir %s: %s\n", d.c_str(), std::strerror(errno));
    return 1;
  }
  const struct {
    const char* name;
    void (*fn)(const std::string&);
  } groups[] = {{"chattr", check_chattr},
                {"acl", check_acls},
                {"seek-fiemap-fallocate", check_space},
                {"tmpfile", check_tmpfile},
                {"shared-mmap", check_shared_mmap},
                {"shared-mmap-concurrent", check_mmap_concurrent},
                {"file-handles", check_handles}};
  for (const auto& g : groups) {
    const int before = g_failed;
    const std::string sub = d + "/" + g.name;
    FCHECK(mkdir(sub.c_str(), 0755) == 0);
    g.fn(sub);
    std::printf("FEATURE %s %s\n", g.name, g_failed == before ? "ok" : "FAILED");
  }
  std::printf("== feature checks: %d failed\n", g_failed);
  return g_failed;
}

int feature_checks_after_remount(const std::string& mnt) {
  const std::string d = mnt + "/features";
  std::printf("== feature checks after a remount on %s\n", d.c_str());
  const std::string sealed = d + "/chattr/sealed";
  const std::string log = d + "/chattr/audit.log";
  FCHECK(getflags(sealed) == FS_IMMUTABLE_FL);
  FCHECK(getflags(log) == FS_APPEND_FL);
  FCHECK(unlink((sealed + "/x").c_str()) != 0 && errno == EPERM);
  const std::string doc = d + "/acl/team/doc";
  FCHECK(as_user(kNobody, kNogroup, [&] { return read_text(doc) == "shared\nmore\n" ? 0 : 1; }) ==
         0);
  FCHECK(as_user(1000, 1000, [&] { return can_read(doc); }) == 0);
  FCHECK(read_text(d + "/tmpfile/named") == "unnamed");
  FCHECK(read_text(d + "/shared-mmap/mapped") == mapped_expect());
  FCHECK(read_text(d + "/shared-mmap/unsynced").substr(0, 6) == "CLOSED");
  FCHECK(read_text(d + "/shared-mmap/mprotect").substr(4096, 6) == "SYNCED");
  std::string stress = read_text(d + "/shared-mmap-concurrent/stress");
  FCHECK(stress.size() == kStressPages * 4096u);
  for (int pg = 0; pg < kStressPages && stress.size() == kStressPages * 4096u; pg++) {
    FCHECK(stress.compare(pg * 4096, 11, page_tag(pg % 2 ? 'W' : 'M', pg, kStressRounds - 1)) == 0);
    if (pg % 2 == 0)
      FCHECK(stress.compare(pg * 4096 + 2048, 11, page_tag('W', pg, kStressRounds - 1)) == 0);
  }
  // Clean up as an administrator would: clear the flags, then remove.
  FCHECK(setflags(sealed, 0) && setflags(sealed + "/x", 0) && setflags(log, 0));
  FCHECK(unlink((sealed + "/x").c_str()) == 0 && rmdir(sealed.c_str()) == 0);
  FCHECK(unlink(log.c_str()) == 0);
  // A file handle outlives the remount (same inode number and generation on disk).
  std::string h = read_text(kSavedHandle);
  std::vector<char> hf(h.begin(), h.end());
  const int mfd = open(d.c_str(), O_RDONLY | O_DIRECTORY);
  const int fd = hf.empty() || mfd < 0 ? -1 : open_handle(mfd, hf, O_RDONLY);
  FCHECK(fd >= 0 && read_fd(fd) == "by handle\n");
  if (fd >= 0) close(fd);
  if (mfd >= 0) close(mfd);
  std::printf("== feature checks after a remount: %d failed\n", g_failed);
  return g_failed;
}
