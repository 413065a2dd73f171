// Extended attributes (FORMAT.md §7): one block per inode (DiskInode::xattr_block),
// an XattrHeader then packed entries: name_len (1), value_len (2, LE), name, value.
// Names are complete ("user.foo"); the whole set fits in one block.
#pragma once

#include <cstdint>

#include "format/endian.h"

namespace bentofs {

constexpr uint32_t kXattrMagic = 0x52545858;  // "XXTR"

struct XattrHeader {
  Le32 magic;
  Le16 count;
  Le16 used;  // bytes of packed entries after the header
  uint8_t reserved[8];
};
static_assert(sizeof(XattrHeader) == 16);
constexpr uint32_t kXattrEntryHeader = 3;
constexpr uint32_t kXattrSpace = 4096 - sizeof(XattrHeader);

}  // namespace bentofs
