#include "memfs.h"

#include <bento/log.h>

#include <utility>

namespace memfs {

using bento::Attr;
using bento::Entry;
using bento::Err;
using bento::Fh;
using bento::Ino;
using bento::Request;
using bento::Result;
using bento::Status;
using bento::Timespec;
namespace mode = bento::mode;
namespace oflag = bento::oflag;
namespace amode = bento::amode;

namespace {

constexpr size_t kXattrNameMax = 255;
constexpr size_t kXattrValueMax = 65536;

bool in_group(const Request& req, uint32_t gid) {
  if (req.gid == gid) return true;
  for (uint32_t i = 0; i < req.ngroups; i++)
    if (req.groups[i] == gid) return true;
  return false;
}

// Owner/group/other bits; root passes except that exec needs some x bit (dirs: always).
Status check_perm(const Request& req, const InodeBody& b, uint32_t mask) {
  mask &= amode::kRead | amode::kWrite | amode::kExec;
  if (req.uid == 0) {
    if ((mask & amode::kExec) && !mode::is_dir(b.mode) && (b.mode & 0111) == 0) return Err(EACCES);
    return Status::Ok();
  }
  uint32_t bits;
  if (req.uid == b.uid)
    bits = (b.mode >> 6) & 7;
  else if (in_group(req, b.gid))
    bits = (b.mode >> 3) & 7;
  else
    bits = b.mode & 7;
  return (mask & ~bits) != 0 ? Err(EACCES) : Status::Ok();
}

// In a sticky directory only the owner of the entry or of the directory (or root) may
// remove or rename it.
Status check_sticky(const Request& req, const InodeBody& dir, const InodeBody& child) {
  if ((dir.mode & mode::kSticky) == 0 || req.uid == 0 || req.uid == dir.uid || req.uid == child.uid)
    return Status::Ok();
  return Err(EPERM);
}

// A name for a new or looked-up entry.
Status check_name(std::string_view name) {
  if (name.empty()) return Err(ENOENT);
  if (name.size() > bento::kNameMax) return Err(ENAMETOOLONG);
  for (char c : name)
    if (c == '/' || c == '\0') return Err(EINVAL);
  return Status::Ok();
}

bool is_dot(std::string_view name) {
  return name == "." || name == "..";
}

// Setuid is always dropped; setgid only when group-exec (else it means mandatory locking).
void kill_suid(InodeBody& b) {
  b.mode &= ~mode::kSetUid;
  if (b.mode & 0010) b.mode &= ~mode::kSetGid;
}

void touch_atime(Inode& in) {
  in.atime_ns.store(bento::now_realtime().to_ns(), std::memory_order_relaxed);
}

Attr attr_of(const Inode& in, const InodeBody& b) {
  Attr a;
  a.ino = in.ino;
  a.mode = b.mode;
  a.nlink = in.nlink;
  a.uid = b.uid;
  a.gid = b.gid;
  a.rdev = b.rdev;
  a.atime = Timespec::from_ns(in.atime_ns.load(std::memory_order_relaxed));
  a.mtime = b.mtime;
  a.ctime = b.ctime;
  a.blksize = kPageSize;
  if (mode::is_dir(b.mode)) {
    a.size = kPageSize;
    a.blocks = kPageSize / 512;
  } else if (mode::is_symlink(b.mode)) {
    a.size = b.target.size();
  } else {
    a.size = b.size;
    a.blocks = b.pages.size() * (kPageSize / 512);
  }
  return a;
}

void touch_dir(InodeBody& b, Timespec now) {
  b.mtime = b.ctime = now;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Helpers

Inode* Memfs::find(const Namespace& ns, Ino ino) {
  const bento::UniquePtr<Inode>* p = ns.inodes.find(ino);
  return p != nullptr ? p->get() : nullptr;
}

Result<Inode*> Memfs::find_dir(const Namespace& ns, Ino ino) {
  Inode* in = find(ns, ino);
  if (in == nullptr) return Err(ENOENT);
  if (!mode::is_dir(in->type)) return Err(ENOTDIR);
  return in;
}

Entry Memfs::entry_of(Inode& in, const InodeBody& b) const {
  Entry e;
  e.ino = in.ino;
  e.generation = in.generation;
  e.attr = attr_of(in, b);
  e.entry_timeout_ms = kTimeoutMs;
  e.attr_timeout_ms = kTimeoutMs;
  return e;
}

void Memfs::reap_locked(Namespace& ns, Inode* in) {
  if (in->ino == bento::kRootIno || in->nlink != 0 ||
      in->lookups.load(std::memory_order_acquire) != 0 ||
      in->opens.load(std::memory_order_acquire) != 0)
    return;
  pages_used_.fetch_sub(static_cast<int64_t>(in->body.unlocked().pages.size()),
                        std::memory_order_relaxed);
  ns.inodes.erase(in->ino);  // frees the inode and its data
}

void Memfs::reap(Ino ino) {
  auto ns = ns_.write();
  if (Inode* in = find(*ns, ino)) reap_locked(*ns, in);
}

Result<Fh> Memfs::add_handle(Inode* in, uint32_t flags, bool dir) {
  auto h = handles_.lock();
  Fh fh = h->next;
  BENTO_TRY(h->map.insert(fh, Handle{in->ino, flags, dir}));
  h->next++;
  in->opens.fetch_add(1, std::memory_order_acq_rel);
  return fh;
}

Result<Handle> Memfs::get_handle(Fh fh, Ino ino) {
  auto h = handles_.lock();
  const Handle* p = h->map.find(fh);
  if (p == nullptr || p->ino != ino) return Err(EBADF);
  return *p;
}

Status Memfs::drop_handle(Ino ino, Fh fh, bool dir) {
  {
    auto h = handles_.lock();
    const Handle* p = h->map.find(fh);
    if (p == nullptr || p->ino != ino || p->dir != dir) return Err(EBADF);
    h->map.erase(fh);
  }
  bool dead = false;
  {
    auto ns = ns_.read();
    Inode* in = find(*ns, ino);
    if (in == nullptr) return Status::Ok();
    uint64_t left = in->opens.fetch_sub(1, std::memory_order_acq_rel) - 1;
    dead = left == 0 && in->nlink == 0 && in->lookups.load(std::memory_order_acquire) == 0;
  }
  if (dead) reap(ino);
  return Status::Ok();
}

// Creates an inode named `name` in `parent` (namespace write lock held, checks done).
Result<Inode*> Memfs::new_node(Namespace& ns, const Request& req, Inode* parent,
                               std::string_view name, uint32_t mode_bits, uint32_t rdev,
                               std::string_view target) {
  auto made = bento::make_unique<Inode>(ns.next_ino, ns.next_generation, mode_bits);
  if (!made) return Err(ENOMEM);
  bento::UniquePtr<Inode> node = std::move(made).value();
  InodeBody& b = node->body.unlocked();
  InodeBody& pb = parent->body.unlocked();
  if (mode::is_symlink(mode_bits)) BENTO_TRY(b.target.assign(target));
  Timespec now = bento::now_realtime();
  b.mode = mode_bits;
  b.uid = req.uid;
  b.gid = req.gid;
  if (pb.mode & mode::kSetGid) {  // BSD group semantics, inherited by subdirectories
    b.gid = pb.gid;
    if (mode::is_dir(mode_bits)) b.mode |= mode::kSetGid;
  }
  b.rdev = rdev;
  b.mtime = b.ctime = now;
  node->atime_ns.store(now.to_ns(), std::memory_order_relaxed);
  node->nlink = mode::is_dir(mode_bits) ? 2 : 1;
  node->parent = parent->ino;
  Inode* in = node.get();
  BENTO_TRY(ns.inodes.insert(in->ino, std::move(node)));
  Status st = parent->dir.add(name, in->ino);
  if (!st.ok()) {
    ns.inodes.erase(in->ino);
    return st;
  }
  ns.next_ino++;
  ns.next_generation++;
  if (mode::is_dir(mode_bits)) parent->nlink++;
  touch_dir(pb, now);
  return in;
}

Result<Entry> Memfs::make_node(const Request& req, Ino parent, std::string_view name,
                               uint32_t mode_bits, uint32_t rdev, std::string_view target) {
  if (is_dot(name)) return Err(EEXIST);
  BENTO_TRY(check_name(name));
  auto ns = ns_.write();
  BENTO_ASSIGN_OR_RETURN(Inode * p, find_dir(*ns, parent));
  if (p->nlink == 0) return Err(ENOENT);  // removed directory
  BENTO_TRY(check_perm(req, p->body.unlocked(), amode::kWrite | amode::kExec));
  if (p->dir.find(name) != 0) return Err(EEXIST);
  BENTO_ASSIGN_OR_RETURN(Inode * in, new_node(*ns, req, p, name, mode_bits, rdev, target));
  in->lookups.fetch_add(1, std::memory_order_acq_rel);
  return entry_of(*in, in->body.unlocked());
}

// ---------------------------------------------------------------------------------------
// Lifecycle

Status Memfs::init(const Request& req, bento::BlockDevice& dev, const bento::InitArgs& args) {
  std::string_view opts = args.options;
  while (!opts.empty()) {
    std::string_view o = bento::next_option(opts);
    if (o.empty()) continue;
    if (o == "writethrough") {
      writeback_cache_ = false;
    } else if (bento::is_atime_option(o)) {
      // memfs keeps its own atime (on every read); the policy options are accepted.
    } else {
      bento::log(bento::LogLevel::kError, "memfs: unknown mount option (known: writethrough)");
      return Err(EINVAL);
    }
  }
  dev_ = &dev;
  auto ns = ns_.write();
  if (find(*ns, bento::kRootIno) != nullptr) return Status::Ok();
  auto made = bento::make_unique<Inode>(bento::kRootIno, uint64_t{0}, mode::kDirectory);
  if (!made) return Err(ENOMEM);
  bento::UniquePtr<Inode> root = std::move(made).value();
  InodeBody& b = root->body.unlocked();
  Timespec now = bento::now_realtime();
  b.mode = mode::kDirectory | 0755;
  b.uid = req.uid;
  b.gid = req.gid;
  b.mtime = b.ctime = now;
  root->atime_ns.store(now.to_ns(), std::memory_order_relaxed);
  root->nlink = 2;
  root->parent = bento::kRootIno;
  return ns->inodes.insert(bento::kRootIno, std::move(root));
}

void Memfs::destroy(const Request&) {
  auto ns = ns_.write();
  ns->inodes.clear();
  handles_.lock()->map.clear();
  pages_used_.store(0);
}

bento::Capabilities Memfs::capabilities() const {
  bento::Capabilities c;
  c.posix_locks = false;
  c.writeback_cache = writeback_cache_;
  c.needs_open = true;
  c.clears_setid_bits = true;  // write(), setattr() chown and truncate do it
  return c;
}

// ---------------------------------------------------------------------------------------
// Names and attributes

Result<Entry> Memfs::lookup(const Request& req, Ino parent, std::string_view name) {
  if (name.size() > bento::kNameMax) return Err(ENAMETOOLONG);
  if (name.empty()) return Err(ENOENT);
  auto ns = ns_.read();
  BENTO_ASSIGN_OR_RETURN(Inode * p, find_dir(*ns, parent));
  Ino child;
  {
    auto pb = p->body.read();
    BENTO_TRY(check_perm(req, *pb, amode::kExec));
  }
  if (name == ".")
    child = p->ino;
  else if (name == "..")
    child = p->parent;
  else
    child = p->dir.find(name);
  Inode* in = child != 0 ? find(*ns, child) : nullptr;
  if (in == nullptr) return Err(ENOENT);
  auto b = in->body.read();
  in->lookups.fetch_add(1, std::memory_order_acq_rel);
  return entry_of(*in, *b);
}

void Memfs::forget(Ino ino, uint64_t nlookup) {
  bool dead = false;
  {
    auto ns = ns_.read();
    Inode* in = find(*ns, ino);
    if (in == nullptr) return;
    // Never below zero, even if the host over-forgets.
    uint64_t cur = in->lookups.load(std::memory_order_acquire);
    uint64_t next;
    do {
      next = cur > nlookup ? cur - nlookup : 0;
    } while (!in->lookups.compare_exchange_weak(cur, next, std::memory_order_acq_rel));
    dead = next == 0 && in->nlink == 0 && in->opens.load(std::memory_order_acquire) == 0;
  }
  if (dead) reap(ino);
}

Result<Attr> Memfs::getattr(const Request&, Ino ino, Fh) {
  auto ns = ns_.read();
  Inode* in = find(*ns, ino);
  if (in == nullptr) return Err(ENOENT);
  auto b = in->body.read();
  return attr_of(*in, *b);
}

Result<Attr> Memfs::setattr(const Request& req, Ino ino, const bento::SetAttr& sa, Fh fh) {
  using bento::SetAttr;
  auto ns = ns_.read();
  Inode* in = find(*ns, ino);
  if (in == nullptr) return Err(ENOENT);
  bool fh_writable = false;
  if (fh != bento::kNoFh) {
    auto h = get_handle(fh, ino);
    fh_writable = h.ok() && oflag::writes(h->flags);
  }
  auto guard = in->body.write();
  InodeBody& b = *guard;
  const bool owner = req.uid == 0 || req.uid == b.uid;
  const uint32_t v = sa.valid;

  // Check everything first: a refused setattr changes nothing. After a write by someone
  // else the kernel may drop set-id bits with a setattr sent as the writer: a mode change
  // that only clears them is allowed to anyone.
  const uint32_t setid = mode::kSetUid | mode::kSetGid;
  const uint32_t cur = b.mode & mode::kPermMask;
  const uint32_t want = sa.mode & mode::kPermMask;
  const bool only_drops_setid = (want & ~setid) == (cur & ~setid) && (want & ~cur) == 0;
  if ((v & SetAttr::kMode) && !owner && !only_drops_setid) return Err(EPERM);
  if ((v & SetAttr::kUid) && req.uid != 0 && sa.uid != b.uid) return Err(EPERM);
  if ((v & SetAttr::kGid) && req.uid != 0 &&
      (req.uid != b.uid || (sa.gid != b.gid && !in_group(req, sa.gid))))
    return Err(EPERM);
  if (v & SetAttr::kSize) {
    if (mode::is_dir(b.mode)) return Err(EISDIR);
    if (!mode::is_reg(b.mode)) return Err(EINVAL);
    if (sa.size > kMaxFileSize) return Err(EFBIG);
    if (!fh_writable) BENTO_TRY(check_perm(req, b, amode::kWrite));
  }
  const bool atime_now = (v & SetAttr::kAtimeNow) != 0;
  const bool mtime_now = (v & SetAttr::kMtimeNow) != 0;
  const bool atime_set = (v & SetAttr::kAtime) && !atime_now;
  const bool mtime_set = (v & SetAttr::kMtime) && !mtime_now;
  if ((atime_set || mtime_set) && !owner) return Err(EPERM);
  if ((atime_now || mtime_now) && !owner) BENTO_TRY(check_perm(req, b, amode::kWrite));

  Timespec now = bento::now_realtime();
  bool changed = false;
  if (v & (SetAttr::kUid | SetAttr::kGid)) {
    if (v & SetAttr::kUid) b.uid = sa.uid;
    if (v & SetAttr::kGid) b.gid = sa.gid;
    if (!mode::is_dir(b.mode)) kill_suid(b);
    changed = true;
  }
  if (v & SetAttr::kMode) {
    uint32_t m = sa.mode & mode::kPermMask;
    // A non-root caller outside the file's group cannot make it setgid.
    if (req.uid != 0 && !in_group(req, b.gid)) m &= ~mode::kSetGid;
    b.mode = (b.mode & mode::kTypeMask) | m;
    changed = true;
  }
  if (v & SetAttr::kSize) {
    truncate_data(b, sa.size, pages_used_);
    // Truncation by a caller without CAP_FSETID (approximated: not root) drops set-id bits.
    if (req.uid != 0 && !(v & SetAttr::kMode)) kill_suid(b);
    if (!(v & (SetAttr::kMtime | SetAttr::kMtimeNow))) b.mtime = now;
    changed = true;
  }
  if (atime_now || atime_set) {
    in->atime_ns.store(atime_now ? now.to_ns() : sa.atime.to_ns(), std::memory_order_relaxed);
    changed = true;
  }
  if (mtime_now || mtime_set) {
    b.mtime = mtime_now ? now : sa.mtime;
    changed = true;
  }
  if (v & SetAttr::kCtime)
    b.ctime = sa.ctime;
  else if (changed)
    b.ctime = now;
  return attr_of(*in, b);
}

Result<size_t> Memfs::readlink(const Request&, Ino ino, std::span<char> buf) {
  auto ns = ns_.read();
  Inode* in = find(*ns, ino);
  if (in == nullptr) return Err(ENOENT);
  auto b = in->body.read();
  if (!mode::is_symlink(b->mode)) return Err(EINVAL);
  size_t n = b->target.size() < buf.size() ? b->target.size() : buf.size();
  if (n != 0) __builtin_memcpy(buf.data(), b->target.view().data(), n);
  touch_atime(*in);
  return n;
}

Result<Entry> Memfs::mknod(const Request& req, Ino parent, std::string_view name,
                           uint32_t mode_bits, uint32_t rdev) {
  uint32_t type = mode_bits & mode::kTypeMask;
  if (type == 0) type = mode::kRegular;
  switch (type) {
    case mode::kRegular:
    case mode::kFifo:
    case mode::kSocket:
    case mode::kCharDev:
    case mode::kBlockDev:
      break;
    case mode::kDirectory:
      return Err(EPERM);
    default:
      return Err(EINVAL);
  }
  if (type != mode::kCharDev && type != mode::kBlockDev) rdev = 0;
  uint32_t perm = mode_bits & ~req.umask & mode::kPermMask;
  return make_node(req, parent, name, type | perm, rdev, {});
}

Result<Entry> Memfs::mkdir(const Request& req, Ino parent, std::string_view name,
                           uint32_t mode_bits) {
  uint32_t perm = mode_bits & ~req.umask & mode::kPermMask;
  return make_node(req, parent, name, mode::kDirectory | perm, 0, {});
}

Result<Entry> Memfs::symlink(const Request& req, std::string_view target, Ino parent,
                             std::string_view name) {
  if (target.empty()) return Err(ENOENT);
  if (target.size() >= bento::kPathMax) return Err(ENAMETOOLONG);
  return make_node(req, parent, name, mode::kSymlink | 0777, 0, target);
}

Status Memfs::unlink(const Request& req, Ino parent, std::string_view name) {
  BENTO_TRY(check_name(name));
  if (is_dot(name)) return Err(EISDIR);
  auto ns = ns_.write();
  BENTO_ASSIGN_OR_RETURN(Inode * p, find_dir(*ns, parent));
  InodeBody& pb = p->body.unlocked();
  BENTO_TRY(check_perm(req, pb, amode::kWrite | amode::kExec));
  Inode* in = find(*ns, p->dir.find(name));
  if (in == nullptr) return Err(ENOENT);
  InodeBody& b = in->body.unlocked();
  if (mode::is_dir(b.mode)) return Err(EISDIR);
  BENTO_TRY(check_sticky(req, pb, b));
  p->dir.remove(name);
  Timespec now = bento::now_realtime();
  touch_dir(pb, now);
  in->nlink--;
  b.ctime = now;
  reap_locked(*ns, in);
  return Status::Ok();
}

Status Memfs::rmdir(const Request& req, Ino parent, std::string_view name) {
  BENTO_TRY(check_name(name));
  if (name == ".") return Err(EINVAL);
  if (name == "..") return Err(ENOTEMPTY);
  auto ns = ns_.write();
  BENTO_ASSIGN_OR_RETURN(Inode * p, find_dir(*ns, parent));
  InodeBody& pb = p->body.unlocked();
  BENTO_TRY(check_perm(req, pb, amode::kWrite | amode::kExec));
  Inode* in = find(*ns, p->dir.find(name));
  if (in == nullptr) return Err(ENOENT);
  InodeBody& b = in->body.unlocked();
  if (!mode::is_dir(b.mode)) return Err(ENOTDIR);
  if (!in->dir.empty()) return Err(ENOTEMPTY);
  BENTO_TRY(check_sticky(req, pb, b));
  p->dir.remove(name);
  Timespec now = bento::now_realtime();
  touch_dir(pb, now);
  p->nlink--;
  in->nlink = 0;
  b.ctime = now;
  reap_locked(*ns, in);
  return Status::Ok();
}

Status Memfs::rename(const Request& req, Ino parent, std::string_view name, Ino newparent,
                     std::string_view newname, uint32_t flags) {
  namespace rf = bento::rename_flag;
  if ((flags & ~(rf::kNoReplace | rf::kExchange)) != 0) return Err(EINVAL);
  if ((flags & rf::kNoReplace) && (flags & rf::kExchange)) return Err(EINVAL);
  BENTO_TRY(check_name(name));
  BENTO_TRY(check_name(newname));
  if (is_dot(name) || is_dot(newname)) return Err(EBUSY);

  auto ns = ns_.write();
  BENTO_ASSIGN_OR_RETURN(Inode * p, find_dir(*ns, parent));
  BENTO_ASSIGN_OR_RETURN(Inode * np, find_dir(*ns, newparent));
  InodeBody& pb = p->body.unlocked();
  InodeBody& npb = np->body.unlocked();
  BENTO_TRY(check_perm(req, pb, amode::kWrite | amode::kExec));
  BENTO_TRY(check_perm(req, npb, amode::kWrite | amode::kExec));
  Inode* src = find(*ns, p->dir.find(name));
  if (src == nullptr) return Err(ENOENT);
  if (np->nlink == 0) return Err(ENOENT);
  Inode* dst = find(*ns, np->dir.find(newname));
  InodeBody& sb = src->body.unlocked();
  const bool src_dir = mode::is_dir(sb.mode);

  // Is `a` the directory `d` or one of its ancestors? (Moving a into d would cut a loop.)
  auto contains = [&](Inode* a, Inode* d) {
    for (Inode* x = d;;) {
      if (x == a) return true;
      if (x->ino == bento::kRootIno) return false;
      x = find(*ns, x->parent);
      if (x == nullptr) return false;
    }
  };
  Timespec now = bento::now_realtime();

  if (flags & rf::kExchange) {
    if (dst == nullptr) return Err(ENOENT);
    if (dst == src) return Status::Ok();
    InodeBody& db = dst->body.unlocked();
    const bool dst_dir = mode::is_dir(db.mode);
    BENTO_TRY(check_sticky(req, pb, sb));
    BENTO_TRY(check_sticky(req, npb, db));
    if (p != np) {
      if (src_dir && contains(src, np)) return Err(EINVAL);
      if (dst_dir && contains(dst, p)) return Err(EINVAL);
      if (src_dir) BENTO_TRY(check_perm(req, sb, amode::kWrite));
      if (dst_dir) BENTO_TRY(check_perm(req, db, amode::kWrite));
    }
    p->dir.set(name, dst->ino);
    np->dir.set(newname, src->ino);
    if (p != np) {
      if (src_dir) {
        src->parent = np->ino;
        p->nlink--;
        np->nlink++;
      }
      if (dst_dir) {
        dst->parent = p->ino;
        np->nlink--;
        p->nlink++;
      }
    }
    sb.ctime = db.ctime = now;
    touch_dir(pb, now);
    touch_dir(npb, now);
    return Status::Ok();
  }

  if (dst == src) return Status::Ok();  // two links to one inode: POSIX says do nothing
  if (dst != nullptr && (flags & rf::kNoReplace)) return Err(EEXIST);
  BENTO_TRY(check_sticky(req, pb, sb));
  if (src_dir) {
    if (contains(src, np)) return Err(EINVAL);
    if (dst != nullptr) {
      if (!mode::is_dir(dst->body.unlocked().mode)) return Err(ENOTDIR);
      if (!dst->dir.empty()) return Err(ENOTEMPTY);
    }
    if (p != np) BENTO_TRY(check_perm(req, sb, amode::kWrite));  // its ".." changes
  } else if (dst != nullptr && mode::is_dir(dst->body.unlocked().mode)) {
    return Err(EISDIR);
  }
  if (dst != nullptr) BENTO_TRY(check_sticky(req, npb, dst->body.unlocked()));

  // The only step that can fail (ENOMEM) comes first.
  if (dst != nullptr)
    np->dir.set(newname, src->ino);
  else
    BENTO_TRY(np->dir.add(newname, src->ino));
  p->dir.remove(name);
  if (src_dir && p != np) {
    src->parent = np->ino;
    p->nlink--;
    np->nlink++;
  }
  sb.ctime = now;
  touch_dir(pb, now);
  touch_dir(npb, now);
  if (dst != nullptr) {
    dst->body.unlocked().ctime = now;
    if (mode::is_dir(dst->body.unlocked().mode)) {
      dst->nlink = 0;
      np->nlink--;
    } else {
      dst->nlink--;
    }
    reap_locked(*ns, dst);
  }
  return Status::Ok();
}

Result<Entry> Memfs::link(const Request& req, Ino ino, Ino newparent, std::string_view newname) {
  if (is_dot(newname)) return Err(EEXIST);
  BENTO_TRY(check_name(newname));
  auto ns = ns_.write();
  Inode* in = find(*ns, ino);
  if (in == nullptr) return Err(ENOENT);
  InodeBody& b = in->body.unlocked();
  if (mode::is_dir(b.mode)) return Err(EPERM);
  BENTO_ASSIGN_OR_RETURN(Inode * np, find_dir(*ns, newparent));
  if (np->nlink == 0) return Err(ENOENT);
  InodeBody& npb = np->body.unlocked();
  BENTO_TRY(check_perm(req, npb, amode::kWrite | amode::kExec));
  if (np->dir.find(newname) != 0) return Err(EEXIST);
  if (in->nlink == 0) return Err(ENOENT);  // no resurrection of an unlinked file
  BENTO_TRY(np->dir.add(newname, in->ino));
  Timespec now = bento::now_realtime();
  in->nlink++;
  b.ctime = now;
  touch_dir(npb, now);
  in->lookups.fetch_add(1, std::memory_order_acq_rel);
  return entry_of(*in, b);
}

// ---------------------------------------------------------------------------------------
// Files

Result<bento::OpenReply> Memfs::open(const Request& req, Ino ino, uint32_t flags) {
  auto ns = ns_.read();
  Inode* in = find(*ns, ino);
  if (in == nullptr) return Err(ENOENT);
  {
    auto guard = in->body.write();
    InodeBody& b = *guard;
    const bool trunc = (flags & oflag::kTruncate) && oflag::writes(flags);
    if (mode::is_dir(b.mode) && (oflag::writes(flags) || trunc)) return Err(EISDIR);
    if (mode::is_symlink(b.mode)) return Err(ELOOP);
    uint32_t mask = 0;
    if (oflag::reads(flags)) mask |= amode::kRead;
    if (oflag::writes(flags) || (flags & oflag::kTruncate)) mask |= amode::kWrite;
    BENTO_TRY(check_perm(req, b, mask));
    if (trunc && mode::is_reg(b.mode)) {
      truncate_data(b, 0, pages_used_);
      b.mtime = b.ctime = bento::now_realtime();
      if (req.uid != 0) kill_suid(b);
    }
  }
  BENTO_ASSIGN_OR_RETURN(Fh fh, add_handle(in, flags, false));
  bento::OpenReply r;
  r.fh = fh;
  r.keep_cache = true;  // nobody but this fs changes the data
  return r;
}

Result<size_t> Memfs::read(const Request&, Ino ino, Fh fh, uint64_t off, std::span<uint8_t> buf) {
  auto ns = ns_.read();
  Inode* in = find(*ns, ino);
  if (in == nullptr) return Err(ENOENT);
  if (fh != bento::kNoFh) BENTO_TRY(get_handle(fh, ino));
  size_t n;
  {
    auto b = in->body.read();
    if (mode::is_dir(b->mode)) return Err(EISDIR);
    if (!mode::is_reg(b->mode)) return Err(EINVAL);
    n = read_data(*b, off, buf);
  }
  touch_atime(*in);
  return n;
}

Result<size_t> Memfs::write(const Request& req, Ino ino, Fh fh, uint64_t off,
                            std::span<const uint8_t> buf) {
  auto ns = ns_.read();
  Inode* in = find(*ns, ino);
  if (in == nullptr) return Err(ENOENT);
  uint32_t flags = oflag::kReadWrite;
  if (fh != bento::kNoFh) {
    BENTO_ASSIGN_OR_RETURN(Handle h, get_handle(fh, ino));
    if (!oflag::writes(h.flags)) return Err(EBADF);
    flags = h.flags;
  }
  auto guard = in->body.write();
  InodeBody& b = *guard;
  if (mode::is_dir(b.mode)) return Err(EISDIR);
  if (!mode::is_reg(b.mode)) return Err(EINVAL);
  if (flags & oflag::kAppend) off = b.size;  // under the lock: appends never interleave
  if (buf.empty()) return size_t{0};
  BENTO_ASSIGN_OR_RETURN(size_t n, write_data(b, off, buf, pages_used_));
  b.mtime = b.ctime = bento::now_realtime();
  if (req.uid != 0) kill_suid(b);
  return n;
}

Status Memfs::release(const Request&, Ino ino, Fh fh, uint32_t) {
  return drop_handle(ino, fh, false);
}

Status Memfs::fsync(const Request&, Ino ino, Fh, bool) {
  auto ns = ns_.read();
  return find(*ns, ino) != nullptr ? Status::Ok() : Status(Err(ENOENT));
}

Result<bento::CreateReply> Memfs::create(const Request& req, Ino parent, std::string_view name,
                                         uint32_t mode_bits, uint32_t flags) {
  if (is_dot(name)) return Err(EISDIR);
  BENTO_TRY(check_name(name));
  bento::CreateReply reply;
  Inode* in = nullptr;
  {
    auto ns = ns_.write();
    BENTO_ASSIGN_OR_RETURN(Inode * p, find_dir(*ns, parent));
    if (p->nlink == 0) return Err(ENOENT);
    BENTO_TRY(check_perm(req, p->body.unlocked(), amode::kExec));
    Inode* existing = find(*ns, p->dir.find(name));
    bool fresh = existing == nullptr;
    if (!fresh) {
      // Lost a race with another creator: behave like open(2) on the existing file.
      if (flags & oflag::kExclusive) return Err(EEXIST);
      InodeBody& b = existing->body.unlocked();
      if (mode::is_dir(b.mode)) return Err(EISDIR);
      uint32_t mask = 0;
      if (oflag::reads(flags)) mask |= amode::kRead;
      if (oflag::writes(flags) || (flags & oflag::kTruncate)) mask |= amode::kWrite;
      BENTO_TRY(check_perm(req, b, mask));
      if ((flags & oflag::kTruncate) && oflag::writes(flags) && mode::is_reg(b.mode)) {
        truncate_data(b, 0, pages_used_);
        b.mtime = b.ctime = bento::now_realtime();
        if (req.uid != 0) kill_suid(b);
      }
      in = existing;
    } else {
      BENTO_TRY(check_perm(req, p->body.unlocked(), amode::kWrite));
      uint32_t perm = mode_bits & ~req.umask & mode::kPermMask;
      BENTO_ASSIGN_OR_RETURN(in, new_node(*ns, req, p, name, mode::kRegular | perm, 0, {}));
    }
    auto fh = add_handle(in, flags, false);
    if (!fh) {
      if (fresh) {  // undo the creation: nothing may remain of a failed create
        p->dir.remove(name);
        in->nlink = 0;
        reap_locked(*ns, in);
      }
      return Err(fh.error());
    }
    in->lookups.fetch_add(1, std::memory_order_acq_rel);
    reply.entry = entry_of(*in, in->body.unlocked());
    reply.open.fh = fh.value();
    reply.open.keep_cache = true;
  }
  return reply;
}

// ---------------------------------------------------------------------------------------
// Directories

Result<bento::OpenReply> Memfs::opendir(const Request& req, Ino ino, uint32_t flags) {
  auto ns = ns_.read();
  BENTO_ASSIGN_OR_RETURN(Inode * in, find_dir(*ns, ino));
  {
    auto b = in->body.read();
    BENTO_TRY(check_perm(req, *b, amode::kRead));
  }
  BENTO_ASSIGN_OR_RETURN(Fh fh, add_handle(in, flags, true));
  bento::OpenReply r;
  r.fh = fh;
  return r;
}

Status Memfs::readdir(const Request&, Ino ino, Fh fh, uint64_t offset, bento::DirFiller& filler) {
  auto ns = ns_.read();
  BENTO_ASSIGN_OR_RETURN(Inode * dir, find_dir(*ns, ino));
  if (fh != bento::kNoFh) BENTO_TRY(get_handle(fh, ino));
  const bool plus = filler.wants_entries();

  // One entry; false when the buffer is full. "." and ".." are never counted as lookups.
  auto emit = [&](std::string_view name, Inode* in, uint64_t next, bool counted) {
    Entry e;
    {
      auto b = in->body.read();
      e = entry_of(*in, *b);
    }
    if (!filler.add(name, in->ino, e.attr.mode, next, plus ? &e : nullptr)) return false;
    if (plus && counted) in->lookups.fetch_add(1, std::memory_order_acq_rel);
    return true;
  };

  if (offset < 1 && !emit(".", dir, 1, false)) return Status::Ok();
  if (offset < 2) {
    Inode* up = find(*ns, dir->parent);
    if (up == nullptr) up = dir;  // removed directory: its parent may be gone
    if (!emit("..", up, 2, false)) return Status::Ok();
  }
  uint64_t after = offset < 2 ? 2 : offset;
  dir->dir.for_each_after(after, [&](uint64_t cookie, std::string_view name, Ino child) {
    Inode* in = find(*ns, child);
    if (in == nullptr) return true;  // cannot happen: entries keep their inodes alive
    return emit(name, in, cookie, true);
  });
  touch_atime(*dir);
  return Status::Ok();
}

Status Memfs::releasedir(const Request&, Ino ino, Fh fh) {
  return drop_handle(ino, fh, true);
}

Status Memfs::fsyncdir(const Request&, Ino ino, Fh, bool) {
  auto ns = ns_.read();
  return find(*ns, ino) != nullptr ? Status::Ok() : Status(Err(ENOENT));
}

// ---------------------------------------------------------------------------------------
// File system

Result<bento::StatFs> Memfs::statfs(const Request&, Ino) {
  bento::StatFs s;
  uint64_t inodes;
  {
    auto ns = ns_.read();
    inodes = ns->inodes.size();
  }
  int64_t used = pages_used_.load(std::memory_order_relaxed);
  uint64_t used_blocks = used > 0 ? static_cast<uint64_t>(used) : 0;
  if (used_blocks > kTotalBlocks) used_blocks = kTotalBlocks;
  if (inodes > kTotalFiles) inodes = kTotalFiles;
  s.block_size = kPageSize;
  s.blocks = kTotalBlocks;
  s.blocks_free = s.blocks_avail = kTotalBlocks - used_blocks;
  s.files = kTotalFiles;
  s.files_free = kTotalFiles - inodes;
  s.name_max = bento::kNameMax;
  return s;
}

Status Memfs::access(const Request& req, Ino ino, uint32_t mask) {
  auto ns = ns_.read();
  Inode* in = find(*ns, ino);
  if (in == nullptr) return Err(ENOENT);
  auto b = in->body.read();
  return check_perm(req, *b, mask);
}

// ---------------------------------------------------------------------------------------
// Extended attributes

namespace {

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

// Namespace rules as Linux applies them: trusted.* is root's; user.* only on regular files
// and directories, under the file's permission bits; security.*/system.* are stored as is.
Status xattr_access(const Request& req, const InodeBody& b, std::string_view name, bool write) {
  if (name.empty()) return Err(EINVAL);
  if (name.size() > kXattrNameMax) return Err(ERANGE);
  if (starts_with(name, "trusted.")) return req.uid == 0 ? Status::Ok() : Status(Err(EPERM));
  if (starts_with(name, "user.")) {
    if (!mode::is_reg(b.mode) && !mode::is_dir(b.mode)) return Err(write ? EPERM : ENODATA);
    return check_perm(req, b, write ? amode::kWrite : amode::kRead);
  }
  if (write && req.uid != 0 && req.uid != b.uid) return Err(EPERM);
  return Status::Ok();
}

}  // namespace

Status Memfs::setxattr(const Request& req, Ino ino, std::string_view name,
                       std::span<const uint8_t> value, uint32_t flags) {
  namespace xf = bento::xattr_flag;
  if ((flags & ~(xf::kCreate | xf::kReplace)) != 0) return Err(EINVAL);
  if (value.size() > kXattrValueMax) return Err(E2BIG);
  auto ns = ns_.read();
  Inode* in = find(*ns, ino);
  if (in == nullptr) return Err(ENOENT);
  auto guard = in->body.write();
  InodeBody& b = *guard;
  BENTO_TRY(xattr_access(req, b, name, true));
  bento::String* cur = b.xattrs.find(name);
  if (cur != nullptr && (flags & xf::kCreate)) return Err(EEXIST);
  if (cur == nullptr && (flags & xf::kReplace)) return Err(ENODATA);
  std::string_view bytes(reinterpret_cast<const char*>(value.data()), value.size());
  if (cur != nullptr) {
    BENTO_ASSIGN_OR_RETURN(bento::String v, bento::String::from(bytes));
    *cur = std::move(v);
  } else {
    BENTO_ASSIGN_OR_RETURN(bento::String k, bento::String::from(name));
    BENTO_ASSIGN_OR_RETURN(bento::String v, bento::String::from(bytes));
    BENTO_TRY(b.xattrs.insert(std::move(k), std::move(v)));
  }
  b.ctime = bento::now_realtime();
  return Status::Ok();
}

Result<size_t> Memfs::getxattr(const Request& req, Ino ino, std::string_view name,
                               std::span<uint8_t> buf) {
  auto ns = ns_.read();
  Inode* in = find(*ns, ino);
  if (in == nullptr) return Err(ENOENT);
  auto b = in->body.read();
  BENTO_TRY(xattr_access(req, *b, name, false));
  const bento::String* v = b->xattrs.find(name);
  if (v == nullptr) return Err(ENODATA);
  if (buf.empty()) return v->size();
  if (buf.size() < v->size()) return Err(ERANGE);
  if (!v->empty()) __builtin_memcpy(buf.data(), v->view().data(), v->size());
  return v->size();
}

Result<size_t> Memfs::listxattr(const Request&, Ino ino, std::span<char> buf) {
  auto ns = ns_.read();
  Inode* in = find(*ns, ino);
  if (in == nullptr) return Err(ENOENT);
  auto guard = in->body.read();
  // for_each is non-const: the read guard forbids changes, it just lacks a const overload.
  auto& xattrs = const_cast<InodeBody&>(*guard).xattrs;
  size_t total = 0;
  xattrs.for_each([&](const bento::String& k, bento::String&) { total += k.size() + 1; });
  if (buf.empty()) return total;
  if (buf.size() < total) return Err(ERANGE);
  size_t at = 0;
  xattrs.for_each([&](const bento::String& k, bento::String&) {
    __builtin_memcpy(buf.data() + at, k.view().data(), k.size());
    at += k.size();
    buf[at++] = '\0';
  });
  return total;
}

Status Memfs::removexattr(const Request& req, Ino ino, std::string_view name) {
  auto ns = ns_.read();
  Inode* in = find(*ns, ino);
  if (in == nullptr) return Err(ENOENT);
  auto guard = in->body.write();
  InodeBody& b = *guard;
  BENTO_TRY(xattr_access(req, b, name, true));
  if (!b.xattrs.erase(name)) return Err(ENODATA);
  b.ctime = bento::now_realtime();
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------
// Live upgrade

Result<bento::TransferState> Memfs::update_prepare() {
  // No call is in flight (the host holds its write lock), but take ours anyway: cheap.
  auto ns = ns_.write();
  auto h = handles_.lock();
  auto made = bento::make_unique<MemfsStateV1>();
  if (!made) return Err(ENOMEM);  // nothing moved yet: this instance keeps serving
  bento::UniquePtr<MemfsStateV1> st = std::move(made).value();
  st->inodes = std::move(ns->inodes);
  st->handles = std::move(*h);
  st->next_ino = ns->next_ino;
  st->next_generation = ns->next_generation;
  st->pages_used = pages_used_.exchange(0);
  // Inert from now on: empty tables, so destroying this instance frees nothing handed on.
  // (Assign fresh tables: a moved-from bento::HashMap keeps a stale size.)
  ns->inodes = InodeTable();
  *h = HandleTable();
  return bento::TransferState::make(std::move(st));
}

void Memfs::adopt(MemfsStateV1& st) {
  auto ns = ns_.write();
  auto h = handles_.lock();
  ns->inodes = std::move(st.inodes);
  ns->next_ino = st.next_ino;
  ns->next_generation = st.next_generation;
  *h = std::move(st.handles);
  pages_used_.store(st.pages_used);
}

Status Memfs::update_transfer(bento::TransferState& state, bento::BlockDevice& dev) {
#ifdef MEMFS_REFUSE_TRANSFER
  // Test build (memfs_refuse): exercises the host's rollback path.
  (void)state;
  (void)dev;
  bento::log(bento::LogLevel::kWarning, "memfs_refuse: refusing every state transfer");
  return Err(EPROTO);
#else
  bento::UniquePtr<MemfsStateV1> st = state.take<MemfsStateV1>();
  if (!st) {
    bento::log(bento::LogLevel::kError,
               "memfs: refusing state transfer: not a bento-memfs v1 state");
    return Err(EPROTO);
  }
  dev_ = &dev;
  adopt(*st);
  return Status::Ok();
#endif
}

}  // namespace memfs
