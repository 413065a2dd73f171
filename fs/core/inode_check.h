// Validation of an in-use on-disk inode before the file system trusts it (mount's
// read_inode and fsck share it): a damaged inode gives EUCLEAN, never a wild read or write.
#pragma once

#include "core/geometry.h"
#include "format/inode.h"

namespace bentofs {

// Largest directory: its hash table's last block is logical block kTableFirstBlock + 256
// with DIR_CSUM (1023 slots a block), + 255 without.
constexpr uint64_t kMaxDirSize = kTableFirstBlock + kTableMaxBlocks;  // in blocks

// nullptr when di (mode != 0) is sane; otherwise what is wrong (a static string): unknown
// file type, a size its type or the format cannot have, a block pointer outside the data
// area (metadata or past the end), tree roots the image's features do not allow.
const char* inode_damage(const Geometry& g, const DiskInode& di);

// Logs (error level) "bento-fs: inode <ino><a><b><c>" (nullptr parts are skipped).
void log_inode_problem(uint64_t ino, const char* a, const char* b = nullptr,
                       const char* c = nullptr);

}  // namespace bentofs
