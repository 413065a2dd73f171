// Extended attributes in one block per inode (format/xattr.h).
#include "format/xattr.h"

#include <bento/time.h>

#include "core/bento_fs.h"
#include "core/inode_lock.h"
#include "core/perm.h"
#include "core/times.h"

namespace bentofs {

namespace {

namespace md = bento::mode;

enum class Ns { kUser, kTrusted, kSecurity, kUnsupported };

Ns name_space(std::string_view n) {
  if (n.starts_with("user.")) return Ns::kUser;
  if (n.starts_with("trusted.")) return Ns::kTrusted;
  if (n.starts_with("security.")) return Ns::kSecurity;
  return Ns::kUnsupported;  // system.* (POSIX ACLs) and anything unknown
}

// Who may read (write=false) or change (write=true) this attribute.
int xattr_perm(const Request& r, const DiskInode& di, Ns ns, bool write) {
  switch (ns) {
    case Ns::kUser: {
      uint32_t m = di.mode.get();
      if (!md::is_reg(m) && !md::is_dir(m)) return write ? EPERM : ENODATA;
      if (write && (m & md::kSticky) && md::is_dir(m) && !is_owner_or_root(r, di)) return EPERM;
      return check_access(r, di, write ? bento::amode::kWrite : bento::amode::kRead) ? EACCES : 0;
    }
    case Ns::kTrusted:
      return r.uid == 0 ? 0 : (write ? EPERM : ENODATA);
    case Ns::kSecurity:
      return (!write || is_owner_or_root(r, di)) ? 0 : EPERM;
    default:
      return EOPNOTSUPP;
  }
}

struct Found {
  int32_t off = -1;
  uint32_t size = 0;
  uint32_t vlen = 0;
};

Found find(const uint8_t* p, std::string_view name) {
  XattrHeader h;
  __builtin_memcpy(&h, p, sizeof(h));
  uint32_t end = sizeof(XattrHeader) + (h.used.get() <= kXattrSpace ? h.used.get() : 0);
  for (uint32_t off = sizeof(XattrHeader); off + kXattrEntryHeader <= end;) {
    uint32_t nl = p[off];
    uint32_t vl = p[off + 1] | (p[off + 2] << 8);
    if (off + kXattrEntryHeader + nl + vl > end) return {};  // damaged: stop
    if (nl == name.size() && __builtin_memcmp(p + off + 3, name.data(), nl) == 0)
      return {static_cast<int32_t>(off), kXattrEntryHeader + nl + vl, vl};
    off += kXattrEntryHeader + nl + vl;
  }
  return {};
}

void remove_at(uint8_t* p, Found f) {
  XattrHeader h;
  __builtin_memcpy(&h, p, sizeof(h));
  uint32_t end = sizeof(XattrHeader) + h.used.get();
  __builtin_memmove(p + f.off, p + f.off + f.size, end - f.off - f.size);
  __builtin_memset(p + end - f.size, 0, f.size);
  h.used.set(static_cast<uint16_t>(h.used.get() - f.size));
  h.count.set(static_cast<uint16_t>(h.count.get() - 1));
  __builtin_memcpy(p, &h, sizeof(h));
}

int check_xname(std::string_view name) {
  if (name.empty() || name.size() > 255) return ERANGE;
  return 0;
}

}  // namespace

Status BentoFs::setxattr(const Request& req, Ino ino, std::string_view name,
                         std::span<const uint8_t> value, uint32_t flags) {
  if (ino == kProvLogIno) return prov_file_setxattr(req, name, value);
  if (int e = check_xname(name)) return Err(e);
  Ns ns = name_space(name);
  if (ns == Ns::kUnsupported) return Err(EOPNOTSUPP);
  if (value.size() > 65536) return Err(E2BIG);
  if (read_only_) return Err(EROFS);
  BENTO_ASSIGN_OR_RETURN(InodeRef o, iget(ino));
  BENTO_ASSIGN_OR_RETURN(Handle h, journal_->begin(6));
  WriteLock lk(o->lock);
  BENTO_ASSIGN_OR_RETURN(DiskInode di, read_inode(ino));
  if (di.mode.get() == 0 || o->deleted) return Err(ENOENT);
  if (int e = xattr_perm(req, di, ns, true)) return Err(e);
  if (is_pinned(di)) return Err(EPERM);
  uint64_t blk = di.xattr_block.get();
  uint32_t need = kXattrEntryHeader + static_cast<uint32_t>(name.size() + value.size());
  BufferHead bh;
  if (blk == 0) {
    if (flags & bento::xattr_flag::kReplace) return Err(ENODATA);
    // Checked before allocating: the journal has no abort, so a block allocated here and
    // then refused would stay allocated and owned by nobody.
    if (need > kXattrSpace) return Err(ENOSPC);
    BENTO_ASSIGN_OR_RETURN(blk, balloc_.alloc(h, 0));
    BENTO_ASSIGN_OR_RETURN(bh, h.get_new(blk));
    XattrHeader xh{};
    xh.magic.set(kXattrMagic);
    __builtin_memcpy(bh.data_mut().data(), &xh, sizeof(xh));
    di.xattr_block.set(static_cast<uint32_t>(blk));
    di.blocks.set(di.blocks.get() + 1);
  } else {
    BENTO_ASSIGN_OR_RETURN(bh, h.get_write(blk));
  }
  uint8_t* p = bh.data_mut().data();
  XattrHeader xh;
  __builtin_memcpy(&xh, p, sizeof(xh));
  if (xh.magic.get() != kXattrMagic) return Err(EUCLEAN);
  Found f = find(p, name);
  if (f.off >= 0 && (flags & bento::xattr_flag::kCreate)) return Err(EEXIST);
  if (f.off < 0 && (flags & bento::xattr_flag::kReplace)) return Err(ENODATA);
  uint32_t avail = kXattrSpace - xh.used.get() + (f.off >= 0 ? f.size : 0);
  if (need > avail) return Err(ENOSPC);
  if (f.off >= 0) remove_at(p, f);
  __builtin_memcpy(&xh, p, sizeof(xh));
  uint8_t* e = p + sizeof(XattrHeader) + xh.used.get();
  e[0] = static_cast<uint8_t>(name.size());
  e[1] = static_cast<uint8_t>(value.size());
  e[2] = static_cast<uint8_t>(value.size() >> 8);
  __builtin_memcpy(e + 3, name.data(), name.size());
  if (!value.empty()) __builtin_memcpy(e + 3 + name.size(), value.data(), value.size());
  xh.used.set(static_cast<uint16_t>(xh.used.get() + need));
  xh.count.set(static_cast<uint16_t>(xh.count.get() + 1));
  __builtin_memcpy(p, &xh, sizeof(xh));
  set_time(di.ctime, bento::now_realtime());
  return write_inode(h, o.get(), di);
}

Result<size_t> BentoFs::getxattr(const Request& req, Ino ino, std::string_view name,
                                 std::span<uint8_t> buf) {
  if (ino == kProvLogIno) return prov_file_getxattr(req, name, buf);
  if (int e = check_xname(name)) return Err(e);
  Ns ns = name_space(name);
  if (ns == Ns::kUnsupported) return Err(EOPNOTSUPP);
  BENTO_ASSIGN_OR_RETURN(InodeRef o, iget(ino));
  ReadLock lk(o->lock);
  BENTO_ASSIGN_OR_RETURN(DiskInode di, read_inode(ino));
  if (di.mode.get() == 0 || o->deleted) return Err(ENOENT);
  if (int e = xattr_perm(req, di, ns, false)) return Err(e);
  if (di.xattr_block.get() == 0) return Err(ENODATA);
  BENTO_ASSIGN_OR_RETURN(BufferHead bh, dev_->bread(di.xattr_block.get()));
  const uint8_t* p = bh.data().data();
  Found f = find(p, name);
  if (f.off < 0) return Err(ENODATA);
  if (buf.empty()) return static_cast<size_t>(f.vlen);
  if (buf.size() < f.vlen) return Err(ERANGE);
  __builtin_memcpy(buf.data(), p + f.off + kXattrEntryHeader + name.size(), f.vlen);
  return static_cast<size_t>(f.vlen);
}

Result<size_t> BentoFs::listxattr(const Request& req, Ino ino, std::span<char> buf) {
  if (ino == kProvLogIno) return prov_file_listxattr(req, buf);
  BENTO_ASSIGN_OR_RETURN(InodeRef o, iget(ino));
  ReadLock lk(o->lock);
  BENTO_ASSIGN_OR_RETURN(DiskInode di, read_inode(ino));
  if (di.mode.get() == 0 || o->deleted) return Err(ENOENT);
  if (di.xattr_block.get() == 0) return size_t{0};
  BENTO_ASSIGN_OR_RETURN(BufferHead bh, dev_->bread(di.xattr_block.get()));
  const uint8_t* p = bh.data().data();
  XattrHeader h;
  __builtin_memcpy(&h, p, sizeof(h));
  uint32_t end = sizeof(XattrHeader) + (h.used.get() <= kXattrSpace ? h.used.get() : 0);
  size_t total = 0;
  for (uint32_t off = sizeof(XattrHeader); off + kXattrEntryHeader <= end;) {
    uint32_t nl = p[off];
    uint32_t vl = p[off + 1] | (p[off + 2] << 8);
    if (off + kXattrEntryHeader + nl + vl > end) return Err(EUCLEAN);
    std::string_view name(reinterpret_cast<const char*>(p + off + 3), nl);
    Ns ns = name_space(name);
    // Trusted names are listed only for root, like Linux.
    if (!(ns == Ns::kTrusted && req.uid != 0)) {
      if (!buf.empty()) {
        if (total + nl + 1 > buf.size()) return Err(ERANGE);
        __builtin_memcpy(buf.data() + total, name.data(), nl);
        buf[total + nl] = '\0';
      }
      total += nl + 1;
    }
    off += kXattrEntryHeader + nl + vl;
  }
  return total;
}

Status BentoFs::removexattr(const Request& req, Ino ino, std::string_view name) {
  if (ino == kProvLogIno) return Err(EPERM);
  if (int e = check_xname(name)) return Err(e);
  Ns ns = name_space(name);
  if (ns == Ns::kUnsupported) return Err(EOPNOTSUPP);
  if (read_only_) return Err(EROFS);
  BENTO_ASSIGN_OR_RETURN(InodeRef o, iget(ino));
  BENTO_ASSIGN_OR_RETURN(Handle h, journal_->begin(6));
  WriteLock lk(o->lock);
  BENTO_ASSIGN_OR_RETURN(DiskInode di, read_inode(ino));
  if (di.mode.get() == 0 || o->deleted) return Err(ENOENT);
  if (int e = xattr_perm(req, di, ns, true)) return Err(e);
  if (is_pinned(di)) return Err(EPERM);
  if (di.xattr_block.get() == 0) return Err(ENODATA);
  BENTO_ASSIGN_OR_RETURN(BufferHead bh, h.get_write(di.xattr_block.get()));
  uint8_t* p = bh.data_mut().data();
  Found f = find(p, name);
  if (f.off < 0) return Err(ENODATA);
  remove_at(p, f);
  XattrHeader xh;
  __builtin_memcpy(&xh, p, sizeof(xh));
  if (xh.count.get() == 0) {
    bh.release();
    BENTO_TRY(balloc_.free(h, di.xattr_block.get()));
    di.xattr_block.set(0);
    di.blocks.set(di.blocks.get() - 1);
  }
  set_time(di.ctime, bento::now_realtime());
  return write_inode(h, o.get(), di);
}

}  // namespace bentofs
