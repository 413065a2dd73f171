// The checker behind fsck.bento (and the tests): replays the journal, then checks every
// structure of FORMAT.md and reports problems in plain words; with repair it also fixes
// bitmaps, link counts and free counts.
#pragma once

#include <bento/block_device.h>

#include <string>
#include <vector>

namespace bentofs {

struct FsckOptions {
  bool replay_journal = true;
  // Repairs what it finds (e2fsck -y): bitmaps and counts, link counts, bad pointers and
  // sizes, shared blocks (cloned or given to one owner), damaged attributes (dropped),
  // damaged directories (emptied) and bad entries (removed), unreachable files and
  // directories (to /lost+found), a damaged journal superblock (rebuilt).
  bool repair = false;
  // Internal (later repair rounds): no "not unmounted cleanly" note again.
  bool quiet_state = false;
};

struct FsckReport {
  // e2fsck-style: 0 clean, 1 errors corrected (journal replayed), 4 errors left
  // uncorrected, 8 operational error (not a Bento-fs image, I/O error).
  int exit_code = 0;
  std::vector<std::string> problems;  // left uncorrected
  std::vector<std::string> fixed;     // corrected (repair mode)
  std::vector<std::string> notes;
  uint64_t inodes_used = 0;
  uint64_t blocks_used = 0;
};

FsckReport run_fsck(bento::BlockDevice& dev, const FsckOptions& opts);

}  // namespace bentofs
