// Extended attributes (core/xattr_store.cc): the packed entries of both formats, and a
// whole v1 block or v2 map + stream read through xattr_load.
#include <cstring>

#include "core/xattr_store.h"
#include "fuzz_util.h"

using namespace bentofs;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  uint32_t count = data[0] | (data[1] << 8);
  XattrSet set;
  (void)set.parse({data + 2, size - 2}, count, (data[2] & 1) != 0);
  auto dev = fuzz::device_with(data, size, 64, 16);
  DiskInode di{};
  di.mode.set(0100644);
  di.xattr_block.set(16);
  FsCtx c{dev.get(), nullptr, 16, 64, kMaxFileBlocksBig};
  XattrSet loaded;
  if (xattr_load(c, di, &loaded).ok()) {
    loaded.for_each([](const XattrSet::Entry&) { return true; });
  }
  return 0;
}
