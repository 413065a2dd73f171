// POSIX permission checks against the caller's identity (Request): owner, group
// (primary and supplementary) and other bits; root bypasses all but "execute needs some x
// bit" on non-directories.
#pragma once

#include <bento/fs_types.h>

#include "format/inode.h"

namespace bentofs {

inline bool in_group(const bento::Request& r, uint32_t gid) {
  if (r.gid == gid) return true;
  for (uint32_t i = 0; i < r.ngroups; i++)
    if (r.groups[i] == gid) return true;
  return false;
}

// mask: bento::amode bits (kRead 4, kWrite 2, kExec 1). Returns 0 or EACCES.
inline int check_access(const bento::Request& r, const DiskInode& di, uint32_t mask) {
  uint32_t mode = di.mode.get();
  if (r.uid == 0) {
    if ((mask & bento::amode::kExec) && !bento::mode::is_dir(mode) && (mode & 0111) == 0)
      return EACCES;
    return 0;
  }
  uint32_t bits;
  if (r.uid == di.uid.get())
    bits = (mode >> 6) & 7;
  else if (in_group(r, di.gid.get()))
    bits = (mode >> 3) & 7;
  else
    bits = mode & 7;
  return (bits & mask) == mask ? 0 : EACCES;
}

inline bool is_owner_or_root(const bento::Request& r, const DiskInode& di) {
  return r.uid == 0 || r.uid == di.uid.get();
}

// chattr flags (format/inode.h iflag), enforced for every caller, root included, as Linux
// does: an immutable inode cannot be changed at all (data, metadata, names in it, its own
// names); an append-only one only grows at its end (no truncation, no rewrite, no removal
// or rename of its names, no chmod/chown); names are only added to an append-only directory.
inline bool is_immutable(const DiskInode& di) {
  return (di.flags.get() & iflag::kImmutable) != 0;
}
inline bool is_append_only(const DiskInode& di) {
  return (di.flags.get() & iflag::kAppend) != 0;
}
// Neither flag: the inode's names may be removed or moved, its metadata changed.
inline bool is_pinned(const DiskInode& di) {
  return (di.flags.get() & (iflag::kImmutable | iflag::kAppend)) != 0;
}

}  // namespace bentofs
