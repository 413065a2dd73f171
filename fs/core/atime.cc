// Access times. Under FUSE the kernel never updates atime itself (FUSE inodes are
// S_NOATIME), so the file system does it for the reads and readdirs that reach it, with
// the mount's policy: relatime (the default), strictatime, noatime; nodiratime and the
// per-file chattr +A exempt directories / that file. lazytime: atime-only updates do not
// make fsync wait for a commit. A file whose atime is due is opened without keep_cache
// (files.cc), so its next read reaches the fs even when its pages are cached.
#include <bento/time.h>

#include "core/bento_fs.h"
#include "core/inode_lock.h"
#include "core/times.h"

namespace bentofs {

namespace {

bool not_after(const DiskTime& a, const DiskTime& b) {
  int64_t as = static_cast<int64_t>(a.sec.get()), bs = static_cast<int64_t>(b.sec.get());
  return as < bs || (as == bs && a.nsec.get() <= b.nsec.get());
}

constexpr int64_t kRelatimeAge = 24 * 3600;  // relatime refreshes atime at least daily

}  // namespace

Status BentoFs::parse_atime_option(std::string_view o, bool* known) {
  *known = true;
  if (o == "relatime" || o == "atime" || o == "nostrictatime") {
    atime_ = AtimePolicy::kRelatime;
  } else if (o == "strictatime" || o == "norelatime") {
    atime_ = AtimePolicy::kStrict;
  } else if (o == "noatime") {
    atime_ = AtimePolicy::kNever;
  } else if (o == "nodiratime") {
    nodiratime_ = true;
  } else if (o == "diratime") {
    nodiratime_ = false;
  } else if (o == "lazytime") {
    lazytime_ = true;
  } else if (o == "nolazytime") {
    lazytime_ = false;
  } else {
    *known = false;
  }
  return Status::Ok();
}

bool BentoFs::atime_due(const DiskInode& di) const {
  if (read_only_ || atime_ == AtimePolicy::kNever) return false;
  if (di.flags.get() & (iflag::kNoAtime | iflag::kImmutable)) return false;
  if (nodiratime_ && bento::mode::is_dir(di.mode.get())) return false;
  if (atime_ == AtimePolicy::kStrict) return true;
  if (not_after(di.atime, di.mtime) || not_after(di.atime, di.ctime)) return true;
  int64_t now = bento::now_realtime().sec;
  return now - static_cast<int64_t>(di.atime.sec.get()) >= kRelatimeAge;
}

void BentoFs::touch_atime(InodeObj* o) {
  if (!running() || read_only_) return;
  auto h = journal_->begin(2);
  if (!h.ok()) return;  // best effort: a read never fails for its atime
  WriteLock lk(o->lock);
  if (o->deleted) return;
  auto di = read_inode(o->ino);
  if (!di.ok() || di->mode.get() == 0 || !atime_due(*di)) return;
  set_time(di->atime, bento::now_realtime());
  (void)write_inode(*h, o, *di, !lazytime_);
}

}  // namespace bentofs
