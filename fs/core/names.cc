// The namespace: lookup, create (mknod/mkdir/symlink), unlink/rmdir, link, rename,
// readlink and readdir.
#include <bento/log.h>
#include <bento/time.h>

#include "core/bento_fs.h"
#include "core/directory.h"
#include "core/inode_lock.h"
#include "core/perm.h"
#include "core/times.h"
#include "core/xattr_store.h"
#include "format/acl.h"

namespace bentofs {

namespace {

namespace amode = bento::amode;
namespace md = bento::mode;

constexpr uint32_t kNameCredits = 48;

// Credits for adding a name to a directory: the usual blocks plus, when the hash table
// may double, every block of the doubled table. Estimated from a peek at the depth under
// the directory's read lock, let go before the handle begins (the write lock comes after
// it); a second doubling before the insert is rare and covered by the journal's margin.
uint32_t insert_credits(const FsCtx& c, const DiskInode& dir) {
  auto b = bmap_lookup(c, dir, 0);
  if (!b.ok() || *b == 0) return kNameCredits;
  auto bh = c.dev->bread(*b);
  if (!bh.ok()) return kNameCredits;
  DirHeader hd;
  __builtin_memcpy(&hd, bh->data().data(), sizeof(hd));
  uint32_t depth = hd.global_depth.get();
  if (depth < kInlineTableMaxDepth || depth >= kMaxDirDepth) return kNameCredits;
  // + 1: with DIR_CSUM a table block holds 1023 slots, so the doubled table may take one
  // block more.
  return kNameCredits + static_cast<uint32_t>((4ULL << (depth + 1)) / kBlockSize) + 3;
}

}  // namespace

uint32_t BentoFs::name_credits(InodeObj* dir) {
  ReadLock lk(dir->lock);  // not torn by a writer (a torn inode would read as damaged)
  auto di = read_inode(dir->ino);
  return di.ok() && md::is_dir(di->mode.get()) ? insert_credits(ctx(), *di) : kNameCredits;
}

namespace {

int check_name(std::string_view name) {
  if (name.empty()) return ENOENT;
  if (name.size() > bento::kNameMax) return ENAMETOOLONG;
  for (char ch : name)
    if (ch == '/' || ch == '\0') return EINVAL;
  return 0;
}
bool is_dot(std::string_view n) {
  return n == "." || n == "..";
}

// Sticky directories: only the owner of the entry or the directory (or root) removes it.
bool sticky_denies(const Request& r, const DiskInode& dir, const DiskInode& victim) {
  return (dir.mode.get() & md::kSticky) && r.uid != 0 && r.uid != dir.uid.get() &&
         r.uid != victim.uid.get();
}

void touch_dir(DiskInode& d) {
  bento::Timespec now = bento::now_realtime();
  set_time(d.mtime, now);
  set_time(d.ctime, now);
}

}  // namespace

Status BentoFs::inherit_acls(const bento::Vec<AclEntry>& dacl, bool is_dir, uint32_t* mode,
                             XattrSet* out, uint32_t* flags) {
  Acl access;
  for (const AclEntry& e : dacl) BENTO_TRY(access.push_back(e));
  const uint32_t perm = acl_create_masq(&access, *mode & 0777);
  *mode = (*mode & ~0777u) | (perm & 0777);
  bool extended = false;
  (void)acl_mode(access, &extended);
  bento::Vec<uint8_t> enc;
  if (extended) {
    BENTO_TRY(acl_encode(access, &enc));
    BENTO_TRY(out->append(acl::kAccessName, std::span<const uint8_t>(enc.data(), enc.size())));
    *flags |= iflag::kHasAcl;
  }
  if (is_dir) {  // a subdirectory inherits the default ACL itself too
    BENTO_TRY(acl_encode(dacl, &enc));
    BENTO_TRY(out->append(acl::kDefaultName, std::span<const uint8_t>(enc.data(), enc.size())));
    *flags |= iflag::kHasDefaultAcl;
  }
  return Status::Ok();
}

Result<Entry> BentoFs::lookup(const Request& req, Ino parent, std::string_view name) {
  if (name.size() > bento::kNameMax) return Err(ENAMETOOLONG);
  if (parent == bento::kRootIno && name == prov::kProvLogFileName && prov_.present())
    return prov_file_entry(req);
  BENTO_ASSIGN_OR_RETURN(InodeRef p, iget(parent));
  // "." never comes from path walks (the VFS resolves it): it is how the kernel turns a
  // file handle (open_by_handle_at, NFS) back into an inode it no longer caches, so it
  // works on any type of inode and needs no search permission.
  if (name == ".") {
    ReadLock lk(p->lock);
    BENTO_ASSIGN_OR_RETURN(DiskInode di, read_inode(parent));
    if (di.mode.get() == 0 || p->deleted || di.nlink.get() == 0) return Err(ESTALE);
    BENTO_TRY(verify_inode_once(p.get(), di));
    icache_.add_lookup(p.get(), 1);
    return make_entry(parent, di);
  }
  InodeRef child;
  uint8_t type = 0;  // the entry's d_type
  {
    ReadLock lk(p->lock);
    BENTO_ASSIGN_OR_RETURN(DiskInode pdi, read_inode(parent));
    if (pdi.mode.get() == 0 || p->deleted) return Err(ENOENT);
    if (!md::is_dir(pdi.mode.get())) return Err(ENOTDIR);
    if (may(req, pdi, amode::kExec)) return Err(EACCES);
    Ino ino;
    if (name == "..") {
      BENTO_ASSIGN_OR_RETURN(ino, dir_parent(ctx(), pdi, DirIno{parent}));
    } else {
      DirEntryInfo info;
      BENTO_ASSIGN_OR_RETURN(bool found, dir_find(ctx(), pdi, DirIno{parent}, name, &info));
      if (!found) return Err(ENOENT);
      ino = info.ino;
      type = info.type;
    }
    BENTO_ASSIGN_OR_RETURN(child, iget(ino));
    // Counted while the name is still held: an unlink now sees the lookup.
    icache_.add_lookup(child.get(), 1);
  }
  ReadLock lk(child->lock);
  auto di = read_inode(child->ino);
  if (!di.ok() || di->mode.get() == 0 || child->deleted) {
    icache_.sub_lookup(child.get(), 1);
    return Err(di.ok() ? ENOENT : di.error());  // a damaged inode is EUCLEAN, not "absent"
  }
  if (name != ".." && md::dirent_type(di->mode.get()) != type) {
    // The entry and the inode disagree on the file type: one of them is damaged.
    icache_.sub_lookup(child.get(), 1);
    bento::log(bento::LogLevel::kError,
               "bento-fs: a directory entry's file type does not match its inode; run "
               "fsck.bento");
    return Err(EUCLEAN);
  }
  if (Status s = verify_inode_once(child.get(), *di); !s.ok()) {
    icache_.sub_lookup(child.get(), 1);
    return s;
  }
  return make_entry(child->ino, *di);
}

void BentoFs::forget(Ino ino, uint64_t n) {
  if (!running() || ino == kProvLogIno) return;
  auto r = iget(ino);
  if (!r.ok()) return;
  if (icache_.sub_lookup(r->get(), n) == 0) maybe_delete(*r);
}

Result<Attr> BentoFs::getattr(const Request&, Ino ino, Fh) {
  if (ino == kProvLogIno) return prov_file_attr();
  BENTO_ASSIGN_OR_RETURN(InodeRef o, iget(ino));
  ReadLock lk(o->lock);
  BENTO_ASSIGN_OR_RETURN(DiskInode di, read_inode(ino));
  if (di.mode.get() == 0 || o->deleted) return Err(ENOENT);
  return to_attr(ino, di);
}

Result<size_t> BentoFs::readlink(const Request&, Ino ino, std::span<char> buf) {
  BENTO_ASSIGN_OR_RETURN(InodeRef o, iget(ino));
  ReadLock lk(o->lock);
  BENTO_ASSIGN_OR_RETURN(DiskInode di, read_inode(ino));
  if (di.mode.get() == 0) return Err(ENOENT);
  if (!md::is_symlink(di.mode.get())) return Err(EINVAL);
  BENTO_ASSIGN_OR_RETURN(uint64_t b, bmap_lookup(ctx(), di, 0));
  if (b == 0) return Err(EUCLEAN);
  BENTO_ASSIGN_OR_RETURN(BufferHead bh, dev_->bread(b));
  size_t n = di.size.get() < buf.size() ? di.size.get() : buf.size();
  if (n > kBlockSize) n = kBlockSize;  // a damaged size never reads past the block
  __builtin_memcpy(buf.data(), bh.data().data(), n);
  return n;
}

Result<Entry> BentoFs::create_node(const Request& req, Ino parent, std::string_view name,
                                   uint32_t mode, uint32_t rdev, std::string_view target,
                                   const CreateOpen* co) {
  if (int e = check_name(name)) return Err(e);
  if (is_dot(name)) return Err(EEXIST);
  if (parent == bento::kRootIno && name == prov::kProvLogFileName && prov_.present())
    return Err(EEXIST);
  if (read_only_) return Err(EROFS);
  BENTO_ASSIGN_OR_RETURN(InodeRef p, iget(parent));
  const uint32_t credits = name_credits(p.get());
  BENTO_ASSIGN_OR_RETURN(ProvLog::Ticket pt,
                         prov_reserve(name.size(), target.size(), co ? ProvLog::kReleaseRoom : 0));
  // + the new inode's inherited ACLs (map block, a stream block, their bitmap blocks).
  BENTO_ASSIGN_OR_RETURN(Handle h, journal_->begin(credits + ProvLog::kCredits + 6));
  ReadLock ns(rename_lock_);
  WriteLock plk(p->lock);
  BENTO_ASSIGN_OR_RETURN(DiskInode pdi, read_inode(parent));
  if (pdi.mode.get() == 0 || p->deleted) return Err(ENOENT);
  if (!md::is_dir(pdi.mode.get())) return Err(ENOTDIR);
  if (pdi.nlink.get() == 0) return Err(ENOENT);  // removed directory
  if (may(req, pdi, amode::kWrite | amode::kExec)) return Err(EACCES);
  if (is_immutable(pdi)) return Err(EPERM);
  FsCtx c = ctx();
  BENTO_ASSIGN_OR_RETURN(bool exists, dir_find(c, pdi, DirIno{parent}, name, nullptr));
  if (exists) return Err(EEXIST);
  bool is_dir = md::is_dir(mode);
  if (is_dir && pdi.nlink.get() >= kMaxLinks) return Err(EMLINK);
  uint32_t gid = req.gid;
  if (pdi.mode.get() & md::kSetGid) {
    gid = pdi.gid.get();
    if (is_dir) mode |= md::kSetGid;
  }
  // Permission bits: the directory's default ACL if it has one (POSIX.1e: then the umask
  // does not apply), else the caller's umask.
  XattrSet inherited;
  uint32_t acl_flags = 0;
  if (!md::is_symlink(mode)) {
    Acl dacl;
    Result<bool> has = false;
    if (pdi.flags.get() & iflag::kHasDefaultAcl) has = load_acl(pdi, acl::kDefaultName, &dacl);
    if (has.ok() && *has) {
      BENTO_TRY(inherit_acls(dacl, is_dir, &mode, &inherited, &acl_flags));
    } else {
      mode &= ~(req.umask & 0777);
    }
  }
  DiskInode di;
  BENTO_ASSIGN_OR_RETURN(Ino ino, alloc_inode(h, mode, req.uid, gid, rdev, &di));
  di.flags.set(acl_flags);
  BENTO_ASSIGN_OR_RETURN(InodeRef child, icache_.get(ino));
  child->bitmap_checked.store(true);  // alloc_inode just set its bit
  WriteLock clk(child->lock);
  Status st = [&]() -> Status {
    if (inherited.count() != 0) BENTO_TRY(xattr_store(c, h, di, inherited, geo_.xattr_map));
    if (is_dir) {
      di.nlink.set(2);
      BENTO_TRY(dir_init(c, h, di, DirIno{ino}, parent));
    } else if (md::is_symlink(mode)) {
      bool fresh;
      BENTO_ASSIGN_OR_RETURN(uint64_t b, bmap_alloc(c, h, di, 0, &fresh));
      BENTO_ASSIGN_OR_RETURN(BufferHead bh, h.get_write(b));
      __builtin_memcpy(bh.data_mut().data(), target.data(), target.size());
      di.size.set(target.size());
    }
    return dir_add(c, h, pdi, DirIno{parent}, name, ino, md::dirent_type(mode));
  }();
  if (!st.ok()) {
    // Undo the allocations (the journal has no abort: the handle's blocks are consistent).
    (void)bmap_free_range(c, h, di, 0, kMaxFileBlocksBig, ~0ULL);
    (void)xattr_free_all(c, h, di);
    __builtin_memset(&di, 0, sizeof(di));
    (void)write_inode(h, child.get(), di);
    (void)ialloc_.free(h, ino);
    child->deleted = true;
    (void)write_inode(h, p.get(), pdi);  // the directory may have grown
    return Err(st.error());
  }
  BENTO_TRY(write_inode(h, child.get(), di));
  if (is_dir) pdi.nlink.set(pdi.nlink.get() + 1);
  touch_dir(pdi);
  BENTO_TRY(write_inode(h, p.get(), pdi));
  if (pt.valid()) {
    ProvDraft d;
    d.type = co               ? prov::RecordType::kCreate
             : is_dir         ? prov::RecordType::kMkdir
             : target.empty() ? prov::RecordType::kMknod
                              : prov::RecordType::kSymlink;
    d.ino = ino;
    d.gen = di.generation.get();
    d.parent = parent;
    d.name = name;
    d.name2 = target;
    d.mode = mode;
    if (co != nullptr) {
      d.flags = co->flags;
      d.fh = co->fh;
      pt.keep(ProvLog::kReleaseRoom);  // for this handle's release record
      co->release_room = pt.recorded();
    }
    BENTO_TRY(prov_append(h, req, d, pt));
  }
  icache_.add_lookup(child.get(), 1);
  return make_entry(ino, di);
}

Result<bento::CreateReply> BentoFs::tmpfile(const Request& req, Ino parent, uint32_t mode,
                                            uint32_t flags) {
  if (read_only_) return Err(EROFS);
  BENTO_ASSIGN_OR_RETURN(InodeRef p, iget(parent));
  const Fh fh = next_fh_.fetch_add(1);
  BENTO_ASSIGN_OR_RETURN(ProvLog::Ticket pt, prov_reserve(0, 0, ProvLog::kReleaseRoom));
  // The inode, its inherited ACLs, the orphan list (superblock, inode block).
  BENTO_ASSIGN_OR_RETURN(Handle h, journal_->begin(16 + ProvLog::kCredits));
  WriteLock plk(p->lock);
  BENTO_ASSIGN_OR_RETURN(DiskInode pdi, read_inode(parent));
  if (pdi.mode.get() == 0 || p->deleted) return Err(ENOENT);
  if (!md::is_dir(pdi.mode.get())) return Err(ENOTDIR);
  if (pdi.nlink.get() == 0) return Err(ENOENT);
  if (may(req, pdi, amode::kWrite | amode::kExec)) return Err(EACCES);
  if (is_immutable(pdi)) return Err(EPERM);
  mode = md::kRegular | (mode & md::kPermMask);
  XattrSet inherited;
  uint32_t acl_flags = 0;
  Acl dacl;
  Result<bool> has = false;
  if (pdi.flags.get() & iflag::kHasDefaultAcl) has = load_acl(pdi, acl::kDefaultName, &dacl);
  if (has.ok() && *has) {
    BENTO_TRY(inherit_acls(dacl, false, &mode, &inherited, &acl_flags));
  } else {
    mode &= ~(req.umask & 0777);
  }
  uint32_t gid = (pdi.mode.get() & md::kSetGid) ? pdi.gid.get() : req.gid;
  DiskInode di;
  BENTO_ASSIGN_OR_RETURN(Ino ino, alloc_inode(h, mode, req.uid, gid, 0, &di));
  di.flags.set(acl_flags);
  di.nlink.set(0);  // no name: on the orphan list until link() gives it one
  BENTO_ASSIGN_OR_RETURN(InodeRef child, icache_.get(ino));
  child->bitmap_checked.store(true);  // alloc_inode just set its bit
  WriteLock clk(child->lock);
  if (inherited.count() != 0) BENTO_TRY(xattr_store(ctx(), h, di, inherited, geo_.xattr_map));
  BENTO_TRY(write_inode(h, child.get(), di));
  BENTO_TRY(orphan_add(h, child.get(), di));
  child->linkable = (flags & bento::oflag::kExclusive) == 0;
  bool room = false;
  if (pt.valid()) {
    // kCreate with an empty name: the file exists, in `parent`, without a name yet.
    ProvDraft d;
    d.type = prov::RecordType::kCreate;
    d.ino = ino;
    d.gen = di.generation.get();
    d.parent = parent;
    d.mode = mode;
    d.flags = flags;
    d.fh = fh;
    pt.keep(ProvLog::kReleaseRoom);  // for this handle's release record
    room = pt.recorded();
    BENTO_TRY(prov_append(h, req, d, pt));
  }
  icache_.add_lookup(child.get(), 1);
  icache_.add_open(child.get());
  auto added = add_handle(ino, flags, false, di.generation.get(), fh, room);
  if (!added.ok()) {
    // The unnamed inode stays on the orphan list; the next mount frees it.
    icache_.sub_open(child.get());
    icache_.sub_lookup(child.get(), 1);
    return Err(ENOMEM);
  }
  bento::CreateReply r;
  r.entry = make_entry(ino, di);
  r.open.fh = fh;
  r.open.keep_cache = true;
  return r;
}

Result<Entry> BentoFs::mknod(const Request& req, Ino parent, std::string_view name, uint32_t mode,
                             uint32_t rdev) {
  uint32_t type = mode & md::kTypeMask;
  if (type == 0) type = md::kRegular;
  if (type == md::kDirectory || type == md::kSymlink) return Err(EINVAL);
  if ((type == md::kCharDev || type == md::kBlockDev) && req.uid != 0) return Err(EPERM);
  if (type != md::kRegular && type != md::kFifo && type != md::kSocket && type != md::kCharDev &&
      type != md::kBlockDev)
    return Err(EINVAL);
  return create_node(req, parent, name, type | (mode & md::kPermMask), rdev, {});
}

Result<Entry> BentoFs::mkdir(const Request& req, Ino parent, std::string_view name, uint32_t mode) {
  return create_node(req, parent, name, md::kDirectory | (mode & md::kPermMask), 0, {});
}

Result<Entry> BentoFs::symlink(const Request& req, std::string_view target, Ino parent,
                               std::string_view name) {
  if (target.empty()) return Err(ENOENT);
  if (target.size() >= bento::kPathMax) return Err(ENAMETOOLONG);
  return create_node(req, parent, name, md::kSymlink | 0777, 0, target);
}

Status BentoFs::unlink(const Request& req, Ino parent, std::string_view name) {
  return remove_name(req, parent, name, false);
}
Status BentoFs::rmdir(const Request& req, Ino parent, std::string_view name) {
  return remove_name(req, parent, name, true);
}

Status BentoFs::remove_name(const Request& req, Ino parent, std::string_view name, bool rmdir) {
  if (name.size() > bento::kNameMax) return Err(ENAMETOOLONG);
  if (name == ".") return Err(rmdir ? EINVAL : EISDIR);
  if (name == "..") return Err(rmdir ? ENOTEMPTY : EISDIR);
  if (read_only_) return Err(EROFS);
  BENTO_ASSIGN_OR_RETURN(InodeRef p, iget(parent));
  InodeRef child;
  if (parent == bento::kRootIno && name == prov::kProvLogFileName && prov_.present())
    return Err(EPERM);
  BENTO_ASSIGN_OR_RETURN(ProvLog::Ticket pt, prov_reserve(name.size(), 0));
  Status st = [&]() -> Status {
    BENTO_ASSIGN_OR_RETURN(Handle h, journal_->begin(kNameCredits + ProvLog::kCredits));
    ReadLock ns(rename_lock_);
    WriteLock plk(p->lock);
    BENTO_ASSIGN_OR_RETURN(DiskInode pdi, read_inode(parent));
    if (pdi.mode.get() == 0 || p->deleted) return Err(ENOENT);
    if (!md::is_dir(pdi.mode.get())) return Err(ENOTDIR);
    if (may(req, pdi, amode::kWrite | amode::kExec)) return Err(EACCES);
    if (is_pinned(pdi)) return Err(EPERM);
    FsCtx c = ctx();
    DirEntryInfo info;
    BENTO_ASSIGN_OR_RETURN(bool found, dir_find(c, pdi, DirIno{parent}, name, &info));
    if (!found) return Err(ENOENT);
    BENTO_ASSIGN_OR_RETURN(child, iget(info.ino));
    WriteLock clk(child->lock);
    BENTO_ASSIGN_OR_RETURN(DiskInode cdi, read_inode(info.ino));
    bool cdir = md::is_dir(cdi.mode.get());
    if (rmdir && !cdir) return Err(ENOTDIR);
    if (!rmdir && cdir) return Err(EISDIR);
    if (sticky_denies(req, pdi, cdi)) return Err(EPERM);
    if (is_pinned(cdi)) return Err(EPERM);
    if (cdir) {
      BENTO_ASSIGN_OR_RETURN(uint64_t n, dir_entry_count(c, cdi, DirIno{info.ino}));
      if (n != 0) return Err(ENOTEMPTY);
    }
    BENTO_TRY(dir_remove(c, h, pdi, DirIno{parent}, name));
    if (cdir) {
      cdi.nlink.set(0);
      pdi.nlink.set(pdi.nlink.get() - 1);
    } else {
      cdi.nlink.set(cdi.nlink.get() - 1);
    }
    set_time(cdi.ctime, bento::now_realtime());
    if (cdi.nlink.get() == 0) BENTO_TRY(orphan_add(h, child.get(), cdi));
    BENTO_TRY(write_inode(h, child.get(), cdi));
    touch_dir(pdi);
    BENTO_TRY(write_inode(h, p.get(), pdi));
    ProvDraft d;
    d.type = rmdir ? prov::RecordType::kRmdir : prov::RecordType::kUnlink;
    d.ino = info.ino;
    d.gen = cdi.generation.get();
    d.parent = parent;
    d.name = name;
    d.mode = cdi.mode.get();
    d.aux = cdi.nlink.get() == 0 ? prov::kAuxDied : 0;  // no name left
    return prov_append(h, req, d, pt);
  }();
  if (st.ok()) maybe_delete(child);
  return st;
}

Result<Entry> BentoFs::link(const Request& req, Ino ino, Ino newparent, std::string_view name) {
  if (int e = check_name(name)) return Err(e);
  if (is_dot(name)) return Err(EEXIST);
  if (read_only_) return Err(EROFS);
  BENTO_ASSIGN_OR_RETURN(InodeRef p, iget(newparent));
  BENTO_ASSIGN_OR_RETURN(InodeRef o, iget(ino));
  if (newparent == bento::kRootIno && name == prov::kProvLogFileName && prov_.present())
    return Err(EEXIST);
  const uint32_t credits = name_credits(p.get());
  BENTO_ASSIGN_OR_RETURN(ProvLog::Ticket pt, prov_reserve(name.size(), 0));
  // + the orphan list (superblock, previous and own inode block) for an O_TMPFILE inode.
  BENTO_ASSIGN_OR_RETURN(Handle h, journal_->begin(credits + ProvLog::kCredits + 4));
  ReadLock ns(rename_lock_);
  {
    // Peek at the type first: directories are never locked after their parent here.
    ReadLock lk(o->lock);
    BENTO_ASSIGN_OR_RETURN(DiskInode di, read_inode(ino));
    if (di.mode.get() == 0) return Err(ENOENT);
    if (md::is_dir(di.mode.get())) return Err(EPERM);
  }
  WriteLock plk(p->lock);
  WriteLock clk(o->lock);
  BENTO_ASSIGN_OR_RETURN(DiskInode pdi, read_inode(newparent));
  BENTO_ASSIGN_OR_RETURN(DiskInode di, read_inode(ino));
  if (pdi.mode.get() == 0 || pdi.nlink.get() == 0) return Err(ENOENT);
  if (!md::is_dir(pdi.mode.get())) return Err(ENOTDIR);
  if (may(req, pdi, amode::kWrite | amode::kExec)) return Err(EACCES);
  // An O_TMPFILE inode (nlink 0, still linkable) gets its first name here.
  const bool naming_tmpfile = di.nlink.get() == 0 && o->linkable && !o->deleted;
  if ((di.nlink.get() == 0 && !naming_tmpfile) || o->deleted) return Err(ENOENT);
  if (is_pinned(di) || is_immutable(pdi)) return Err(EPERM);
  if (di.nlink.get() >= kMaxLinks) return Err(EMLINK);
  FsCtx c = ctx();
  BENTO_ASSIGN_OR_RETURN(bool exists, dir_find(c, pdi, DirIno{newparent}, name, nullptr));
  if (exists) return Err(EEXIST);
  BENTO_TRY(dir_add(c, h, pdi, DirIno{newparent}, name, ino, md::dirent_type(di.mode.get())));
  if (naming_tmpfile) {
    BENTO_TRY(orphan_remove(h, ino));
    o->linkable = false;
  }
  di.nlink.set(di.nlink.get() + 1);
  set_time(di.ctime, bento::now_realtime());
  BENTO_TRY(write_inode(h, o.get(), di));
  touch_dir(pdi);
  BENTO_TRY(write_inode(h, p.get(), pdi));
  {
    ProvDraft d;
    d.type = prov::RecordType::kLink;
    d.ino = ino;
    d.gen = di.generation.get();
    d.parent = newparent;
    d.name = name;
    d.mode = di.mode.get();
    BENTO_TRY(prov_append(h, req, d, pt));
  }
  icache_.add_lookup(o.get(), 1);
  return make_entry(ino, di);
}

// True when directory a is b or an ancestor of b. Called under the exclusive rename lock,
// which freezes every directory's parent pointer.
Result<bool> BentoFs::is_ancestor(Ino a, Ino b) {
  uint64_t guard = 0;
  for (Ino cur = b;;) {
    if (cur == a) return true;
    if (cur == bento::kRootIno) return false;
    if (++guard > geo_.inode_count) return Err(EUCLEAN);
    BENTO_ASSIGN_OR_RETURN(DiskInode di, read_inode(cur));
    if (!md::is_dir(di.mode.get())) return Err(EUCLEAN);
    BENTO_ASSIGN_OR_RETURN(cur, dir_parent(ctx(), di, DirIno{cur}));
  }
}

Status BentoFs::rename(const Request& req, Ino p1, std::string_view n1, Ino p2, std::string_view n2,
                       uint32_t flags) {
  using namespace bento::rename_flag;
  if (flags & ~(kNoReplace | kExchange)) return Err(EINVAL);
  if ((flags & kNoReplace) && (flags & kExchange)) return Err(EINVAL);
  if (int e = check_name(n1)) return Err(e);
  if (int e = check_name(n2)) return Err(e);
  if (is_dot(n1) || is_dot(n2)) return Err(EINVAL);
  if (read_only_) return Err(EROFS);
  BENTO_ASSIGN_OR_RETURN(InodeRef r1, iget(p1));
  BENTO_ASSIGN_OR_RETURN(InodeRef r2, iget(p2));
  InodeRef victim;
  bool replaced = false;
  if (prov_.present() && ((p1 == bento::kRootIno && n1 == prov::kProvLogFileName) ||
                          (p2 == bento::kRootIno && n2 == prov::kProvLogFileName)))
    return Err(EPERM);
  const uint32_t credits = name_credits(r2.get());  // before the ticket: no wait holds one
  BENTO_ASSIGN_OR_RETURN(ProvLog::Ticket pt, prov_reserve(n1.size(), n2.size()));
  Status st = [&]() -> Status {
    BENTO_ASSIGN_OR_RETURN(Handle h, journal_->begin(credits + kNameCredits + ProvLog::kCredits));
    WriteLock ns(rename_lock_);
    FsCtx c = ctx();
    // The children's references outlive the guards holding their locks (declared first,
    // destroyed last): a child nothing else references (forgotten, closed) is freed when its
    // last reference goes, and its lock with it.
    InodeRef c1, c2;
    // Directories ancestor-first (tree order), then the children by inode number.
    WriteLock l1, l2, l3, l4;
    if (p1 == p2) {
      l1.lock(r1->lock);
    } else {
      BENTO_ASSIGN_OR_RETURN(bool p2_above, is_ancestor(p2, p1));
      if (p2_above) {
        l1.lock(r2->lock);
        l2.lock(r1->lock);
      } else {
        l1.lock(r1->lock);
        l2.lock(r2->lock);
      }
    }
    BENTO_ASSIGN_OR_RETURN(DiskInode d1, read_inode(p1));
    // The second directory's and the replaced inode's copies live on the heap: with them
    // this frame is over the kernel's 2 KiB limit (kernel/module/README.md).
    struct Spare {
      DiskInode d2, i2;
    };
    BENTO_ASSIGN_OR_RETURN(bento::UniquePtr<Spare> spare, bento::make_unique<Spare>());
    DiskInode& d2buf = spare->d2;
    if (p1 != p2) {
      BENTO_ASSIGN_OR_RETURN(d2buf, read_inode(p2));
    }
    DiskInode& d2 = p1 == p2 ? d1 : d2buf;
    if (d1.mode.get() == 0 || d2.mode.get() == 0) return Err(ENOENT);
    if (!md::is_dir(d1.mode.get()) || !md::is_dir(d2.mode.get())) return Err(ENOTDIR);
    if (d2.nlink.get() == 0) return Err(ENOENT);
    if (may(req, d1, amode::kWrite | amode::kExec) || may(req, d2, amode::kWrite | amode::kExec))
      return Err(EACCES);
    if (is_pinned(d1) || is_immutable(d2)) return Err(EPERM);
    DirEntryInfo e1, e2;
    BENTO_ASSIGN_OR_RETURN(bool f1, dir_find(c, d1, DirIno{p1}, n1, &e1));
    if (!f1) return Err(ENOENT);
    BENTO_ASSIGN_OR_RETURN(bool f2, dir_find(c, d2, DirIno{p2}, n2, &e2));
    if (f2 && (flags & kNoReplace)) return Err(EEXIST);
    if (!f2 && (flags & kExchange)) return Err(ENOENT);
    if (f2 && e1.ino == e2.ino) return Status::Ok();  // same inode: nothing to do
    BENTO_ASSIGN_OR_RETURN(c1, iget(e1.ino));
    if (f2) {
      BENTO_ASSIGN_OR_RETURN(c2, iget(e2.ino));
    }
    BENTO_ASSIGN_OR_RETURN(uint32_t m1, read_mode(e1.ino));
    bool dir1 = md::is_dir(m1);
    bool dir2 = false;
    if (f2) {
      BENTO_ASSIGN_OR_RETURN(uint32_t m2, read_mode(e2.ino));
      dir2 = md::is_dir(m2);
    }
    if (dir1 && p1 != p2) {
      BENTO_ASSIGN_OR_RETURN(bool loop, is_ancestor(e1.ino, p2));
      if (loop) return Err(EINVAL);
    }
    if (f2 && dir2) {
      BENTO_ASSIGN_OR_RETURN(bool above, is_ancestor(e2.ino, p1));
      if (above) return Err((flags & kExchange) ? EINVAL : ENOTEMPTY);
    }
    if (f2 && !(flags & kExchange)) {
      if (dir2 && !dir1) return Err(EISDIR);
      if (!dir2 && dir1) return Err(ENOTDIR);
    }
    // Children, by inode number.
    InodeObj* a = c1.get();
    InodeObj* b = f2 ? c2.get() : nullptr;
    if (b != nullptr && b->ino < a->ino) {
      InodeObj* t = a;
      a = b;
      b = t;
    }
    l3.lock(a->lock);
    if (b != nullptr) l4.lock(b->lock);
    BENTO_ASSIGN_OR_RETURN(DiskInode i1, read_inode(e1.ino));
    DiskInode& i2 = spare->i2;
    if (f2) {
      BENTO_ASSIGN_OR_RETURN(i2, read_inode(e2.ino));
    }
    if (sticky_denies(req, d1, i1)) return Err(EPERM);
    if (f2 && sticky_denies(req, d2, i2)) return Err(EPERM);
    if (is_pinned(i1) || (f2 && (is_pinned(i2) || is_append_only(d2)))) return Err(EPERM);
    if (f2 && dir2 && !(flags & kExchange)) {
      BENTO_ASSIGN_OR_RETURN(uint64_t n, dir_entry_count(c, i2, DirIno{e2.ino}));
      if (n != 0) return Err(ENOTEMPTY);
    }
    if (dir1 && p1 != p2 && !(f2 && dir2) && d2.nlink.get() >= kMaxLinks) return Err(EMLINK);
    bento::Timespec now = bento::now_realtime();
    if (flags & kExchange) {
      BENTO_TRY(dir_replace(c, h, d1, DirIno{p1}, n1, e2.ino, e2.type));
      BENTO_TRY(dir_replace(c, h, d2, DirIno{p2}, n2, e1.ino, e1.type));
      if (p1 != p2) {
        if (dir1) {
          BENTO_TRY(dir_set_parent(c, h, i1, DirIno{e1.ino}, p2));
          d1.nlink.set(d1.nlink.get() - 1);
          d2.nlink.set(d2.nlink.get() + 1);
        }
        if (dir2) {
          BENTO_TRY(dir_set_parent(c, h, i2, DirIno{e2.ino}, p1));
          d2.nlink.set(d2.nlink.get() - 1);
          d1.nlink.set(d1.nlink.get() + 1);
        }
      }
      set_time(i2.ctime, now);
      BENTO_TRY(write_inode(h, c2.get(), i2));
    } else {
      if (f2) {
        BENTO_TRY(dir_replace(c, h, d2, DirIno{p2}, n2, e1.ino, e1.type));
        if (dir2) {
          i2.nlink.set(0);
          d2.nlink.set(d2.nlink.get() - 1);
        } else {
          i2.nlink.set(i2.nlink.get() - 1);
        }
        set_time(i2.ctime, now);
        if (i2.nlink.get() == 0) BENTO_TRY(orphan_add(h, c2.get(), i2));
        BENTO_TRY(write_inode(h, c2.get(), i2));
        replaced = true;
      } else {
        BENTO_TRY(dir_add(c, h, d2, DirIno{p2}, n2, e1.ino, e1.type));
      }
      BENTO_TRY(dir_remove(c, h, d1, DirIno{p1}, n1));
      if (dir1 && p1 != p2) {
        BENTO_TRY(dir_set_parent(c, h, i1, DirIno{e1.ino}, p2));
        d1.nlink.set(d1.nlink.get() - 1);
        d2.nlink.set(d2.nlink.get() + 1);
      }
    }
    set_time(i1.ctime, now);
    BENTO_TRY(write_inode(h, c1.get(), i1));
    touch_dir(d1);
    BENTO_TRY(write_inode(h, r1.get(), d1));
    if (p1 != p2) {
      touch_dir(d2);
      BENTO_TRY(write_inode(h, r2.get(), d2));
    }
    ProvDraft d;
    d.type = prov::RecordType::kRename;
    d.ino = e1.ino;
    d.gen = i1.generation.get();
    d.mode = i1.mode.get();
    d.parent = p1;
    d.name = n1;
    d.parent2 = p2;
    d.name2 = n2;
    d.flags = flags;
    if (f2) {
      d.ino2 = e2.ino;
      d.gen2 = i2.generation.get();
      d.aux = (!(flags & kExchange) && i2.nlink.get() == 0) ? prov::kAuxDied : 0;
    }
    BENTO_TRY(prov_append(h, req, d, pt));
    if (replaced) victim = std::move(c2);
    return Status::Ok();
  }();
  if (st.ok() && replaced) maybe_delete(victim);
  return st;
}

Status BentoFs::readdir(const Request& req, Ino ino, Fh fh, uint64_t offset,
                        bento::DirFiller& filler) {
  BENTO_ASSIGN_OR_RETURN(InodeRef d, iget(ino));
  bool touch = false;
  Status st = readdir_locked(req, d.get(), fh, offset, filler, &touch);
  if (touch) touch_atime(d.get());
  // A listing is data its reader takes in (the names: `ls d > listing`, a glob, tar):
  // recorded once per handle and thread like a read, out of the directory's lock.
  if (st.ok() && tracking()) BENTO_TRY(prov_readdir(req, ino, fh, offset));
  return st;
}

Status BentoFs::prov_readdir(const Request& req, Ino ino, Fh fh, uint64_t offset) {
  OpenFile f;
  bool fresh = false;
  if (!note_access(fh, req.pid, false, &f, &fresh) || !fresh) return Status::Ok();
  BENTO_ASSIGN_OR_RETURN(ProvLog::Ticket t, prov_reserve(0, 0));
  ProvDraft d;
  d.type = prov::RecordType::kReaddir;
  d.ino = ino;
  d.gen = f.gen;
  d.fh = fh;
  d.aux = offset;
  return prov_alone(req, d, t);
}

Status BentoFs::readdir_locked(const Request&, InodeObj* d, Fh, uint64_t offset,
                               bento::DirFiller& filler, bool* touch) {
  const Ino ino = d->ino;
  ReadLock lk(d->lock);
  BENTO_ASSIGN_OR_RETURN(DiskInode di, read_inode(ino));
  if (di.mode.get() == 0 || d->deleted) return Err(ENOENT);
  if (!md::is_dir(di.mode.get())) return Err(ENOTDIR);
  // Only the listing's first call counts as an access (one update per readdir(3) pass).
  *touch = offset == 0 && atime_due(di);
  FsCtx c = ctx();
  bool plus = filler.wants_entries();
  // Offsets: 0 start, 1 after ".", 2 after "..", key+3 after the entry with hash key `key`.
  if (offset == 0) {
    Entry e = make_entry(ino, di);
    if (!filler.add(".", ino, di.mode.get(), 1, plus ? &e : nullptr)) return Status::Ok();
  }
  if (offset <= 1) {
    BENTO_ASSIGN_OR_RETURN(Ino parent, dir_parent(c, di, DirIno{ino}));
    // The parent's attributes are a snapshot read without its lock (taking it here would
    // invert the tree lock order); ".." never counts as a lookup.
    Entry e;
    auto pdi = read_inode(parent, true);
    if (pdi.ok()) {
      e = make_entry(parent, *pdi);
    } else {
      e.ino = parent;
      e.attr.ino = parent;
      e.attr.mode = md::kDirectory;
    }
    if (!filler.add("..", parent, md::kDirectory, 2, plus ? &e : nullptr)) return Status::Ok();
  }
  uint64_t min_key = offset >= 2 ? offset - 2 : 0;
  Status err = Status::Ok();
  auto visit = [&](std::string_view name, uint64_t cino, uint8_t type, uint64_t key) {
    uint32_t mode = static_cast<uint32_t>(type) << 12;
    if (!plus) return filler.add(name, cino, mode, key + 3, nullptr);
    auto cref = iget(cino);
    if (!cref.ok()) {
      err = cref.status();
      return false;
    }
    ReadLock clk((*cref)->lock);  // parent then child: tree order
    auto cdi = read_inode(cino);
    if (!cdi.ok()) {
      err = cdi.status();
      return false;
    }
    if (Status s = verify_inode_once(cref->get(), *cdi); !s.ok()) {
      err = s;
      return false;
    }
    Entry e = make_entry(cino, *cdi);
    if (!filler.add(name, cino, cdi->mode.get(), key + 3, &e)) return false;
    icache_.add_lookup(cref->get(), 1);
    return true;
  };
  BENTO_TRY(dir_for_each(c, di, DirIno{ino}, min_key, visit));
  return err;
}

}  // namespace bentofs
