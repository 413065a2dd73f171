// Superblock validation: see superblock_check.h.
#include "core/superblock_check.h"

#include <bento/result.h>

#include "format/crc32c.h"
#include "format/inode.h"

namespace bentofs {

void seal_superblock(SuperBlock& sb) {
  sb.checksum.set(crc32c(reinterpret_cast<const uint8_t*>(&sb), 508));
}

int validate_superblock(const SuperBlock& sb, uint64_t device_blocks, bool read_only,
                        const char** why) {
  auto bad = [&](int err, const char* w) {
    *why = w;
    return err;
  };
  if (sb.magic.get() != kSuperMagic) return bad(EINVAL, "not a Bento-fs image (bad magic number)");
  if (sb.checksum.get() != crc32c(reinterpret_cast<const uint8_t*>(&sb), 508))
    return bad(EUCLEAN, "superblock checksum mismatch (superblock is corrupt)");
  if (sb.version.get() != kFormatVersion) return bad(EINVAL, "unsupported Bento-fs format version");
  if (sb.block_size.get() != kBlockSize) return bad(EINVAL, "unsupported block size");
  if (sb.feature_incompat.get() & ~feature::kIncompatSupported)
    return bad(EINVAL, "image uses incompatible features this code does not know");
  if ((sb.feature_incompat.get() & feature::kIncompatRequired) != feature::kIncompatRequired)
    return bad(EINVAL, "image lacks required features (hashed directories, journal)");
  if (!read_only && (sb.feature_ro_compat.get() & ~feature::kRoCompatSupported))
    return bad(EINVAL, "image uses features that allow only a read-only mount");
  if (sb.inode_size.get() != kInodeSize) return bad(EUCLEAN, "bad inode size");
  uint64_t n = sb.block_count.get();
  if (n > device_blocks) return bad(EINVAL, "file system is larger than the device");
  if (n > 0xFFFFFFFFULL) return bad(EUCLEAN, "block count exceeds 32-bit block pointers");
  uint64_t inodes = sb.inode_count.get();
  if (inodes < 2) return bad(EUCLEAN, "inode count too small");
  // Regions must follow each other in the documented order, without gaps or overlap.
  uint64_t at = 1;
  auto region = [&](uint64_t start, uint64_t len, uint64_t min_len) {
    if (start != at || len < min_len || len > n || start + len > n) return false;
    at = start + len;
    return true;
  };
  if (!region(sb.journal_start.get(), sb.journal_blocks.get(), 64))
    return bad(EUCLEAN, "journal area is out of place");
  if (!region(sb.inode_bitmap_start.get(), sb.inode_bitmap_blocks.get(), (inodes + 32767) / 32768))
    return bad(EUCLEAN, "inode bitmap is out of place or too small");
  if (!region(sb.block_bitmap_start.get(), sb.block_bitmap_blocks.get(), (n + 32767) / 32768))
    return bad(EUCLEAN, "block bitmap is out of place or too small");
  if (!region(sb.inode_table_start.get(), sb.inode_table_blocks.get(),
              (inodes + kInodesPerBlock - 1) / kInodesPerBlock))
    return bad(EUCLEAN, "inode table is out of place or too small");
  if (sb.feature_compat.get() & feature::kCompatProvLog) {
    if (!region(sb.prov_start.get(), sb.prov_blocks.get(), 2))
      return bad(EUCLEAN, "provenance log area is out of place");
  } else if (sb.prov_start.get() != 0 || sb.prov_blocks.get() != 0) {
    return bad(EUCLEAN, "provenance log fields set without the feature flag");
  }
  if (sb.data_start.get() != at || at >= n) return bad(EUCLEAN, "data area is out of place");
  if (sb.orphan_head.get() >= inodes || sb.orphan_head.get() == 1)
    return bad(EUCLEAN, "orphan list head is not a valid inode");
  if (sb.dir_max_depth.get() > 18) return bad(EUCLEAN, "directory depth limit is too large");
  return 0;
}

}  // namespace bentofs
