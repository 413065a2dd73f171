// Inode validation (core/inode_check.cc) on any 256 bytes, for both feature sets.
#include <cstring>
#include <initializer_list>

#include "core/geometry.h"
#include "core/inode_check.h"

using namespace bentofs;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  DiskInode di{};
  memcpy(&di, data, size < sizeof di ? size : sizeof di);
  Geometry g;
  g.block_count = 16384;
  g.inode_count = 4096;
  g.data_start = 1600;
  for (bool big : {false, true}) {
    g.big_files = big;
    (void)inode_damage(g, di);
  }
  return 0;
}
