// Types shared by the File Operations API and its hosts. Constants are the Linux ABI
// values, spelled out here because the fs is compiled freestanding (no libc headers).
#pragma once

#include <bento/time.h>

#include <cstdint>
#include <string_view>

namespace bento {

using Ino = uint64_t;  // inode number; kRootIno is the root directory
using Fh = uint64_t;   // file handle chosen by the fs at open/opendir/create
constexpr Ino kRootIno = 1;
constexpr Fh kNoFh = 0;  // "no handle": file systems hand out non-zero handles

// File type and permission bits of st_mode.
namespace mode {
constexpr uint32_t kTypeMask = 0170000;
constexpr uint32_t kSocket = 0140000;
constexpr uint32_t kSymlink = 0120000;
constexpr uint32_t kRegular = 0100000;
constexpr uint32_t kBlockDev = 0060000;
constexpr uint32_t kDirectory = 0040000;
constexpr uint32_t kCharDev = 0020000;
constexpr uint32_t kFifo = 0010000;
constexpr uint32_t kSetUid = 04000;
constexpr uint32_t kSetGid = 02000;
constexpr uint32_t kSticky = 01000;
constexpr uint32_t kPermMask = 07777;
constexpr bool is_dir(uint32_t m) {
  return (m & kTypeMask) == kDirectory;
}
constexpr bool is_reg(uint32_t m) {
  return (m & kTypeMask) == kRegular;
}
constexpr bool is_symlink(uint32_t m) {
  return (m & kTypeMask) == kSymlink;
}
// d_type for readdir (DT_*): the type bits shifted down.
constexpr uint8_t dirent_type(uint32_t m) {
  return static_cast<uint8_t>((m & kTypeMask) >> 12);
}
}  // namespace mode

// open(2) flags (x86-64 / asm-generic values).
namespace oflag {
constexpr uint32_t kAccessMask = 03;
constexpr uint32_t kReadOnly = 00;
constexpr uint32_t kWriteOnly = 01;
constexpr uint32_t kReadWrite = 02;
constexpr uint32_t kCreate = 0100;
constexpr uint32_t kExclusive = 0200;
constexpr uint32_t kNoCtty = 0400;
constexpr uint32_t kTruncate = 01000;
constexpr uint32_t kAppend = 02000;
constexpr uint32_t kNonBlock = 04000;
constexpr uint32_t kDirectory = 0200000;
constexpr uint32_t kNoFollow = 0400000;
constexpr uint32_t kDirect = 040000;
constexpr uint32_t kSync = 04010000;
constexpr uint32_t kTmpFile = 020200000;  // O_TMPFILE (includes O_DIRECTORY)
// The kernel's __FMODE_EXEC: set in the open flags of an execve() (and uselib) open, which
// needs execute permission, not read (an execute-only file is runnable by anyone with x).
constexpr uint32_t kExecOpen = 040;
constexpr bool writes(uint32_t f) {
  return (f & kAccessMask) != kReadOnly;
}
constexpr bool reads(uint32_t f) {
  return (f & kAccessMask) != kWriteOnly;
}
}  // namespace oflag

// fallocate(2) modes (FALLOC_FL_*).
namespace falloc {
constexpr uint32_t kKeepSize = 0x01;       // do not change the size
constexpr uint32_t kPunchHole = 0x02;      // deallocate (with kKeepSize)
constexpr uint32_t kCollapseRange = 0x08;  // remove a block-aligned range, shift the rest down
constexpr uint32_t kZeroRange = 0x10;      // make the range read as zeroes, allocated
constexpr uint32_t kInsertRange = 0x20;    // insert a block-aligned hole, shift the rest up
}  // namespace falloc

// lseek(2) whence values the file system answers (SEEK_SET/CUR/END never reach it).
namespace seek {
constexpr uint32_t kData = 3;  // SEEK_DATA: the next offset >= off that holds data
constexpr uint32_t kHole = 4;  // SEEK_HOLE: the next offset >= off in a hole (EOF counts)
}  // namespace seek

// One extent of a file's block map (FIEMAP): `length` bytes of the file at `logical` are
// stored at byte `physical` of the device.
struct Extent {
  uint64_t logical = 0;
  uint64_t physical = 0;
  uint64_t length = 0;
  uint32_t flags = 0;  // extent_flag bits
};
namespace extent_flag {
constexpr uint32_t kLast = 0x1;  // FIEMAP_EXTENT_LAST: no extent of the file follows
}  // namespace extent_flag

// access(2) masks.
namespace amode {
constexpr uint32_t kExists = 0;
constexpr uint32_t kExec = 1;
constexpr uint32_t kWrite = 2;
constexpr uint32_t kRead = 4;
}  // namespace amode

// rename(2) / renameat2 flags.
namespace rename_flag {
constexpr uint32_t kNoReplace = 1;
constexpr uint32_t kExchange = 2;
constexpr uint32_t kWhiteout = 4;
}  // namespace rename_flag

// setxattr flags.
namespace xattr_flag {
constexpr uint32_t kCreate = 1;
constexpr uint32_t kReplace = 2;
}  // namespace xattr_flag

constexpr uint32_t kNameMax = 255;   // longest file name, in bytes
constexpr uint32_t kPathMax = 4096;  // longest symlink target, in bytes, with its NUL

// Who is calling. pid is the calling thread's id as the kernel reports it to FUSE.
struct Request {
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t pid = 0;
  uint32_t umask = 022;
  // Supplementary groups, when the host knows them (permission checks use them).
  const uint32_t* groups = nullptr;
  uint32_t ngroups = 0;
};

struct Attr {
  Ino ino = 0;
  uint64_t size = 0;
  uint64_t blocks = 0;  // in 512-byte units
  Timespec atime, mtime, ctime;
  Timespec btime;          // birth (creation) time, when has_btime (statx STATX_BTIME)
  bool has_btime = false;  // the fs keeps birth times
  uint32_t mode = 0;
  uint32_t nlink = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t rdev = 0;
  uint32_t blksize = 4096;
};

// The reply to lookup/mknod/mkdir/symlink/link/create: each one counts as a lookup the
// kernel will later forget().
struct Entry {
  Ino ino = 0;
  uint64_t generation = 0;
  Attr attr;
  // How long the kernel may cache the name and the attributes (0: always ask).
  uint32_t entry_timeout_ms = 0;
  uint32_t attr_timeout_ms = 0;
};

struct OpenReply {
  Fh fh = kNoFh;
  bool direct_io = false;   // bypass the page cache for this open
  bool keep_cache = false;  // cached pages remain valid (the file did not change behind us)
  bool nonseekable = false;
  bool cache_readdir = false;  // directories: the kernel may cache readdir results
};

struct CreateReply {
  Entry entry;
  OpenReply open;
};

// What setattr changes: a bit set in `valid` for each field that is meaningful.
struct SetAttr {
  enum : uint32_t {
    kMode = 1u << 0,
    kUid = 1u << 1,
    kGid = 1u << 2,
    kSize = 1u << 3,
    kAtime = 1u << 4,
    kMtime = 1u << 5,
    kAtimeNow = 1u << 7,
    kMtimeNow = 1u << 8,
    kCtime = 1u << 10,
  };
  uint32_t valid = 0;
  uint32_t mode = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t size = 0;
  Timespec atime, mtime, ctime;
};

struct StatFs {
  uint32_t block_size = 4096;
  uint64_t blocks = 0;
  uint64_t blocks_free = 0;
  uint64_t blocks_avail = 0;
  uint64_t files = 0;
  uint64_t files_free = 0;
  uint32_t name_max = kNameMax;
};

// A POSIX record lock (fcntl F_GETLK/F_SETLK).
struct FileLock {
  uint64_t start = 0;
  uint64_t end = 0;   // inclusive; UINT64_MAX for "to the end"
  uint32_t type = 0;  // F_RDLCK 0, F_WRLCK 1, F_UNLCK 2
  uint32_t pid = 0;
};

// readdir's output. The fs calls add() for each entry from `offset` on, until add()
// returns false (buffer full); next_offset is the value a later readdir continues from.
// In "plus" mode (wants_entries()) the fs passes the full Entry and, for every entry
// add() accepted other than "." and "..", counts one lookup (the kernel will forget it).
class DirFiller {
 public:
  virtual bool wants_entries() const = 0;
  virtual bool add(std::string_view name, Ino ino, uint32_t mode, uint64_t next_offset,
                   const Entry* entry) = 0;

