// Bento-fs: the FileOperations implementation (DESIGN.md §2, FORMAT.md).
//
// Locking order (outermost first); never take an earlier lock while holding a later one:
//   1. journal handle (Journal::begin) — taken before any lock below, because begin may
//      wait for a commit, and a commit waits for every active handle to end;
//   2. rename_lock_ — shared by single-directory namespace ops, exclusive for rename;
//   3. inode locks, parent before child (tree order). Rename (exclusive rename_lock_)
//      locks its directories ancestor-first, then the moved and replaced inodes by
//      inode number. Lookup/getattr hold one inode lock at a time;
//   4. leaf locks: orphan_mu_, deleting_, the allocators' mutexes, inode-cache shard mutexes,
//      the handle table, the provenance log's mutex, the journal's state mutex.
//
// Provenance (Bento-prov = this class with tracking on; module_prov.cc): a tracked
// operation reserves room for its record before its journal handle (prov_reserve), and
// appends the record inside that handle once it succeeded (prov_append), so the record
// commits in the same transaction as the change. Operations without a handle of their
// own (open, release, read) append in a handle of their own (prov_alone), or, while a
// commit quiesces, leave the record to that commit's hook (ProvLog::defer).
#pragma once

#include <bento/file_operations.h>
#include <bento/memory.h>
#include <bento/sync.h>

#include <atomic>
#include <cstdint>

#include "core/acl.h"
#include "core/allocator.h"
#include "core/block_map.h"
#include "core/geometry.h"
#include "core/inode_cache.h"
#include "core/journal.h"
#include "core/prov_log.h"
#include "core/xattr_store.h"
#include "format/inode.h"

namespace bentofs {

using bento::Attr;
using bento::Entry;
using bento::Fh;
using bento::Ino;
using bento::Request;

struct BentoFsStateV1;

class BentoFs : public bento::FileOperations {
 public:
  // The hidden provenance log file in the root (format/prov_log.h): a node id no inode
  // number can take.
  static constexpr Ino kProvLogIno = 0x7FFFFFFFFFFFFF01ULL;
  static constexpr Fh kProvLogFh = ~0ULL;

  // tracking: Bento-prov (records provenance) rather than plain Bento-fs.
  explicit BentoFs(bool tracking = false);
  ~BentoFs() override;

  Status init(const Request& req, BlockDevice& dev, const bento::InitArgs& args) override;
  void destroy(const Request&) override;
  bento::Capabilities capabilities() const override;

  Result<Entry> lookup(const Request&, Ino, std::string_view) override;
  void forget(Ino, uint64_t) override;
  Result<Attr> getattr(const Request&, Ino, Fh) override;
  Result<Attr> setattr(const Request&, Ino, const bento::SetAttr&, Fh) override;
  Result<size_t> readlink(const Request&, Ino, std::span<char>) override;
  Result<Entry> mknod(const Request&, Ino, std::string_view, uint32_t, uint32_t) override;
  Result<Entry> mkdir(const Request&, Ino, std::string_view, uint32_t) override;
  Status unlink(const Request&, Ino, std::string_view) override;
  Status rmdir(const Request&, Ino, std::string_view) override;
  Result<Entry> symlink(const Request&, std::string_view, Ino, std::string_view) override;
  Status rename(const Request&, Ino, std::string_view, Ino, std::string_view, uint32_t) override;
  Result<Entry> link(const Request&, Ino, Ino, std::string_view) override;

  Result<bento::OpenReply> open(const Request&, Ino, uint32_t) override;
  Result<size_t> read(const Request&, Ino, Fh, uint64_t, std::span<uint8_t>) override;
  Result<size_t> write(const Request&, Ino, Fh, uint64_t, std::span<const uint8_t>) override;
  Status release(const Request&, Ino, Fh, uint32_t) override;
  Status fsync(const Request&, Ino, Fh, bool) override;
  Result<bento::CreateReply> create(const Request&, Ino, std::string_view, uint32_t,
                                    uint32_t) override;
  Result<bento::CreateReply> tmpfile(const Request&, Ino, uint32_t, uint32_t) override;

  Result<bento::OpenReply> opendir(const Request&, Ino, uint32_t) override;
  Status readdir(const Request&, Ino, Fh, uint64_t, bento::DirFiller&) override;
  Status releasedir(const Request&, Ino, Fh) override;
  Status fsyncdir(const Request&, Ino, Fh, bool) override;

