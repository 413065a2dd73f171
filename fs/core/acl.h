// POSIX ACL evaluation (POSIX.1e draft 17 §23.1.5, as Linux does it) over the xattr
// encoding of format/acl.h. Pure functions; BentoFs (acl_ops.cc) loads and stores them.
#pragma once

#include <bento/fs_types.h>
#include <bento/result.h>
#include <bento/vec.h>

#include <cstdint>
#include <span>

namespace bentofs {

struct AclEntry {
  uint16_t tag = 0;
  uint16_t perm = 0;
  uint32_t id = 0;
};
using Acl = bento::Vec<AclEntry>;

// Decodes and validates an ACL xattr value. EINVAL when malformed (bad version, unknown
// tag or perm bits, missing or repeated USER_OBJ/GROUP_OBJ/OTHER, missing MASK, unsorted
// or duplicate entries).
bento::Status acl_parse(std::span<const uint8_t> value, Acl* out);
// Encodes (sorted, as parsed) into *out.
bento::Status acl_encode(const Acl& acl, bento::Vec<uint8_t>* out);
// Whether `acl` grants mask (bento::amode bits) to the caller; owner/owner group from the
// inode. Root is not special here (the caller handles it). 0 or EACCES.
int acl_permits(const bento::Request& r, uint32_t owner, uint32_t group, const Acl& acl,
                uint32_t mask);
// The permission bits (0777) an access ACL implies; *extended: it has USER/GROUP/MASK
// entries (else it says nothing the mode does not).
uint32_t acl_mode(const Acl& acl, bool* extended);
// chmod on a file with an access ACL: USER_OBJ, MASK (or GROUP_OBJ) and OTHER take the
// new permission bits.
void acl_chmod(Acl* acl, uint32_t mode);
// A new inode's access ACL from its directory's default ACL: entries are limited by the
// requested mode (posix_acl_create_masq). Returns the resulting permission bits.
uint32_t acl_create_masq(Acl* acl, uint32_t mode);

}  // namespace bentofs
