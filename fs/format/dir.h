// Directories (FORMAT.md §5): extendible hashing over the directory file's blocks.
//
// logical block 0                DirHeader, then (global_depth <= 9) the inline hash table
// logical block 1 + b            bucket b (DirBucket + packed entries), b < 2^18
// logical blocks 262145..262400  the hash table when global_depth >= 10 (1024 slots a
//                                block); only big directories get there
// So a small directory is two blocks (both direct pointers).
//
// A name's hash is bento::hash_bytes(name) (FNV-1a 64 then the splitmix64 finaliser,
// kernel/include/bento/hash_map.h). Table slot = the top global_depth bits of the hash;
// each slot holds a bucket index (u32 LE). A bucket with local depth d holds exactly the
// names whose top d bits equal its prefix; its 2^(global-d) slots are contiguous. A full
// bucket splits (doubling the table first when d == global). Lookups read the header, one
// table block and one bucket: never the whole directory. "." and ".." are not stored:
// the header keeps the parent's inode number.
//
// ro_compat DIR_CSUM (issue 15): the last 4 bytes of every directory block (header, bucket,
// table) hold dir_block_checksum() below, bound to the directory's inode number and
// generation and to the block's logical index, so a block copied or moved from elsewhere
// fails too. The geometry shrinks accordingly: buckets hold kBucketSpaceCsum bytes of
// entries, table blocks kTableSlotsCsum slots. Without the feature the bytes are entries
// and slots as before.
#pragma once

#include <cstdint>

#include "format/crc32c.h"
#include "format/endian.h"

namespace bentofs {

constexpr uint32_t kDirMagic = 0x52494442;     // "BDIR"
constexpr uint32_t kBucketMagic = 0x544B4242;  // "BBKT"
constexpr uint32_t kInlineTableMaxDepth = 9;   // 512 slots fit after the header
constexpr uint32_t kInlineTableOffset = 64;
constexpr uint32_t kMaxDirDepth = 18;  // 2^18 buckets; table fills logical blocks 1..256
constexpr uint64_t kBucketFirstBlock = 1;
constexpr uint64_t kTableFirstBlock = kBucketFirstBlock + (1ULL << kMaxDirDepth);

struct DirHeader {
  Le32 magic;         // kDirMagic
  Le32 global_depth;  // table has 2^global_depth slots
  Le64 parent;        // inode number of ".."
  Le64 entries;       // number of names (excluding . and ..)
  Le32 nbuckets;      // buckets allocated: indices 0..nbuckets-1
  Le32 reserved0;
  uint8_t reserved[32];
};
// With DIR_CSUM the header block's checksum is at kDirCsumOffset like every other
// directory block's (the inline table ends at byte 64 + 4 * 512 = 2112, far before it).
static_assert(sizeof(DirHeader) == kInlineTableOffset);

struct DirBucket {
  Le32 magic;        // kBucketMagic
  Le16 local_depth;  // <= global_depth
  Le16 count;        // entries in this bucket
  Le16 used;         // bytes of packed entries after this header
  Le16 reserved;
  Le32 prefix;  // top local_depth bits shared by every entry's hash
};
static_assert(sizeof(DirBucket) == 16);

// Packed entry (no alignment): hash (8, LE), ino (8, LE), name_len (1), d_type (1), name.
constexpr uint32_t kDirentHeader = 18;
constexpr uint32_t kBucketSpace = 4096 - sizeof(DirBucket);

// ro_compat DIR_CSUM: every directory block's last 4 bytes (LE u32).
constexpr uint32_t kDirCsumOffset = 4092;
constexpr uint32_t kBucketSpaceCsum = kDirCsumOffset - sizeof(DirBucket);  // 4076
constexpr uint32_t kTableSlotsPerBlock = 1024;      // without DIR_CSUM: the whole block
constexpr uint32_t kTableSlotsPerBlockCsum = 1023;  // with it: the last slot's bytes hold it
// The table of depth 18 takes 257 blocks of 1023 slots (256 of 1024 without DIR_CSUM).
constexpr uint64_t kTableMaxBlocks =
    ((1ULL << kMaxDirDepth) + kTableSlotsPerBlockCsum - 1) / kTableSlotsPerBlockCsum;
static_assert(kTableMaxBlocks == 257);

// The file system's part of every directory block checksum: the CRC register after its
// uuid (superblock), computed once at mount.
inline uint32_t dir_csum_seed(const uint8_t* uuid16) {
  return crc32c_update(~0u, uuid16, 16);
}
// crc32c, continuing from seed, over the directory's inode number (LE u64), its
// generation (LE u32), the block's logical index in the directory (LE u64), then the
// block's first kDirCsumOffset bytes.
inline uint32_t dir_block_checksum(uint32_t seed, uint64_t ino, uint32_t generation, uint64_t lblk,
                                   const uint8_t* block) {
  uint8_t key[20];
  store_le64(key, ino);
  store_le32(key + 8, generation);
  store_le64(key + 12, lblk);
  uint32_t c = crc32c_update(seed, key, sizeof key);
  return ~crc32c_update(c, block, kDirCsumOffset);
}

constexpr uint32_t table_index(uint64_t hash, uint32_t depth) {
  return depth == 0 ? 0 : static_cast<uint32_t>(hash >> (64 - depth));
}

}  // namespace bentofs
