// Bitmap allocator: see allocator.h.
#include "core/allocator.h"

#include <bento/log.h>

#include "format/endian.h"

namespace bentofs {

namespace {

// Portable popcount: __builtin_popcountll may become a libgcc call (__popcountdi2),
// which a kernel module cannot link.
uint32_t popcount64(uint64_t x) {
  x = x - ((x >> 1) & 0x5555555555555555ULL);
  x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
  x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
  return static_cast<uint32_t>((x * 0x0101010101010101ULL) >> 56);
}

}  // namespace

Status BitmapAllocator::load(BlockDevice& dev, uint64_t start, uint64_t nbits, uint64_t cursor,
                             uint64_t first_usable) {
  start_ = start;
  nbits_ = nbits;
  first_usable_ = first_usable < nbits ? first_usable : nbits;
  reserved_clear_ = 0;
  tail_clear_ = 0;
  auto g = st_.lock();
  uint64_t groups = (nbits + kBitsPerGroup - 1) / kBitsPerGroup;
  g->free_per_group.clear();
  BENTO_TRY(g->free_per_group.resize(groups));
  g->free_total = 0;
  for (uint64_t gi = 0; gi < groups; gi++) {
    BENTO_ASSIGN_OR_RETURN(BufferHead bh, dev.bread(start + gi));
    const uint8_t* p = bh.data().data();
    uint64_t first = gi * kBitsPerGroup;
    uint64_t n = nbits - first < kBitsPerGroup ? nbits - first : kBitsPerGroup;
    uint32_t used = 0;
    for (uint64_t w = 0; w < n / 64; w++) used += popcount64(load_le64(p + 8 * w));
    for (uint64_t b = (n / 64) * 64; b < n; b++) used += (p[b / 8] >> (b % 8)) & 1;
    // Reserved bits count as used even when the bitmap says free.
    for (uint64_t b = 0; first + b < first_usable_ && b < n; b++) {
      if (((p[b / 8] >> (b % 8)) & 1) == 0) {
        reserved_clear_++;
        used++;
      }
    }
    for (uint64_t b = n; b < kBitsPerGroup && n < kBitsPerGroup; b++)
      tail_clear_ += ((p[b / 8] >> (b % 8)) & 1) == 0;
    g->free_per_group[gi] = static_cast<uint32_t>(n - used);
    g->free_total += n - used;
  }
  g->cursor = cursor < nbits && cursor >= first_usable_ ? cursor : first_usable_;
  return Status::Ok();
}

Result<bool> BitmapAllocator::is_set(BlockDevice& dev, uint64_t bit) {
  if (bit >= nbits_) return Err(EINVAL);
  auto g = st_.lock();
  BENTO_ASSIGN_OR_RETURN(BufferHead bh, dev.bread(start_ + bit / kBitsPerGroup));
  const uint64_t i = bit % kBitsPerGroup;
  return ((bh.data().data()[i / 8] >> (i % 8)) & 1) != 0;
}

Result<uint64_t> BitmapAllocator::alloc(Handle& h, uint64_t goal) {
  auto g = st_.lock();
  if (g->free_total == 0) return Err(ENOSPC);
  if (goal < first_usable_ || goal >= nbits_) goal = g->cursor;
  if (goal < first_usable_) goal = first_usable_;
  uint64_t groups = g->free_per_group.size();
  uint64_t g0 = goal / kBitsPerGroup;
  // Visit the goal's group from the goal on, every other group, then the goal's group
  // from its start.
  for (uint64_t i = 0; i <= groups; i++) {
    uint64_t gi = (g0 + i) % groups;
    if (g->free_per_group[gi] == 0) continue;
    uint64_t first = gi * kBitsPerGroup;
    uint64_t n = nbits_ - first < kBitsPerGroup ? nbits_ - first : kBitsPerGroup;
    uint64_t from = (i == 0) ? goal - first : 0;
    uint64_t to = (i == groups) ? goal - first + 1 : n;
    if (to > n) to = n;
    BENTO_ASSIGN_OR_RETURN(BufferHead bh, h.get_write(start_ + gi));
    uint8_t* p = bh.data_mut().data();
    for (uint64_t w = from / 64; w * 64 < to; w++) {
      uint64_t word = load_le64(p + 8 * w);
      if (w == from / 64) word |= (from % 64) ? ((1ULL << (from % 64)) - 1) : 0;
      // Reserved bits (metadata) are used whatever the bitmap says.
      const uint64_t bit0 = first + w * 64;
      if (bit0 < first_usable_)
        word |= first_usable_ - bit0 >= 64 ? ~0ULL : ((1ULL << (first_usable_ - bit0)) - 1);
      if (word == ~0ULL) continue;
      uint64_t b = w * 64 + __builtin_ctzll(~word);
      if (b >= to) break;
      // Atomic (relaxed) byte updates: the inode verifier tests bits without this lock.
      __atomic_fetch_or(&p[b / 8], static_cast<uint8_t>(1u << (b % 8)), __ATOMIC_RELAXED);
      g->free_per_group[gi]--;
      g->free_total--;
      g->cursor = first + b + 1 < nbits_ ? first + b + 1 : first_usable_;
      return first + b;
    }
    if (i != 0 && i != groups) {
      // The count said free but the bitmap is full: trust the bitmap from now on.
      g->free_total -= g->free_per_group[gi];
      g->free_per_group[gi] = 0;
    }
  }
  return Err(ENOSPC);
}

Status BitmapAllocator::free(Handle& h, uint64_t bit) {
  if (bit >= nbits_ || bit < first_usable_) {
    bento::log(bento::LogLevel::kError,
               "bento-fs: refusing to free a metadata block or reserved inode (damaged "
               "pointer?): run fsck.bento");
    return Err(EUCLEAN);
  }
  auto g = st_.lock();
  uint64_t gi = bit / kBitsPerGroup;
  uint64_t b = bit % kBitsPerGroup;
  BENTO_ASSIGN_OR_RETURN(BufferHead bh, h.get_write(start_ + gi));
  uint8_t* p = bh.data_mut().data();
  if (((p[b / 8] >> (b % 8)) & 1) == 0) {
    bento::log(bento::LogLevel::kError, "bento-fs: freeing a bit that is not allocated");
    return Err(EUCLEAN);
  }
  __atomic_fetch_and(&p[b / 8], static_cast<uint8_t>(~(1u << (b % 8))), __ATOMIC_RELAXED);
  g->free_per_group[gi]++;
  g->free_total++;
  return Status::Ok();
}

uint64_t BitmapAllocator::free_count() {
  return st_.lock()->free_total;
}
uint64_t BitmapAllocator::cursor() {
  return st_.lock()->cursor;
}

}  // namespace bentofs
