// Directory blocks (core/directory.cc): the input is a directory's blocks (logical block
// 0 = header and inline table, then buckets); fsck's check and salvage, iteration, lookup,
// parent. Each input runs twice: as an image without DIR_CSUM and as one with it, where the
// directory is inode 1, generation 0 of a file system whose uuid is all zero (the seeds in
// corpus/dir are sealed so: `fs_corruption_campaign --dump-seeds`), so both the parser
// behind a valid checksum and the rejection of a bad one are reached.
#include <bento/fs_types.h>

#include <cstring>
#include <string>

#include "core/directory.h"
#include "fuzz_util.h"

using namespace bentofs;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 12 * 4096) return 0;
  const uint64_t nblocks = (size + 4095) / 4096;
  auto dev = fuzz::device_with(data, size, 32, 16);
  DiskInode di{};
  di.mode.set(bento::mode::kDirectory | 0755);
  for (uint64_t i = 0; i < nblocks; i++) di.direct[i].set(16 + i);
  di.size.set(nblocks * 4096);
  di.nlink.set(2);
  const uint8_t zero_uuid[16] = {};
  for (bool csum : {false, true}) {
    FsCtx c{dev.get(), nullptr, 16, 32, kMaxFileBlocksV1, csum, dir_csum_seed(zero_uuid)};
    const DirIno self{1};
    const char* why = nullptr;
    uint64_t bad = 0;
    (void)dir_check(c, di, self, &why, &bad);
    auto visit = [&](std::string_view name, uint64_t, uint8_t, uint64_t) {
      DirEntryInfo info;
      (void)dir_find(c, di, self, name, &info);
      return true;
    };
    (void)dir_for_each(c, di, self, 0, visit);
    (void)dir_parent(c, di, self);
    (void)dir_entry_count(c, di, self);
    DirEntryInfo info;
    (void)dir_find(c, di, self, "name", &info);
    size_t salvaged = 0;
    auto keep = [&](std::string_view name, uint64_t, uint8_t, uint64_t) {
      if (name.empty() || name.size() > 255) __builtin_trap();
      salvaged++;
      return true;
    };
    (void)dir_salvage_each(c, di, keep);
  }
  return 0;
}
