// Block mapping: see block_map.h.
#include "core/block_map.h"

#include "format/endian.h"

namespace bentofs {

namespace {

constexpr uint64_t kIndBase = kNumDirect;
constexpr uint64_t kDindBase = kNumDirect + kPtrsPerBlock;

Result<uint64_t> checked(const FsCtx& c, uint64_t b) {
  if (b != 0 && (b < c.data_start || b >= c.block_count)) return Err(EUCLEAN);
  return b;
}

Result<uint64_t> read_ptr(const FsCtx& c, uint64_t block, uint32_t idx) {
  BENTO_ASSIGN_OR_RETURN(BufferHead bh, c.dev->bread(block));
  return checked(c, load_le32(bh.data().data() + 4 * idx));
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

// Pointer slot idx in block `block`, allocating its target when 0.
Result<uint64_t> ensure_ptr(const FsCtx& c, Handle& h, DiskInode& di, uint64_t block, uint32_t idx,
                            bool* fresh, uint64_t goal = 0) {
  BENTO_ASSIGN_OR_RETURN(uint64_t cur, read_ptr(c, block, idx));
  if (cur != 0) return cur;
  BENTO_ASSIGN_OR_RETURN(uint64_t b, new_block(c, h, di, goal));
  BENTO_ASSIGN_OR_RETURN(BufferHead bh, h.get_write(block));
  store_le32(bh.data_mut().data() + 4 * idx, static_cast<uint32_t>(b));
  if (fresh != nullptr) *fresh = true;
  return b;
}

Result<uint64_t> ensure_root(const FsCtx& c, Handle& h, DiskInode& di, Le32& root, bool* fresh,
                             uint64_t goal = 0) {
  if (root.get() != 0) return checked(c, root.get());
  BENTO_ASSIGN_OR_RETURN(uint64_t b, new_block(c, h, di, goal));
  root.set(static_cast<uint32_t>(b));
  if (fresh != nullptr) *fresh = true;
  return b;
}

bool all_zero(const BufferHead& bh) {
  const uint8_t* p = bh.data().data();
  for (uint32_t i = 0; i < 4096; i += 8)
    if (load_le64(p + i) != 0) return false;
  return true;
}

// Frees entries [lo, hi) (slot indices) of pointer block `block`, descending, within
// budget. Returns the lowest slot freed down to (lo when complete).
Result<uint32_t> free_slots(const FsCtx& c, Handle& h, DiskInode& di, uint64_t block, uint32_t lo,
                            uint32_t hi, uint64_t* budget) {
  BENTO_ASSIGN_OR_RETURN(BufferHead bh, h.get_write(block));
  uint8_t* p = bh.data_mut().data();
  uint32_t i = hi;
  while (i > lo) {
    if (*budget == 0) return i;
    uint32_t b = load_le32(p + 4 * (i - 1));
    if (b != 0) {
      BENTO_TRY(free_block(c, h, di, b));
      store_le32(p + 4 * (i - 1), 0);
      (*budget)--;
    }
    i--;
  }
  return lo;
}

}  // namespace

Result<uint64_t> bmap_lookup(const FsCtx& c, const DiskInode& di, uint64_t lblk) {
  if (lblk < kNumDirect) return checked(c, di.direct[lblk].get());
  if (lblk < kDindBase) {
    if (di.indirect.get() == 0) return uint64_t{0};
    BENTO_TRY(checked(c, di.indirect.get()));
    return read_ptr(c, di.indirect.get(), static_cast<uint32_t>(lblk - kIndBase));
  }
  if (lblk >= kMaxFileBlocks) return Err(EFBIG);
  if (di.dindirect.get() == 0) return uint64_t{0};
  BENTO_TRY(checked(c, di.dindirect.get()));
  uint64_t rel = lblk - kDindBase;
  BENTO_ASSIGN_OR_RETURN(
      uint64_t ind, read_ptr(c, di.dindirect.get(), static_cast<uint32_t>(rel / kPtrsPerBlock)));
  if (ind == 0) return uint64_t{0};
  return read_ptr(c, ind, static_cast<uint32_t>(rel % kPtrsPerBlock));
}

Result<uint64_t> bmap_alloc(const FsCtx& c, Handle& h, DiskInode& di, uint64_t lblk, bool* fresh) {
  *fresh = false;
  // Locality: a file's next block goes right after its previous one when that is free.
  uint64_t goal = 0;
  if (lblk > 0) {
    auto prev = bmap_lookup(c, di, lblk - 1);
    if (prev.ok() && *prev != 0) goal = *prev + 1;
  }
  if (lblk < kNumDirect) return ensure_root(c, h, di, di.direct[lblk], fresh, goal);
  if (lblk < kDindBase) {
    BENTO_ASSIGN_OR_RETURN(uint64_t ind, ensure_root(c, h, di, di.indirect, nullptr));
    return ensure_ptr(c, h, di, ind, static_cast<uint32_t>(lblk - kIndBase), fresh, goal);
  }
  if (lblk >= kMaxFileBlocks) return Err(EFBIG);
  uint64_t rel = lblk - kDindBase;
  BENTO_ASSIGN_OR_RETURN(uint64_t dind, ensure_root(c, h, di, di.dindirect, nullptr));
  BENTO_ASSIGN_OR_RETURN(
      uint64_t ind,
      ensure_ptr(c, h, di, dind, static_cast<uint32_t>(rel / kPtrsPerBlock), nullptr));
  return ensure_ptr(c, h, di, ind, static_cast<uint32_t>(rel % kPtrsPerBlock), fresh, goal);
}

Result<uint64_t> bmap_free_range(const FsCtx& c, Handle& h, DiskInode& di, uint64_t from,
                                 uint64_t to, uint64_t budget) {
  if (to > kMaxFileBlocks) to = kMaxFileBlocks;
  if (from >= to) return from;
  // Double-indirect region, descending.
  if (to > kDindBase && di.dindirect.get() != 0) {
    uint64_t dind = di.dindirect.get();
    uint64_t lo = from > kDindBase ? from - kDindBase : 0;
    uint64_t hi = to - kDindBase;
    for (uint64_t i = (hi - 1) / kPtrsPerBlock + 1; i-- > lo / kPtrsPerBlock;) {
      BENTO_ASSIGN_OR_RETURN(uint64_t ind, read_ptr(c, dind, static_cast<uint32_t>(i)));
      if (ind == 0) continue;
      uint64_t base = i * kPtrsPerBlock;
      uint32_t slo = lo > base ? static_cast<uint32_t>(lo - base) : 0;
      uint32_t shi = hi < base + kPtrsPerBlock ? static_cast<uint32_t>(hi - base) : kPtrsPerBlock;
      BENTO_ASSIGN_OR_RETURN(uint32_t stop, free_slots(c, h, di, ind, slo, shi, &budget));
      {
        BENTO_ASSIGN_OR_RETURN(BufferHead ib, c.dev->bread(ind));
        if (all_zero(ib)) {
          ib.release();
          BENTO_TRY(free_block(c, h, di, ind));
          BENTO_ASSIGN_OR_RETURN(BufferHead db, h.get_write(dind));
          store_le32(db.data_mut().data() + 4 * i, 0);
        }
      }
      if (stop > slo) return kDindBase + base + stop;
    }
    BENTO_ASSIGN_OR_RETURN(BufferHead db, c.dev->bread(dind));
    if (all_zero(db)) {
      db.release();
      BENTO_TRY(free_block(c, h, di, dind));
      di.dindirect.set(0);
    }
  }
  if (from >= kDindBase) return from;
  if (to > kDindBase) to = kDindBase;
  // Indirect region.
  if (to > kIndBase && di.indirect.get() != 0) {
    uint64_t ind = di.indirect.get();
    uint32_t slo = from > kIndBase ? static_cast<uint32_t>(from - kIndBase) : 0;
    uint32_t shi = static_cast<uint32_t>(to - kIndBase);
    BENTO_ASSIGN_OR_RETURN(uint32_t stop, free_slots(c, h, di, ind, slo, shi, &budget));
    BENTO_ASSIGN_OR_RETURN(BufferHead ib, c.dev->bread(ind));
    if (all_zero(ib)) {
      ib.release();
      BENTO_TRY(free_block(c, h, di, ind));
      di.indirect.set(0);
    }
    if (stop > slo) return kIndBase + stop;
  }
  if (from >= kIndBase) return from;
  if (to > kIndBase) to = kIndBase;
  for (uint64_t i = to; i > from; i--) {
    if (budget == 0) return i;
    uint32_t b = di.direct[i - 1].get();
    if (b != 0) {
      BENTO_TRY(free_block(c, h, di, b));
      di.direct[i - 1].set(0);
      budget--;
    }
  }
  return from;
}

}  // namespace bentofs
