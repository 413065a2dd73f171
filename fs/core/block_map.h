// File block mapping (FORMAT.md §4.1): 12 direct pointers, then trees of pointer blocks of
// height 1 (indirect), 2 (double-indirect) and, with feature BIGFILE, 3 (triple) and 4
// (quadruple). Pointers are 32-bit block numbers; 0 is a hole. The caller holds the inode's
// lock and writes the inode back.
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
  uint64_t max_blocks = kMaxFileBlocksV1;  // logical blocks a file may map (feature BIGFILE)
  bool dir_csum = false;  // ro_compat DIR_CSUM: directory blocks are checksummed (format/dir.h)
  uint32_t dir_seed = 0;  // dir_csum_seed of the superblock's uuid
};

// Physical block of logical block lblk, or 0 for a hole.
Result<uint64_t> bmap_lookup(const FsCtx& c, const DiskInode& di, uint64_t lblk);
// Maps lblk, allocating the data block (and pointer blocks) when needed. *fresh tells
// the caller the data block is new (its buffer has been zeroed and registered).
Result<uint64_t> bmap_alloc(const FsCtx& c, Handle& h, DiskInode& di, uint64_t lblk, bool* fresh);
// Frees mapped data blocks in [from, to), highest first, at most `budget` of them, and
// pointer blocks that become empty. Returns the bound below which nothing is freed yet
// (== from when the whole range is done).
Result<uint64_t> bmap_free_range(const FsCtx& c, Handle& h, DiskInode& di, uint64_t from,
                                 uint64_t to, uint64_t budget);
// The first mapped logical block >= from (and < to), or `to` when there is none. Skips
// unmapped subtrees whole, so it is fast on sparse files (SEEK_DATA, FIEMAP).
Result<uint64_t> bmap_next_mapped(const FsCtx& c, const DiskInode& di, uint64_t from, uint64_t to);
// The first unmapped logical block >= from (and < to), or `to` when all are mapped.
Result<uint64_t> bmap_next_hole(const FsCtx& c, const DiskInode& di, uint64_t from, uint64_t to);
// Points lblk at physical block pb (allocating pointer blocks on the way), or unmaps it
// (pb == 0) without freeing the data block: for moving blocks within a file (collapse and
// insert range). Pointer blocks that become empty are freed.
Status bmap_set(const FsCtx& c, Handle& h, DiskInode& di, uint64_t lblk, uint64_t pb);

}  // namespace bentofs
