// The userspace buffer cache (see buffer_cache.h for the contract).
//
// Locking: every buffer belongs to one shard for its whole life (it is only ever reused for
// a block of the same shard), and all of its bookkeeping is guarded by that shard's mutex.
// Disk I/O never runs under a shard lock; instead a buffer carries its I/O state:
//   - valid == false: its first read is in flight; lookups of the block wait on the shard's
//     condition variable, so two threads missing on one block cause one read.
//   - writing: a writeback is in flight; other writebacks of it wait (one at a time, so an
//     older copy can never land on the disk after a newer one).
//   - frozen: the writeback in flight started while nobody held the buffer (eviction, or
//     sync_all of an unpinned buffer). Lookups wait until it ends, so nobody can change the
//     bytes being written and an evicted buffer is never handed out half-settled. (A
//     writeback of a buffer someone holds cannot promise that: its holder may be writing to
//     it, which the generation check below covers.)
//   - refs: BufferHeads plus in-flight writebacks. Only refs == 0 buffers are on the LRU,
//     so only they can be evicted; a writeback pins the buffer it writes.
//   - gen: bumped by every mark_dirty. A writeback clears `dirty` only if gen did not move
//     while it ran, so a buffer redirtied during its writeback stays dirty.
// Capacity is split evenly between shards and each shard evicts its own least recently used
// buffer; an evicted dirty buffer is written back first while still mapped to its block (so
// nobody can read a stale copy from the disk meanwhile), then looked at again.
#include <bento/services.h>
#include <bento/user/buffer_cache.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

namespace bento::user {
namespace {

using Lock = std::unique_lock<std::mutex>;

constexpr uint32_t kMaxShards = 64;
constexpr uint64_t kMinPerShard = 16;  // fewer makes per-shard LRU too coarse

struct Buf {
  uint64_t blockno = 0;
  uint8_t* data = nullptr;
  uint32_t shard = 0;
  // Guarded by the shard mutex.
  uint32_t refs = 0;
  bool valid = false;
  bool writing = false;
  bool frozen = false;
  bool dirty = false;
  uint64_t gen = 0;
  Buf* prev = nullptr;  // LRU links, meaningful while refs == 0
  Buf* next = nullptr;
};

// Intrusive doubly linked list: front is the least recently used buffer.
class Lru {
 public:
  bool empty() const { return head_ == nullptr; }
  Buf* front() const { return head_; }
  void push_back(Buf* b) {
    b->prev = tail_;
    b->next = nullptr;
    (tail_ != nullptr ? tail_->next : head_) = b;
    tail_ = b;
  }
  void push_front(Buf* b) {
    b->prev = nullptr;
    b->next = head_;
    (head_ != nullptr ? head_->prev : tail_) = b;
    head_ = b;
  }
  void remove(Buf* b) {
    (b->prev != nullptr ? b->prev->next : head_) = b->next;
    (b->next != nullptr ? b->next->prev : tail_) = b->prev;
    b->prev = b->next = nullptr;
  }

 private:
  Buf* head_ = nullptr;
  Buf* tail_ = nullptr;
};

// Cache-line aligned so that threads on different shards do not false-share a mutex.
struct alignas(64) Shard {
  std::mutex mu;
  std::condition_variable cv;  // a read or a writeback of one of its buffers finished
  std::unordered_map<uint64_t, Buf*> map;
  Lru lru;
  uint64_t count = 0;     // buffers this shard owns (mapped, being read or being reused)
  uint64_t capacity = 0;  // its share of the cache's capacity
  // Statistics, per shard so that a hit touches no shared cache line.
  uint64_t hits = 0, misses = 0, writebacks = 0, evictions = 0, dirty = 0;
};

// Spreads consecutive block numbers over the shards (splitmix64's finaliser).
uint64_t mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

BufferSlot* to_slot(Buf* b) {
  return reinterpret_cast<BufferSlot*>(b);
}
Buf* from_slot(BufferSlot* s) {
  return reinterpret_cast<Buf*>(s);
}

void log_msg(int level, const char* fmt, int err) {
  char msg[160];
  int len = snprintf(msg, sizeof(msg), fmt, strerror(err));
  if (len > 0) bento_ks_log(level, msg, std::min(static_cast<size_t>(len), sizeof(msg) - 1));
}

}  // namespace

struct BufferCache::Impl {
  std::unique_ptr<Disk> disk;
  uint32_t block_size = 0;
  uint64_t block_count = 0;
  std::unique_ptr<Shard[]> shards;
  uint32_t shard_mask = 0;

