// Journal replay (core/journal.cc) over an area whose blocks are the input, writing home
// and in memory (read-only mounts); fsck's journal superblock check and rebuild.
#include "core/journal.h"
#include "fuzz_util.h"
#include "tools/fsck_journal.h"

using namespace bentofs;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 4096) return 0;
  constexpr uint64_t kStart = 1, kBlocks = 64;
  for (int mode = 0; mode < 2; mode++) {
    auto dev = fuzz::device_with(data, size, 128, kStart);
    uint64_t n = 0;
    bento::Vec<bento::BufferHead> pins;
    (void)Journal::replay(*dev, kStart, kBlocks, &n, mode == 1 ? &pins : nullptr);
  }
  auto dev = fuzz::device_with(data, size, 128, kStart);
  if (journal_super_damage(*dev, kStart, kBlocks) != nullptr) {
    std::string what;
    if (journal_super_rebuild(*dev, kStart, kBlocks, &what) &&
        journal_super_damage(*dev, kStart, kBlocks) != nullptr)
      __builtin_trap();  // a rebuilt journal superblock must be sound
    uint64_t n = 0;
    (void)Journal::replay(*dev, kStart, kBlocks, &n);
  }
  return 0;
}
