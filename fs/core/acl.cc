// POSIX ACL evaluation: see acl.h.
#include "core/acl.h"

#include "format/acl.h"
#include "format/endian.h"

namespace bentofs {

namespace {

bool in_group(const bento::Request& r, uint32_t gid) {
  if (r.gid == gid) return true;
  for (uint32_t i = 0; i < r.ngroups; i++)
    if (r.groups[i] == gid) return true;
  return false;
}

}  // namespace

bento::Status acl_parse(std::span<const uint8_t> value, Acl* out) {
  out->clear();
  if (value.size() < acl::kHeaderSize || (value.size() - acl::kHeaderSize) % acl::kEntrySize != 0)
    return bento::Err(EINVAL);
  if (load_le32(value.data()) != acl::kVersion) return bento::Err(EINVAL);
  const size_t n = (value.size() - acl::kHeaderSize) / acl::kEntrySize;
  if (n > acl::kMaxEntries) return bento::Err(EINVAL);
  uint32_t seen = 0;
  bool named = false;
  for (size_t i = 0; i < n; i++) {
    const uint8_t* p = value.data() + acl::kHeaderSize + i * acl::kEntrySize;
    AclEntry e;
    e.tag = static_cast<uint16_t>(p[0] | (p[1] << 8));
    e.perm = static_cast<uint16_t>(p[2] | (p[3] << 8));
    e.id = load_le32(p + 4);
    if (e.perm & ~7u) return bento::Err(EINVAL);
    switch (e.tag) {
      case acl::kUserObj:
      case acl::kGroupObj:
      case acl::kMask:
      case acl::kOther:
        if (seen & e.tag) return bento::Err(EINVAL);
        e.id = 0xFFFFFFFFu;  // ACL_UNDEFINED_ID
        break;
      case acl::kUser:
      case acl::kGroup:
        named = true;
        break;
      default:
        return bento::Err(EINVAL);
    }
    if (!out->empty()) {
      const AclEntry& prev = (*out)[out->size() - 1];
      if (prev.tag > e.tag ||
          (prev.tag == e.tag && (e.tag == acl::kUser || e.tag == acl::kGroup) && prev.id >= e.id))
        return bento::Err(EINVAL);
    }
    seen |= e.tag;
    BENTO_TRY(out->push_back(e));
  }
  const uint32_t required = acl::kUserObj | acl::kGroupObj | acl::kOther;
  if ((seen & required) != required) return bento::Err(EINVAL);
  if (named && !(seen & acl::kMask)) return bento::Err(EINVAL);
  return bento::Status::Ok();
}

bento::Status acl_encode(const Acl& acl, bento::Vec<uint8_t>* out) {
  BENTO_TRY(out->resize(acl::kHeaderSize + acl.size() * acl::kEntrySize));
  uint8_t* p = out->data();
  store_le32(p, acl::kVersion);
  for (size_t i = 0; i < acl.size(); i++) {
    uint8_t* e = p + acl::kHeaderSize + i * acl::kEntrySize;
    e[0] = static_cast<uint8_t>(acl[i].tag);
    e[1] = static_cast<uint8_t>(acl[i].tag >> 8);
    e[2] = static_cast<uint8_t>(acl[i].perm);
    e[3] = static_cast<uint8_t>(acl[i].perm >> 8);
    store_le32(e + 4, acl[i].id);
  }
  return bento::Status::Ok();
}

int acl_permits(const bento::Request& r, uint32_t owner, uint32_t group, const Acl& acl,
                uint32_t mask) {
  uint16_t mask_perm = 7;
  for (const AclEntry& e : acl)
    if (e.tag == acl::kMask) mask_perm = e.perm;
  bool group_matched = false;
  for (const AclEntry& e : acl) {
    switch (e.tag) {
      case acl::kUserObj:
        if (r.uid == owner) return (e.perm & mask) == mask ? 0 : EACCES;
        break;
      case acl::kUser:
        if (r.uid == e.id) return (e.perm & mask_perm & mask) == mask ? 0 : EACCES;
        break;
      case acl::kGroupObj:
        if (in_group(r, group)) {
          group_matched = true;
          if ((e.perm & mask_perm & mask) == mask) return 0;
        }
        break;
      case acl::kGroup:
        if (in_group(r, e.id)) {
          group_matched = true;
          if ((e.perm & mask_perm & mask) == mask) return 0;
        }
        break;
      case acl::kOther:
        if (group_matched) return EACCES;
        return (e.perm & mask) == mask ? 0 : EACCES;
      default:
        break;
    }
  }
  return EACCES;
}

uint32_t acl_mode(const Acl& acl, bool* extended) {
  uint32_t user = 0, group = 0, other = 0, maskp = 0;
  bool has_mask = false;
  *extended = false;
  for (const AclEntry& e : acl) {
    switch (e.tag) {
      case acl::kUserObj:
        user = e.perm;
        break;
      case acl::kGroupObj:
        group = e.perm;
        break;
      case acl::kOther:
        other = e.perm;
        break;
      case acl::kMask:
        maskp = e.perm;
        has_mask = true;
        *extended = true;
        break;
      default:
        *extended = true;
        break;
    }
  }
  return (user << 6) | ((has_mask ? maskp : group) << 3) | other;
}

void acl_chmod(Acl* acl, uint32_t mode) {
  bool has_mask = false;
  for (const AclEntry& e : *acl)
    if (e.tag == acl::kMask) has_mask = true;
  for (AclEntry& e : *acl) {
    if (e.tag == acl::kUserObj) e.perm = static_cast<uint16_t>((mode >> 6) & 7);
    if (e.tag == acl::kOther) e.perm = static_cast<uint16_t>(mode & 7);
    if (e.tag == (has_mask ? acl::kMask : acl::kGroupObj))
      e.perm = static_cast<uint16_t>((mode >> 3) & 7);
  }
}

uint32_t acl_create_masq(Acl* acl, uint32_t mode) {
  AclEntry* group_obj = nullptr;
  AclEntry* maskp = nullptr;
  uint32_t out = mode & ~0777u;
  for (AclEntry& e : *acl) {
    switch (e.tag) {
      case acl::kUserObj:
        e.perm &= static_cast<uint16_t>((mode >> 6) & 7);
        out |= static_cast<uint32_t>(e.perm) << 6;
        break;
      case acl::kGroupObj:
        group_obj = &e;
        break;
      case acl::kMask:
        maskp = &e;
        break;
      case acl::kOther:
        e.perm &= static_cast<uint16_t>(mode & 7);
        out |= e.perm;
        break;
      default:
        break;
    }
  }
  AclEntry* g = maskp != nullptr ? maskp : group_obj;
  if (g != nullptr) {
    g->perm &= static_cast<uint16_t>((mode >> 3) & 7);
    out |= static_cast<uint32_t>(g->perm) << 3;
  }
  return out;
}

}  // namespace bentofs