  Status fallocate(const Request&, Ino, Fh, uint32_t, uint64_t, uint64_t) override;
  Result<uint64_t> lseek(const Request&, Ino, Fh, uint64_t, uint32_t) override;
  Result<size_t> fiemap(const Request&, Ino, uint64_t, uint64_t, std::span<bento::Extent>) override;

  Result<uint32_t> getflags(const Request&, Ino) override;
  Status setflags(const Request&, Ino, uint32_t) override;

  Result<bento::StatFs> statfs(const Request&, Ino) override;
  Status access(const Request&, Ino, uint32_t) override;
  Status syncfs(const Request&) override { return commit_now(); }
  Result<uint64_t> bmap(const Request&, Ino, uint32_t, uint64_t) override;

  Status setxattr(const Request&, Ino, std::string_view, std::span<const uint8_t>,
                  uint32_t) override;
  Result<size_t> getxattr(const Request&, Ino, std::string_view, std::span<uint8_t>) override;
  Result<size_t> listxattr(const Request&, Ino, std::span<char>) override;
  Status removexattr(const Request&, Ino, std::string_view) override;

  Result<bento::TransferState> update_prepare() override;
  Status update_transfer(bento::TransferState& state, BlockDevice& dev) override;

  // For tests and tools: commit and checkpoint everything now.
  Status sync_now();
  // For tests: commit (make durable in the journal) without checkpointing.
  Status commit_now();

 private:
  struct OpenFile {
    Ino ino = 0;
    uint32_t flags = 0;
    bool is_dir = false;
    bool wrote = false;        // written through (since this instance got the handle)
    uint32_t gen = 0;          // the inode's generation (0: not known, carried over)
    uint32_t last_writer = 0;  // tids of the last kWrite / kRead record for this handle
    uint32_t last_reader = 0;
    int64_t last_write_ns = 0;  // CLOCK_MONOTONIC of the last write (its kRelease carries it)
    bool release_room = false;  // the log keeps room for its release record (open recorded)
  };
  struct CreateOpen {  // create(): the handle the new file is opened with
    uint32_t flags;
    Fh fh;
    mutable bool release_room = false;  // set by create_node: room kept for the release
  };

  // Live upgrade (v2 state): what mount() adopts instead of replaying and reading it.
  struct Resumed {
    bento::UniquePtr<Journal>* journal;  // suspended; given back on failure
    uint64_t block_cursor;
    uint64_t inode_cursor;
    uint32_t next_generation;
  };
  template <typename S>
  void restore_counts(const S& st);
  // update_transfer of a v2/v3 state (the live journal travels in it).
  template <typename S>
  Status transfer_live(bento::TransferState& state, BlockDevice& dev);

