// fsck's superblock repair (pass 0): a superblock whose checksum or fields are damaged is
// rebuilt from what survives. The layout (FORMAT.md §1) is fully determined by four
// numbers (blocks, inodes, journal blocks, provenance log blocks), and each of them is
// recorded more than once (its own field; the next region's start; the journal
// superblock; the device size), so a few damaged bytes leave a unique consistent choice.
#pragma once

#include <bento/block_device.h>

#include <string>

#include "format/superblock.h"

namespace bentofs {

// Rebuilds *sb in memory (sealed) when a consistent layout can be found that agrees with
// most of its fields. False: nothing trustworthy (not a Bento-fs image, or too damaged).
bool superblock_rebuild(bento::BlockDevice& dev, SuperBlock* sb, std::string* what);

}  // namespace bentofs
