// Space management: fallocate (allocate, keep size, punch hole, zero range, collapse and
// insert range), SEEK_DATA/SEEK_HOLE and the extent map (FIEMAP). FORMAT.md §4.1.
//
// Every mode runs in bounded journal steps (a handle each, the inode lock inside it), like
// truncate: the block map is consistent after every step. A small operation fits in one
// step and is atomic across a crash; a large collapse or insert that needs several steps
// can leave the file partly shifted after a crash (consistent, fsck-clean), and concurrent
// callers may see the intermediate states between steps.
//
// Allocation has no "unwritten" state: a preallocated block is a zeroed, journaled block.
// Mode 0 and zero range check the free space first, so ENOSPC normally changes nothing.
#include <bento/time.h>

#include "core/bento_fs.h"
#include "core/inode_lock.h"
#include "core/times.h"

namespace bentofs {

namespace {

namespace fl = bento::falloc;
namespace md = bento::mode;

constexpr uint64_t kAllocStep = 64;  // blocks allocated or zeroed per handle
constexpr uint32_t kAllocCredits = kAllocStep * 2 + 16;
constexpr uint64_t kFreeStep = 192;  // blocks freed per handle (punch), as truncate
constexpr uint32_t kFreeCredits = kFreeStep + 24;
constexpr uint64_t kMoveStep = 24;  // blocks freed or moved per handle (collapse, insert)
// A freed block touches ~3 blocks, a moved one ~4 (up to 9 when pointer blocks come and go).
constexpr uint32_t kMoveCredits = kMoveStep * 12 + 16;

uint64_t div_up(uint64_t a, uint64_t b) {
  return a / b + (a % b != 0);
}

void touch(DiskInode& di) {
  bento::Timespec now = bento::now_realtime();
  set_time(di.mtime, now);
  set_time(di.ctime, now);
}

}  // namespace

Status BentoFs::zero_in_block(Handle& h, const DiskInode& di, uint64_t off, uint64_t len) {
  if (len == 0) return Status::Ok();
  BENTO_ASSIGN_OR_RETURN(uint64_t pb, bmap_lookup(ctx(), di, off / kBlockSize));
  if (pb == 0) return Status::Ok();  // a hole reads as zeroes already
  BENTO_ASSIGN_OR_RETURN(BufferHead bh, h.get_write(pb));
  __builtin_memset(bh.data_mut().data() + off % kBlockSize, 0, len);
  return Status::Ok();
}

Status BentoFs::fallocate(const Request& req, Ino ino, Fh fh, uint32_t mode, uint64_t off,
                          uint64_t len) {
  if (ino == kProvLogIno) return Err(EPERM);
  constexpr uint32_t kKnown =
      fl::kKeepSize | fl::kPunchHole | fl::kZeroRange | fl::kCollapseRange | fl::kInsertRange;
  if (mode & ~kKnown) return Err(EOPNOTSUPP);
  if ((mode & fl::kPunchHole) && !(mode & fl::kKeepSize)) return Err(EOPNOTSUPP);
  if ((mode & (fl::kCollapseRange | fl::kInsertRange)) && mode != fl::kCollapseRange &&
      mode != fl::kInsertRange)
    return Err(EINVAL);
  if ((mode & fl::kPunchHole) && (mode & fl::kZeroRange)) return Err(EINVAL);
  if (len == 0) return Err(EINVAL);
  if (read_only_) return Err(EROFS);
  OpenFile f;
  if (fh != bento::kNoFh &&
      (!handle_info(fh, &f) || f.ino != ino || f.is_dir || !bento::oflag::writes(f.flags)))
    return Err(EBADF);
  BENTO_ASSIGN_OR_RETURN(InodeRef o, iget(ino));
  uint32_t gen = 0;
  bool grows = false;
  {
    ReadLock lk(o->lock);
    BENTO_ASSIGN_OR_RETURN(DiskInode di, read_inode(ino));
    if (di.mode.get() == 0 || o->deleted) return Err(ENOENT);
    if (md::is_dir(di.mode.get())) return Err(EISDIR);
    if (!md::is_reg(di.mode.get())) return Err(ENODEV);
    const uint32_t fl_bits = di.flags.get();
    if (fl_bits & iflag::kImmutable) return Err(EPERM);
    if ((fl_bits & iflag::kAppend) && (mode & ~fl::kKeepSize)) return Err(EPERM);
    const uint64_t max = geo_.max_file_size();
    if (off > max || len > max - off) return Err(EFBIG);
    const uint64_t size = di.size.get();
    if (mode & (fl::kCollapseRange | fl::kInsertRange)) {
      if (off % kBlockSize != 0 || len % kBlockSize != 0) return Err(EINVAL);
      if ((mode & fl::kCollapseRange) && off + len >= size) return Err(EINVAL);
      if ((mode & fl::kInsertRange) && off >= size) return Err(EINVAL);
      if ((mode & fl::kInsertRange) && len > max - size) return Err(EFBIG);
    }
    gen = di.generation.get();
    grows = (mode & fl::kKeepSize) == 0 && off + len > size;
  }
  // A fallocate that changes the file's content is a write for provenance: recorded first
  // (it may take several handles), so a crash never keeps its effect without its record.
  // Growing the file (zeros past its end: `fallocate -l 4096 f`) changes it too.
  const bool changes_data =
      grows ||
      (mode & (fl::kPunchHole | fl::kZeroRange | fl::kCollapseRange | fl::kInsertRange)) != 0;
  if (tracking() && changes_data) {
    BENTO_ASSIGN_OR_RETURN(ProvLog::Ticket pt, prov_reserve(0, 0));
    ProvDraft d;
    d.type = prov::RecordType::kWrite;
    d.ino = ino;
    d.gen = gen;
    d.flags = f.flags;
    d.fh = fh;
    d.aux = off;
    d.ino2 = len;
    d.gen2 = prov::kGen2Fallocate | mode;
    BENTO_TRY(prov_alone(req, d, pt));
  }
  Status st = Status::Ok();
  if (mode & fl::kPunchHole) {
    st = falloc_punch(o.get(), off, len);
  } else if (mode & fl::kCollapseRange) {
    st = falloc_collapse(o.get(), off, len);
  } else if (mode & fl::kInsertRange) {
    st = falloc_insert(o.get(), off, len);
  } else {
    st = falloc_allocate(o.get(), off, len, (mode & fl::kKeepSize) != 0,
                         (mode & fl::kZeroRange) != 0);
  }
  BENTO_TRY(st);
  if (changes_data) note_written(fh, req.pid);
  if (changes_data && req.uid != 0) {
    // A write by a caller without CAP_FSETID drops set-id bits.
    BENTO_ASSIGN_OR_RETURN(Handle h, journal_->begin(2));
    WriteLock lk(o->lock);
    BENTO_ASSIGN_OR_RETURN(DiskInode di, read_inode(ino));
    uint32_t m = di.mode.get();
    uint32_t cleared = m & ~md::kSetUid;
    if (cleared & 010) cleared &= ~md::kSetGid;
    if (cleared != m && di.mode.get() != 0) {
      di.mode.set(cleared);
      BENTO_TRY(write_inode(h, o.get(), di));
    }
  }
  return Status::Ok();
}

Status BentoFs::falloc_allocate(InodeObj* o, uint64_t off, uint64_t len, bool keep_size,
                                bool zero) {
  FsCtx c = ctx();
  const uint64_t end = off + len;
  const uint64_t first = off / kBlockSize, last = div_up(end, kBlockSize);
  {
    // Clean ENOSPC: the holes of the range (plus their pointer blocks) must fit.
    ReadLock lk(o->lock);
    BENTO_ASSIGN_OR_RETURN(DiskInode di, read_inode(o->ino));
    uint64_t holes = 0;
    for (uint64_t l = first; l < last;) {
      BENTO_ASSIGN_OR_RETURN(uint64_t m, bmap_next_mapped(c, di, l, last));
      holes += m - l;
      if (m >= last) break;
      BENTO_ASSIGN_OR_RETURN(l, bmap_next_hole(c, di, m, last));
    }
    if (holes + holes / (kPtrsPerBlock - 1) + 4 > balloc_.free_count()) return Err(ENOSPC);
  }
  for (uint64_t l = first;;) {
    BENTO_ASSIGN_OR_RETURN(Handle h, journal_->begin(kAllocCredits));
    WriteLock lk(o->lock);
    if (o->deleted) return Err(ENOENT);
    BENTO_ASSIGN_OR_RETURN(DiskInode di, read_inode(o->ino));
    Status err = Status::Ok();
    for (uint64_t n = 0; n < kAllocStep && l < last; n++, l++) {
      bool fresh = false;
      auto pb = bmap_alloc(c, h, di, l, &fresh);
      if (!pb.ok()) {
        err = pb.status();
        break;
      }
      if (!zero || fresh) continue;
      // Zero range over existing data: whole blocks are replaced by zeroes, the edges of
      // the range zeroed in place.
      uint64_t bstart = l * kBlockSize;
      uint64_t from = off > bstart ? off - bstart : 0;
      uint64_t to = end < bstart + kBlockSize ? end - bstart : kBlockSize;
      if (from == 0 && to == kBlockSize) {
        auto bh = h.get_new(*pb);
        if (!bh.ok()) err = bh.status();
      } else {
        err = zero_in_block(h, di, bstart + from, to - from);
      }
      if (!err.ok()) break;
    }
    const bool done = l >= last && err.ok();
    if (done) {
      if (!keep_size && end > di.size.get()) di.size.set(end);
      if (!keep_size || zero) touch(di);
      set_time(di.ctime, bento::now_realtime());
    }
    BENTO_TRY(write_inode(h, o, di));  // blocks allocated so far stay accounted
    if (!err.ok()) return err;
    if (done) return Status::Ok();
  }
}

Status BentoFs::falloc_punch(InodeObj* o, uint64_t off, uint64_t len) {
  FsCtx c = ctx();
  const uint64_t end = off + len;
  const uint64_t full_lo = div_up(off, kBlockSize), full_hi = end / kBlockSize;
  bool edges_done = false;
  for (;;) {
    BENTO_ASSIGN_OR_RETURN(Handle h, journal_->begin(kFreeCredits));
    WriteLock lk(o->lock);
    if (o->deleted) return Err(ENOENT);
    BENTO_ASSIGN_OR_RETURN(DiskInode di, read_inode(o->ino));
    if (!edges_done) {
      // The partial blocks at either end are zeroed in place.
      if (full_lo > full_hi) {
        BENTO_TRY(zero_in_block(h, di, off, len));
      } else {
        if (off % kBlockSize != 0) BENTO_TRY(zero_in_block(h, di, off, full_lo * kBlockSize - off));
        if (end % kBlockSize != 0)
          BENTO_TRY(zero_in_block(h, di, full_hi * kBlockSize, end % kBlockSize));
      }
      edges_done = true;
    }
    bool done = true;
    if (full_lo < full_hi) {
      BENTO_ASSIGN_OR_RETURN(uint64_t stop, bmap_free_range(c, h, di, full_lo, full_hi, kFreeStep));
      done = stop <= full_lo;
    }
    touch(di);
    BENTO_TRY(write_inode(h, o, di));
    if (done) return Status::Ok();
  }
}

Status BentoFs::falloc_collapse(InodeObj* o, uint64_t off, uint64_t len) {
  FsCtx c = ctx();
  const uint64_t first = off / kBlockSize, n = len / kBlockSize;
  uint64_t freed_to = first + n;  // [first, freed_to) still to free, highest first
  uint64_t next = first + n;      // next logical block to move down
  for (;;) {
    BENTO_ASSIGN_OR_RETURN(Handle h, journal_->begin(kMoveCredits));
    WriteLock lk(o->lock);
    if (o->deleted) return Err(ENOENT);
    BENTO_ASSIGN_OR_RETURN(DiskInode di, read_inode(o->ino));
    // Free the collapsed range first (up to kMoveStep blocks per handle), then move.
    if (freed_to > first) {
      BENTO_ASSIGN_OR_RETURN(freed_to, bmap_free_range(c, h, di, first, freed_to, kMoveStep));
    }
    uint64_t budget = freed_to > first ? 0 : kMoveStep;
    while (budget > 0 && freed_to <= first) {
      BENTO_ASSIGN_OR_RETURN(uint64_t l, bmap_next_mapped(c, di, next, c.max_blocks));
      if (l >= c.max_blocks) {
        next = l;
        break;
      }
      BENTO_ASSIGN_OR_RETURN(uint64_t pb, bmap_lookup(c, di, l));
      BENTO_TRY(bmap_set(c, h, di, l, 0));
      BENTO_TRY(bmap_set(c, h, di, l - n, pb));
      next = l + 1;
      budget--;
    }
    const bool done = freed_to <= first && next >= c.max_blocks;
    if (done) {
      uint64_t size = di.size.get();
      di.size.set(size > len ? size - len : 0);
    }
    touch(di);
    BENTO_TRY(write_inode(h, o, di));
    if (done) return Status::Ok();
  }
}

Status BentoFs::falloc_insert(InodeObj* o, uint64_t off, uint64_t len) {
  FsCtx c = ctx();
  const uint64_t first = off / kBlockSize, n = len / kBlockSize;
  // The blocks to shift, collected first: they move highest first.
  bento::Vec<uint64_t> moving;
  {
    ReadLock lk(o->lock);
    BENTO_ASSIGN_OR_RETURN(DiskInode di, read_inode(o->ino));
    for (uint64_t l = first;;) {
      BENTO_ASSIGN_OR_RETURN(l, bmap_next_mapped(c, di, l, c.max_blocks));
      if (l >= c.max_blocks) break;
      if (l + n >= c.max_blocks) return Err(EFBIG);
      BENTO_TRY(moving.push_back(l));
      l++;
    }
  }
  size_t left = moving.size();
  for (;;) {
    BENTO_ASSIGN_OR_RETURN(Handle h, journal_->begin(kMoveCredits));
    WriteLock lk(o->lock);
    if (o->deleted) return Err(ENOENT);
    BENTO_ASSIGN_OR_RETURN(DiskInode di, read_inode(o->ino));
    for (uint64_t k = 0; k < kMoveStep && left > 0; k++) {
      uint64_t l = moving[--left];
      BENTO_ASSIGN_OR_RETURN(uint64_t pb, bmap_lookup(c, di, l));
      if (pb == 0) continue;  // changed meanwhile
      BENTO_TRY(bmap_set(c, h, di, l, 0));
      BENTO_TRY(bmap_set(c, h, di, l + n, pb));
    }
    const bool done = left == 0;
    if (done) di.size.set(di.size.get() + len);
    touch(di);
    BENTO_TRY(write_inode(h, o, di));
    if (done) return Status::Ok();
  }
}

Result<uint64_t> BentoFs::lseek(const Request&, Ino ino, Fh, uint64_t off, uint32_t whence) {
  if (whence != bento::seek::kData && whence != bento::seek::kHole) return Err(EINVAL);
  if (ino == kProvLogIno) return Err(EINVAL);
  BENTO_ASSIGN_OR_RETURN(InodeRef o, iget(ino));
  ReadLock lk(o->lock);
  BENTO_ASSIGN_OR_RETURN(DiskInode di, read_inode(ino));
  if (di.mode.get() == 0 || o->deleted) return Err(ENOENT);
  const uint64_t size = di.size.get();
  if (off >= size) return Err(ENXIO);
  const uint64_t nblocks = div_up(size, kBlockSize);
  FsCtx c = ctx();
  if (whence == bento::seek::kData) {
    BENTO_ASSIGN_OR_RETURN(uint64_t l, bmap_next_mapped(c, di, off / kBlockSize, nblocks));
    if (l >= nblocks) return Err(ENXIO);
    return l * kBlockSize > off ? l * kBlockSize : off;
  }
  BENTO_ASSIGN_OR_RETURN(uint64_t l, bmap_next_hole(c, di, off / kBlockSize, nblocks));
  uint64_t at = l * kBlockSize < size ? l * kBlockSize : size;
  return at > off ? at : off;
}

Result<size_t> BentoFs::fiemap(const Request&, Ino ino, uint64_t off, uint64_t len,
                               std::span<bento::Extent> out) {
  if (ino == kProvLogIno) return Err(EOPNOTSUPP);
  BENTO_ASSIGN_OR_RETURN(InodeRef o, iget(ino));
  ReadLock lk(o->lock);
  BENTO_ASSIGN_OR_RETURN(DiskInode di, read_inode(ino));
  if (di.mode.get() == 0 || o->deleted) return Err(ENOENT);
  FsCtx c = ctx();
  const uint64_t first = off / kBlockSize;
  uint64_t end = len > (c.max_blocks * kBlockSize) - (off < c.max_blocks * kBlockSize ? off : 0)
                     ? c.max_blocks
                     : div_up(off + len, kBlockSize);
  if (end > c.max_blocks) end = c.max_blocks;
  size_t n = 0;
  uint64_t l = first;
  while (n < out.size()) {
    BENTO_ASSIGN_OR_RETURN(l, bmap_next_mapped(c, di, l, end));
    if (l >= end) break;
    BENTO_ASSIGN_OR_RETURN(uint64_t pb, bmap_lookup(c, di, l));
    uint64_t run = 1;
    while (l + run < end && run < (uint64_t{1} << 20)) {
      BENTO_ASSIGN_OR_RETURN(uint64_t next, bmap_lookup(c, di, l + run));
      if (next != pb + run) break;
      run++;
    }
    out[n++] = bento::Extent{l * kBlockSize, pb * kBlockSize, run * kBlockSize, 0};
    l += run;
  }
  if (n > 0) {
    BENTO_ASSIGN_OR_RETURN(uint64_t more, bmap_next_mapped(c, di, l, c.max_blocks));
    if (more >= c.max_blocks) out[n - 1].flags |= bento::extent_flag::kLast;
  }
  return n;
}

}  // namespace bentofs
