// Where each region of the file system is, decoded once from the superblock.
#pragma once

#include <cstdint>

#include "format/dir.h"
#include "format/inode.h"
#include "format/superblock.h"

namespace bentofs {

struct Geometry {
  uint64_t block_count = 0;
  uint64_t inode_count = 0;
  uint64_t journal_start = 0, journal_blocks = 0;
  uint64_t inode_bitmap_start = 0, inode_bitmap_blocks = 0;
  uint64_t block_bitmap_start = 0, block_bitmap_blocks = 0;
  uint64_t inode_table_start = 0, inode_table_blocks = 0;
  uint64_t prov_start = 0, prov_blocks = 0;  // 0 blocks: no provenance log area
  uint64_t data_start = 0;
  bool big_files = false;   // feature BIGFILE: triple/quadruple-indirect trees
  bool xattr_map = false;   // feature XATTRMAP: v2 extended attributes (format/xattr.h)
  bool inode_csum = false;  // ro_compat INODE_CSUM: inodes carry a checksum (format/inode.h)
  bool dir_csum = false;    // ro_compat DIR_CSUM: directory blocks carry one (format/dir.h)
  uint32_t dir_seed = 0;    // dir_csum_seed(uuid) with DIR_CSUM

  uint64_t max_file_blocks() const { return big_files ? kMaxFileBlocksBig : kMaxFileBlocksV1; }
  uint64_t max_file_size() const { return big_files ? kMaxFileSizeBig : kMaxFileSizeV1; }

  uint64_t inode_block(uint64_t ino) const { return inode_table_start + ino / kInodesPerBlock; }
  uint32_t inode_offset(uint64_t ino) const { return (ino % kInodesPerBlock) * kInodeSize; }

  static Geometry from(const SuperBlock& sb) {
    Geometry g;
    g.block_count = sb.block_count.get();
    g.inode_count = sb.inode_count.get();
    g.journal_start = sb.journal_start.get();
    g.journal_blocks = sb.journal_blocks.get();
    g.inode_bitmap_start = sb.inode_bitmap_start.get();
    g.inode_bitmap_blocks = sb.inode_bitmap_blocks.get();
    g.block_bitmap_start = sb.block_bitmap_start.get();
    g.block_bitmap_blocks = sb.block_bitmap_blocks.get();
    g.inode_table_start = sb.inode_table_start.get();
    g.inode_table_blocks = sb.inode_table_blocks.get();
    if (sb.feature_compat.get() & feature::kCompatProvLog) {
      g.prov_start = sb.prov_start.get();
      g.prov_blocks = sb.prov_blocks.get();
    }
    g.data_start = sb.data_start.get();
    g.big_files = (sb.feature_incompat.get() & feature::kIncompatBigFile) != 0;
    g.xattr_map = (sb.feature_incompat.get() & feature::kIncompatXattrMap) != 0;
    g.inode_csum = (sb.feature_ro_compat.get() & feature::kRoCompatInodeCsum) != 0;
    g.dir_csum = (sb.feature_ro_compat.get() & feature::kRoCompatDirCsum) != 0;
    if (g.dir_csum) g.dir_seed = dir_csum_seed(sb.uuid);
    return g;
  }
};

}  // namespace bentofs
