// What tells two files with the same (dev, ino) apart, as the collector stores it
// (files.gen of a file outside the mounts, schema/SCHEMA.md) and as `prov` computes it
// for a file on disk: the inode generation (ext4, xfs, btrfs), else, where the file system
// does not set one, the birth time folded into 32 bits (tmpfs: the probes read it from the
// inode, statx(2) reports the same). 0: unknown.
#pragma once

#include <cstdint>

namespace bento::collector {

inline uint32_t file_identity(uint32_t generation, uint64_t btime_ns) {
  if (generation != 0 || btime_ns == 0) return generation;
  return static_cast<uint32_t>(btime_ns ^ (btime_ns >> 32)) | 1u;
}

}  // namespace bento::collector
