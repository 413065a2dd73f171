// Extended attributes (FORMAT.md §7). DiskInode::xattr_block names them, in one of two
// formats:
//
// v1 (images without feature XATTRMAP): one block, an XattrHeader then packed entries:
// name_len (1), value_len (2, LE), name, value. The whole set fits in that block.
//
// v2 (feature XATTRMAP, every image mkfs makes now): xattr_block is a map block, an
// XattrMapHeader then kXattrMapSlots LE u32 block numbers; the first `nblocks` name the
// blocks of a byte stream of `used` bytes holding packed entries: name_len (1), value_len
// (4, LE), name, value. Entries may cross block boundaries. Values up to 64 KiB, at most
// kXattrMaxBlocks blocks (1 MiB) per inode: e.g. 10,000 attributes of 64 bytes, or 15 of
// 64 KiB. Bytes of the last block past `used` are zero.
//
// Names are complete ("user.foo"), 1..255 bytes, unique within an inode. POSIX ACLs are
// the attributes system.posix_acl_access / system.posix_acl_default (acl.h).
#pragma once

#include <cstdint>

#include "format/endian.h"

namespace bentofs {

constexpr uint32_t kXattrMagic = 0x52545858;  // "XXTR" (v1)

struct XattrHeader {
  Le32 magic;
  Le16 count;
  Le16 used;  // bytes of packed entries after the header
  uint8_t reserved[8];
};
static_assert(sizeof(XattrHeader) == 16);
constexpr uint32_t kXattrEntryHeader = 3;
constexpr uint32_t kXattrSpace = 4096 - sizeof(XattrHeader);

constexpr uint32_t kXattrMapMagic = 0x50414D58;  // "XMAP" (v2)

struct XattrMapHeader {
  Le32 magic;
  Le32 count;    // attributes
  Le32 used;     // bytes of the stream
  Le32 nblocks;  // stream blocks: ceil(used / 4096)
};
static_assert(sizeof(XattrMapHeader) == 16);
constexpr uint32_t kXattrMapSlots = (4096 - sizeof(XattrMapHeader)) / 4;
constexpr uint32_t kXattrEntryHeaderV2 = 5;
constexpr uint32_t kXattrMaxBlocks = 256;
constexpr uint32_t kXattrMaxValue = 65536;  // XATTR_SIZE_MAX
static_assert(kXattrMaxBlocks <= kXattrMapSlots);

}  // namespace bentofs
