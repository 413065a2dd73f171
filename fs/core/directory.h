// Hashed directories (FORMAT.md §5, format/dir.h): lookup, insert, remove, iterate in
// hash order. The caller holds the directory's lock (read for lookups, write otherwise)
// and writes the directory inode back after insert (it may grow).
#pragma once

#include <cstdint>
#include <string_view>

#include "core/block_map.h"
#include "format/dir.h"

namespace bentofs {

struct DirEntryInfo {
  uint64_t ino = 0;
  uint8_t type = 0;  // DT_* value
};

// Creates the header and the first bucket of an empty directory.
Status dir_init(const FsCtx& c, Handle& h, DiskInode& dir, uint64_t parent);
// Finds name: true and *out, or false.
Result<bool> dir_find(const FsCtx& c, const DiskInode& dir, std::string_view name,
                      DirEntryInfo* out);
// Adds a name that is not present. ENOSPC when the directory cannot grow.
Status dir_add(const FsCtx& c, Handle& h, DiskInode& dir, std::string_view name, uint64_t ino,
               uint8_t type);
// Removes a name. ENOENT when absent.
Status dir_remove(const FsCtx& c, Handle& h, const DiskInode& dir, std::string_view name);
// Points an existing name at another inode (rename over a target).
Status dir_replace(const FsCtx& c, Handle& h, const DiskInode& dir, std::string_view name,
                   uint64_t ino, uint8_t type);
Result<uint64_t> dir_entry_count(const FsCtx& c, const DiskInode& dir);
Result<uint64_t> dir_parent(const FsCtx& c, const DiskInode& dir);
Status dir_set_parent(const FsCtx& c, Handle& h, const DiskInode& dir, uint64_t parent);

// readdir order: entries sorted by key = hash >> 1. Visits entries with key >= min_key
// until fn returns false. fn(arg, name, ino, type, key).
using DirVisitor = bool (*)(void* arg, std::string_view name, uint64_t ino, uint8_t type,
                            uint64_t key);
Status dir_iterate(const FsCtx& c, const DiskInode& dir, uint64_t min_key, DirVisitor fn,
                   void* arg);
template <typename F>
Status dir_for_each(const FsCtx& c, const DiskInode& dir, uint64_t min_key, F& f) {
  return dir_iterate(
      c, dir, min_key,
      [](void* a, std::string_view n, uint64_t ino, uint8_t t, uint64_t k) {
        return (*static_cast<F*>(a))(n, ino, t, k);
      },
      &f);
}

// Consistency check of the whole directory for fsck: calls fn for each entry; returns
// EUCLEAN with a message in *why (static string) on structural damage.
Status dir_check(const FsCtx& c, const DiskInode& dir, const char** why);

}  // namespace bentofs
