// fsck's superblock rebuild: see fsck_super.h.
#include "tools/fsck_super.h"

#include <cstring>
#include <vector>

#include "core/format_device.h"
#include "core/superblock_check.h"
#include "format/inode.h"
#include "format/journal.h"

namespace bentofs {

namespace {

// The superblock mkfs would have written for this layout, keeping every other field.
SuperBlock with_layout(const SuperBlock& old, uint64_t bc, uint64_t ic, uint64_t jb, uint64_t pb) {
  SuperBlock sb = old;
  set_layout(sb, bc, ic, jb, pb);
  return sb;
}

// How many layout fields of a agree with b.
int agreement(const SuperBlock& a, const SuperBlock& b) {
  const Le64* fa[] = {&a.block_count,        &a.inode_count,         &a.journal_start,
                      &a.journal_blocks,     &a.inode_bitmap_start,  &a.inode_bitmap_blocks,
                      &a.block_bitmap_start, &a.block_bitmap_blocks, &a.inode_table_start,
                      &a.inode_table_blocks, &a.prov_start,          &a.prov_blocks,
                      &a.data_start};
  const Le64* fb[] = {&b.block_count,        &b.inode_count,         &b.journal_start,
                      &b.journal_blocks,     &b.inode_bitmap_start,  &b.inode_bitmap_blocks,
                      &b.block_bitmap_start, &b.block_bitmap_blocks, &b.inode_table_start,
                      &b.inode_table_blocks, &b.prov_start,          &b.prov_blocks,
                      &b.data_start};
  int n = 0;
  for (size_t i = 0; i < sizeof fa / sizeof fa[0]; i++) n += fa[i]->get() == fb[i]->get();
  return n;
}

}  // namespace

bool superblock_rebuild(bento::BlockDevice& dev, SuperBlock* sbp, std::string* what) {
  const SuperBlock old = *sbp;
  SuperBlock sb = old;
  // Constants of format version 1 and fields with one right value.
  sb.magic.set(kSuperMagic);
  sb.version.set(kFormatVersion);
  sb.block_size.set(kBlockSize);
  sb.inode_size.set(kInodeSize);
  sb.feature_incompat.set((sb.feature_incompat.get() & feature::kIncompatSupported) |
                          feature::kIncompatRequired);
  sb.feature_ro_compat.set(sb.feature_ro_compat.get() & feature::kRoCompatSupported);
  sb.feature_compat.set(sb.feature_compat.get() & feature::kCompatProvLog);
  sb.reserved0.set(0);
  memset(sb.reserved, 0, sizeof sb.reserved);
  if (sb.dir_max_depth.get() > 18) sb.dir_max_depth.set(18);
  if (sb.state.get() != kStateClean && sb.state.get() != kStateMounted) sb.state.set(kStateMounted);
  sb.block_cursor.set(0);
  sb.inode_cursor.set(0);
  // Candidates for the four numbers that fix the layout.
  const uint64_t dev_blocks = dev.block_count() < 0xFFFFFFFFULL ? dev.block_count() : 0xFFFFFFFFULL;
  std::vector<uint64_t> bcs = {old.block_count.get(), dev_blocks};
  std::vector<uint64_t> ics = {old.inode_count.get(),
                               old.inode_table_blocks.get() * kInodesPerBlock,
                               old.inode_bitmap_blocks.get() * kBlockSize * 8};
  std::vector<uint64_t> jbs = {old.journal_blocks.get(), old.inode_bitmap_start.get() - 1};
  if (auto jh = dev.bread(1); jh.ok()) {
    JournalSuper js;
    memcpy(&js, jh->data().data(), sizeof js);
    if (js.magic.get() == kJournalMagic) jbs.push_back(js.blocks.get());
  }
  std::vector<uint64_t> pbs = {old.prov_blocks.get(), old.data_start.get() - old.prov_start.get(),
                               0};
  SuperBlock best{};
  int best_score = -1;
  for (uint64_t bc : bcs)
    for (uint64_t ic : ics)
      for (uint64_t jb : jbs)
        for (uint64_t pb : pbs) {
          if (ic < 2 || ic > (1ULL << 40) || jb > bc || pb > bc) continue;
          SuperBlock c = with_layout(sb, bc, ic, jb, pb);
          if (c.orphan_head.get() >= ic) c.orphan_head.set(0);
          seal_superblock(c);
          const char* why = nullptr;
          if (validate_superblock(c, dev.block_count(), false, &why) != 0) continue;
          int score = agreement(c, old);
          if (score > best_score) {
            best_score = score;
            best = c;
          }
        }
  // At least most of the layout must agree: otherwise this is guesswork.
  if (best_score < 9) return false;
  *sbp = best;
  *what = "rebuilt from its surviving fields (" + std::to_string(13 - best_score) +
          " of 13 layout fields corrected; free counts recomputed)";
  return true;
}

}  // namespace bentofs
