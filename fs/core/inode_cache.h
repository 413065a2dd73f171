// In-memory inodes: lookup counts, open counts, the per-inode lock (FORMAT.md has the
// on-disk part). The on-disk inode itself is always read from / written to its buffer
// under the inode's lock; nothing is cached here that could go stale.
//
// Sharded: 64 hash maps, each under its own mutex (held only for map updates and count
// changes), so unrelated inodes never contend.
#pragma once

#include <bento/fs_types.h>
#include <bento/hash_map.h>
#include <bento/sync.h>

#include <atomic>
#include <cstdint>

namespace bentofs {

struct InodeObj {
  explicit InodeObj(bento::Ino i) : ino(i) {}
  const bento::Ino ino;
  bento::RawRwLock lock;              // protects the on-disk inode and the file's blocks
  std::atomic<uint64_t> last_tid{0};  // last transaction that changed this inode (fsync)
  // Its inode-bitmap bit was found set (BentoFs::iget checks once per object).
  std::atomic<bool> bitmap_checked{false};
  // Its block map passed BentoFs::verify_inode_once (first lookup after mount).
  std::atomic<bool> map_checked{false};
  // Protected by the shard mutex:
  uint64_t refs = 0;      // transient references held by operations in flight
  uint64_t nlookup = 0;   // FUSE lookup count
  uint64_t nopen = 0;     // open file handles
  bool deleted = false;   // freed on disk (set under `lock`)
  bool linkable = false;  // an O_TMPFILE inode link() may still name (under `lock`)
};

class InodeCache;

// A counted reference; drops it in the destructor.
class InodeRef {
 public:
  InodeRef() = default;
  InodeRef(InodeCache* c, InodeObj* o) : c_(c), o_(o) {}
  InodeRef(InodeRef&& r) noexcept : c_(r.c_), o_(r.o_) { r.o_ = nullptr; }
  InodeRef& operator=(InodeRef&& r) noexcept;
  InodeRef(const InodeRef&) = delete;
  ~InodeRef() { reset(); }
  InodeObj* operator->() const { return o_; }
  InodeObj* get() const { return o_; }
  explicit operator bool() const { return o_ != nullptr; }
  void reset();

 private:
  InodeCache* c_ = nullptr;
  InodeObj* o_ = nullptr;
};

class InodeCache {
 public:
  ~InodeCache();
  // The object for ino (created when absent); fresh = replace a deleted one (new inode).
  bento::Result<InodeRef> get(bento::Ino ino);
  void put(InodeObj* o);
  // Count changes (under the shard mutex).
  void add_lookup(InodeObj* o, uint64_t n);
  // Returns the remaining count.
  uint64_t sub_lookup(InodeObj* o, uint64_t n);
  void add_open(InodeObj* o);
  uint64_t sub_open(InodeObj* o);
  // True when the inode has no lookups and no opens (it may be freed once unlinked).
  bool unreferenced(InodeObj* o);
  // Visits every inode with a lookup or open count (upgrade state).
  template <typename F>
  void for_each(F&& f) {
    for (auto& s : shards_) {
      auto g = s.lock();
      g->for_each([&](const bento::Ino&, InodeObj*& o) { f(o); });
    }
  }
  void clear();

 private:
  static constexpr uint32_t kShards = 64;
  using Map = bento::HashMap<bento::Ino, InodeObj*>;
  bento::Mutex<Map>& shard(bento::Ino ino) { return shards_[bento::mix64(ino) % kShards]; }
  bento::Mutex<Map> shards_[kShards];
  // The newest last_tid of any object dropped from the cache. A fresh object starts with
  // it: its inode may have changed in a transaction the dropped object knew about, and
  // fsync must not forget that (found by tests/fs/crash_ops_test.cc: a rename in the root,
  // then fsyncdir of the root, committed nothing once the root's object had been dropped).
  std::atomic<uint64_t> evicted_tid_{0};
  void note_evicted(const InodeObj* o);
};

}  // namespace bentofs
