// Superblock validation, shared by mount and fsck.bento: every field that locates a
// region is checked against the device and the other regions, so a corrupt or foreign
// image is refused with a reason instead of being trusted.
#pragma once

#include <cstdint>

#include "format/superblock.h"

namespace bentofs {

// Returns 0 when valid, else an errno (EINVAL: not ours / unsupported; EUCLEAN: ours but
// damaged) and a static message in *why.
int validate_superblock(const SuperBlock& sb, uint64_t device_blocks, bool read_only,
                        const char** why);
// Recomputes the checksum field.
void seal_superblock(SuperBlock& sb);

}  // namespace bentofs
