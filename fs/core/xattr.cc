// Extended attributes (format/xattr.h, core/xattr_store.h) and the POSIX ACLs stored in
// them (format/acl.h): system.posix_acl_access changes the mode with it and makes the
// permission checks consult the ACL; system.posix_acl_default is inherited by what is
// created in the directory (names.cc).
#include "format/xattr.h"

#include <bento/time.h>

#include "core/acl.h"
#include "core/bento_fs.h"
#include "core/inode_lock.h"
#include "core/perm.h"
#include "core/times.h"
#include "core/xattr_store.h"
#include "format/acl.h"

namespace bentofs {

namespace {

namespace md = bento::mode;

enum class Ns { kUser, kTrusted, kSecurity, kAclAccess, kAclDefault, kUnsupported };

Ns name_space(std::string_view n) {
  if (n.starts_with("user.")) return Ns::kUser;
  if (n.starts_with("trusted.")) return Ns::kTrusted;
  if (n.starts_with("security.")) return Ns::kSecurity;
  if (n == acl::kAccessName) return Ns::kAclAccess;
  if (n == acl::kDefaultName) return Ns::kAclDefault;
  return Ns::kUnsupported;  // other system.* names, and anything unknown
}

// Who may read (write=false) or change (write=true) this attribute.
int xattr_perm(const Request& r, const DiskInode& di, Ns ns, bool write, int access_denied) {
  switch (ns) {
    case Ns::kUser: {
      uint32_t m = di.mode.get();
      if (!md::is_reg(m) && !md::is_dir(m)) return write ? EPERM : ENODATA;
      if (write && (m & md::kSticky) && md::is_dir(m) && !is_owner_or_root(r, di)) return EPERM;
      return access_denied ? EACCES : 0;
    }
    case Ns::kTrusted:
      return r.uid == 0 ? 0 : (write ? EPERM : ENODATA);
    case Ns::kSecurity:
      return (!write || is_owner_or_root(r, di)) ? 0 : EPERM;
    case Ns::kAclAccess:
    case Ns::kAclDefault:
      if (md::is_symlink(di.mode.get())) return EOPNOTSUPP;
      if (ns == Ns::kAclDefault && !md::is_dir(di.mode.get())) return write ? EACCES : ENODATA;
      return (!write || is_owner_or_root(r, di)) ? 0 : EPERM;
    default:
      return EOPNOTSUPP;
  }
}

int check_xname(std::string_view name) {
  if (name.empty() || name.size() > 255) return ERANGE;
  return 0;
}

}  // namespace

int BentoFs::may(const Request& req, const DiskInode& di, uint32_t mask) {
  if (req.uid == 0 || !(di.flags.get() & iflag::kHasAcl)) return check_access(req, di, mask);
  Acl a;
  auto found = load_acl(di, acl::kAccessName, &a);
  if (!found.ok() || !*found) return check_access(req, di, mask);  // damaged: the mode rules
  return acl_permits(req, di.uid.get(), di.gid.get(), a, mask);
}

Result<bool> BentoFs::load_acl(const DiskInode& di, std::string_view name, Acl* out) {
  XattrSet set;
  BENTO_TRY(xattr_load(ctx(), di, &set));
  XattrSet::Entry e;
  if (!set.find(name, &e)) return false;
  BENTO_TRY(acl_parse(e.value, out));
  return true;
}

uint32_t BentoFs::xattr_credits(Ino ino, size_t value_size) {
  uint32_t now = 0;
  if (auto peek = read_inode(ino); peek.ok()) now = xattr_blocks_peek(ctx(), *peek);
  // Every stream block may change, the new ones are allocated (block + bitmap), the map.
  return now + 2 * static_cast<uint32_t>(value_size / kBlockSize + 2) + 8;
}

Status BentoFs::setxattr(const Request& req, Ino ino, std::string_view name,
                         std::span<const uint8_t> value, uint32_t flags) {
  if (ino == kProvLogIno) return prov_file_setxattr(req, name, value);
  if (int e = check_xname(name)) return Err(e);
  Ns ns = name_space(name);
  if (ns == Ns::kUnsupported) return Err(EOPNOTSUPP);
  if (value.size() > kXattrMaxValue) return Err(E2BIG);
  if (read_only_) return Err(EROFS);
  Acl parsed;
  if (ns == Ns::kAclAccess || ns == Ns::kAclDefault) {
    if (Status s = acl_parse(value, &parsed); !s.ok()) return s;
  }
  BENTO_ASSIGN_OR_RETURN(InodeRef o, iget(ino));
  BENTO_ASSIGN_OR_RETURN(ProvLog::Ticket t, prov_reserve(name.size(), 0));
  BENTO_ASSIGN_OR_RETURN(Handle h, journal_->begin(xattr_credits(ino, value.size())));
  WriteLock lk(o->lock);
  BENTO_ASSIGN_OR_RETURN(DiskInode di, read_inode(ino));
  if (di.mode.get() == 0 || o->deleted) return Err(ENOENT);
  if (int e = xattr_perm(req, di, ns, true, may(req, di, bento::amode::kWrite))) return Err(e);
  if (is_pinned(di)) return Err(EPERM);
  XattrSet set;
  BENTO_TRY(xattr_load(ctx(), di, &set));
  XattrSet::Entry cur;
  const bool exists = set.find(name, &cur);
  if (exists && (flags & bento::xattr_flag::kCreate)) return Err(EEXIST);
  if (!exists && (flags & bento::xattr_flag::kReplace)) return Err(ENODATA);
  bool store_it = true;
  if (ns == Ns::kAclAccess) {
    // The ACL's owner, group (or mask) and other entries are the mode's permission bits;
    // an ACL that says no more than the mode is not kept.
    bool extended = false;
    uint32_t perm = acl_mode(parsed, &extended);
    di.mode.set((di.mode.get() & ~0777u) | perm);
    store_it = extended;
    di.flags.set(extended ? di.flags.get() | iflag::kHasAcl : di.flags.get() & ~iflag::kHasAcl);
  }
  if (ns == Ns::kAclDefault) di.flags.set(di.flags.get() | iflag::kHasDefaultAcl);
  if (exists) BENTO_TRY(set.remove(cur));
  if (store_it) BENTO_TRY(set.append(name, value));
  BENTO_TRY(xattr_store(ctx(), h, di, set, geo_.xattr_map));
  set_time(di.ctime, bento::now_realtime());
  BENTO_TRY(write_inode(h, o.get(), di));
  return prov_xattr_set(h, req, ino, di, name, value.size(), t, 0);
}

Result<size_t> BentoFs::getxattr(const Request& req, Ino ino, std::string_view name,
                                 std::span<uint8_t> buf) {
  if (ino == kProvLogIno) return prov_file_getxattr(req, name, buf);
  if (int e = check_xname(name)) return Err(e);
  Ns ns = name_space(name);
  if (ns == Ns::kUnsupported) return Err(EOPNOTSUPP);
  BENTO_ASSIGN_OR_RETURN(InodeRef o, iget(ino));
  size_t len = 0;
  uint32_t gen = 0;
  {
    ReadLock lk(o->lock);
    BENTO_ASSIGN_OR_RETURN(DiskInode di, read_inode(ino));
    if (di.mode.get() == 0 || o->deleted) return Err(ENOENT);
    if (int e = xattr_perm(req, di, ns, false, may(req, di, bento::amode::kRead))) return Err(e);
    if (di.xattr_block.get() == 0) return Err(ENODATA);
    XattrSet set;
    BENTO_TRY(xattr_load(ctx(), di, &set));
    XattrSet::Entry e;
    if (!set.find(name, &e)) return Err(ENODATA);
    len = e.value.size();
    gen = di.generation.get();
    if (buf.empty()) return len;  // the size probe: nothing read yet
    if (buf.size() < len) return Err(ERANGE);
    if (len != 0) __builtin_memcpy(buf.data(), e.value.data(), len);
  }
  // What a process reads out of a user's attribute is data it takes in (security.* and
  // system.* names are read by the kernel itself, for every write: not recorded). Out of
  // the inode's lock: a handle is never begun under one (a writer holding a handle may be
  // waiting for it).
  if ((ns == Ns::kUser || ns == Ns::kTrusted) && tracking()) {
    BENTO_ASSIGN_OR_RETURN(ProvLog::Ticket t, prov_reserve(name.size(), 0));
    ProvDraft d;
    d.type = prov::RecordType::kGetxattr;
    d.ino = ino;
    d.gen = gen;
    d.name = name;
    d.aux = len;
    BENTO_TRY(prov_alone(req, d, t));
  }
  return len;
}

Result<size_t> BentoFs::listxattr(const Request& req, Ino ino, std::span<char> buf) {
  if (ino == kProvLogIno) return prov_file_listxattr(req, buf);
  BENTO_ASSIGN_OR_RETURN(InodeRef o, iget(ino));
  ReadLock lk(o->lock);
  BENTO_ASSIGN_OR_RETURN(DiskInode di, read_inode(ino));
  if (di.mode.get() == 0 || o->deleted) return Err(ENOENT);
  if (di.xattr_block.get() == 0) return size_t{0};
  XattrSet set;
  BENTO_TRY(xattr_load(ctx(), di, &set));
  size_t total = 0;
  int err = 0;
  set.for_each([&](const XattrSet::Entry& e) {
    // Trusted names are listed only for root, like Linux.
    if (name_space(e.name) == Ns::kTrusted && req.uid != 0) return true;
    if (!buf.empty()) {
      if (total + e.name.size() + 1 > buf.size()) {
        err = ERANGE;
        return false;
      }
      __builtin_memcpy(buf.data() + total, e.name.data(), e.name.size());
      buf[total + e.name.size()] = '\0';
    }
    total += e.name.size() + 1;
    return true;
  });
  if (err != 0) return Err(err);
  return total;
}

Status BentoFs::removexattr(const Request& req, Ino ino, std::string_view name) {
  if (ino == kProvLogIno) return Err(EPERM);
  if (int e = check_xname(name)) return Err(e);
  Ns ns = name_space(name);
  if (ns == Ns::kUnsupported) return Err(EOPNOTSUPP);
  if (read_only_) return Err(EROFS);
  BENTO_ASSIGN_OR_RETURN(InodeRef o, iget(ino));
  BENTO_ASSIGN_OR_RETURN(ProvLog::Ticket t, prov_reserve(name.size(), 0));
  BENTO_ASSIGN_OR_RETURN(Handle h, journal_->begin(xattr_credits(ino, 0)));
  WriteLock lk(o->lock);
  BENTO_ASSIGN_OR_RETURN(DiskInode di, read_inode(ino));
  if (di.mode.get() == 0 || o->deleted) return Err(ENOENT);
  if (int e = xattr_perm(req, di, ns, true, may(req, di, bento::amode::kWrite))) return Err(e);
  if (is_pinned(di)) return Err(EPERM);
  if (di.xattr_block.get() == 0) return Err(ENODATA);
  XattrSet set;
  BENTO_TRY(xattr_load(ctx(), di, &set));
  XattrSet::Entry e;
  if (!set.find(name, &e)) return Err(ENODATA);
  BENTO_TRY(set.remove(e));
  BENTO_TRY(xattr_store(ctx(), h, di, set, geo_.xattr_map));
  if (ns == Ns::kAclAccess) di.flags.set(di.flags.get() & ~iflag::kHasAcl);
  if (ns == Ns::kAclDefault) di.flags.set(di.flags.get() & ~iflag::kHasDefaultAcl);
  set_time(di.ctime, bento::now_realtime());
  BENTO_TRY(write_inode(h, o.get(), di));
  return prov_xattr_set(h, req, ino, di, name, 0, t, prov::kXattrRemoved);
}

// The record of a set (flags 0) or removed (kXattrRemoved) attribute, in the handle that
// made the change.
Status BentoFs::prov_xattr_set(Handle& h, const Request& req, Ino ino, const DiskInode& di,
                               std::string_view name, size_t value_len, ProvLog::Ticket& t,
                               uint32_t flags) {
  ProvDraft d;
  d.type = prov::RecordType::kSetxattr;
  d.ino = ino;
  d.gen = di.generation.get();
  d.flags = flags;
  d.name = name;
  d.aux = value_len;
  return prov_append(h, req, d, t);
}

}  // namespace bentofs
