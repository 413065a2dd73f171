// fsck's journal superblock check and rebuild: see fsck_journal.h.
#include "tools/fsck_journal.h"

#include <cstring>

#include "core/journal.h"
#include "format/crc32c.h"
#include "format/journal.h"

namespace bentofs {

const char* journal_super_damage(bento::BlockDevice& dev, uint64_t start, uint64_t blocks) {
  auto bh = dev.bread(start);
  if (!bh.ok()) return "cannot read the journal superblock";
  const uint8_t* p = bh->data().data();
  JournalSuper js;
  memcpy(&js, p, sizeof js);
  if (js.magic.get() != kJournalMagic) return "journal superblock has a bad magic number";
  if (load_le32(p + 60) != crc32c(p, 60)) return "journal superblock checksum mismatch";
  if (js.version.get() != kJournalVersion) return "journal superblock has an unknown version";
  if (js.blocks.get() != blocks) return "journal superblock does not match the journal area";
  if (js.start.get() < 1 || js.start.get() >= blocks)
    return "journal superblock names a log start outside the journal";
  return nullptr;
}

bool journal_super_rebuild(bento::BlockDevice& dev, uint64_t start, uint64_t blocks,
                           std::string* what) {
  uint64_t max_seq = 0, first_seq = 0;
  for (uint64_t i = 1; i < blocks; i++) {
    auto bh = dev.bread(start + i);
    if (!bh.ok()) return false;
    JournalHeader h;
    memcpy(&h, bh->data().data(), sizeof h);
    if (h.magic.get() != kJournalMagic) continue;
    if (h.type.get() != kJBlockDescriptor && h.type.get() != kJBlockCommit) continue;
    if (h.sequence.get() > max_seq) max_seq = h.sequence.get();
    if (i == 1 && h.type.get() == kJBlockDescriptor) first_seq = h.sequence.get();
  }
  uint64_t seq = first_seq != 0 ? first_seq : max_seq + 1;
  if (!Journal::write_super(dev, start, blocks, seq).ok()) return false;
  *what = first_seq != 0 ? "rebuilt; the log's first transaction (sequence " +
                               std::to_string(first_seq) + ") is replayed if it verifies"
                         : "rebuilt with an empty log (sequence " + std::to_string(seq) + ")";
  return true;
}

}  // namespace bentofs