  Impl(std::unique_ptr<Disk> d, uint64_t capacity) : disk(std::move(d)) {
    block_size = disk->block_size();
    block_count = disk->block_count();
    if (capacity == 0) capacity = 1;
    uint32_t n = 1;
    while (n < kMaxShards && capacity / (2 * n) >= kMinPerShard) n *= 2;
    shards = std::make_unique<Shard[]>(n);
    shard_mask = n - 1;
    for (uint32_t i = 0; i < n; i++) shards[i].capacity = capacity / n + (i < capacity % n);
  }

  ~Impl() {
    for (uint32_t i = 0; i <= shard_mask; i++) {
      for (auto& [n, b] : shards[i].map) free_buf(b);
    }
  }

  uint32_t shard_of(uint64_t n) const { return static_cast<uint32_t>(mix(n)) & shard_mask; }

  Buf* alloc_buf(uint32_t shard) {
    auto* b = new (std::nothrow) Buf;
    if (b == nullptr) return nullptr;
    b->data =
        static_cast<uint8_t*>(::operator new[](block_size, std::align_val_t(64), std::nothrow));
    if (b->data == nullptr) {
      delete b;
      return nullptr;
    }
    b->shard = shard;
    return b;
  }

  void free_buf(Buf* b) {
    ::operator delete[](b->data, std::align_val_t(64));
    delete b;
  }

  // Forgets a buffer that nobody references.
  void drop(Shard& s, Buf* b) {
    s.map.erase(b->blockno);
    if (b->dirty) s.dirty--;
    free_buf(b);
    s.count--;
  }

  void pin(Shard& s, Buf* b) {
    if (b->refs++ == 0) s.lru.remove(b);
  }

  // oldest: queue it as the next eviction victim (a buffer just cleaned for eviction).
  void unpin(Shard& s, Buf* b, bool oldest) {
    if (--b->refs != 0) return;
    if (!b->dirty && s.count > s.capacity) {
      drop(s, b);  // shrink back after growing past capacity
    } else if (oldest) {
      s.lru.push_front(b);
    } else {
      s.lru.push_back(b);
    }
  }

  // Writes b if dirty. Drops the lock around the I/O. b must stay referenced by the caller
  // or be on the LRU (this pins it for the duration).
  Status writeback(Shard& s, Lock& lk, Buf* b, bool evicting) {
    pin(s, b);
    while (b->writing) s.cv.wait(lk);
    Status st;
    if (b->dirty) {
      b->writing = true;
      b->frozen = b->refs == 1;  // only our own pin
      uint64_t gen = b->gen;
      lk.unlock();
      st = disk->write_block(b->blockno, {b->data, block_size});
      lk.lock();
      b->writing = false;
      b->frozen = false;
      s.cv.notify_all();
      if (st.ok()) {
        s.writebacks++;
        if (b->gen == gen) {
          b->dirty = false;
          s.dirty--;
        }
      }
    }
    unpin(s, b, evicting && !b->dirty);
    return st.ok() ? st : Status(Err(EIO));
  }

  // A buffer for a new block of shard s, not mapped and not on the LRU. Returns nullptr with
  // *err == 0 when the lock had to be dropped (the caller must look the block up again).
  Buf* take_buf(Shard& s, uint32_t si, Lock& lk, bool& grow, int* err) {
    Buf* victim = (s.count < s.capacity || grow) ? nullptr : s.lru.front();
    if (victim == nullptr) {
      // Room left, or every buffer pinned: grow rather than fail.
      grow = false;
      Buf* b = alloc_buf(si);
      if (b == nullptr) {
        *err = ENOMEM;
        return nullptr;
      }
      s.count++;
      return b;
    }
    if (victim->dirty) {
      // After a failed write keep the data cached (it is the only copy) and grow instead.
      if (!writeback(s, lk, victim, true).ok()) grow = true;
      *err = 0;
      return nullptr;
    }
    s.lru.remove(victim);
    s.map.erase(victim->blockno);
    s.evictions++;
    return victim;
  }

  Result<Buf*> get(uint64_t n, bool read) {
    if (n >= block_count) return Err(EINVAL);
    uint32_t si = shard_of(n);
    Shard& s = shards[si];
    Lock lk(s.mu);
    bool grow = false;
    for (;;) {
      auto it = s.map.find(n);
      if (it != s.map.end()) {
        Buf* b = it->second;
        if (!b->valid || b->frozen) {
          // Its read or an unpinned writeback is in flight. Look again afterwards: a failed
          // read drops the buffer, an eviction reuses it.
          s.cv.wait(lk);
          continue;
        }
        pin(s, b);
        s.hits++;
        return b;
      }
      int err = 0;
      Buf* b = take_buf(s, si, lk, grow, &err);
      if (b == nullptr) {
        if (err != 0) return Err(err);
        continue;
      }
      b->blockno = n;
      b->refs = 1;
      b->dirty = false;
      b->writing = false;
      b->frozen = false;
      b->gen = 0;
      s.map.emplace(n, b);
      s.misses++;
      if (!read) {
        memset(b->data, 0, block_size);
        b->valid = true;
        return b;
      }
      b->valid = false;
      lk.unlock();
      Status st = disk->read_block(n, {b->data, block_size});
      lk.lock();
      s.cv.notify_all();
      if (!st.ok()) {
        b->refs = 0;
        drop(s, b);
        return Err(EIO);
      }
      b->valid = true;
      return b;
    }
  }

