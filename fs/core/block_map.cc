// Block mapping: see block_map.h. One generic walk over the regions: region r covers
// logical blocks [base_r, base_r + 1024^r) and is a tree of height r under its root pointer
// (r = 0: the 12 direct pointers themselves).
#include "core/block_map.h"

#include <bento/log.h>

#include "format/endian.h"

namespace bentofs {

namespace {

struct Region {
  uint64_t base;   // first logical block
  uint64_t count;  // logical blocks it covers
  uint32_t depth;  // tree height (0: direct pointers in the inode)
};

constexpr uint64_t kSpan1 = kPtrsPerBlock;
constexpr uint64_t kSpan2 = kSpan1 * kPtrsPerBlock;
constexpr uint64_t kSpan3 = kSpan2 * kPtrsPerBlock;
constexpr uint64_t kSpan4 = kSpan3 * kPtrsPerBlock;
constexpr Region kRegions[] = {
    {0, kNumDirect, 0},
    {kNumDirect, kSpan1, 1},
    {kNumDirect + kSpan1, kSpan2, 2},
    {kNumDirect + kSpan1 + kSpan2, kSpan3, 3},
    {kNumDirect + kSpan1 + kSpan2 + kSpan3, kSpan4, 4},
};
constexpr uint32_t kNumRegions = sizeof(kRegions) / sizeof(kRegions[0]);
static_assert(kRegions[3].base == kMaxFileBlocksV1);

Le32* root_of(DiskInode& di, uint32_t r) {
  switch (r) {
    case 1:
      return &di.indirect;
    case 2:
      return &di.dindirect;
    case 3:
      return &di.tindirect;
    case 4:
      return &di.qindirect;
    default:
      return nullptr;
  }
}
uint32_t root_value(const DiskInode& di, uint32_t r) {
  return root_of(const_cast<DiskInode&>(di), r)->get();
}

// Data blocks covered by one entry of a pointer block of height `depth`.
uint64_t entry_span(uint32_t depth) {
  return uint64_t{1} << (kPtrShift * (depth - 1));
}

uint32_t region_of(uint64_t lblk) {
  uint32_t r = 0;
  while (r + 1 < kNumRegions && lblk >= kRegions[r + 1].base) r++;
  return r;
}

Result<uint64_t> checked(const FsCtx& c, uint64_t b) {
  if (b != 0 && (b < c.data_start || b >= c.block_count)) return Err(EUCLEAN);
  return b;
}

// A pointer block read from disk is checked whole before any entry is used: a damaged
// one (an entry outside the data area, even past EOF) is EUCLEAN, not a wild pointer that
// a later truncate or write would follow. 1024 compares per read: cheap next to the I/O.
Result<uint64_t> read_ptr(const FsCtx& c, uint64_t block, uint32_t idx) {
  BENTO_ASSIGN_OR_RETURN(BufferHead bh, c.dev->bread(block));
  const uint8_t* p = bh.data().data();
  uint32_t bad = 0;
  for (uint32_t i = 0; i < kPtrsPerBlock; i++) {
    uint32_t v = load_le32(p + 4 * i);
    bad |= static_cast<uint32_t>(v != 0 && (v < c.data_start || v >= c.block_count));
  }
  if (bad != 0) {
    bento::log(bento::LogLevel::kError,
               "bento-fs: a pointer block names blocks outside the data area; run fsck.bento");
    return Err(EUCLEAN);
  }
  return load_le32(p + 4 * idx);
}

Status write_ptr(Handle& h, uint64_t block, uint32_t idx, uint64_t value) {
  BENTO_ASSIGN_OR_RETURN(BufferHead bh, h.get_write(block));
  store_le32(bh.data_mut().data() + 4 * idx, static_cast<uint32_t>(value));
  return Status::Ok();
}

Result<uint64_t> new_block(const FsCtx& c, Handle& h, DiskInode& di, uint64_t goal = 0) {
  BENTO_ASSIGN_OR_RETURN(uint64_t b, c.balloc->alloc(h, goal));
  BENTO_ASSIGN_OR_RETURN(BufferHead bh, h.get_new(b));  // zeroed, journaled
  di.blocks.set(di.blocks.get() + 1);
  return b;
}

Status free_block(const FsCtx& c, Handle& h, DiskInode& di, uint64_t b) {
  BENTO_TRY(checked(c, b));  // never free metadata named by a damaged pointer
  BENTO_TRY(c.balloc->free(h, b));
  di.blocks.set(di.blocks.get() - 1);
  return Status::Ok();
}

Result<bool> all_zero(const FsCtx& c, uint64_t block) {
  BENTO_ASSIGN_OR_RETURN(BufferHead bh, c.dev->bread(block));
  const uint8_t* p = bh.data().data();
  for (uint32_t i = 0; i < 4096; i += 8)
    if (load_le64(p + i) != 0) return false;
  return true;
}

// Frees data blocks with relative index in [lo, hi) under pointer block `blk` of height
// `depth`, highest first, within *budget, and the pointer blocks below blk that become
// empty. Returns the relative bound below which nothing is freed yet (lo when done).
Result<uint64_t> free_tree(const FsCtx& c, Handle& h, DiskInode& di, uint64_t blk, uint32_t depth,
                           uint64_t lo, uint64_t hi, uint64_t* budget) {
  const uint64_t span = entry_span(depth);
  const uint32_t first = static_cast<uint32_t>(lo / span);
  const uint32_t last = static_cast<uint32_t>((hi - 1) / span);
  for (uint32_t i = last + 1; i-- > first;) {
    BENTO_ASSIGN_OR_RETURN(uint64_t child, read_ptr(c, blk, i));
    if (child == 0) continue;
    const uint64_t base = i * span;
    if (depth == 1) {
      if (*budget == 0) return base + 1;
      BENTO_TRY(free_block(c, h, di, child));
      BENTO_TRY(write_ptr(h, blk, i, 0));
      (*budget)--;
      continue;
    }
    uint64_t clo = lo > base ? lo - base : 0;
    uint64_t chi = hi < base + span ? hi - base : span;
    BENTO_ASSIGN_OR_RETURN(uint64_t stop, free_tree(c, h, di, child, depth - 1, clo, chi, budget));
    BENTO_ASSIGN_OR_RETURN(bool empty, all_zero(c, child));
    if (empty) {
      BENTO_TRY(free_block(c, h, di, child));
      BENTO_TRY(write_ptr(h, blk, i, 0));
    }
    if (stop > clo) return base + stop;
  }
  return lo;
}

// First mapped relative index in [lo, hi) under blk (height depth), or hi.
Result<uint64_t> next_in_tree(const FsCtx& c, uint64_t blk, uint32_t depth, uint64_t lo,
                              uint64_t hi) {
  const uint64_t span = entry_span(depth);
  BENTO_ASSIGN_OR_RETURN(BufferHead bh, c.dev->bread(blk));
  for (uint64_t i = lo / span; i * span < hi && i < kPtrsPerBlock; i++) {
    uint64_t child = load_le32(bh.data().data() + 4 * i);
    if (child == 0) continue;
    BENTO_TRY(checked(c, child));
    const uint64_t base = i * span;
    if (depth == 1) return base < lo ? lo : base;
    uint64_t clo = lo > base ? lo - base : 0;
    uint64_t chi = hi < base + span ? hi - base : span;
    BENTO_ASSIGN_OR_RETURN(uint64_t found, next_in_tree(c, child, depth - 1, clo, chi));
    if (found < chi) return base + found;
  }
  return hi;
}

// First unmapped relative index in [lo, hi) under blk (height depth), or hi.
Result<uint64_t> hole_in_tree(const FsCtx& c, uint64_t blk, uint32_t depth, uint64_t lo,
                              uint64_t hi) {
  const uint64_t span = entry_span(depth);
  BENTO_ASSIGN_OR_RETURN(BufferHead bh, c.dev->bread(blk));
  for (uint64_t i = lo / span; i * span < hi && i < kPtrsPerBlock; i++) {
    uint64_t child = load_le32(bh.data().data() + 4 * i);
    const uint64_t base = i * span;
    if (child == 0) return base < lo ? lo : base;
    if (depth == 1) continue;
    BENTO_TRY(checked(c, child));
    uint64_t clo = lo > base ? lo - base : 0;
    uint64_t chi = hi < base + span ? hi - base : span;
    BENTO_ASSIGN_OR_RETURN(uint64_t found, hole_in_tree(c, child, depth - 1, clo, chi));
    if (found < chi) return base + found;
  }
  return hi;
}

}  // namespace

Result<uint64_t> bmap_next_hole(const FsCtx& c, const DiskInode& di, uint64_t from, uint64_t to) {
  if (to > c.max_blocks) to = c.max_blocks;
  if (from >= to) return to;
  for (uint32_t r = region_of(from); r < kNumRegions && kRegions[r].base < to; r++) {
    const Region& g = kRegions[r];
    uint64_t lo = from > g.base ? from - g.base : 0;
    uint64_t hi = to < g.base + g.count ? to - g.base : g.count;
    if (r == 0) {
      for (uint64_t i = lo; i < hi; i++)
        if (di.direct[i].get() == 0) return i;
      continue;
    }
    uint64_t rb = root_value(di, r);
    if (rb == 0) return g.base + lo;
    BENTO_TRY(checked(c, rb));
    BENTO_ASSIGN_OR_RETURN(uint64_t found, hole_in_tree(c, rb, g.depth, lo, hi));
    if (found < hi) return g.base + found;
  }
  return to;
}

Result<uint64_t> bmap_lookup(const FsCtx& c, const DiskInode& di, uint64_t lblk) {
  if (lblk >= c.max_blocks) return Err(EFBIG);
  uint32_t r = region_of(lblk);
  if (r == 0) return checked(c, di.direct[lblk].get());
  uint64_t p = root_value(di, r);
  uint64_t rel = lblk - kRegions[r].base;
  for (uint32_t d = kRegions[r].depth; d >= 1; d--) {
    if (p == 0) return uint64_t{0};
    BENTO_TRY(checked(c, p));
    BENTO_ASSIGN_OR_RETURN(
        p, read_ptr(c, p, static_cast<uint32_t>((rel >> (kPtrShift * (d - 1))) & 1023)));
  }
  return p;
}

Result<uint64_t> bmap_alloc(const FsCtx& c, Handle& h, DiskInode& di, uint64_t lblk, bool* fresh) {
  *fresh = false;
  if (lblk >= c.max_blocks) return Err(EFBIG);
  // Locality: a file's next block goes right after its previous one when that is free.
  uint64_t goal = 0;
  if (lblk > 0) {
    auto prev = bmap_lookup(c, di, lblk - 1);
    if (prev.ok() && *prev != 0) goal = *prev + 1;
  }
  uint32_t r = region_of(lblk);
  if (r == 0) {
    if (di.direct[lblk].get() != 0) return checked(c, di.direct[lblk].get());
    BENTO_ASSIGN_OR_RETURN(uint64_t b, new_block(c, h, di, goal));
    di.direct[lblk].set(static_cast<uint32_t>(b));
    *fresh = true;
    return b;
  }
  Le32* root = root_of(di, r);
  if (root->get() == 0) {
    BENTO_ASSIGN_OR_RETURN(uint64_t b, new_block(c, h, di));
    root->set(static_cast<uint32_t>(b));
  }
  BENTO_ASSIGN_OR_RETURN(uint64_t p, checked(c, root->get()));
  uint64_t rel = lblk - kRegions[r].base;
  for (uint32_t d = kRegions[r].depth; d >= 1; d--) {
    uint32_t idx = static_cast<uint32_t>((rel >> (kPtrShift * (d - 1))) & 1023);
    BENTO_ASSIGN_OR_RETURN(uint64_t next, read_ptr(c, p, idx));
    if (next == 0) {
      BENTO_ASSIGN_OR_RETURN(next, new_block(c, h, di, d == 1 ? goal : 0));
      BENTO_TRY(write_ptr(h, p, idx, next));
      if (d == 1) *fresh = true;
    }
    p = next;
  }
  return p;
}

Result<uint64_t> bmap_free_range(const FsCtx& c, Handle& h, DiskInode& di, uint64_t from,
                                 uint64_t to, uint64_t budget) {
  if (to > kMaxFileBlocksBig) to = kMaxFileBlocksBig;
  if (from >= to) return from;
  for (uint32_t r = kNumRegions; r-- > 0;) {
    const Region& g = kRegions[r];
    if (to <= g.base || from >= g.base + g.count) continue;
    uint64_t lo = from > g.base ? from - g.base : 0;
    uint64_t hi = to < g.base + g.count ? to - g.base : g.count;
    if (r == 0) {
      for (uint64_t i = hi; i > lo; i--) {
        uint32_t b = di.direct[i - 1].get();
        if (b == 0) continue;
        if (budget == 0) return i;
        BENTO_TRY(free_block(c, h, di, b));
        di.direct[i - 1].set(0);
        budget--;
      }
      continue;
    }
    Le32* root = root_of(di, r);
    if (root->get() == 0) continue;
    BENTO_ASSIGN_OR_RETURN(uint64_t rb, checked(c, root->get()));
    BENTO_ASSIGN_OR_RETURN(uint64_t stop, free_tree(c, h, di, rb, g.depth, lo, hi, &budget));
    BENTO_ASSIGN_OR_RETURN(bool empty, all_zero(c, rb));
    if (empty) {
      BENTO_TRY(free_block(c, h, di, rb));
      root->set(0);
    }
    if (stop > lo) return g.base + stop;
  }
  return from;
}

Result<uint64_t> bmap_next_mapped(const FsCtx& c, const DiskInode& di, uint64_t from, uint64_t to) {
  if (to > c.max_blocks) to = c.max_blocks;
  if (from >= to) return to;
  for (uint32_t r = region_of(from); r < kNumRegions && kRegions[r].base < to; r++) {
    const Region& g = kRegions[r];
    uint64_t lo = from > g.base ? from - g.base : 0;
    uint64_t hi = to < g.base + g.count ? to - g.base : g.count;
    if (r == 0) {
      for (uint64_t i = lo; i < hi; i++)
        if (di.direct[i].get() != 0) return i;
    } else if (uint64_t rb = root_value(di, r); rb != 0) {
      BENTO_TRY(checked(c, rb));
      BENTO_ASSIGN_OR_RETURN(uint64_t found, next_in_tree(c, rb, g.depth, lo, hi));
      if (found < hi) return g.base + found;
    }
  }
  return to;
}

Status bmap_set(const FsCtx& c, Handle& h, DiskInode& di, uint64_t lblk, uint64_t pb) {
  if (lblk >= c.max_blocks) return Err(EFBIG);
  uint32_t r = region_of(lblk);
  if (r == 0) {
    di.direct[lblk].set(static_cast<uint32_t>(pb));
    return Status::Ok();
  }
  Le32* root = root_of(di, r);
  if (root->get() == 0) {
    if (pb == 0) return Status::Ok();
    BENTO_ASSIGN_OR_RETURN(uint64_t b, new_block(c, h, di));
    root->set(static_cast<uint32_t>(b));
  }
  // The path from the root, to free pointer blocks that an unmap empties.
  uint64_t path[4];
  uint32_t idxs[4];
  const uint32_t depth = kRegions[r].depth;
  uint64_t rel = lblk - kRegions[r].base;
  BENTO_ASSIGN_OR_RETURN(uint64_t p, checked(c, root->get()));
  for (uint32_t d = depth; d >= 1; d--) {
    uint32_t idx = static_cast<uint32_t>((rel >> (kPtrShift * (d - 1))) & 1023);
    path[depth - d] = p;
    idxs[depth - d] = idx;
    if (d == 1) break;
    BENTO_ASSIGN_OR_RETURN(uint64_t next, read_ptr(c, p, idx));
    if (next == 0) {
      if (pb == 0) return Status::Ok();  // nothing mapped there
      BENTO_ASSIGN_OR_RETURN(next, new_block(c, h, di));
      BENTO_TRY(write_ptr(h, p, idx, next));
    }
    p = next;
  }
  BENTO_TRY(write_ptr(h, path[depth - 1], idxs[depth - 1], pb));
  if (pb != 0) return Status::Ok();
  for (uint32_t level = depth; level-- > 0;) {
    BENTO_ASSIGN_OR_RETURN(bool empty, all_zero(c, path[level]));
    if (!empty) break;
    BENTO_TRY(free_block(c, h, di, path[level]));
    if (level == 0) {
      root->set(0);
    } else {
      BENTO_TRY(write_ptr(h, path[level - 1], idxs[level - 1], 0));
    }
  }
  return Status::Ok();
}

}  // namespace bentofs
