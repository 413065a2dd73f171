// Live-upgrade state of Bento-fs (DESIGN.md §3). Everything with semantic meaning that is
// not on disk: lookup and open counts per inode, open handles with their flags, the handle
// counter, allocation cursors, mount options and (v2) the journal itself.
//
// Version 1 (older modules): the journal was committed and checkpointed before the state
// was taken, so the disk was consistent and the new instance mounted it normally (replay).
// Still accepted.
//
// Version 2 (this module): nothing is flushed. The payload owns the old instance's Journal
// object (by pointer), with its commit thread stopped at a safe point but nothing
// committed: the running transaction's blocks, the committed-but-not-checkpointed blocks
// (both as pinned, clean buffers of the host's BlockDevice cache, which survives the
// upgrade), the log head, sequence numbers, reservation counters, pending commit /
// checkpoint requests, the next commit deadline and the sticky error. The new instance
// adopts the object and starts a commit thread from its own code (the old thread runs the
// old module's code: it is retired, not joined, inside the pause, and the old instance
// joins it before the host unloads the old module). Journal has no virtual functions; its member
// functions are compiled into each module, so the object outlives the old .so as long as
// both modules agree on its layout (and on that of the bento/ containers and sync types
// it holds): ANY change to Journal's layout must bump kVersion. journal_layout records
// sizeof(Journal) as a cheap cross-check. The buffers hold the BlockDevice's address: the
// new instance must be given the same device (EINVAL otherwise, state untouched).
// A dropped V2 payload (upgrade and rollback both failed) destroys the journal without
// committing: like a crash, the disk stays consistent at the last commit.
//
// Journal's layout changed again with API version 3 (a checkpoint's `going_home` set,
// issue 18) without a state version: a module of API 2 is refused by any host of API 3,
// so no two modules that disagree on it can meet, and journal_layout cross-checks. The
// flag of work deferred to the commit hook (`deferred`, issue 18) grew it again: a module
// built before it is refused by journal_layout (EINVAL, the upgrade rolled back).
//
// Version 3 (this module, issue 19): V2 plus the atime mount options (relatime/strictatime/
// noatime, nodiratime, lazytime) and, per inode, whether it is an O_TMPFILE inode link() may
// still name. V2 and V1 states (older modules) are still accepted, with the default atime
// policy; a V2 module refuses a V3 state, so an upgrade back to one is rolled back.
#pragma once

#include <bento/memory.h>
#include <bento/vec.h>

#include <cstdint>

#include "core/journal.h"

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

struct BentoFsStateV2 {
  static constexpr char kKind[] = "bento-fs";
  static constexpr uint32_t kVersion = 2;

  using InodeCounts = BentoFsStateV1::InodeCounts;
  using OpenHandle = BentoFsStateV1::OpenHandle;

  bento::Vec<InodeCounts> inodes;
  bento::Vec<OpenHandle> handles;
  uint64_t next_fh = 1;
  uint64_t block_cursor = 0;  // allocator cursors (the bitmaps themselves are in the cache)
  uint64_t inode_cursor = 0;
  uint32_t commit_ms = 1000;
  uint32_t read_only = 0;
  uint32_t next_generation = 1;  // inode generation counter
  uint64_t journal_layout = sizeof(Journal);
  bento::UniquePtr<Journal> journal;  // suspended (see above); never null in a made state
};

struct BentoFsStateV3 {
  static constexpr char kKind[] = "bento-fs";
  static constexpr uint32_t kVersion = 3;

  struct InodeCounts {
    uint64_t ino;
    uint64_t nlookup;
    uint64_t nopen;
    uint32_t linkable;  // an unnamed O_TMPFILE inode link() may name
    uint32_t reserved;
  };
  using OpenHandle = BentoFsStateV1::OpenHandle;

  bento::Vec<InodeCounts> inodes;
  bento::Vec<OpenHandle> handles;
  uint64_t next_fh = 1;
  uint64_t block_cursor = 0;
  uint64_t inode_cursor = 0;
  uint32_t commit_ms = 1000;
  uint32_t read_only = 0;
  uint32_t next_generation = 1;
  uint32_t atime_policy = 0;  // BentoFs::AtimePolicy
  uint32_t nodiratime = 0;
  uint32_t lazytime = 0;
  uint64_t journal_layout = sizeof(Journal);
  bento::UniquePtr<Journal> journal;
};

}  // namespace bentofs
