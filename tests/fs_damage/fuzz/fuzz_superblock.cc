// The superblock parser (core/superblock_check.cc) and fsck's rebuild of a damaged one.
#include <cstring>
#include <initializer_list>

#include "core/geometry.h"
#include "core/superblock_check.h"
#include "fuzz_util.h"
#include "tools/fsck_super.h"

using namespace bentofs;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  SuperBlock sb{};
  memcpy(&sb, data, size < sizeof sb ? size : sizeof sb);
  const char* why = nullptr;
  for (bool ro : {false, true}) {
    if (validate_superblock(sb, 4096, ro, &why) == 0) (void)Geometry::from(sb);
  }
  // One device for all runs (allocating 16 MiB per input made this target crawl).
  static auto dev = ImageDevice::memory(4096);
  uint8_t blk[2 * 4096] = {};
  memcpy(blk, data, size < sizeof blk ? size : sizeof blk);
  dev->poke(0, blk, sizeof blk);
  dev->drop_clean_cache();
  SuperBlock r = sb;
  std::string what;
  if (superblock_rebuild(*dev, &r, &what) && validate_superblock(r, 4096, false, &why) != 0)
    __builtin_trap();  // a rebuilt superblock must validate
  return 0;
}
