// POSIX ACLs (FORMAT.md §7.2): stored as the extended attributes system.posix_acl_access
// and system.posix_acl_default, in the Linux xattr encoding that getfacl/setfacl and the
// kernel exchange: a LE u32 version (2), then 8-byte entries {LE u16 tag, LE u16 perm
// (rwx bits), LE u32 id}. Entries are sorted by tag then id; exactly one USER_OBJ,
// GROUP_OBJ and OTHER; MASK required when there is any USER or GROUP entry. An access ACL
// that only restates the mode is not stored (the mode says it all). An inode with an
// access ACL has iflag::kHasAcl set, so permission checks read the ACL only then.
#pragma once

#include <cstdint>

namespace bentofs::acl {

constexpr char kAccessName[] = "system.posix_acl_access";
constexpr char kDefaultName[] = "system.posix_acl_default";
constexpr uint32_t kVersion = 2;
constexpr uint32_t kHeaderSize = 4;
constexpr uint32_t kEntrySize = 8;
constexpr uint32_t kMaxEntries = 1024;

enum Tag : uint16_t {
  kUserObj = 0x01,
  kUser = 0x02,
  kGroupObj = 0x04,
  kGroup = 0x08,
  kMask = 0x10,
  kOther = 0x20,
};

}  // namespace bentofs::acl
