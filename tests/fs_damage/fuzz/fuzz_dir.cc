// Directory blocks (core/directory.cc): the input is a directory's blocks (logical block
// 0 = header and inline table, then buckets); fsck's check, iteration, lookup, parent.
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
  FsCtx c{dev.get(), nullptr, 16, 32, kMaxFileBlocksV1};
  const char* why = nullptr;
  (void)dir_check(c, di, &why);
  auto visit = [&](std::string_view name, uint64_t, uint8_t, uint64_t) {
    DirEntryInfo info;
    (void)dir_find(c, di, name, &info);
    return true;
  };
  (void)dir_for_each(c, di, 0, visit);
  (void)dir_parent(c, di);
  (void)dir_entry_count(c, di);
  DirEntryInfo info;
  (void)dir_find(c, di, "name", &info);
  return 0;
}
