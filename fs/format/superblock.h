// Block 0: the superblock (FORMAT.md §2). The first 512 bytes of block 0; the rest of the
// block is zero. Validated thoroughly at mount (see core/mount.cc: validate_superblock).
#pragma once

#include <cstdint>

#include "format/endian.h"

namespace bentofs {

constexpr uint64_t kSuperMagic = 0x3153465F4F544E42ULL;  // "BNTO_FS1" read as LE u64
constexpr uint32_t kFormatVersion = 1;
constexpr uint32_t kBlockSize = 4096;
constexpr uint64_t kSuperBlockNo = 0;

// Feature flags. Unknown incompat bits: refuse to mount. Unknown ro_compat bits: mount
// read-only only. Unknown compat bits: ignore.
namespace feature {
constexpr uint32_t kCompatProvLog = 1u << 0;        // provenance log ring (prov_start/prov_blocks)
constexpr uint32_t kIncompatHashDir = 1u << 0;      // extendible-hash directories (dir.h)
constexpr uint32_t kIncompatDataJournal = 1u << 1;  // physical block journal (journal.h)
// Triple- and quadruple-indirect block trees (inode.h tindirect/qindirect): files past
// 4 GiB + 4 MiB, up to 4 PiB. Without it files stop at kMaxFileSizeV1 (EFBIG).
constexpr uint32_t kIncompatBigFile = 1u << 2;
// Extended attributes in a map block and a stream of up to 256 blocks (xattr.h v2): values
// to 64 KiB, thousands of attributes. Without it: one block per inode (v1).
constexpr uint32_t kIncompatXattrMap = 1u << 3;
constexpr uint32_t kIncompatSupported =
    kIncompatHashDir | kIncompatDataJournal | kIncompatBigFile | kIncompatXattrMap;
// What a new image gets (mkfs); an image needs HASHDIR and DATA_JOURNAL at least.
constexpr uint32_t kIncompatNew = kIncompatSupported;
constexpr uint32_t kIncompatRequired = kIncompatHashDir | kIncompatDataJournal;
// Every in-use inode carries a crc32c (inode.h inode_checksum): a damaged inode is EUCLEAN
// when read, whatever field the damage hit (link count, block count, times). Code without
// it would write inodes without the checksum, hence ro_compat.
constexpr uint32_t kRoCompatInodeCsum = 1u << 0;
// Every directory block ends in a crc32c bound to its directory and position (dir.h
// dir_block_checksum): a damaged, moved or copied directory block is EUCLEAN when read.
// Code without it would write directory blocks without the checksum, hence ro_compat.
constexpr uint32_t kRoCompatDirCsum = 1u << 1;
constexpr uint32_t kRoCompatSupported = kRoCompatInodeCsum | kRoCompatDirCsum;
// What a new image gets (mkfs).
constexpr uint32_t kRoCompatNew = kRoCompatInodeCsum | kRoCompatDirCsum;
}  // namespace feature

// state
constexpr uint32_t kStateClean = 1;    // cleanly unmounted
constexpr uint32_t kStateMounted = 2;  // mounted (or crashed while mounted)

struct SuperBlock {
  Le64 magic;       // kSuperMagic
  Le32 version;     // kFormatVersion
  Le32 block_size;  // kBlockSize
  Le32 feature_compat;
  Le32 feature_ro_compat;
  Le32 feature_incompat;
  Le32 inode_size;      // sizeof(DiskInode) == 256
  Le64 block_count;     // total blocks in the file system
  Le64 inode_count;     // inode slots, including the unused slot 0
  Le64 journal_start;   // first block of the journal area (its superblock)
  Le64 journal_blocks;  // journal area length, including its superblock
  Le64 inode_bitmap_start;
  Le64 inode_bitmap_blocks;  // one bit per inode slot
  Le64 block_bitmap_start;
  Le64 block_bitmap_blocks;  // one bit per block of the whole device (metadata is set)
  Le64 inode_table_start;
  Le64 inode_table_blocks;  // 16 inodes per block
  Le64 data_start;          // first block after the inode table
  Le64 free_blocks;         // exact after a clean unmount; rebuilt from bitmaps at mount
  Le64 free_inodes;         // likewise
  Le64 block_cursor;        // allocation hint (next block to try), persisted
  Le64 inode_cursor;        // allocation hint (next inode to try), persisted
  Le64 orphan_head;         // first inode of the orphan list (0: empty)
  Le64 mkfs_time;           // seconds since the epoch
  Le64 mount_time;
  Le64 write_time;
  Le32 mount_count;
  Le32 state;          // kStateClean / kStateMounted
  Le32 dir_max_depth;  // largest global depth of a directory hash table
  Le32 reserved0;
  uint8_t uuid[16];
  char label[32];
  Le64 next_generation;  // generation numbers for new inodes continue from here
  // With feature::kCompatProvLog: the provenance log ring (format/prov_log.h), placed
  // right after the inode table; data_start follows it.
  Le64 prov_start;
  Le64 prov_blocks;
  uint8_t reserved[236];
  Le32 checksum;  // crc32c of bytes [0, 508)
};
static_assert(sizeof(SuperBlock) == 512, "superblock is 512 bytes");
static_assert(__builtin_offsetof(SuperBlock, checksum) == 508);

}  // namespace bentofs
