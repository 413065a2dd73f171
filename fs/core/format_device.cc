// mkfs core: see format_device.h and FORMAT.md §1.
#include "core/format_device.h"

#include <bento/fs_types.h>
#include <bento/log.h>
#include <bento/memory.h>

#include "core/journal.h"
#include "core/superblock_check.h"
#include "core/times.h"
#include "format/dir.h"
#include "format/inode.h"
#include "format/prov_log.h"
#include "format/superblock.h"

namespace bentofs {

namespace {

uint64_t div_up(uint64_t a, uint64_t b) {
  return (a + b - 1) / b;
}

Status write_block(BlockDevice& dev, uint64_t n, const uint8_t* data) {
  BENTO_ASSIGN_OR_RETURN(BufferHead bh, dev.getblk(n));
  if (data != nullptr)
    __builtin_memcpy(bh.data_mut().data(), data, kBlockSize);
  else
    __builtin_memset(bh.data_mut().data(), 0, kBlockSize);
  bh.mark_dirty();
  return Status::Ok();
}

// Writes bitmap blocks [start, start+nblocks) with bits [0, used) and [valid, end) set.
// Bits go straight into the block's buffer: no block-sized buffer on the stack (the same
// code runs on 16 KiB kernel stacks).
Status write_bitmap(BlockDevice& dev, uint64_t start, uint64_t nblocks, uint64_t used,
                    uint64_t valid) {
  for (uint64_t b = 0; b < nblocks; b++) {
    BENTO_ASSIGN_OR_RETURN(BufferHead bh, dev.getblk(start + b));
    uint8_t* buf = bh.data_mut().data();
    __builtin_memset(buf, 0, kBlockSize);
    uint64_t first = b * kBlockSize * 8;
    for (uint64_t i = 0; i < kBlockSize * 8; i++) {
      uint64_t bit = first + i;
      if (bit < used || bit >= valid) buf[i / 8] |= static_cast<uint8_t>(1u << (i % 8));
    }
    bh.mark_dirty();
  }
  return Status::Ok();
}

// Writes the first `len` bytes of block n from obj, the rest zeroes.
Status write_object(BlockDevice& dev, uint64_t n, const void* obj, size_t len) {
  BENTO_ASSIGN_OR_RETURN(BufferHead bh, dev.getblk(n));
  __builtin_memset(bh.data_mut().data(), 0, kBlockSize);
  __builtin_memcpy(bh.data_mut().data(), obj, len);
  bh.mark_dirty();
  return Status::Ok();
}

}  // namespace

void set_layout(SuperBlock& sb, uint64_t block_count, uint64_t inode_count, uint64_t journal_blocks,
                uint64_t prov_blocks) {
  sb.block_count.set(block_count);
  sb.inode_count.set(inode_count);
  uint64_t at = 1;
  sb.journal_start.set(at);
  sb.journal_blocks.set(journal_blocks);
  at += journal_blocks;
  sb.inode_bitmap_start.set(at);
  sb.inode_bitmap_blocks.set(div_up(inode_count, kBlockSize * 8));
  at += sb.inode_bitmap_blocks.get();
  sb.block_bitmap_start.set(at);
  sb.block_bitmap_blocks.set(div_up(block_count, kBlockSize * 8));
  at += sb.block_bitmap_blocks.get();
  sb.inode_table_start.set(at);
  sb.inode_table_blocks.set(div_up(inode_count, kInodesPerBlock));
  at += sb.inode_table_blocks.get();
  uint32_t compat = sb.feature_compat.get() & ~feature::kCompatProvLog;
  if (prov_blocks != 0) {
    compat |= feature::kCompatProvLog;
    sb.prov_start.set(at);
    sb.prov_blocks.set(prov_blocks);
    at += prov_blocks;
  } else {
    sb.prov_start.set(0);
    sb.prov_blocks.set(0);
  }
  sb.feature_compat.set(compat);
  sb.data_start.set(at);
}

Status format_device(BlockDevice& dev, const FormatOptions& o) {
  if (dev.block_size() != kBlockSize) return Err(EINVAL);
  uint64_t n = dev.block_count();
  if (n > 0xFFFFFFFFULL) n = 0xFFFFFFFFULL;  // 32-bit block pointers: 16 TiB
  if (n < 2048) {
    bento::log(bento::LogLevel::kError, "mkfs: device too small (need at least 8 MiB)");
    return Err(ENOSPC);
  }
  uint64_t inodes = o.inode_count != 0 ? o.inode_count : n / 4;
  if (inodes < 64) inodes = 64;
  inodes = div_up(inodes, kInodesPerBlock) * kInodesPerBlock;
  uint64_t jblocks = o.journal_blocks;
  if (jblocks == 0) {
    jblocks = n / 32;
    if (jblocks < 1024) jblocks = 1024;
    if (jblocks > 32768) jblocks = 32768;
  }
  if (jblocks < 1024) return Err(EINVAL);
  SuperBlock sb;
  __builtin_memset(&sb, 0, sizeof(sb));
  sb.magic.set(kSuperMagic);
  sb.version.set(kFormatVersion);
  sb.block_size.set(kBlockSize);
  sb.feature_incompat.set(feature::kIncompatNew);
  sb.feature_ro_compat.set(o.ro_compat & feature::kRoCompatSupported);
  sb.inode_size.set(kInodeSize);
  uint64_t pblocks = 0;
  if (o.prov_log_blocks < 0) {
    pblocks = n / 64;
    if (pblocks < 64) pblocks = 64;
    if (pblocks > 16384) pblocks = 16384;
  } else {
    pblocks = static_cast<uint64_t>(o.prov_log_blocks);
    if (pblocks == 1) return Err(EINVAL);
  }
  set_layout(sb, n, inodes, jblocks, pblocks);
  const uint64_t at = sb.data_start.get();
  if (at + 64 > n) {
    bento::log(bento::LogLevel::kError, "mkfs: device too small for this inode count");
    return Err(ENOSPC);
  }
  uint64_t root_hdr = at, root_bucket = at + 1;
  uint64_t used_blocks = at + 2;
  sb.free_blocks.set(n - used_blocks);
  sb.free_inodes.set(inodes - 2);
  sb.block_cursor.set(used_blocks);
  sb.inode_cursor.set(2);
  sb.mkfs_time.set(o.time_sec);
  sb.write_time.set(o.time_sec);
  sb.state.set(kStateClean);
  sb.dir_max_depth.set(kMaxDirDepth);
  __builtin_memcpy(sb.uuid, o.uuid, 16);
  for (size_t i = 0; o.label != nullptr && o.label[i] != '\0' && i < sizeof(sb.label) - 1; i++)
    sb.label[i] = o.label[i];
  sb.next_generation.set(1);
  seal_superblock(sb);

  // Inode table first (the slow part on big devices), with progress.
  uint64_t itab = sb.inode_table_blocks.get();
  if (!o.device_is_zeroed) {
    for (uint64_t i = 0; i < itab; i++) {
      BENTO_TRY(write_block(dev, sb.inode_table_start.get() + i, nullptr));
      if ((i + 1) % 4096 == 0 || i + 1 == itab) {
        BENTO_TRY(dev.sync_all());
        if (o.progress != nullptr) o.progress(i + 1, itab, o.progress_arg);
      }
    }
  }
  BENTO_TRY(
      write_bitmap(dev, sb.inode_bitmap_start.get(), sb.inode_bitmap_blocks.get(), 2, inodes));
  BENTO_TRY(
      write_bitmap(dev, sb.block_bitmap_start.get(), sb.block_bitmap_blocks.get(), used_blocks, n));
  // Root directory: inode 1 (generation 0), header block and one empty bucket, sealed
  // with DIR_CSUM (format/dir.h).
  const bool dir_csum = (sb.feature_ro_compat.get() & feature::kRoCompatDirCsum) != 0;
  auto write_dir_block = [&](uint64_t n, const void* obj, size_t len, uint64_t lblk) -> Status {
    BENTO_ASSIGN_OR_RETURN(BufferHead bh, dev.getblk(n));
    uint8_t* p = bh.data_mut().data();
    __builtin_memset(p, 0, kBlockSize);
    __builtin_memcpy(p, obj, len);
    if (dir_csum)
      store_le32(p + kDirCsumOffset,
                 dir_block_checksum(dir_csum_seed(sb.uuid), bento::kRootIno, 0, lblk, p));
    bh.mark_dirty();
    return Status::Ok();
  };
  DirHeader hd{};
  hd.magic.set(kDirMagic);
  hd.parent.set(1);
  hd.nbuckets.set(1);
  BENTO_TRY(write_dir_block(root_hdr, &hd, sizeof(hd), 0));
  DirBucket bk{};
  bk.magic.set(kBucketMagic);
  BENTO_TRY(write_dir_block(root_bucket, &bk, sizeof(bk), kBucketFirstBlock));
  {
    BENTO_ASSIGN_OR_RETURN(BufferHead ib, dev.bread(sb.inode_table_start.get()));
    DiskInode root;
    __builtin_memset(&root, 0, sizeof(root));
    root.mode.set(bento::mode::kDirectory | 0755);
    root.nlink.set(2);
    root.size.set(2 * kBlockSize);
    root.blocks.set(2);
    bento::Timespec t{static_cast<int64_t>(o.time_sec), 0};
    set_time(root.atime, t);
    set_time(root.mtime, t);
    set_time(root.ctime, t);
    set_time(root.btime, t);
    root.direct[0].set(static_cast<uint32_t>(root_hdr));
    root.direct[1].set(static_cast<uint32_t>(root_bucket));
    inode_seal(bento::kRootIno, root);
    __builtin_memset(ib.data_mut().data(), 0, 2 * kInodeSize);
    __builtin_memcpy(ib.data_mut().data() + kInodeSize, &root, sizeof(root));
    ib.mark_dirty();
  }
  // A fresh journal whatever the device held: a reused device may still carry the log of
  // an earlier file system, whose committed transactions (sequence 1, 2, ...) the first
  // mount would otherwise replay over this one.
  if (!o.device_is_zeroed) {
    for (uint64_t i = 1; i < jblocks; i++) {
      BENTO_TRY(write_block(dev, sb.journal_start.get() + i, nullptr));
      if (i % 4096 == 0) BENTO_TRY(dev.sync_all());
    }
  }
  BENTO_TRY(Journal::write_super(dev, sb.journal_start.get(), jblocks, 1));
  if (pblocks > 0) {
    // The header is a whole block: built on the heap, not the stack.
    BENTO_ASSIGN_OR_RETURN(bento::UniquePtr<prov::ProvLogHeader> ph,
                           bento::make_unique<prov::ProvLogHeader>());
    __builtin_memset(ph.get(), 0, sizeof(prov::ProvLogHeader));
    prov::init_header(*ph, pblocks);
    BENTO_TRY(write_object(dev, sb.prov_start.get(), ph.get(), sizeof(prov::ProvLogHeader)));
  }
  // Superblock last: an interrupted mkfs leaves no valid file system behind.
  BENTO_TRY(dev.sync_all());
  BENTO_TRY(write_object(dev, kSuperBlockNo, &sb, sizeof(sb)));
  return dev.sync_all();
}

}  // namespace bentofs
