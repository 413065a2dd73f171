// Creating a file system (mkfs.bento's core, also used by the tests): computes the
// layout (FORMAT.md §1), writes the superblock, bitmaps, journal superblock, the inode
// table (unless the device is known to be zero) and the root directory.
#pragma once

#include <bento/block_device.h>
#include <bento/result.h>

#include <cstdint>

#include "format/superblock.h"

namespace bentofs {

struct FormatOptions {
  uint64_t inode_count = 0;     // 0: one inode per 16 KiB
  uint64_t journal_blocks = 0;  // 0: block_count / 32, clamped to [2048, 32768]
  // Provenance log ring (format/prov_log.h): -1 = default (block_count / 64, clamped to
  // [64, 16384] blocks, i.e. 256 KiB .. 64 MiB), 0 = none, else this many blocks (>= 2).
  int64_t prov_log_blocks = -1;
  bool device_is_zeroed = false;  // skip zeroing the inode table (fresh sparse image)
  const char* label = "";
  uint64_t time_sec = 0;
  uint8_t uuid[16] = {};
  // ro_compat features of the new image (tests make images as older mkfs did with less).
  uint32_t ro_compat = feature::kRoCompatNew;
  // Called with (done, total) while zeroing the inode table.
  void (*progress)(uint64_t done, uint64_t total, void* arg) = nullptr;
  void* progress_arg = nullptr;
};

bento::Status format_device(bento::BlockDevice& dev, const FormatOptions& opts);

// The layout (FORMAT.md §1) is fixed by four numbers: sets block_count, inode_count, every
// region's start and length, compat PROV_LOG (set iff prov_blocks != 0) and data_start,
// leaving the other fields. The one source of the layout: mkfs and fsck's superblock
// rebuild both use it. inode_count should be a multiple of 16 (mkfs rounds it up).
void set_layout(SuperBlock& sb, uint64_t block_count, uint64_t inode_count, uint64_t journal_blocks,
                uint64_t prov_blocks);

}  // namespace bentofs