  // mount.cc
  Status mount(BlockDevice& dev, bool read_only, bool process_orphans, Resumed* resumed = nullptr);
  Status unmount();
  Status write_super_fields(bool clean);
  // mount.cc: what is wrong with the loaded bitmaps (nullptr: nothing found).
  const char* bitmap_damage(const SuperBlock& sb, bool was_clean);
  // mount.cc: the inode bitmap against the in-use marks (mode) of the inode table, in the
  // table blocks holding a set bit; false with *bad_ino set at the first difference.
  Result<bool> inode_bitmap_matches(uint64_t* bad_ino, bool* in_use);
  void prov_records_check();
  Status process_orphans();
  // inode.cc. unlocked: a snapshot read without the inode's lock (may be torn by a
  // concurrent write), so a checksum mismatch is EAGAIN without a log line, not damage.
  Result<DiskInode> read_inode(Ino ino, bool unlocked = false);
  Status check_inode_bit(InodeObj* o);
  // inode_verify.cc: the block map against `blocks` and the block bitmap, once per inode
  // object (its lock held); EUCLEAN and a log line when they disagree.
  Status verify_inode_once(InodeObj* o, const DiskInode& di);
  // Just the mode: keeps a whole DiskInode off the caller's frame (rename's is near the
  // kernel's 2 KiB frame limit).
  [[gnu::noinline]] Result<uint32_t> read_mode(Ino ino);
  // sync_tid=false: the change need not make a later fsync wait (lazytime atime updates).
  Status write_inode(Handle& h, InodeObj* o, const DiskInode& di, bool sync_tid = true);
  Result<InodeRef> iget(Ino ino);
  Attr to_attr(Ino ino, const DiskInode& di) const;
  Entry make_entry(Ino ino, const DiskInode& di) const;
  Result<Ino> alloc_inode(Handle& h, uint32_t mode, uint32_t uid, uint32_t gid, uint32_t rdev,
                          DiskInode* out);
  Status orphan_add(Handle& h, InodeObj* o, DiskInode& di);
  Status orphan_remove(Handle& h, Ino ino);
  // Frees an unlinked inode once nothing refers to it (call with no locks held).
  void maybe_delete(InodeRef& ref);
  Status delete_inode(InodeObj* o);
  Status free_inode(InodeObj* o);  // delete_inode's work
  uint64_t blocks_being_freed();   // what the inodes being deleted still hold
  // Shrinks (or grows) to size in bounded journal steps; takes the inode lock itself.
  Status truncate(InodeObj* o, uint64_t size);
  // names.cc
  Result<Entry> create_node(const Request& req, Ino parent, std::string_view name, uint32_t mode,
                            uint32_t rdev, std::string_view link_target,
                            const CreateOpen* co = nullptr);
  Status remove_name(const Request& req, Ino parent, std::string_view name, bool dir);
  Result<bool> is_ancestor(Ino a, Ino b);
  // The credits for adding a name to directory `dir` (insert_credits), peeked at under its
  // read lock, let go before the caller begins its handle (handles before locks).
  uint32_t name_credits(InodeObj* dir);
  Status prov_readdir(const Request& req, Ino ino, Fh fh, uint64_t offset);
  Status readdir_locked(const Request& req, InodeObj* d, Fh fh, uint64_t offset,
                        bento::DirFiller& filler, bool* touch);
  // space.cc: fallocate modes, each in bounded journal steps under the inode lock
  Status falloc_allocate(InodeObj* o, uint64_t off, uint64_t len, bool keep_size, bool zero);
  Status falloc_punch(InodeObj* o, uint64_t off, uint64_t len);
  Status falloc_collapse(InodeObj* o, uint64_t off, uint64_t len);
  Status falloc_insert(InodeObj* o, uint64_t off, uint64_t len);
  // Zeroes bytes [off, off + len) of one block of the file if it is mapped.
  Status zero_in_block(Handle& h, const DiskInode& di, uint64_t off, uint64_t len);
  // xattr.cc: permission checks that honour an access ACL (perm.h check_access otherwise)
  int may(const Request& req, const DiskInode& di, uint32_t mask);
  // The ACL stored under name (acl.h names); false when there is none.
  Result<bool> load_acl(const DiskInode& di, std::string_view name, bento::Vec<AclEntry>* out);
  // create: a new inode's mode and ACL attributes from its directory's default ACL.
  Status inherit_acls(const bento::Vec<AclEntry>& dacl, bool is_dir, uint32_t* mode, XattrSet* out,
                      uint32_t* flags);
  // chmod of an inode with an access ACL: the ACL follows the new permission bits.
  Status chmod_acl(Handle& h, DiskInode& di, uint32_t mode);
  // Journal credits for changing ino's attributes by a value of value_size bytes.
  uint32_t xattr_credits(Ino ino, size_t value_size);
  // atime.cc
  // Applies one atime mount option; *known = false when o is not one.
  Status parse_atime_option(std::string_view o, bool* known);
  // Whether a read or readdir now should update di's atime (the mount's policy).
  bool atime_due(const DiskInode& di) const;
  // Updates o's atime if it is still due (call with no locks held; best effort).
  void touch_atime(InodeObj* o);
  // files.cc
  // read() under the inode's read lock; *touch: the atime is due.
  Result<size_t> read_locked(InodeObj* o, uint64_t off, std::span<uint8_t> buf, bool* touch);
  Result<size_t> write_chunk(InodeObj* o, uint64_t off, std::span<const uint8_t> data, bool append,
                             const Request& req, uint64_t* end_off, const ProvDraft* rec = nullptr,
                             ProvLog::Ticket* ticket = nullptr);
  Result<Fh> add_handle(Ino ino, uint32_t flags, bool is_dir, uint32_t gen = 0, Fh fh = 0,
                        bool release_room = false);
  bool handle_info(Fh fh, OpenFile* out);

