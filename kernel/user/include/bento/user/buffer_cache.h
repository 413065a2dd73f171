// The userspace BlockDevice: a bounded, write-back buffer cache over a Disk, safe under
// concurrent callers.
//
// - Buffers are looked up in a sharded hash table (one mutex per shard), so threads working
//   on different blocks rarely contend.
// - A BufferHead pins its buffer; unpinned buffers are kept in LRU order and reused when
//   the cache is at capacity. A dirty buffer is written to the disk before it is reused.
// - If every buffer is pinned the cache grows past its capacity rather than fail (and
//   shrinks back as buffers are unpinned); pins are short-lived in a well-behaved fs.
// - sync_all() writes every dirty buffer, then flushes the disk.
#pragma once

#include <bento/block_device.h>
#include <bento/user/disk.h>

#include <cstdint>
#include <memory>

namespace bento::user {

struct BufferCacheStats {
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t writebacks = 0;  // dirty buffers written (eviction, sync, BufferHead::sync)
  uint64_t evictions = 0;
  uint64_t cached = 0;  // buffers currently held
  uint64_t dirty = 0;   // of which dirty
};

class BufferCache final : public BlockDevice {
 public:
  // capacity_blocks: how many buffers to keep (at least a few hundred is sensible).
  BufferCache(std::unique_ptr<Disk> disk, uint64_t capacity_blocks);
  ~BufferCache() override;  // writes back dirty buffers (best effort) and flushes

  uint32_t block_size() const override;
  uint64_t block_count() const override;
  Result<BufferHead> bread(uint64_t n) override;
  Result<BufferHead> getblk(uint64_t n) override;
  Status sync_all() override;
  Status flush() override;
  Status write_around(uint64_t n, std::span<const uint8_t> data) override;
  bool can_write_around() const override { return true; }

  BufferCacheStats stats() const;
  Disk& disk();

 protected:
  void buffer_mark_dirty(BufferSlot* slot) override;
  Status buffer_sync(BufferSlot* slot) override;
  void buffer_release(BufferSlot* slot) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bento::user
