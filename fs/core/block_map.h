// File block mapping (FORMAT.md §4): 12 direct pointers, one indirect block (1024
// pointers), one double-indirect block (1024 indirect blocks). Pointers are 32-bit block
// numbers; 0 is a hole. The caller holds the inode's lock and writes the inode back.
#pragma once

#include <bento/block_device.h>

#include <cstdint>

#include "core/allocator.h"
#include "core/journal.h"
#include "format/inode.h"

namespace bentofs {

struct FsCtx {
  BlockDevice* dev = nullptr;
  BitmapAllocator* balloc = nullptr;
  uint64_t data_start = 0;  // pointers outside [data_start, block_count) are damage
  uint64_t block_count = ~0ULL;
};

// Physical block of logical block lblk, or 0 for a hole.
Result<uint64_t> bmap_lookup(const FsCtx& c, const DiskInode& di, uint64_t lblk);
// Maps lblk, allocating the data block (and indirect blocks) when needed. *fresh tells
// the caller the data block is new (its buffer has been zeroed and registered).
Result<uint64_t> bmap_alloc(const FsCtx& c, Handle& h, DiskInode& di, uint64_t lblk, bool* fresh);
// Frees mapped data blocks in [from, to), highest first, at most `budget` of them, and
// indirect blocks that become empty. Returns the bound below which nothing is freed yet
// (== from when the whole range is done).
Result<uint64_t> bmap_free_range(const FsCtx& c, Handle& h, DiskInode& di, uint64_t from,
                                 uint64_t to, uint64_t budget);

}  // namespace bentofs
