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
#pragma once

#include <cstdint>

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

constexpr uint32_t table_index(uint64_t hash, uint32_t depth) {
  return depth == 0 ? 0 : static_cast<uint32_t>(hash >> (64 - depth));
}

}  // namespace bentofs
