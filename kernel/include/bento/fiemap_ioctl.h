// BENTO_IOC_FIEMAP: the block map of a file on a bentofs mount, through FUSE.
//
// Linux's FS_IOC_FIEMAP never reaches a FUSE file system: the VFS handles it itself
// (ioctl_fiemap() in fs/ioctl.c) and answers EOPNOTSUPP because FUSE inodes have no
// ->fiemap; FIBMAP works only on fuseblk mounts. A restricted FUSE ioctl with a fixed-size
// argument does reach the file system, so bentofs answers this one with the extents of
// FileOperations::fiemap (`bentoctl fiemap FILE` prints them). Any user may ask (the file
// must be open; the kernel checks nothing else).
#pragma once

#include <cstdint>

namespace bento {

struct BentoFiemapExtent {
  uint64_t logical;   // byte offset in the file
  uint64_t physical;  // byte offset on the device
  uint64_t length;    // bytes
  uint32_t flags;     // bento::extent_flag (kLast = FIEMAP_EXTENT_LAST)
  uint32_t reserved;
};

struct BentoFiemap {
  static constexpr uint32_t kMaxExtents = 32;
  uint64_t start;   // in: first byte of interest
  uint64_t length;  // in: bytes of interest (~0: to the end)
  uint32_t count;   // out: extents filled in
  uint32_t reserved;
  BentoFiemapExtent extents[kMaxExtents];
};
static_assert(sizeof(BentoFiemap) == 24 + 32 * 32);

// _IOWR('B', 0x42, struct BentoFiemap), spelled out (no libc headers in fs code).
constexpr uint32_t kBentoIocFiemap =
    (3u << 30) | (static_cast<uint32_t>(sizeof(BentoFiemap)) << 16) | ('B' << 8) | 0x42;

}  // namespace bento
