// An inode's block map checked once, at its first lookup after mount (issue 15): every
// block it maps (data, pointer blocks, attribute blocks) inside the data area and marked
// used in the block bitmap, and as many of them as its `blocks` field says. Damage the
// mount-time checks cannot see without a full scan (fsck's pass 1): a bitmap whose flips
// cancel in the free count, a `blocks` count off. Found: EUCLEAN and one log line at every
// lookup of that inode; the rest of the file system is served. Cost: the file's pointer
// blocks (1 per 4 MiB of file; a 1 GiB file: 257 blocks) and one bitmap block per 128 MiB
// of device it touches, read once per inode per mount; nothing for files of <= 12 blocks
// beyond the bitmap block. The walk stops after `blocks` blocks, so it is bounded by what
// the inode claims, and `blocks` is bounded by the device.
#include "core/bento_fs.h"
#include "core/inode_check.h"
#include "format/xattr.h"

namespace bentofs {

namespace {

struct MapWalk {
  BlockDevice& dev;
  const Geometry& g;
  uint64_t limit;     // the inode's `blocks`: more than that is damage
  bool check_bitmap;  // false when the mount already knows the bitmap is damaged
  uint64_t count = 0;
  uint64_t group = ~uint64_t{0};
  BufferHead bitmap;  // the block-bitmap block of `group`
  const char* why = nullptr;

  // false: stop (damage found).
  Result<bool> block(uint64_t b) {
    if (b < g.data_start || b >= g.block_count) {
      why = "block pointer outside the data area";
      return false;
    }
    if (++count > limit) {
      why = "it maps more blocks than its block count says";
      return false;
    }
    if (!check_bitmap) return true;
    const uint64_t gi = b / kBitsPerGroup;
    if (gi != group) {
      BENTO_ASSIGN_OR_RETURN(bitmap, dev.bread(g.block_bitmap_start + gi));
      group = gi;
    }
    const uint64_t i = b % kBitsPerGroup;
    // Without the allocator's lock (a walk of a big file would take it per block): the
    // allocator updates bytes atomically, and the caller holds this inode's lock (its blocks are
    // neither freed nor allocated meanwhile).
    const uint8_t byte = __atomic_load_n(&bitmap.data().data()[i / 8], __ATOMIC_RELAXED);
    if (((byte >> (i % 8)) & 1) == 0) {
      why = "a block it uses is marked free in the block bitmap";
      return false;
    }
    return true;
  }

  Result<bool> tree(uint64_t b, uint32_t depth) {
    BENTO_ASSIGN_OR_RETURN(bool go, block(b));
    if (!go) return false;
    BENTO_ASSIGN_OR_RETURN(BufferHead bh, dev.bread(b));
    const uint8_t* p = bh.data().data();
    for (uint32_t i = 0; i < kPtrsPerBlock; i++) {
      const uint32_t v = load_le32(p + 4 * i);
      if (v == 0) continue;
      if (depth == 1) {
        BENTO_ASSIGN_OR_RETURN(go, block(v));
      } else {
        BENTO_ASSIGN_OR_RETURN(go, tree(v, depth - 1));
      }
      if (!go) return false;
    }
    return true;
  }

  Result<bool> xattrs(uint64_t xb) {
    BENTO_ASSIGN_OR_RETURN(bool go, block(xb));
    if (!go) return false;
    BENTO_ASSIGN_OR_RETURN(BufferHead bh, dev.bread(xb));
    const uint8_t* p = bh.data().data();
    if (load_le32(p) != kXattrMapMagic) return true;  // v1: the one block
    const uint32_t n = load_le32(p + __builtin_offsetof(XattrMapHeader, nblocks));
    if (n > kXattrMaxBlocks) {
      why = "its extended attribute map is damaged";
      return false;
    }
    for (uint32_t i = 0; i < n; i++) {
      BENTO_ASSIGN_OR_RETURN(go, block(load_le32(p + sizeof(XattrMapHeader) + 4 * i)));
      if (!go) return false;
    }
    return true;
  }

  Status walk(const DiskInode& di) {
    for (uint32_t i = 0; i < kNumDirect; i++) {
      if (di.direct[i].get() == 0) continue;
      BENTO_ASSIGN_OR_RETURN(bool go, block(di.direct[i].get()));
      if (!go) return Status::Ok();
    }
    const uint32_t roots[] = {di.indirect.get(), di.dindirect.get(), di.tindirect.get(),
                              di.qindirect.get()};
    for (uint32_t d = 1; d <= 4; d++) {
      if (roots[d - 1] == 0) continue;
      BENTO_ASSIGN_OR_RETURN(bool go, tree(roots[d - 1], d));
      if (!go) return Status::Ok();
    }
    if (di.xattr_block.get() != 0) {
      BENTO_ASSIGN_OR_RETURN(bool go, xattrs(di.xattr_block.get()));
      if (!go) return Status::Ok();
    }
    if (count != limit) why = "it maps fewer blocks than its block count says";
    return Status::Ok();
  }
};

}  // namespace

// The caller holds o's lock (read or write), so the map does not change under the walk.
Status BentoFs::verify_inode_once(InodeObj* o, const DiskInode& di) {
  if (o->map_checked.load(std::memory_order_acquire) || di.mode.get() == 0) return Status::Ok();
  MapWalk w{*dev_, geo_, di.blocks.get(), !bitmaps_damaged_};
  BENTO_TRY(w.walk(di));
  if (w.why != nullptr) {
    log_inode_problem(o->ino, " is damaged (", w.why, "); run fsck.bento");
    return Err(EUCLEAN);
  }
  o->map_checked.store(true, std::memory_order_release);
  return Status::Ok();
}

}  // namespace bentofs
