// The inode table (FORMAT.md §4): inode i lives at byte (i % 16) * 256 of block
// inode_table_start + i / 16. Slot 0 is never used; inode 1 is the root directory.
// An inode is in use iff its bit in the inode bitmap is set (and then mode != 0).
#pragma once

#include <cstdint>

#include "format/crc32c.h"
#include "format/endian.h"

namespace bentofs {

constexpr uint32_t kInodeSize = 256;
constexpr uint32_t kInodesPerBlock = 4096 / kInodeSize;
constexpr uint32_t kNumDirect = 12;
constexpr uint32_t kPtrsPerBlock = 4096 / 4;  // 32-bit block pointers
constexpr uint32_t kPtrShift = 10;            // log2(kPtrsPerBlock)
// Logical blocks reachable: 12 direct + 1024 indirect + 1024^2 double-indirect (4 GiB),
// and with feature BIGFILE also 1024^3 triple- and 1024^4 quadruple-indirect (4 PiB).
constexpr uint64_t kMaxFileBlocksV1 =
    kNumDirect + kPtrsPerBlock + static_cast<uint64_t>(kPtrsPerBlock) * kPtrsPerBlock;
constexpr uint64_t kMaxFileBlocksBig = kMaxFileBlocksV1 + (uint64_t{1} << 30) + (uint64_t{1} << 40);
// The largest size a file may have, in bytes: Linux's MAX_LFS_FILESIZE bounds what the
// VFS passes anyway; 2^52 - 1 keeps every byte offset + length sum far from overflow.
constexpr uint64_t kMaxFileSizeV1 = kMaxFileBlocksV1 * 4096;
constexpr uint64_t kMaxFileSizeBig = (uint64_t{1} << 52) - 1;
static_assert(kMaxFileSizeBig < kMaxFileBlocksBig * 4096);
static_assert(kMaxFileSizeBig >= (uint64_t{16} << 40), "files reach at least 16 TiB");
constexpr uint32_t kMaxLinks = 65000;

// DiskInode::flags: the chattr(1) flags Bento-fs keeps, with the values of Linux's FS_*_FL
// (FS_IOC_GETFLAGS/SETFLAGS pass them through unchanged). Any other bit is refused
// (EOPNOTSUPP) and never stored.
namespace iflag {
constexpr uint32_t kImmutable = 0x10;  // FS_IMMUTABLE_FL 'i': no change at all, by anyone
constexpr uint32_t kAppend = 0x20;     // FS_APPEND_FL 'a': only appends (O_APPEND writes)
constexpr uint32_t kNoDump = 0x40;     // FS_NODUMP_FL 'd': kept for dump(8), no effect here
constexpr uint32_t kNoAtime = 0x80;    // FS_NOATIME_FL 'A': atime never updated
constexpr uint32_t kKnown = kImmutable | kAppend | kNoDump | kNoAtime;
// Only a caller with CAP_LINUX_IMMUTABLE (root here) may set or clear these.
constexpr uint32_t kPrivileged = kImmutable | kAppend;
// Internal (never reported by GETFLAGS): the inode has an access ACL (format/acl.h).
constexpr uint32_t kHasAcl = 0x40000000;
// Internal: the directory has a default ACL (inherited by what is created in it).
constexpr uint32_t kHasDefaultAcl = 0x20000000;
}  // namespace iflag

struct DiskTime {
  Le64 sec;   // seconds since the epoch (signed, two's complement)
  Le32 nsec;  // 0..999999999
  Le32 pad;
};

struct DiskInode {
  Le32 mode;  // st_mode: type and permission bits; 0 = free slot
  Le32 uid;
  Le32 gid;
  Le32 nlink;
  Le64 size;    // bytes
  Le64 blocks;  // fs blocks allocated to this inode (data, indirect, xattr)
  DiskTime atime, mtime, ctime, btime;
  Le32 generation;
  Le32 flags;        // chattr flags (iflag below); 0 on images made before they existed
  Le32 rdev;         // device number of character/block device nodes
  Le32 xattr_block;  // block holding the extended attributes (xattr.h), 0 = none
  Le32 direct[kNumDirect];
  Le32 indirect;     // block of 1024 pointers: logical blocks 12..1035
  Le32 dindirect;    // block of 1024 pointers to indirect blocks
  Le64 orphan_next;  // next inode on the orphan list (nlink == 0, still open), 0 = end
  // Feature BIGFILE: roots of the triple- and quadruple-indirect trees (0 otherwise).
  Le32 tindirect;  // logical blocks from kMaxFileBlocksV1, 2^30 of them
  Le32 qindirect;  // then 2^40 more
  uint8_t reserved[68];
  // ro_compat INODE_CSUM (issue 15): inode_checksum() below; 0 on images without it.
  Le32 checksum;
};
static_assert(sizeof(DiskInode) == kInodeSize, "inode is 256 bytes");
static_assert(__builtin_offsetof(DiskInode, orphan_next) == 168);
static_assert(__builtin_offsetof(DiskInode, checksum) == 252);

// crc32c of the inode number (LE u64) followed by the 256 bytes of the inode, with
// orphan_next [168, 176) and checksum [252, 256) taken as zero: orphan_next is written on
// its own (orphan list, under its own lock), and the inode number makes an inode copied
// to the wrong slot fail too. p: the 256 bytes as stored.
inline uint32_t inode_checksum(uint64_t ino, const uint8_t* p) {
  uint8_t num[8];
  store_le64(num, ino);
  const uint8_t zero[8] = {};
  uint32_t c = crc32c_update(~0u, num, 8);
  c = crc32c_update(c, p, 168);
  c = crc32c_update(c, zero, 8);
  c = crc32c_update(c, p + 176, 252 - 176);
  c = crc32c_update(c, zero, 4);
  return ~c;
}
inline uint32_t inode_checksum(uint64_t ino, const DiskInode& di) {
  return inode_checksum(ino, reinterpret_cast<const uint8_t*>(&di));
}
// Sets di.checksum (on images with INODE_CSUM: every writer of an inode calls it).
inline void inode_seal(uint64_t ino, DiskInode& di) {
  di.checksum.set(inode_checksum(ino, di));
}

}  // namespace bentofs
