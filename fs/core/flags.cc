// chattr(1) flags: FS_IOC_GETFLAGS / FS_IOC_SETFLAGS (format/inode.h iflag). The checks
// that enforce them live with each operation (perm.h is_immutable/is_append_only).
#include <bento/time.h>

#include "core/bento_fs.h"
#include "core/inode_lock.h"
#include "core/perm.h"
#include "core/times.h"

namespace bentofs {

Result<uint32_t> BentoFs::getflags(const Request&, Ino ino) {
  if (ino == kProvLogIno) return uint32_t{0};
  BENTO_ASSIGN_OR_RETURN(InodeRef o, iget(ino));
  ReadLock lk(o->lock);
  BENTO_ASSIGN_OR_RETURN(DiskInode di, read_inode(ino));
  if (di.mode.get() == 0 || o->deleted) return Err(ENOENT);
  return di.flags.get() & iflag::kKnown;
}

Status BentoFs::setflags(const Request& req, Ino ino, uint32_t flags) {
  if (ino == kProvLogIno) return Err(EPERM);
  if (flags & ~iflag::kKnown) return Err(EOPNOTSUPP);
  if (read_only_) return Err(EROFS);
  BENTO_ASSIGN_OR_RETURN(InodeRef o, iget(ino));
  BENTO_ASSIGN_OR_RETURN(Handle h, journal_->begin(2));
  WriteLock lk(o->lock);
  BENTO_ASSIGN_OR_RETURN(DiskInode di, read_inode(ino));
  if (di.mode.get() == 0 || o->deleted) return Err(ENOENT);
  if (!is_owner_or_root(req, di)) return Err(EPERM);
  const uint32_t old = di.flags.get();
  // Setting or clearing 'a' and 'i' needs CAP_LINUX_IMMUTABLE (root here); while either
  // is set, nobody else may change any flag.
  if (req.uid != 0 && (((old ^ flags) & iflag::kPrivileged) || (old & iflag::kPrivileged)))
    return Err(EPERM);
  if (old == flags) return Status::Ok();
  di.flags.set(flags);
  set_time(di.ctime, bento::now_realtime());
  return write_inode(h, o.get(), di);
}

}  // namespace bentofs
