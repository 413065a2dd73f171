// Inodes: reading and writing the on-disk inode, allocation, the orphan list, deletion
// and truncation in bounded journal steps.
#include <bento/log.h>
#include <bento/time.h>

#include "core/bento_fs.h"
#include "core/inode_check.h"
#include "core/inode_lock.h"
#include "core/perm.h"
#include "core/superblock_check.h"
#include "core/text_out.h"
#include "core/times.h"
#include "core/xattr_store.h"

namespace bentofs {

namespace {

constexpr uint32_t kOrphanOff = __builtin_offsetof(DiskInode, orphan_next);
// Data blocks freed per journal handle. The handle's credits bound what it touches:
// one bitmap block per freed block at worst, the indirect blocks on the way, the inode.
constexpr uint64_t kTruncateStep = 192;
// How long the kernel may cache a name or its attributes (make_entry).
constexpr uint32_t kCacheTimeoutMs = 3600 * 1000;
constexpr uint32_t kTruncateCredits = kTruncateStep + 16;

// One log line per damaged inode read: "bento-fs: inode N is damaged (why); run fsck.bento".
void log_inode_damage(uint64_t ino, const char* why) {
  log_inode_problem(ino, " is damaged (", why, "); run fsck.bento");
}

}  // namespace

void log_inode_problem(uint64_t ino, const char* a, const char* b, const char* c) {
  char buf[200];
  TextOut out(buf, sizeof buf);
  out.str("bento-fs: inode ").num(ino);
  for (const char* s : {a, b, c})
    if (s != nullptr) out.str(s);
  bento::log(bento::LogLevel::kError, out.view());
}

// orphan_next is owned by the orphan list code (under orphan_mu_): inode reads and writes
// skip those 8 bytes so they never race with it.
Result<DiskInode> BentoFs::read_inode(Ino ino, bool unlocked) {
  if (ino == 0 || ino >= geo_.inode_count) return Err(ENOENT);
  BENTO_ASSIGN_OR_RETURN(BufferHead bh, dev_->bread(geo_.inode_block(ino)));
  DiskInode di;
  const uint8_t* p = bh.data().data() + geo_.inode_offset(ino);
  __builtin_memcpy(&di, p, kOrphanOff);
  __builtin_memset(&di.orphan_next, 0, 8);
  __builtin_memcpy(reinterpret_cast<uint8_t*>(&di) + kOrphanOff + 8, p + kOrphanOff + 8,
                   kInodeSize - kOrphanOff - 8);
  if (di.mode.get() != 0) {
    const char* why = inode_damage(geo_, di);
    // Checked on the stored bytes (orphan_next included as stored: the sum skips it).
    if (why == nullptr && geo_.inode_csum && di.checksum.get() != inode_checksum(ino, p))
      why = "checksum mismatch";
    if (why != nullptr && unlocked) return Err(EAGAIN);
    if (why != nullptr) {
      log_inode_damage(ino, why);
      return Err(EUCLEAN);
    }
  }
  return di;
}

Result<uint32_t> BentoFs::read_mode(Ino ino) {
  BENTO_ASSIGN_OR_RETURN(DiskInode di, read_inode(ino));
  return di.mode.get();
}

Status BentoFs::write_inode(Handle& h, InodeObj* o, const DiskInode& di, bool sync_tid) {
  BENTO_ASSIGN_OR_RETURN(BufferHead bh, h.get_write(geo_.inode_block(o->ino)));
  uint8_t* p = bh.data_mut().data() + geo_.inode_offset(o->ino);
  __builtin_memcpy(p, &di, kOrphanOff);
  __builtin_memcpy(p + kOrphanOff + 8, reinterpret_cast<const uint8_t*>(&di) + kOrphanOff + 8,
                   kInodeSize - kOrphanOff - 8);
  if (geo_.inode_csum) store_le32(p + 252, inode_checksum(o->ino, p));
  if (sync_tid) o->last_tid.store(h.tid());
  return Status::Ok();
}

Result<InodeRef> BentoFs::iget(Ino ino) {
  if (!running()) return Err(EIO);
  if (ino == 0 || ino >= geo_.inode_count) return Err(ENOENT);
  BENTO_ASSIGN_OR_RETURN(InodeRef ref, icache_.get(ino));
  if (!ref->bitmap_checked.load(std::memory_order_acquire) && !bitmaps_damaged_)
    BENTO_TRY(check_inode_bit(ref.get()));
  return ref;
}

// An in-use inode whose bitmap bit is clear (damage the mount's check cannot see when no
// bit of its table block is set) would be handed out again by alloc_inode: EUCLEAN with a
// log line at the first access instead. No inode lock (callers may hold others): mode and
// generation are read again after the bit, so a concurrent delete (inode cleared, then its
// bit) or reuse is not taken for damage.
Status BentoFs::check_inode_bit(InodeObj* o) {
  auto peek = [&](uint32_t* mode, uint32_t* gen) -> Status {
    BENTO_ASSIGN_OR_RETURN(BufferHead bh, dev_->bread(geo_.inode_block(o->ino)));
    const uint8_t* p = bh.data().data() + geo_.inode_offset(o->ino);
    *mode = load_le32(p + __builtin_offsetof(DiskInode, mode));
    *gen = load_le32(p + __builtin_offsetof(DiskInode, generation));
    return Status::Ok();
  };
  uint32_t mode = 0, gen = 0, mode2 = 0, gen2 = 0;
  BENTO_TRY(peek(&mode, &gen));
  if (mode == 0) return Status::Ok();  // free: nothing to check (yet)
  BENTO_ASSIGN_OR_RETURN(bool set, ialloc_.is_set(*dev_, o->ino));
  if (!set) {
    BENTO_TRY(peek(&mode2, &gen2));
    if (mode2 != 0 && gen2 == gen) {
      log_inode_problem(o->ino,
                        " is in use but marked free in the inode bitmap; run fsck.bento -y");
      return Err(EUCLEAN);
    }
    return Status::Ok();
  }
  o->bitmap_checked.store(true, std::memory_order_release);
  return Status::Ok();
}

Attr BentoFs::to_attr(Ino ino, const DiskInode& di) const {
  Attr a;
  a.ino = ino;
  a.size = di.size.get();
  a.blocks = di.blocks.get() * (kBlockSize / 512);
  a.atime = get_time(di.atime);
  a.mtime = get_time(di.mtime);
  a.ctime = get_time(di.ctime);
  a.btime = get_time(di.btime);
  a.has_btime = true;
  a.mode = di.mode.get();
  a.nlink = di.nlink.get();
  a.uid = di.uid.get();
  a.gid = di.gid.get();
  a.rdev = di.rdev.get();
  a.blksize = kBlockSize;
  return a;
}

Entry BentoFs::make_entry(Ino ino, const DiskInode& di) const {
  Entry e;
  e.ino = ino;
  e.generation = di.generation.get();
  e.attr = to_attr(ino, di);
  // Only this mount's kernel changes the fs (it invalidates what its own operations change;
  // the host invalidates what the fs changes by itself), and a live upgrade keeps the data:
  // the kernel may keep names and attributes for long.
  e.entry_timeout_ms = kCacheTimeoutMs;
  e.attr_timeout_ms = kCacheTimeoutMs;
  return e;
}

Result<Ino> BentoFs::alloc_inode(Handle& h, uint32_t mode, uint32_t uid, uint32_t gid,
                                 uint32_t rdev, DiskInode* out) {
  BENTO_ASSIGN_OR_RETURN(uint64_t ino, ialloc_.alloc(h, 0));
  BENTO_ASSIGN_OR_RETURN(DiskInode old, read_inode(ino));
  if (old.mode.get() != 0) {
    bento::log(bento::LogLevel::kError, "bento-fs: inode bitmap says free but inode is in use");
    return Err(EUCLEAN);
  }
  DiskInode di;
  __builtin_memset(&di, 0, sizeof(di));
  di.mode.set(mode);
  di.uid.set(uid);
  di.gid.set(gid);
  di.nlink.set(1);
  di.rdev.set(rdev);
  di.generation.set(next_generation_.fetch_add(1));
  bento::Timespec now = bento::now_realtime();
  set_time(di.atime, now);
  set_time(di.mtime, now);
  set_time(di.ctime, now);
  set_time(di.btime, now);
  *out = di;
  return ino;
}

Status BentoFs::orphan_add(Handle& h, InodeObj* o, DiskInode&) {
  orphan_mu_.lock();
  Status st = [&]() -> Status {
    BENTO_ASSIGN_OR_RETURN(BufferHead sbh, h.get_write(kSuperBlockNo));
    SuperBlock sb;
    __builtin_memcpy(&sb, sbh.data().data(), sizeof(sb));
    BENTO_ASSIGN_OR_RETURN(BufferHead ib, h.get_write(geo_.inode_block(o->ino)));
    store_le64(ib.data_mut().data() + geo_.inode_offset(o->ino) + kOrphanOff, sb.orphan_head.get());
    sb.orphan_head.set(o->ino);
    seal_superblock(sb);
    __builtin_memcpy(sbh.data_mut().data(), &sb, sizeof(sb));
    return Status::Ok();
  }();
  orphan_mu_.unlock();
  return st;
}

Status BentoFs::orphan_remove(Handle& h, Ino ino) {
  orphan_mu_.lock();
  Status st = [&]() -> Status {
    BENTO_ASSIGN_OR_RETURN(BufferHead sbh, h.get_write(kSuperBlockNo));
    SuperBlock sb;
    __builtin_memcpy(&sb, sbh.data().data(), sizeof(sb));
    auto next_of = [&](Ino i) -> Result<uint64_t> {
      BENTO_ASSIGN_OR_RETURN(BufferHead b, dev_->bread(geo_.inode_block(i)));
      return load_le64(b.data().data() + geo_.inode_offset(i) + kOrphanOff);
    };
    BENTO_ASSIGN_OR_RETURN(uint64_t after, next_of(ino));
    if (sb.orphan_head.get() == ino) {
      sb.orphan_head.set(after);
      seal_superblock(sb);
      __builtin_memcpy(sbh.data_mut().data(), &sb, sizeof(sb));
    } else {
      Ino prev = sb.orphan_head.get();
      uint64_t guard = 0;
      for (;;) {
        if (prev == 0 || prev >= geo_.inode_count || ++guard > geo_.inode_count)
          return Status::Ok();  // not on the list
        BENTO_ASSIGN_OR_RETURN(uint64_t nx, next_of(prev));
        if (nx == ino) break;
        prev = nx;
      }
      BENTO_ASSIGN_OR_RETURN(BufferHead pb, h.get_write(geo_.inode_block(prev)));
      store_le64(pb.data_mut().data() + geo_.inode_offset(prev) + kOrphanOff, after);
    }
    BENTO_ASSIGN_OR_RETURN(BufferHead ib, h.get_write(geo_.inode_block(ino)));
    store_le64(ib.data_mut().data() + geo_.inode_offset(ino) + kOrphanOff, 0);
    return Status::Ok();
  }();
  orphan_mu_.unlock();
  return st;
}

void BentoFs::maybe_delete(InodeRef& ref) {
  if (!ref || !running() || read_only_) return;
  {
    ReadLock lk(ref->lock);
    if (ref->deleted) return;
    auto di = read_inode(ref->ino);
    if (!di.ok() || di->nlink.get() != 0 || di->mode.get() == 0) return;
  }
  if (!icache_.unreferenced(ref.get())) return;
  if (Status s = delete_inode(ref.get()); !s.ok())
    bento::log(bento::LogLevel::kError, "bento-fs: freeing an unlinked inode failed");
}

Status BentoFs::delete_inode(InodeObj* o) {
  // Counted free by statfs while its blocks go back (not on failure to note it: statfs
  // then only lags, as it did).
  const bool noted = deleting_.lock()->push_back(o->ino).ok();
  Status st = free_inode(o);
  if (noted) {
    auto g = deleting_.lock();
    for (Ino& i : *g)
      if (i == o->ino) {
        i = g->back();
        g->pop_back();
        break;
      }
  }
  return st;
}

Status BentoFs::free_inode(InodeObj* o) {
  BENTO_TRY(truncate(o, 0));
  BENTO_ASSIGN_OR_RETURN(Handle h, journal_->begin(16));
  WriteLock lk(o->lock);
  if (o->deleted) return Status::Ok();
  BENTO_ASSIGN_OR_RETURN(DiskInode di, read_inode(o->ino));
  if (di.nlink.get() != 0 || di.mode.get() == 0) return Status::Ok();
  FsCtx c = ctx();
  // A concurrent write may have re-grown it: free everything that is left.
  BENTO_ASSIGN_OR_RETURN(uint64_t left, bmap_free_range(c, h, di, 0, kMaxFileBlocksBig, ~0ULL));
  (void)left;
  BENTO_TRY(xattr_free_all(c, h, di));
  BENTO_TRY(orphan_remove(h, o->ino));
  __builtin_memset(&di, 0, sizeof(di));
  BENTO_TRY(write_inode(h, o, di));
  BENTO_TRY(ialloc_.free(h, o->ino));
  o->deleted = true;
  return Status::Ok();
}

Status BentoFs::truncate(InodeObj* o, uint64_t size) {
  if (size > geo_.max_file_size()) return Err(EFBIG);
  FsCtx c = ctx();
  for (;;) {
    BENTO_ASSIGN_OR_RETURN(Handle h, journal_->begin(kTruncateCredits));
    WriteLock lk(o->lock);
    if (o->deleted) return Err(ENOENT);
    BENTO_ASSIGN_OR_RETURN(DiskInode di, read_inode(o->ino));
    uint64_t cur = di.size.get();
    bool done = true;
    if (size < cur || di.blocks.get() != 0) {
      uint64_t keep = (size + kBlockSize - 1) / kBlockSize;
      BENTO_ASSIGN_OR_RETURN(uint64_t stop,
                             bmap_free_range(c, h, di, keep, kMaxFileBlocksBig, kTruncateStep));
      if (stop > keep) {
        done = false;
        if (stop * kBlockSize < cur) di.size.set(stop * kBlockSize);
      } else if (size % kBlockSize != 0 && size < cur) {
        // Zero the tail of the last block so a later extension reads zeroes.
        BENTO_ASSIGN_OR_RETURN(uint64_t pb, bmap_lookup(c, di, size / kBlockSize));
        if (pb != 0) {
          BENTO_ASSIGN_OR_RETURN(BufferHead bh, h.get_write(pb));
          uint32_t from = size % kBlockSize;
          __builtin_memset(bh.data_mut().data() + from, 0, kBlockSize - from);
        }
      }
    }
    if (done) di.size.set(size);
    if (size != cur || !done) {
      bento::Timespec now = bento::now_realtime();
      set_time(di.mtime, now);
      set_time(di.ctime, now);
    }
    BENTO_TRY(write_inode(h, o, di));
    if (done) return Status::Ok();
  }
}

}  // namespace bentofs
