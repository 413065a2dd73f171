// The journal (FORMAT.md §6): physical block journaling of every changed block (metadata
// and file data), in a fixed area [journal_start, journal_start + journal_blocks).
//
// Block journal_start is the JournalSuper. The log starts at area block 1 and is written
// linearly: for each transaction, one or more descriptor blocks each followed by the
// blocks it describes, then a commit block. The log is reset to block 1 at checkpoint
// (after every journaled block has been written home and flushed).
//
// Replay: from `start` with sequence `sequence`, read transactions while the descriptor
// magic and sequence match and the commit block's crc32c (over every descriptor and data
// block of the transaction, in log order) is right; copy each data block home; stop at
// the first mismatch. Then reset the journal superblock.
#pragma once

#include <cstdint>

#include "format/endian.h"

namespace bentofs {

constexpr uint32_t kJournalMagic = 0x4C4E524A;  // "JRNL"
constexpr uint32_t kJournalVersion = 1;
constexpr uint32_t kJBlockDescriptor = 1;
constexpr uint32_t kJBlockCommit = 2;

struct JournalSuper {
  Le32 magic;     // kJournalMagic
  Le32 version;   // kJournalVersion
  Le64 blocks;    // == superblock.journal_blocks
  Le64 sequence;  // sequence of the first transaction to replay
  Le64 start;     // area block where that transaction starts (1 when empty)
  uint8_t reserved[28];
  Le32 checksum;  // crc32c of bytes [0, 60)
};
static_assert(sizeof(JournalSuper) == 64);

struct JournalHeader {
  Le32 magic;     // kJournalMagic
  Le32 type;      // kJBlockDescriptor / kJBlockCommit
  Le64 sequence;  // transaction sequence number
  Le32 count;     // descriptor: blocks described; commit: total log blocks before commit
  Le32 checksum;  // commit: crc32c of the transaction's log blocks; descriptor: 0
};
static_assert(sizeof(JournalHeader) == 24);

// A descriptor is followed by `count` home block numbers (LE u64).
constexpr uint32_t kDescriptorCapacity = (4096 - sizeof(JournalHeader)) / 8;

}  // namespace bentofs
