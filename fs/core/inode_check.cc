// Inode validation: see inode_check.h.
#include "core/inode_check.h"

#include <bento/fs_types.h>

namespace bentofs {

namespace {

bool pointer_ok(const Geometry& g, uint64_t b) {
  return b == 0 || (b >= g.data_start && b < g.block_count);
}

}  // namespace

const char* inode_damage(const Geometry& g, const DiskInode& di) {
  namespace md = bento::mode;
  const uint32_t type = di.mode.get() & md::kTypeMask;
  const uint64_t size = di.size.get();
  switch (type) {
    case md::kRegular:
      if (size > g.max_file_size()) return "size is larger than the format allows";
      break;
    case md::kDirectory:
      if (size % 4096 != 0 || size / 4096 > kMaxDirSize) return "directory size is impossible";
      break;
    case md::kSymlink:
      // 0 only while it is being deleted (truncated first).
      if (size >= 4096) return "symlink target length is impossible";
      break;
    case md::kFifo:
    case md::kSocket:
    case md::kCharDev:
    case md::kBlockDev:
      break;
    default:
      return "unknown file type";
  }
  if (di.blocks.get() > g.block_count) return "block count is larger than the device";
  for (uint32_t i = 0; i < kNumDirect; i++)
    if (!pointer_ok(g, di.direct[i].get())) return "block pointer outside the data area";
  if (!pointer_ok(g, di.indirect.get()) || !pointer_ok(g, di.dindirect.get()) ||
      !pointer_ok(g, di.tindirect.get()) || !pointer_ok(g, di.qindirect.get()))
    return "indirect block pointer outside the data area";
  if (!g.big_files && (di.tindirect.get() != 0 || di.qindirect.get() != 0))
    return "triple/quadruple-indirect tree without feature BIGFILE";
  if (!pointer_ok(g, di.xattr_block.get())) return "xattr block pointer outside the data area";
  return nullptr;
}

}  // namespace bentofs