  // prov.cc: provenance records and the hidden log file
  bool tracking() const { return tracking_ && prov_.present() && !read_only_; }
  // Room for a record (an invalid, free ticket when not tracking; an unrecorded one when
  // the log is full: the record only counts in the pending gap).
  Result<ProvLog::Ticket> prov_reserve(size_t name_len, size_t name2_len, uint64_t extra = 0);
  // Appends d in h if the ticket is valid (i.e. tracking).
  Status prov_append(Handle& h, const Request& req, const ProvDraft& d, ProvLog::Ticket& t);
  // Appends d in a handle of its own.
  Status prov_alone(const Request& req, const ProvDraft& d, ProvLog::Ticket& t);
  // Writes records deferred to the next commit (ProvLog::defer) now (live upgrade).
  Status prov_flush_deferred();
  Status prov_xattr_set(Handle& h, const Request& req, Ino ino, const DiskInode& di,
                        std::string_view name, size_t value_len, ProvLog::Ticket& t,
                        uint32_t flags);
  // After mount or upgrade: tracking-start (+ handle-carried records) or tracking-stop.
  Status prov_session(bool upgraded);
  // Notes a read by thread tid through fh (false: no such handle); *fresh when that
  // thread had not read/written through it just before (a new reader/writer). A write is
  // only looked at here: note_written() notes it once it succeeded, so that a write that
  // failed (ENOSPC) neither counts as one in the release record nor hides the thread's
  // next, successful write from the log.
  bool note_access(Fh fh, uint32_t tid, bool write, OpenFile* out, bool* fresh);
  void note_written(Fh fh, uint32_t tid);
  // ino was truncated to 0: every handle's next write is logged again (kWrite), so that a
  // writer holding the file open across the truncation is named as writing after it.
  void forget_writers(Ino ino);
  Status prov_file_setxattr(const Request& req, std::string_view name,
                            std::span<const uint8_t> value);
  Result<size_t> prov_file_getxattr(const Request& req, std::string_view name,
                                    std::span<uint8_t> buf);
  Result<size_t> prov_file_listxattr(const Request& req, std::span<char> buf);
  Result<Entry> prov_file_entry(const Request& req);
  Attr prov_file_attr();

  FsCtx ctx() {
    return FsCtx{
        dev_,          &balloc_,     geo_.data_start, geo_.block_count, geo_.max_file_blocks(),
        geo_.dir_csum, geo_.dir_seed};
  }
  bool running() const { return dev_ != nullptr && !inert_; }

  BlockDevice* dev_ = nullptr;
  Geometry geo_;
  bool read_only_ = false;
  // The mount found a bitmap damaged (and went on read-only): the per-inode checks
  // (check_inode_bit, inode_verify.cc) then do not hold the bitmaps against each file,
  // so a read-only mount still serves every file for recovery.
  bool bitmaps_damaged_ = false;
  bool inert_ = false;  // after update_prepare: state handed on
  uint32_t commit_ms_ = 1000;
  enum class AtimePolicy : uint32_t { kRelatime = 0, kStrict = 1, kNever = 2 };
  AtimePolicy atime_ = AtimePolicy::kRelatime;
  bool nodiratime_ = false;
  bool lazytime_ = false;
  bento::UniquePtr<Journal> journal_;
  // Read-only mount of an image whose journal held committed transactions: the replayed
  // blocks, pinned clean in the cache for the mount's lifetime (nothing is written).
  bento::Vec<BufferHead> ro_replayed_;
  // The commit thread retired by update_prepare: it runs this module's code, so it is
  // joined (by the destructor) before the host unloads the module, outside the pause.
  bento::Thread retired_jthread_;
  BitmapAllocator balloc_;
  BitmapAllocator ialloc_;
  InodeCache icache_;
  bento::RawRwLock rename_lock_;
  bento::RawMutex orphan_mu_;
  // Inodes being freed (delete_inode, a leaf lock): statfs counts the blocks they still
  // hold as free, as ext4 does from the unlink on, so `rm big; df` shows the space at once
  // while a large file's blocks are still being given back, step by step.
  bento::Mutex<bento::Vec<Ino>> deleting_;
  std::atomic<uint32_t> next_generation_{1};
  bento::Mutex<bento::HashMap<Fh, OpenFile>> handles_;
  const bool tracking_;
  ProvLog prov_;
  std::atomic<uint64_t> next_fh_{1};

  friend struct FsAccess;
};

}  // namespace bentofs
