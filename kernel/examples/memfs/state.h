// What memfs hands from one instance to the next in a live upgrade, and the open-handle
// table it shares with memfs.cc.
//
// The payload moves the containers themselves (the inode table and the handle table are
// moved, not copied): an upgrade is O(1) whatever the amount of data. The price is that
// Inode's layout is part of the format: any change to Inode, InodeBody, Dir, Handle or
// this struct must bump kVersion (and the new code must still accept the previous one).
#pragma once

#include <bento/fs_types.h>
#include <bento/hash_map.h>
#include <bento/memory.h>

#include <cstdint>

#include "inode.h"

namespace memfs {

using InodeTable = bento::HashMap<bento::Ino, bento::UniquePtr<Inode>>;

// An open file or directory, with its open(2) flags (the tracking version attributes
// closes of files opened before an upgrade by these).
struct Handle {
  bento::Ino ino = 0;
  uint32_t flags = 0;
  bool dir = false;
};

struct HandleTable {
  bento::HashMap<bento::Fh, Handle> map;
  bento::Fh next = 1;  // 0 is kNoFh
};

struct MemfsStateV1 {
  static constexpr char kKind[] = "bento-memfs";
  static constexpr uint32_t kVersion = 1;

  InodeTable inodes;
  HandleTable handles;
  uint64_t next_ino = 0;
  uint64_t next_generation = 0;
  int64_t pages_used = 0;
};

}  // namespace memfs
