// fsck's repairs of the provenance log area (FORMAT.md §7.1, format/prov_log.h). The
// record format is untouched: a damaged header is rebuilt around the records that still
// verify (crc32c) and follow each other, a damaged record ends the log where it starts.
// Both say how many records were dropped.
#pragma once

#include <bento/block_device.h>

#include <cstdint>
#include <string>

namespace bentofs {

// Rebuilds the header (block prov_start) from the ring: the longest run of ring blocks
// whose records decode and whose sequence numbers follow each other becomes [head, tail).
bool prov_header_rebuild(bento::BlockDevice& dev, uint64_t prov_start, uint64_t prov_blocks,
                         std::string* what);

// Ends the log at logical offset `tail` (where a damaged record starts): the records from
// there on are dropped and next_seq follows the last kept one.
bool prov_truncate(bento::BlockDevice& dev, uint64_t prov_start, uint64_t tail, uint64_t next_seq);

}  // namespace bentofs