  Status sync_all() {
    // Note the dirty blocks, then write them in block order (sequential for the disk). Not
    // pinned meanwhile: pins would keep the writebacks from freezing unpinned buffers. A
    // block evicted in between was written back by its eviction.
    std::vector<uint64_t> todo;
    for (uint32_t i = 0; i <= shard_mask; i++) {
      Shard& s = shards[i];
      Lock lk(s.mu);
      for (auto& [n, b] : s.map) {
        if (b->dirty) todo.push_back(n);
      }
    }
    std::sort(todo.begin(), todo.end());
    Status first;
    for (uint64_t n : todo) {
      Shard& s = shards[shard_of(n)];
      Lock lk(s.mu);
      auto it = s.map.find(n);
      if (it == s.map.end() || !it->second->dirty) continue;
      Status st = writeback(s, lk, it->second, false);
      if (!st.ok() && first.ok()) first = st;
    }
    Status f = disk->flush();
    if (!f.ok() && first.ok()) first = Err(EIO);
    return first;
  }
};

BufferCache::BufferCache(std::unique_ptr<Disk> disk, uint64_t capacity_blocks)
    : impl_(std::make_unique<Impl>(std::move(disk), capacity_blocks)) {}

BufferCache::~BufferCache() {
  Status st = impl_->sync_all();
  if (!st.ok()) log_msg(0, "buffer cache: writeback at shutdown failed: %s", st.error());
  for (uint32_t i = 0; i <= impl_->shard_mask; i++) {
    for (auto& [n, b] : impl_->shards[i].map) {
      if (b->refs != 0) {
        static const char kMsg[] = "buffer cache: destroyed while a BufferHead still pins a buffer";
        bento_ks_log(0, kMsg, sizeof(kMsg) - 1);
        break;
      }
    }
  }
}

uint32_t BufferCache::block_size() const {
  return impl_->block_size;
}
uint64_t BufferCache::block_count() const {
  return impl_->block_count;
}

Result<BufferHead> BufferCache::bread(uint64_t n) {
  BENTO_ASSIGN_OR_RETURN(Buf * b, impl_->get(n, true));
  return BufferHead(this, to_slot(b), b->data, n, impl_->block_size);
}

Result<BufferHead> BufferCache::getblk(uint64_t n) {
  BENTO_ASSIGN_OR_RETURN(Buf * b, impl_->get(n, false));
  return BufferHead(this, to_slot(b), b->data, n, impl_->block_size);
}

Status BufferCache::sync_all() {
  return impl_->sync_all();
}

Status BufferCache::flush() {
  return impl_->disk->flush().ok() ? Status::Ok() : Err(EIO);
}

Status BufferCache::write_around(uint64_t n, std::span<const uint8_t> data) {
  if (n >= impl_->block_count || data.size() != impl_->block_size) return Err(EINVAL);
  return impl_->disk->write_block(n, data).ok() ? Status::Ok() : Err(EIO);
}

BufferCacheStats BufferCache::stats() const {
  BufferCacheStats st;
  for (uint32_t i = 0; i <= impl_->shard_mask; i++) {
    Shard& s = impl_->shards[i];
    Lock lk(s.mu);
    st.hits += s.hits;
    st.misses += s.misses;
    st.writebacks += s.writebacks;
    st.evictions += s.evictions;
    st.cached += s.count;
    st.dirty += s.dirty;
  }
  return st;
}

Disk& BufferCache::disk() {
  return *impl_->disk;
}

void BufferCache::buffer_mark_dirty(BufferSlot* slot) {
  Buf* b = from_slot(slot);
  Shard& s = impl_->shards[b->shard];
  Lock lk(s.mu);
  b->gen++;
  if (!b->dirty) {
    b->dirty = true;
    s.dirty++;
  }
}

Status BufferCache::buffer_sync(BufferSlot* slot) {
  Buf* b = from_slot(slot);
  Shard& s = impl_->shards[b->shard];
  Lock lk(s.mu);
  return impl_->writeback(s, lk, b, false);
}

void BufferCache::buffer_release(BufferSlot* slot) {
  Buf* b = from_slot(slot);
  Shard& s = impl_->shards[b->shard];
  Lock lk(s.mu);
  impl_->unpin(s, b, false);
}

}  // namespace bento::user
