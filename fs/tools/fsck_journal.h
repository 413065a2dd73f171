// fsck's pass 0 for the journal (FORMAT.md §6): is the journal superblock sound, and, when
// it is not, rebuild it so that replay finds exactly the transactions that still verify.
#pragma once

#include <bento/block_device.h>

#include <cstdint>
#include <string>

namespace bentofs {

// nullptr when the journal superblock of the area [start, start+blocks) is sound.
const char* journal_super_damage(bento::BlockDevice& dev, uint64_t start, uint64_t blocks);

// Rewrites a damaged journal superblock. The log always restarts at area block 1 after a
// checkpoint, so a pending transaction starts there: when block 1 is a descriptor, the
// new superblock names its sequence (replay then applies it only if its commit block's
// checksum verifies); otherwise the log is empty and the sequence continues past every
// sequence number found in the area (so stale blocks can never be replayed).
bool journal_super_rebuild(bento::BlockDevice& dev, uint64_t start, uint64_t blocks,
                           std::string* what);

}  // namespace bentofs