 protected:
  ~DirFiller() = default;
};

// Fixed at mount: features the FUSE connection negotiates once.
struct Capabilities {
  bool posix_locks = false;     // getlk/setlk implemented (else the kernel locks locally)
  bool writeback_cache = true;  // the kernel may cache writes (fs tolerates it)
  bool needs_open = true;       // open/release must reach the fs (false allows FUSE no-open)
  // The fs drops setuid/setgid itself on write and truncate by non-root callers and on
  // chown, as Linux does; the kernel then skips a GETATTR before every chown and the
  // security.capability lookup before most writes (FUSE handle_killpriv_v2).
  bool clears_setid_bits = false;
  // Inode numbers and generations are stable across remounts and lookup(ino, ".") returns
  // ino itself (any type) and lookup(dir, "..") its parent: the kernel may hand out file
  // handles (name_to_handle_at/open_by_handle_at, NFS export) that survive a remount.
  bool export_support = false;
  // The fs keeps POSIX ACLs (system.posix_acl_access/default) and honours them itself; the
  // kernel may then cache and check them too (FUSE_POSIX_ACL).
  bool posix_acls = false;
  // The fs applies Request::umask itself (skipping it under a default ACL, as POSIX.1e
  // requires): the host passes modes unmasked (FUSE_DONT_MASK).
  bool applies_umask = false;
};

struct InitArgs {
  std::string_view options;  // the module's mount options, comma-separated
  bool read_only = false;
};

// The VFS atime mount options. Hosts hand them to the module (InitArgs::options), never to
// FUSE: the kernel does not maintain atime for FUSE inodes, so whoever keeps atime is the
// file system, and libfuse would reject relatime, strictatime, lazytime... A module that
// keeps no atime accepts and ignores them.
inline bool is_atime_option(std::string_view o) {
  constexpr std::string_view kAll[] = {"atime",         "noatime",   "relatime",   "norelatime",
                                       "strictatime",   "diratime",  "nodiratime", "lazytime",
                                       "nostrictatime", "nolazytime"};
  for (std::string_view k : kAll)
    if (o == k) return true;
  return false;
}

// Takes the next comma-separated option off the front of `opts` (empty ones included).
// No find/substr: their libstdc++ forms need memchr and exception helpers (freestanding).
inline std::string_view next_option(std::string_view& opts) {
  size_t comma = 0;
  while (comma < opts.size() && opts[comma] != ',') comma++;
  std::string_view o(opts.data(), comma);
  opts = comma == opts.size() ? std::string_view()
                              : std::string_view(opts.data() + comma + 1, opts.size() - comma - 1);
  return o;
}

}  // namespace bento
