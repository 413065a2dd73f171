// memfs inodes and their data.
//
// Locking (see memfs.h): the namespace lock guards the inode table, every Dir, nlink and
// parent; `body` guards the attributes, file pages, symlink target and xattrs. The counters
// that change under the namespace *read* lock (lookups, opens, atime) are atomics.
#pragma once

#include <bento/fs_types.h>
#include <bento/hash_map.h>
#include <bento/memory.h>
#include <bento/result.h>
#include <bento/str.h>
#include <bento/sync.h>
#include <bento/time.h>

#include <atomic>
#include <cstdint>
#include <span>

#include "dir.h"

namespace memfs {

constexpr uint32_t kPageSize = 4096;
// Largest file size; sparse files may be much larger than the reported capacity.
constexpr uint64_t kMaxFileSize = uint64_t{1} << 44;

struct Page {
  uint8_t bytes[kPageSize];
};

// Page-granular sparse file data: absent pages are holes and read as zeroes. Bytes at and
// beyond `size` are always zero (truncate clears them), so extending never exposes old data.
using PageMap = bento::HashMap<uint64_t, bento::UniquePtr<Page>>;

struct InodeBody {
  uint32_t mode = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t rdev = 0;
  uint64_t size = 0;
  bento::Timespec mtime, ctime;
  PageMap pages;                                        // regular files
  bento::String target;                                 // symlinks
  bento::HashMap<bento::String, bento::String> xattrs;  // name -> value
};

struct Inode {
  Inode(bento::Ino i, uint64_t gen, uint32_t type_bits)
      : ino(i), generation(gen), type(type_bits & bento::mode::kTypeMask) {}

  const bento::Ino ino;
  const uint64_t generation;
  const uint32_t type;               // the mode's type bits, readable without any lock
  std::atomic<uint64_t> lookups{0};  // FUSE lookup count
  std::atomic<uint64_t> opens{0};    // open file and directory handles
  std::atomic<int64_t> atime_ns{0};  // updated by read paths that hold only read locks
  uint32_t nlink = 0;                // namespace lock
  bento::Ino parent = 0;             // directories: ".." (namespace lock)
  Dir dir;                           // directories (namespace lock)
  bento::RwLock<InodeBody> body;
};

// Shared by every inode of one file system: pages in use, for statfs.
using PageCounter = std::atomic<int64_t>;

// Copies up to out.size() bytes at off (fewer at end of file).
size_t read_data(const InodeBody& b, uint64_t off, std::span<uint8_t> out);
// Writes at off, growing the file. On ENOMEM after some bytes, returns the short count.
bento::Result<size_t> write_data(InodeBody& b, uint64_t off, std::span<const uint8_t> in,
                                 PageCounter& used);
// Sets the size; shrinking frees pages and zeroes the tail of the last one. Never fails.
void truncate_data(InodeBody& b, uint64_t size, PageCounter& used);

}  // namespace memfs
