// Mount, unmount, superblock updates and orphan recovery.
#include <bento/log.h>
#include <bento/time.h>

#include <algorithm>

#include "core/bento_fs.h"
#include "core/inode_check.h"
#include "core/inode_lock.h"
#include "core/perm.h"
#include "core/superblock_check.h"

namespace bentofs {

namespace {

bool parse_uint(std::string_view s, uint32_t* out) {
  if (s.empty() || s.size() > 9) return false;
  uint32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  *out = v;
  return true;
}

}  // namespace

BentoFs::BentoFs(bool tracking) : tracking_(tracking) {}

BentoFs::~BentoFs() {
  if (running()) (void)unmount();
  // A retired commit thread may still be finishing a commit that calls prov_'s commit
  // hook: joined before any member goes.
  retired_jthread_.join();
}

bento::Capabilities BentoFs::capabilities() const {
  bento::Capabilities c;
  c.posix_locks = false;
  c.writeback_cache = false;  // O_APPEND and size are decided here
  c.needs_open = true;
  c.clears_setid_bits = true;  // write_chunk() and setattr() do it
  c.export_support = true;     // on-disk inode numbers and generations; lookup(ino, ".")
  c.posix_acls = true;         // xattr.cc, names.cc (inheritance)
  c.applies_umask = true;      // names.cc create_node
  return c;
}

Status BentoFs::init(const Request&, BlockDevice& dev, const bento::InitArgs& args) {
  if (dev_ != nullptr && !inert_) return Err(EBUSY);
  bool ro = args.read_only;
  std::string_view opts = args.options;
  while (!opts.empty()) {
    std::string_view o = bento::next_option(opts);
    if (o.empty()) continue;
    if (o == "ro") {
      ro = true;
    } else if (o == "rw") {
      ro = false;
    } else if (o.starts_with("commit=")) {
      uint32_t ms;
      if (!parse_uint(std::string_view(o.data() + 7, o.size() - 7), &ms) || ms == 0)
        return Err(EINVAL);
      commit_ms_ = ms;
    } else {
      bool known = false;
      BENTO_TRY(parse_atime_option(o, &known));
      if (!known) {
        bento::log(bento::LogLevel::kError, "bento-fs: unknown mount option");
        return Err(EINVAL);
      }
    }
  }
  return mount(dev, ro, true);
}

void BentoFs::destroy(const Request&) {
  if (running()) (void)unmount();
}

Status BentoFs::mount(BlockDevice& dev, bool read_only, bool orphans, Resumed* resumed) {
  if (dev.block_size() != kBlockSize) {
    bento::log(bento::LogLevel::kError, "bento-fs: device block size is not 4096");
    return Err(EINVAL);
  }
  SuperBlock sb;
  const char* why = nullptr;
  {
    BENTO_ASSIGN_OR_RETURN(BufferHead bh, dev.bread(kSuperBlockNo));
    __builtin_memcpy(&sb, bh.data().data(), sizeof(sb));
  }
  if (int e = validate_superblock(sb, dev.block_count(), read_only, &why); e != 0) {
    bento::log(bento::LogLevel::kError, "bento-fs: cannot mount:");
    bento::log(bento::LogLevel::kError, why);
    return Err(e);
  }
  uint64_t seq = 0;
  // Cleanly unmounted and nothing to replay: only then are the free counts exact.
  bool was_clean = sb.state.get() == kStateClean;
  ro_replayed_.clear();
  if (resumed == nullptr) {  // a resumed journal is live: its log must not be replayed
    uint64_t replayed = 0;
    // Read-only: replay into pinned cache buffers only; the image is never written.
    auto r = Journal::replay(dev, sb.journal_start.get(), sb.journal_blocks.get(), &replayed,
                             read_only ? &ro_replayed_ : nullptr);
    if (!r.ok()) {
      ro_replayed_.clear();
      if (r.error() != EIO)
        bento::log(bento::LogLevel::kError,
                   "bento-fs: cannot mount: the journal superblock is damaged; run "
                   "fsck.bento -y to rebuild it");
      return Err(r.error() == EIO ? EIO : EUCLEAN);
    }
    seq = *r;
    if (replayed > 0) was_clean = false;
    if (!was_clean)
      bento::log(bento::LogLevel::kWarning,
                 "bento-fs: the file system was not unmounted cleanly (journal replay)");
    if (replayed > 0)
      bento::log(bento::LogLevel::kInfo, read_only ? "bento-fs: journal replayed in memory "
                                                     "(read-only mount: the image is unchanged)"
                                                   : "bento-fs: journal replayed");
    BENTO_ASSIGN_OR_RETURN(BufferHead bh, dev.bread(kSuperBlockNo));
    __builtin_memcpy(&sb, bh.data().data(), sizeof(sb));
    if (int e = validate_superblock(sb, dev.block_count(), read_only, &why); e != 0) {
      bento::log(bento::LogLevel::kError, "bento-fs: superblock invalid after journal replay:");
      bento::log(bento::LogLevel::kError, why);
      return Err(e);
    }
  }
  geo_ = Geometry::from(sb);
  dev_ = &dev;
  inert_ = false;
  read_only_ = read_only;
  auto fail = [&](Status s) {
    if (resumed != nullptr && journal_) *resumed->journal = std::move(journal_);
    journal_.reset();
    ro_replayed_.clear();
    icache_.clear();  // the root's object (checked below) belongs to this attempt
    dev_ = nullptr;
    return s;
  };
  // Everything below data_start is the static layout; inode slots 0 and 1 are reserved.
  if (Status s =
          balloc_.load(dev, geo_.block_bitmap_start, geo_.block_count,
                       resumed ? resumed->block_cursor : sb.block_cursor.get(), geo_.data_start);
      !s.ok())
    return fail(s);
  if (Status s = ialloc_.load(dev, geo_.inode_bitmap_start, geo_.inode_count,
                              resumed ? resumed->inode_cursor : sb.inode_cursor.get(), 2);
      !s.ok())
    return fail(s);
  bitmaps_damaged_ = false;
  if (resumed == nullptr) {
    if (const char* bad = bitmap_damage(sb, was_clean)) {
      bitmaps_damaged_ = true;
      bento::log(bento::LogLevel::kError, bad);
      if (!read_only) {
        bento::log(bento::LogLevel::kError,
                   "bento-fs: cannot mount: the allocation bitmaps are damaged; run "
                   "fsck.bento -y (or mount read-only with -o ro)");
        return fail(Err(EUCLEAN));
      }
      bento::log(bento::LogLevel::kWarning,
                 "bento-fs: mounting read-only despite damaged bitmaps; run fsck.bento -y");
    } else {
      uint64_t bad_ino = 0;
      bool in_use = false;
      auto m = inode_bitmap_matches(&bad_ino, &in_use);
      if (!m.ok()) return fail(m.status());
      if (!*m) {
        log_inode_problem(bad_ino, in_use ? " is in use but marked free in the inode bitmap"
                                          : " is marked used in the inode bitmap but is empty");
        if (!read_only) {
          bento::log(bento::LogLevel::kError,
                     "bento-fs: cannot mount: the inode bitmap is damaged; run fsck.bento -y "
                     "(or mount read-only with -o ro)");
          return fail(Err(EUCLEAN));
        }
        bitmaps_damaged_ = true;
        bento::log(bento::LogLevel::kWarning,
                   "bento-fs: mounting read-only despite a damaged inode bitmap; run "
                   "fsck.bento -y");
      }
    }
  }
  {
    auto root = read_inode(bento::kRootIno);
    if (!root.ok() || !bento::mode::is_dir(root->mode.get())) {
      bento::log(bento::LogLevel::kError, "bento-fs: root inode is not a directory");
      return fail(Err(EUCLEAN));
    }
    // The root is never looked up: its block map is checked here.
    Status s = Status::Ok();
    {
      auto ref = icache_.get(bento::kRootIno);
      s = ref.ok() ? verify_inode_once(ref->get(), *root) : ref.status();
    }
    if (!s.ok()) {
      bento::log(bento::LogLevel::kError, "bento-fs: cannot mount: the root directory is damaged");
      return fail(s);
    }
  }
  {
    // The provenance log: in the cache, which after an upgrade holds its latest state; what
    // the running transaction appended is durable only once that transaction commits.
    const char* pwhy = nullptr;
    uint64_t floor = resumed ? (*resumed->journal)->next_sequence() : 0;
    if (!prov_.load(dev, geo_.prov_start, geo_.prov_blocks, floor, &pwhy).ok()) {
      bento::log(bento::LogLevel::kError, "bento-fs: provenance log unusable:");
      bento::log(bento::LogLevel::kError, pwhy != nullptr ? pwhy : "I/O error");
      if (tracking_) return fail(Err(EUCLEAN));
    }
    if (resumed == nullptr && prov_.present()) prov_records_check();
    if (tracking_ && !prov_.present()) {
      bento::log(bento::LogLevel::kError,
                 "bento-prov: this image has no provenance log area (made by an older "
                 "mkfs.bento): re-run mkfs.bento to track provenance on it");
      return fail(Err(EOPNOTSUPP));
    }
  }
  next_generation_.store(resumed ? resumed->next_generation
                                 : static_cast<uint32_t>(sb.next_generation.get()));
  if (resumed != nullptr) {
    // Upgrade: adopt the old instance's journal; no replay, no superblock update, no handle.
    journal_ = std::move(*resumed->journal);
    if (prov_.present()) journal_->set_commit_hook(&ProvLog::commit_hook, &prov_);
    if (!read_only_) {
      if (Status s = journal_->resume(commit_ms_); !s.ok()) return fail(s);
    }
    return Status::Ok();
  }
  auto j = bento::make_unique<Journal>(dev, geo_.journal_start, geo_.journal_blocks, seq);
  if (!j.ok()) return fail(Err(ENOMEM));
  journal_ = std::move(*j);
  if (prov_.present()) journal_->set_commit_hook(&ProvLog::commit_hook, &prov_);
  if (!read_only_) {
    if (Status s = journal_->start_thread(commit_ms_); !s.ok()) return fail(s);
    if (orphans) {
      if (Status s = process_orphans(); !s.ok()) {
        bento::log(bento::LogLevel::kError, "bento-fs: orphan recovery failed");
        return fail(s);
      }
    }
    if (Status s = write_super_fields(false); !s.ok()) return fail(s);
    if (Status s = prov_session(false); !s.ok()) return fail(s);
    // The "mounted" state reaches its home location now, so fsck -n and a reader of the
    // image see a mounted (or crashed) file system, not a clean one.
    if (Status s = journal_->checkpoint_now(); !s.ok()) return fail(s);
  }
  return Status::Ok();
}

// The unacknowledged provenance records must decode (crc32c) with consecutive sequence
// numbers, as fsck checks; a damaged one is logged (readers would stop there), the mount
// goes on. Bounded: at most 2048 blocks (8 MiB) are read.
void BentoFs::prov_records_check() {
  auto hb = dev_->bread(geo_.prov_start);
  if (!hb.ok()) return;
  // Two fields of the header (a 4 KiB struct: too big for a kernel stack).
  uint64_t off = load_le64(hb->data().data() + __builtin_offsetof(prov::ProvLogHeader, head));
  const uint64_t end = load_le64(hb->data().data() + __builtin_offsetof(prov::ProvLogHeader, tail));
  hb->release();
  uint64_t expect = 0, blocks_read = 0;
  while (off < end && blocks_read < 2048) {
    auto bh = dev_->bread(geo_.prov_start + prov::ring_block(off, geo_.prov_blocks));
    if (!bh.ok()) return;
    blocks_read++;
    uint64_t block_end = (off / prov::kLogBlockSize + 1) * prov::kLogBlockSize;
    while (off < end && off < block_end) {
      prov::Record r;
      uint32_t len = 0;
      const size_t in = off % prov::kLogBlockSize;
      if (prov::decode_record(bh->data().data() + in, prov::kLogBlockSize - in, &r, &len) !=
              prov::DecodeError::kOk ||
          len == 0 || (r.type != prov::RecordType::kPad && expect != 0 && r.seq != expect)) {
        bento::log(bento::LogLevel::kError,
                   "bento-fs: the provenance log holds a damaged record; readers stop there: "
                   "run fsck.bento -y");
        return;
      }
      if (r.type != prov::RecordType::kPad) expect = r.seq + 1;
      off += len;
    }
  }
}

// A cheap cross-check of the bitmaps against the static layout and the superblock's free
// counts (exact only after a clean unmount). The allocator already never hands out
// metadata; this refuses to run on a bitmap known to be damaged, before it can hand out a
// block some file still uses.
const char* BentoFs::bitmap_damage(const SuperBlock& sb, bool was_clean) {
  if (balloc_.reserved_clear() != 0)
    return "bento-fs: block bitmap marks metadata blocks (superblock, journal, bitmaps, inode "
           "table or provenance log) as free";
  if (balloc_.tail_clear() != 0) return "bento-fs: block bitmap marks blocks past the end as free";
  if (ialloc_.reserved_clear() != 0 || ialloc_.tail_clear() != 0)
    return "bento-fs: inode bitmap marks reserved inode slots as free";
  if (was_clean && sb.free_blocks.get() != balloc_.free_count())
    return "bento-fs: block bitmap does not match the superblock's free block count";
  if (was_clean && sb.free_inodes.get() != ialloc_.free_count())
    return "bento-fs: inode bitmap does not match the superblock's free inode count";
  return nullptr;
}

// Two bytes of the inode bitmap cover one inode-table block (16 slots). Only blocks with a
// set bit are read: on a big, mostly empty image that is a few blocks, on a full one the
// whole table (the price of finding two bit flips whose effects cancel in the free count).
// A slot marked free in a block without any set bit is not seen here; alloc_inode and
// iget refuse it when they meet it.
Result<bool> BentoFs::inode_bitmap_matches(uint64_t* bad_ino, bool* in_use) {
  const uint64_t n = geo_.inode_count;
  for (uint64_t bb = 0; bb < geo_.inode_bitmap_blocks; bb++) {
    BENTO_ASSIGN_OR_RETURN(BufferHead bm, dev_->bread(geo_.inode_bitmap_start + bb));
    const uint8_t* bits = bm.data().data();
    for (uint32_t k = 0; k < kBlockSize; k += 2) {
      const uint64_t first = (bb * kBlockSize + k) * 8;
      if (first >= n) return true;
      uint32_t set = bits[k] | static_cast<uint32_t>(bits[k + 1]) << 8;
      if (first == 0) set &= ~1u;  // slot 0: reserved, its bit is set and it stays empty
      if (set == 0) continue;
      BENTO_ASSIGN_OR_RETURN(BufferHead tb, dev_->bread(geo_.inode_block(first)));
      for (uint32_t i = 0; i < kInodesPerBlock && first + i < n; i++) {
        if (first + i == 0) continue;
        const bool used = load_le32(tb.data().data() + i * kInodeSize) != 0;  // mode
        if (used != (((set >> i) & 1) != 0)) {
          *bad_ino = first + i;
          *in_use = used;
          return false;
        }
      }
    }
  }
  return true;
}

Status BentoFs::write_super_fields(bool clean) {
  BENTO_ASSIGN_OR_RETURN(Handle h, journal_->begin(2));
  orphan_mu_.lock();
  Status st = [&]() -> Status {
    BENTO_ASSIGN_OR_RETURN(BufferHead bh, h.get_write(kSuperBlockNo));
    SuperBlock sb;
    __builtin_memcpy(&sb, bh.data().data(), sizeof(sb));
    int64_t now = bento::now_realtime().sec;
    sb.free_blocks.set(balloc_.free_count());
    sb.free_inodes.set(ialloc_.free_count());
    sb.block_cursor.set(balloc_.cursor());
    sb.inode_cursor.set(ialloc_.cursor());
    sb.next_generation.set(next_generation_.load() + 1000);
    sb.write_time.set(static_cast<uint64_t>(now));
    if (clean) {
      sb.state.set(kStateClean);
    } else if (sb.state.get() != kStateMounted) {
      sb.state.set(kStateMounted);
      sb.mount_count.set(sb.mount_count.get() + 1);
      sb.mount_time.set(static_cast<uint64_t>(now));
    }
    seal_superblock(sb);
    __builtin_memcpy(bh.data_mut().data(), &sb, sizeof(sb));
    return Status::Ok();
  }();
  orphan_mu_.unlock();
  return st;
}

Status BentoFs::unmount() {
  Status st = Status::Ok();
  if (!read_only_) {
    st = write_super_fields(true);
    Status s = journal_->shutdown();
    if (st.ok()) st = s;
  }
  journal_.reset();
  ro_replayed_.clear();
  Status s = dev_->sync_all();
  if (st.ok()) st = s;
  icache_.clear();
  handles_.lock()->clear();
  dev_ = nullptr;
  return st;
}

Status BentoFs::process_orphans() {
  Ino ino;
  {
    BENTO_ASSIGN_OR_RETURN(BufferHead bh, dev_->bread(kSuperBlockNo));
    SuperBlock sb;
    __builtin_memcpy(&sb, bh.data().data(), sizeof(sb));
    ino = sb.orphan_head.get();
  }
  uint64_t guard = 0;
  while (ino != 0) {
    if (ino >= geo_.inode_count || ++guard > geo_.inode_count) return Err(EUCLEAN);
    BENTO_ASSIGN_OR_RETURN(InodeRef ref, iget(ino));
    BENTO_ASSIGN_OR_RETURN(DiskInode di, read_inode(ino));
    if (di.nlink.get() == 0 && di.mode.get() != 0) {
      BENTO_TRY(delete_inode(ref.get()));
    } else {
      BENTO_ASSIGN_OR_RETURN(Handle h, journal_->begin(4));
      BENTO_TRY(orphan_remove(h, ino));
    }
    BENTO_ASSIGN_OR_RETURN(BufferHead bh, dev_->bread(kSuperBlockNo));
    SuperBlock sb;
    __builtin_memcpy(&sb, bh.data().data(), sizeof(sb));
    ino = sb.orphan_head.get();
  }
  return Status::Ok();
}

Status BentoFs::sync_now() {
  if (!running() || read_only_) return Status::Ok();
  return journal_->checkpoint_now();
}

Status BentoFs::commit_now() {
  if (!running() || read_only_) return Status::Ok();
  return journal_->wait_commit(journal_->next_sequence());
}

uint64_t BentoFs::blocks_being_freed() {
  Ino inos[16];  // a few at a time in practice; more are counted when they are done
  size_t n = 0;
  {
    auto g = deleting_.lock();
    for (Ino i : *g)
      if (n < std::size(inos)) inos[n++] = i;
  }
  uint64_t held = 0;
  for (size_t k = 0; k < n; k++)
    if (auto di = read_inode(inos[k], true); di.ok() && di->mode.get() != 0)
      held += di->blocks.get();
  return held;
}

Result<bento::StatFs> BentoFs::statfs(const Request&, Ino) {
  if (!running()) return Err(EIO);
  bento::StatFs s;
  s.block_size = kBlockSize;
  s.blocks = geo_.block_count;
  // While a step of a deletion runs, the blocks it freed may be counted twice (the
  // bitmap's count moves before the inode's): at most one step's worth, for milliseconds.
  s.blocks_free = std::min<uint64_t>(balloc_.free_count() + blocks_being_freed(), s.blocks);
  s.blocks_avail = s.blocks_free;
  s.files = geo_.inode_count - 1;
  s.files_free = ialloc_.free_count();
  s.name_max = bento::kNameMax;
  return s;
}

}  // namespace bentofs
