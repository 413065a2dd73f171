// Bitmap allocation with per-group free counts and a cursor (FORMAT.md §3).
//
// A group is the 32768 bits of one bitmap block. Free counts per group are rebuilt from
// the bitmaps at mount (one pass over the bitmap blocks) and kept in memory; the cursor
// (next bit to try) is persisted in the superblock at unmount and in upgrade state.
// Allocation skips full groups by count and full 64-bit words inside a group: no linear
// scan of used space. One mutex per allocator (a leaf lock: taken inside inode locks).
#pragma once

#include <bento/sync.h>
#include <bento/vec.h>

#include <cstdint>

#include "core/journal.h"

namespace bentofs {

constexpr uint64_t kBitsPerGroup = 4096 * 8;

class BitmapAllocator {
 public:
  // Counts free bits in [0, nbits) of the bitmap starting at block `start`. Bits below
  // `first_usable` (the static metadata layout: superblock, journal, bitmaps, inode table,
  // provenance log; inode slots 0 and 1) are never handed out or freed, whatever the
  // bitmap says: a damaged bitmap cannot make the allocator give away metadata.
  Status load(BlockDevice& dev, uint64_t start, uint64_t nbits, uint64_t cursor,
              uint64_t first_usable);
  // Allocates a free bit near goal (0: the cursor). ENOSPC when none is left.
  Result<uint64_t> alloc(Handle& h, uint64_t goal);
  // Frees an allocated bit. EUCLEAN when it was not allocated.
  Status free(Handle& h, uint64_t bit);
  // Whether the bit is set (read under the allocator's lock, so never half-updated).
  Result<bool> is_set(BlockDevice& dev, uint64_t bit);
  uint64_t free_count();
  uint64_t cursor();
  uint64_t nbits() const { return nbits_; }
  // Found by the last load(): bits below first_usable marked free, and bits of the last
  // bitmap block past nbits marked free. Both are damage (mkfs sets them all).
  uint64_t reserved_clear() const { return reserved_clear_; }
  uint64_t tail_clear() const { return tail_clear_; }

 private:
  struct State {
    bento::Vec<uint32_t> free_per_group;
    uint64_t free_total = 0;
    uint64_t cursor = 0;
  };
  uint64_t start_ = 0;
  uint64_t nbits_ = 0;
  uint64_t first_usable_ = 0;
  uint64_t reserved_clear_ = 0;
  uint64_t tail_clear_ = 0;
  bento::Mutex<State> st_;
};

}  // namespace bentofs
