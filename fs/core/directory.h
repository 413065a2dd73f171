// Hashed directories (FORMAT.md §5, format/dir.h): lookup, insert, remove, iterate in
// hash order. The caller holds the directory's lock (read for lookups, write otherwise)
// and writes the directory inode back after insert (it may grow).
//
// With ro_compat DIR_CSUM (FsCtx::dir_csum) every block read is verified against its
// checksum first (a mismatch: EUCLEAN and one log line naming the directory inode and the
// block) and every block changed is sealed once before the operation returns, inside the
// caller's journal handle. The checksum binds a block to its directory: the inode number
// (DirIno) and generation (the DiskInode's) and the block's logical index.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/block_map.h"
#include "format/dir.h"

namespace bentofs {

// The directory's inode number: part of its blocks' checksums. A type of its own so that
// it is never confused with the inode number an entry names.
enum class DirIno : uint64_t {};

struct DirEntryInfo {
  uint64_t ino = 0;
  uint8_t type = 0;  // DT_* value
};

// Creates the header and the first bucket of an empty directory.
// dir.generation must be final: it is part of the blocks' checksums.
Status dir_init(const FsCtx& c, Handle& h, DiskInode& dir, DirIno dino, uint64_t parent);
// Finds name: true and *out, or false.
Result<bool> dir_find(const FsCtx& c, const DiskInode& dir, DirIno dino, std::string_view name,
                      DirEntryInfo* out);
// Adds a name that is not present. ENOSPC when the directory cannot grow.
Status dir_add(const FsCtx& c, Handle& h, DiskInode& dir, DirIno dino, std::string_view name,
               uint64_t ino, uint8_t type);
// Removes a name. ENOENT when absent.
Status dir_remove(const FsCtx& c, Handle& h, const DiskInode& dir, DirIno dino,
                  std::string_view name);
// Points an existing name at another inode (rename over a target).
Status dir_replace(const FsCtx& c, Handle& h, const DiskInode& dir, DirIno dino,
                   std::string_view name, uint64_t ino, uint8_t type);
Result<uint64_t> dir_entry_count(const FsCtx& c, const DiskInode& dir, DirIno dino);
Result<uint64_t> dir_parent(const FsCtx& c, const DiskInode& dir, DirIno dino);
Status dir_set_parent(const FsCtx& c, Handle& h, const DiskInode& dir, DirIno dino,
                      uint64_t parent);

// readdir order: entries sorted by key = hash >> 1. Visits entries with key >= min_key
// until fn returns false. fn(arg, name, ino, type, key).
using DirVisitor = bool (*)(void* arg, std::string_view name, uint64_t ino, uint8_t type,
                            uint64_t key);
Status dir_iterate(const FsCtx& c, const DiskInode& dir, DirIno dino, uint64_t min_key,
                   DirVisitor fn, void* arg);
template <typename F>
Status dir_for_each(const FsCtx& c, const DiskInode& dir, DirIno dino, uint64_t min_key, F& f) {
  return dir_iterate(
      c, dir, dino, min_key,
      [](void* a, std::string_view n, uint64_t ino, uint8_t t, uint64_t k) {
        return (*static_cast<F*>(a))(n, ino, t, k);
      },
      &f);
}

// Consistency check of the whole directory for fsck: returns EUCLEAN with a message in
// *why (static string) on structural damage or a checksum mismatch (then *bad_lblk, if
// given, is the logical block that failed).
Status dir_check(const FsCtx& c, const DiskInode& dir, DirIno dino, const char** why,
                 uint64_t* bad_lblk = nullptr);

// fsck's salvage of a damaged directory: fn for every entry that validates on its own (a
// name of 1..255 bytes, no '/' or NUL, not "." or "..", stored hash == the name's hash) in
// every bucket block the directory maps, whatever the block's header, position or
// checksum say. Names may repeat (the caller keeps the first). Reads only.
Status dir_salvage(const FsCtx& c, const DiskInode& dir, DirVisitor fn, void* arg);
template <typename F>
Status dir_salvage_each(const FsCtx& c, const DiskInode& dir, F& f) {
  return dir_salvage(
      c, dir,
      [](void* a, std::string_view n, uint64_t ino, uint8_t t, uint64_t k) {
        return (*static_cast<F*>(a))(n, ino, t, k);
      },
      &f);
}

}  // namespace bentofs
