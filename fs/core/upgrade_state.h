// Live-upgrade state of Bento-fs, version 1 (DESIGN.md §3). Everything with semantic
// meaning that is not on disk: lookup and open counts per inode, open handles with their
// flags, the handle counter, allocation cursors and mount options. The journal is
// committed and checkpointed before the state is taken, so the disk is consistent.
// A later version must keep accepting this layout (kind "bento-fs", version 1).
#pragma once

#include <bento/vec.h>

#include <cstdint>

namespace bentofs {

struct BentoFsStateV1 {
  static constexpr char kKind[] = "bento-fs";
  static constexpr uint32_t kVersion = 1;

  struct InodeCounts {
    uint64_t ino;
    uint64_t nlookup;
    uint64_t nopen;
  };
  struct OpenHandle {
    uint64_t fh;
    uint64_t ino;
    uint32_t flags;  // open(2) flags as given at open
    uint32_t is_dir;
  };

  bento::Vec<InodeCounts> inodes;
  bento::Vec<OpenHandle> handles;
  uint64_t next_fh = 1;
  uint64_t block_cursor = 0;
  uint64_t inode_cursor = 0;
  uint32_t commit_ms = 1000;
  uint32_t read_only = 0;
};

}  // namespace bentofs
