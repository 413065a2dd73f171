// Files: open/create/release, read/write, setattr/truncate, fsync, access, open handles.
#include <bento/log.h>
#include <bento/time.h>

#include "core/bento_fs.h"
#include "core/directory.h"
#include "core/inode_lock.h"
#include "core/perm.h"
#include "core/times.h"
#include "format/acl.h"

namespace bentofs {

namespace {

namespace md = bento::mode;
namespace of = bento::oflag;
namespace amode = bento::amode;

constexpr uint64_t kChunkBlocks = 64;  // data blocks per write handle

uint32_t open_mask(uint32_t flags) {
  uint32_t m = 0;
  if (flags & of::kExecOpen) {
    m |= amode::kExec;  // execve: the kernel checked MAY_EXEC, and read is not required
  } else if (of::reads(flags)) {
    m |= amode::kRead;
  }
  if (of::writes(flags)) m |= amode::kWrite;
  if ((flags & of::kTruncate) && !of::writes(flags)) m |= amode::kWrite;
  return m;
}

// Drops setuid, and setgid when group-execute is set (setgid without it marks mandatory
// locking, which Linux leaves alone).
void clear_setid_bits(DiskInode& di) {
  uint32_t m = di.mode.get();
  m &= ~md::kSetUid;
  if (m & 010) m &= ~md::kSetGid;
  di.mode.set(m);
}

}  // namespace

Result<Fh> BentoFs::add_handle(Ino ino, uint32_t flags, bool is_dir, uint32_t gen, Fh fh,
                               bool release_room) {
  if (fh == 0) fh = next_fh_.fetch_add(1);
  OpenFile f;
  f.ino = ino;
  f.flags = flags;
  f.is_dir = is_dir;
  f.gen = gen;
  f.release_room = release_room;
  BENTO_TRY(handles_.lock()->insert(fh, f));
  return fh;
}

bool BentoFs::handle_info(Fh fh, OpenFile* out) {
  auto g = handles_.lock();
  OpenFile* f = g->find(fh);
  if (f == nullptr) return false;
  *out = *f;
  return true;
}

Result<bento::OpenReply> BentoFs::open(const Request& req, Ino ino, uint32_t flags) {
  if (ino == kProvLogIno) {  // the hidden provenance log: root, read-only, never cached
    if (req.uid != 0 || of::writes(flags) || (flags & of::kTruncate)) return Err(EACCES);
    bento::OpenReply r;
    r.fh = kProvLogFh;
    r.direct_io = true;
    return r;
  }
  BENTO_ASSIGN_OR_RETURN(InodeRef o, iget(ino));
  bool trunc = false, atime_stale = false;
  uint32_t gen = 0, mode = 0;
  {
    ReadLock lk(o->lock);
    BENTO_ASSIGN_OR_RETURN(DiskInode di, read_inode(ino));
    if (di.mode.get() == 0 || o->deleted) return Err(ENOENT);
    mode = di.mode.get();
    if (md::is_dir(mode) && (of::writes(flags) || (flags & of::kTruncate))) return Err(EISDIR);
    if (md::is_symlink(mode)) return Err(ELOOP);
    if ((flags & of::kDirectory) && !md::is_dir(mode)) return Err(ENOTDIR);
    if (may(req, di, open_mask(flags))) return Err(EACCES);
    if ((of::writes(flags) || (flags & of::kTruncate)) && read_only_) return Err(EROFS);
    if ((of::writes(flags) || (flags & of::kTruncate)) && is_immutable(di)) return Err(EPERM);
    if (is_append_only(di) &&
        ((of::writes(flags) && !(flags & of::kAppend)) || (flags & of::kTruncate)))
      return Err(EPERM);
    trunc = (flags & of::kTruncate) && md::is_reg(mode) && di.size.get() > 0;
    gen = di.generation.get();
    atime_stale = of::reads(flags) && !(flags & of::kExecOpen) && atime_due(di);
  }
  // The record goes first (its own handle, so it commits no later than the truncation
  // below): a crash never keeps an open's effect without its record.
  Fh want = next_fh_.fetch_add(1);
  bool recorded = false;  // room kept for the release record
  if (tracking()) {
    BENTO_ASSIGN_OR_RETURN(ProvLog::Ticket pt, prov_reserve(0, 0, ProvLog::kReleaseRoom));
    pt.keep(ProvLog::kReleaseRoom);  // for this handle's release record
    bool kept = pt.recorded();
    ProvDraft d;
    d.type = prov::RecordType::kOpen;
    d.ino = ino;
    d.gen = gen;
    d.flags = flags;
    d.fh = want;
    d.mode = mode;
    if (Status s = prov_alone(req, d, pt); !s.ok()) {
      if (kept) ProvLog::Ticket back = prov_.held(ProvLog::kReleaseRoom);  // give it back
      return Err(s.error());
    }
    recorded = kept;
  }
  if (trunc) BENTO_TRY(truncate(o.get(), 0));
  if (tracking() && (flags & of::kTruncate) && md::is_reg(mode)) forget_writers(ino);
  icache_.add_open(o.get());
  auto fh = add_handle(ino, flags, false, gen, want, recorded);
  if (!fh.ok()) {
    icache_.sub_open(o.get());
    if (recorded) {
      ProvLog::Ticket kept = prov_.held(ProvLog::kReleaseRoom);  // give the room back
    }
    return Err(ENOMEM);
  }
  bento::OpenReply r;
  r.fh = *fh;
  // Every change to the file comes through this file system (and, under FUSE, through
  // the kernel's page cache), so pages cached by an earlier open are still valid: keeping
  // them is what lets the kernel serve warm reads without calling us. Except when the
  // file's atime is due: then its next read must reach us to update it (atime.cc).
  r.keep_cache = !atime_stale;
  return r;
}

Result<bento::CreateReply> BentoFs::create(const Request& req, Ino parent, std::string_view name,
                                           uint32_t mode, uint32_t flags) {
  const CreateOpen co{flags, next_fh_.fetch_add(1)};
  auto e = create_node(req, parent, name, md::kRegular | (mode & md::kPermMask), 0, {}, &co);
  bento::CreateReply r;
  if (e.ok()) {
    r.entry = *e;
  } else {
    if (e.error() != EEXIST || (flags & of::kExclusive)) return Err(e.error());
    BENTO_ASSIGN_OR_RETURN(r.entry, lookup(req, parent, name));
    auto op = open(req, r.entry.ino, flags);
    if (!op.ok()) {
      forget(r.entry.ino, 1);
      return Err(op.error());
    }
    r.open = *op;
    // O_TRUNC truncated the file after lookup took its attributes: the Entry must not
    // report the old size (the kernel caches these attributes).
    if (flags & of::kTruncate) {
      auto a = getattr(req, r.entry.ino, r.open.fh);
      if (a.ok()) r.entry.attr = *a;
    }
    return r;
  }
  // A new file opens with the requested access even if its mode would deny it (POSIX).
  BENTO_ASSIGN_OR_RETURN(InodeRef o, iget(r.entry.ino));
  icache_.add_open(o.get());
  auto fh = add_handle(r.entry.ino, flags, false, static_cast<uint32_t>(r.entry.generation), co.fh,
                       co.release_room);
  if (!fh.ok()) {
    icache_.sub_open(o.get());
    return Err(ENOMEM);
  }
  r.open.fh = *fh;
  r.open.keep_cache = true;  // see open()
  return r;
}

Status BentoFs::release(const Request& req, Ino ino, Fh fh, uint32_t) {
  if (ino == kProvLogIno) return Status::Ok();
  OpenFile f;
  bool found;
  {
    auto g = handles_.lock();
    if (OpenFile* p = g->find(fh)) f = *p;
    found = g->erase(fh);
  }
  if (!found || !running()) return Status::Ok();
  if (tracking() && !f.is_dir) {
    // Closing never fails for want of room: a recorded handle kept its release record's
    // room; one opened while the log was full is counted in the gap if there is none.
    ProvLog::Ticket t;
    if (f.release_room) {
      t = prov_.held(ProvLog::kReleaseRoom);
    } else if (auto r = prov_reserve(0, 0); r.ok()) {
      t = std::move(*r);
    }
    ProvDraft d;
    d.type = prov::RecordType::kRelease;
    d.ino = ino;
    d.gen = f.gen;
    d.flags = f.flags;
    d.fh = fh;
    d.aux = f.wrote ? prov::kAuxWritten : 0;
    d.parent2 = static_cast<uint64_t>(f.last_write_ns);
    if (!prov_alone(req, d, t).ok())
      bento::log(bento::LogLevel::kError, "bento-prov: could not record a release");
  }
  auto o = iget(ino);
  if (!o.ok()) return Status::Ok();
  if (icache_.sub_open(o->get()) == 0) maybe_delete(*o);
  return Status::Ok();
}

Result<size_t> BentoFs::read(const Request& req, Ino ino, Fh fh, uint64_t off,
                             std::span<uint8_t> buf) {
  if (ino == kProvLogIno) {
    if (!running()) return Err(EIO);
    return prov_.read(off, buf, journal_->committed_tid());
  }
  if (tracking()) {
    OpenFile f;
    bool fresh = false;
    if (note_access(fh, req.pid, false, &f, &fresh) && fresh) {
      BENTO_ASSIGN_OR_RETURN(ProvLog::Ticket pt, prov_reserve(0, 0));
      ProvDraft d;
      d.type = prov::RecordType::kRead;
      d.ino = ino;
      d.gen = f.gen;
      d.flags = f.flags;
      d.fh = fh;
      d.aux = off;
      BENTO_TRY(prov_alone(req, d, pt));
    }
  }
  BENTO_ASSIGN_OR_RETURN(InodeRef o, iget(ino));
  bool touch = false;
  auto n = read_locked(o.get(), off, buf, &touch);
  if (touch) touch_atime(o.get());
  return n;
}

Result<size_t> BentoFs::read_locked(InodeObj* o, uint64_t off, std::span<uint8_t> buf,
                                    bool* touch) {
  ReadLock lk(o->lock);
  BENTO_ASSIGN_OR_RETURN(DiskInode di, read_inode(o->ino));
  if (di.mode.get() == 0) return Err(ENOENT);
  if (md::is_dir(di.mode.get())) return Err(EISDIR);
  *touch = atime_due(di);
  uint64_t size = di.size.get();
  if (off >= size) return size_t{0};
  uint64_t n = buf.size() < size - off ? buf.size() : size - off;
  FsCtx c = ctx();
  uint64_t done = 0;
  while (done < n) {
    uint64_t pos = off + done;
    uint32_t in = pos % kBlockSize;
    uint64_t len = kBlockSize - in < n - done ? kBlockSize - in : n - done;
    BENTO_ASSIGN_OR_RETURN(uint64_t b, bmap_lookup(c, di, pos / kBlockSize));
    if (b == 0) {
      __builtin_memset(buf.data() + done, 0, len);
    } else {
      BENTO_ASSIGN_OR_RETURN(BufferHead bh, dev_->bread(b));
      __builtin_memcpy(buf.data() + done, bh.data().data() + in, len);
    }
    done += len;
  }
  return static_cast<size_t>(n);
}

Result<size_t> BentoFs::write_chunk(InodeObj* o, uint64_t off, std::span<const uint8_t> data,
                                    bool append, const Request& req, uint64_t* end_off,
                                    const ProvDraft* rec, ProvLog::Ticket* ticket) {
  uint64_t nblocks = (off % kBlockSize + data.size() + kBlockSize - 1) / kBlockSize + 1;
  BENTO_ASSIGN_OR_RETURN(Handle h, journal_->begin(static_cast<uint32_t>(nblocks * 2 + 8) +
                                                   (rec != nullptr ? ProvLog::kCredits : 0)));
  WriteLock lk(o->lock);
  if (o->deleted) return Err(ENOENT);
  BENTO_ASSIGN_OR_RETURN(DiskInode di, read_inode(o->ino));
  if (is_immutable(di)) return Err(EPERM);
  if (append) off = di.size.get();
  if (is_append_only(di) && off < di.size.get()) return Err(EPERM);
  const uint64_t max_size = geo_.max_file_size();
  if (off >= max_size) return Err(EFBIG);
  if (data.size() > max_size - off) data = data.first(max_size - off);
  FsCtx c = ctx();
  uint64_t done = 0;
  Status err = Status::Ok();
  while (done < data.size()) {
    uint64_t pos = off + done;
    uint32_t in = pos % kBlockSize;
    uint64_t len = kBlockSize - in < data.size() - done ? kBlockSize - in : data.size() - done;
    bool fresh;
    auto b = bmap_alloc(c, h, di, pos / kBlockSize, &fresh);
    if (!b.ok()) {
      err = b.status();
      break;
    }
    // Whole-block overwrites need no read; fresh blocks were zeroed by bmap_alloc.
    auto bh = (len == kBlockSize && !fresh) ? h.get_new(*b) : h.get_write(*b);
    if (!bh.ok()) {
      err = bh.status();
      break;
    }
    __builtin_memcpy(bh->data_mut().data() + in, data.data() + done, len);
    done += len;
  }
  if (done == 0 && !err.ok()) {
    (void)write_inode(h, o, di);  // indirect blocks may have been allocated
    return Err(err.error());
  }
  if (off + done > di.size.get()) di.size.set(off + done);
  bento::Timespec now = bento::now_realtime();
  set_time(di.mtime, now);
  set_time(di.ctime, now);
  // Writing by a caller without CAP_FSETID (approximated: not root) drops set-id bits.
  if (req.uid != 0) clear_setid_bits(di);
  BENTO_TRY(write_inode(h, o, di));
  if (rec != nullptr) {
    ProvDraft d = *rec;
    d.aux = off;  // where this writer's first write landed
    BENTO_TRY(prov_append(h, req, d, *ticket));
  }
  *end_off = off + done;
  return static_cast<size_t>(done);
}

Result<size_t> BentoFs::write(const Request& req, Ino ino, Fh fh, uint64_t off,
                              std::span<const uint8_t> data) {
  if (read_only_) return Err(EROFS);
  OpenFile f;
  if (!handle_info(fh, &f) || f.ino != ino || f.is_dir) return Err(EBADF);
  if (!of::writes(f.flags)) return Err(EBADF);
  BENTO_ASSIGN_OR_RETURN(InodeRef o, iget(ino));
  // A new writer through this handle (a forked child, a process given the fd) gets a
  // record, appended with its first chunk.
  bool fresh = false;
  (void)note_access(fh, req.pid, true, &f, &fresh);
  ProvDraft rec;
  ProvLog::Ticket ticket;
  bool with_rec = false;
  if (fresh && tracking()) {
    BENTO_ASSIGN_OR_RETURN(ticket, prov_reserve(0, 0));
    rec.type = prov::RecordType::kWrite;
    rec.ino = ino;
    rec.gen = f.gen;
    rec.flags = f.flags;
    rec.fh = fh;
    with_rec = true;
  }
  bool append = (f.flags & of::kAppend) != 0;
  size_t total = 0;
  while (total < data.size()) {
    size_t n = data.size() - total;
    uint64_t pos = off + total;
    uint64_t room = kChunkBlocks * kBlockSize - pos % kBlockSize;
    if (n > room) n = room;
    uint64_t end = 0;
    auto r = write_chunk(o.get(), pos, data.subspan(total, n), append, req, &end,
                         with_rec ? &rec : nullptr, with_rec ? &ticket : nullptr);
    with_rec = false;  // one record per new writer, with the first chunk
    if (!r.ok()) {
      if (total > 0) break;
      return Err(r.error());
    }
    total += *r;
    if (append) off = end - total;  // later chunks follow the appended data
    if (*r < n) break;
  }
  if (total > 0) note_written(fh, req.pid);
  return total;
}

Result<Attr> BentoFs::setattr(const Request& req, Ino ino, const bento::SetAttr& sa, Fh fh) {
  using bento::SetAttr;
  if (ino == kProvLogIno) return Err(EPERM);
  if (read_only_) return Err(EROFS);
  BENTO_ASSIGN_OR_RETURN(InodeRef o, iget(ino));
  const bool rec_mode = (sa.valid & SetAttr::kMode) != 0;
  const bool rec_owner = (sa.valid & (SetAttr::kUid | SetAttr::kGid)) != 0;
  ProvLog::Ticket t_mode, t_owner;
  if (rec_mode) {
    BENTO_ASSIGN_OR_RETURN(t_mode, prov_reserve(0, 0));
  }
  if (rec_owner) {
    BENTO_ASSIGN_OR_RETURN(t_owner, prov_reserve(0, 0));
  }
  if (sa.valid & SetAttr::kSize) {
    {
      ReadLock lk(o->lock);
      BENTO_ASSIGN_OR_RETURN(DiskInode di, read_inode(ino));
      if (di.mode.get() == 0) return Err(ENOENT);
      if (md::is_dir(di.mode.get())) return Err(EISDIR);
      if (!md::is_reg(di.mode.get())) return Err(EINVAL);
      if (is_pinned(di)) return Err(EPERM);
      OpenFile f;
      bool via_writable_fh = fh != bento::kNoFh && handle_info(fh, &f) && of::writes(f.flags);
      if (!via_writable_fh && may(req, di, amode::kWrite)) return Err(EACCES);
    }
    if (sa.size > geo_.max_file_size()) return Err(EFBIG);
    if (tracking()) {
      // Recorded first (truncation runs in several handles of its own): its record
      // commits no later than any part of it.
      BENTO_ASSIGN_OR_RETURN(ProvLog::Ticket pt, prov_reserve(0, 0));
      ProvDraft d;
      d.type = prov::RecordType::kTruncate;
      d.ino = ino;
      if (auto di = read_inode(ino); di.ok()) d.gen = di->generation.get();
      d.fh = fh;
      d.aux = sa.size;
      BENTO_TRY(prov_alone(req, d, pt));
    }
    BENTO_TRY(truncate(o.get(), sa.size));
    if (tracking() && sa.size == 0) forget_writers(ino);
  }
  // A chmod rewrites the access ACL too (its owner, mask and other entries).
  uint32_t acl_credits = 0;
  if (auto peek = read_inode(ino); peek.ok() && (peek->flags.get() & iflag::kHasAcl))
    acl_credits = xattr_credits(ino, 0);
  BENTO_ASSIGN_OR_RETURN(Handle h, journal_->begin(4 + 2 * ProvLog::kCredits + acl_credits));
  WriteLock lk(o->lock);
  BENTO_ASSIGN_OR_RETURN(DiskInode di, read_inode(ino));
  if (di.mode.get() == 0 || o->deleted) return Err(ENOENT);
  if (is_immutable(di)) return Err(EPERM);
  if (is_append_only(di) && (sa.valid & (SetAttr::kMode | SetAttr::kUid | SetAttr::kGid |
                                         SetAttr::kAtime | SetAttr::kMtime)) &
                                ~((sa.valid & (SetAttr::kAtimeNow | SetAttr::kMtimeNow)) >> 3))
    return Err(EPERM);
  bento::Timespec now = bento::now_realtime();
  bool changed = (sa.valid & SetAttr::kSize) != 0;
  if (sa.valid & SetAttr::kMode) {
    uint32_t m = sa.mode & md::kPermMask;
    // After a write by someone else the kernel drops set-id bits with a setattr sent as
    // the writer: a change that only clears them is allowed to anyone.
    const uint32_t setid = md::kSetUid | md::kSetGid;
    const uint32_t cur = di.mode.get() & md::kPermMask;
    const bool only_drops_setid = (m & ~setid) == (cur & ~setid) && (m & ~cur) == 0;
    if (!only_drops_setid && !is_owner_or_root(req, di)) return Err(EPERM);
    if (req.uid != 0 && !in_group(req, di.gid.get())) m &= ~md::kSetGid;
    di.mode.set((di.mode.get() & md::kTypeMask) | m);
    if (di.flags.get() & iflag::kHasAcl) BENTO_TRY(chmod_acl(h, di, m));
    changed = true;
  }
  if (sa.valid & (SetAttr::kUid | SetAttr::kGid)) {
    bool uid_change = (sa.valid & SetAttr::kUid) && sa.uid != di.uid.get();
    bool gid_change = (sa.valid & SetAttr::kGid) && sa.gid != di.gid.get();
    if (req.uid != 0) {
      if (uid_change) return Err(EPERM);
      if (gid_change && (req.uid != di.uid.get() || !in_group(req, sa.gid))) return Err(EPERM);
    }
    if (sa.valid & SetAttr::kUid) di.uid.set(sa.uid);
    if (sa.valid & SetAttr::kGid) di.gid.set(sa.gid);
    // Linux drops set-id bits on every chown of a non-directory, even to the same owner
    // and even by root, unless the same call sets the mode.
    if (!md::is_dir(di.mode.get()) && !(sa.valid & SetAttr::kMode)) clear_setid_bits(di);
    changed = true;
  }
  // Truncation by a caller without CAP_FSETID (approximated: not root) drops them too.
  if ((sa.valid & SetAttr::kSize) && req.uid != 0 && !(sa.valid & SetAttr::kMode)) {
    clear_setid_bits(di);
  }
  uint32_t explicit_times = SetAttr::kAtime | SetAttr::kMtime;
  uint32_t now_times = SetAttr::kAtimeNow | SetAttr::kMtimeNow;
  if (sa.valid & (explicit_times | now_times)) {
    bool only_now = (sa.valid & explicit_times & ~((sa.valid & now_times) >> 3)) == 0;
    if (!is_owner_or_root(req, di)) {
      if (!only_now) return Err(EPERM);
      if (may(req, di, amode::kWrite)) return Err(EACCES);
    }
    if (sa.valid & SetAttr::kAtimeNow)
      set_time(di.atime, now);
    else if (sa.valid & SetAttr::kAtime)
      set_time(di.atime, sa.atime);
    if (sa.valid & SetAttr::kMtimeNow)
      set_time(di.mtime, now);
    else if (sa.valid & SetAttr::kMtime)
      set_time(di.mtime, sa.mtime);
    changed = true;
  }
  if (changed) set_time(di.ctime, (sa.valid & SetAttr::kCtime) ? sa.ctime : now);
  BENTO_TRY(write_inode(h, o.get(), di));
  if (rec_mode || rec_owner) {
    ProvDraft d;
    d.ino = ino;
    d.gen = di.generation.get();
    d.fh = fh;
    d.mode = di.mode.get();
    if (rec_mode) {
      d.type = prov::RecordType::kChmod;
      BENTO_TRY(prov_append(h, req, d, t_mode));
    }
    if (rec_owner) {
      d.type = prov::RecordType::kChown;
      d.aux = static_cast<uint64_t>(di.uid.get()) << 32 | di.gid.get();
      BENTO_TRY(prov_append(h, req, d, t_owner));
    }
  }
  return to_attr(ino, di);
}

Status BentoFs::chmod_acl(Handle& h, DiskInode& di, uint32_t mode) {
  XattrSet set;
  BENTO_TRY(xattr_load(ctx(), di, &set));
  XattrSet::Entry e;
  if (!set.find(acl::kAccessName, &e)) return Status::Ok();
  Acl a;
  BENTO_TRY(acl_parse(e.value, &a));
  acl_chmod(&a, mode);
  bento::Vec<uint8_t> enc;
  BENTO_TRY(acl_encode(a, &enc));
  BENTO_TRY(set.remove(e));
  BENTO_TRY(set.append(acl::kAccessName, std::span<const uint8_t>(enc.data(), enc.size())));
  return xattr_store(ctx(), h, di, set, geo_.xattr_map);
}

Status BentoFs::fsync(const Request&, Ino ino, Fh, bool) {
  if (read_only_ || !running()) return Status::Ok();
  // fsync on the provenance log: make every record appended so far durable (readers see
  // only committed records).
  if (ino == kProvLogIno) return journal_->wait_commit(journal_->next_sequence());
  BENTO_ASSIGN_OR_RETURN(InodeRef o, iget(ino));
  return journal_->wait_commit(o->last_tid.load());
}

Status BentoFs::fsyncdir(const Request& req, Ino ino, Fh fh, bool d) {
  return fsync(req, ino, fh, d);
}

Result<bento::OpenReply> BentoFs::opendir(const Request& req, Ino ino, uint32_t flags) {
  BENTO_ASSIGN_OR_RETURN(InodeRef o, iget(ino));
  uint32_t gen = 0;  // for its listing's record
  {
    ReadLock lk(o->lock);
    BENTO_ASSIGN_OR_RETURN(DiskInode di, read_inode(ino));
    if (di.mode.get() == 0 || o->deleted) return Err(ENOENT);
    if (!md::is_dir(di.mode.get())) return Err(ENOTDIR);
    if (may(req, di, amode::kRead)) return Err(EACCES);
    gen = di.generation.get();
  }
  icache_.add_open(o.get());
  auto fh = add_handle(ino, flags, true, gen);
  if (!fh.ok()) {
    icache_.sub_open(o.get());
    return Err(ENOMEM);
  }
  bento::OpenReply r;
  r.fh = *fh;
  return r;
}

Status BentoFs::releasedir(const Request& req, Ino ino, Fh fh) {
  return release(req, ino, fh, 0);
}

Result<uint64_t> BentoFs::bmap(const Request&, Ino ino, uint32_t blocksize, uint64_t idx) {
  if (blocksize != kBlockSize) return Err(EINVAL);
  BENTO_ASSIGN_OR_RETURN(InodeRef o, iget(ino));
  ReadLock lk(o->lock);
  BENTO_ASSIGN_OR_RETURN(DiskInode di, read_inode(ino));
  if (di.mode.get() == 0 || o->deleted) return Err(ENOENT);
  if (!md::is_reg(di.mode.get())) return Err(EINVAL);
  if (idx >= geo_.max_file_blocks()) return Err(EFBIG);
  return bmap_lookup(ctx(), di, idx);  // 0 for a hole
}

Status BentoFs::access(const Request& req, Ino ino, uint32_t mask) {
  if (ino == kProvLogIno)
    return (req.uid == 0 && !(mask & amode::kWrite)) ? Status::Ok() : Err(EACCES);
  BENTO_ASSIGN_OR_RETURN(InodeRef o, iget(ino));
  ReadLock lk(o->lock);
  BENTO_ASSIGN_OR_RETURN(DiskInode di, read_inode(ino));
  if (di.mode.get() == 0 || o->deleted) return Err(ENOENT);
  if (mask == amode::kExists) return Status::Ok();
  if ((mask & amode::kWrite) && read_only_) return Err(EROFS);
  if ((mask & amode::kWrite) && is_immutable(di)) return Err(EPERM);
  if (may(req, di, mask)) return Err(EACCES);
  return Status::Ok();
}

}  // namespace bentofs
