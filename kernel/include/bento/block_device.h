// The block layer a file system sees: fixed-size blocks read through a buffer cache.
//
// Mirrors the kernel's buffer_head API (sb_bread, sb_getblk, mark_buffer_dirty,
// sync_dirty_buffer, brelse) with RAII: a BufferHead pins its block in the cache and
// unpins it in its destructor. Two BufferHeads for the same block share one buffer, so
// concurrent writers to a block must be serialised by the file system's own locks.
//
// Dirty buffers are written back by the cache on its own schedule (eviction) and at
// sync_all(); a file system that needs ordering (a journal) writes its commit blocks with
// BufferHead::sync() and calls flush() as a barrier.
#pragma once

#include <bento/result.h>

#include <cstdint>
#include <span>

namespace bento {

class BlockDevice;
struct BufferSlot;  // owned by the device's cache; opaque to file systems

class BufferHead {
 public:
  BufferHead() = default;
  BufferHead(BlockDevice* dev, BufferSlot* slot, uint8_t* data, uint64_t blockno, uint32_t size)
      : dev_(dev), slot_(slot), data_(data), blockno_(blockno), size_(size) {}
  BufferHead(BufferHead&& o) noexcept { take(o); }
  BufferHead& operator=(BufferHead&& o) noexcept {
    if (this != &o) {
      release();
      take(o);
    }
    return *this;
  }
  BufferHead(const BufferHead&) = delete;
  BufferHead& operator=(const BufferHead&) = delete;
  ~BufferHead() { release(); }

  uint64_t blockno() const { return blockno_; }
  std::span<const uint8_t> data() const { return {data_, size_}; }
  // Mutable view. Call mark_dirty() after changing it, or the change may be lost.
  std::span<uint8_t> data_mut() { return {data_, size_}; }
  inline void mark_dirty();
  // Writes this block to the device now if it is dirty (so mark_dirty() first); a clean
  // buffer already matches the device. Not a barrier: see BlockDevice::flush().
  inline Status sync();
  // Unpins early; the handle becomes empty.
  inline void release();
  explicit operator bool() const { return slot_ != nullptr; }

 private:
  void take(BufferHead& o) {
    dev_ = o.dev_;
    slot_ = o.slot_;
    data_ = o.data_;
    blockno_ = o.blockno_;
    size_ = o.size_;
    o.dev_ = nullptr;
    o.slot_ = nullptr;
    o.data_ = nullptr;
  }
  BlockDevice* dev_ = nullptr;
  BufferSlot* slot_ = nullptr;
  uint8_t* data_ = nullptr;
  uint64_t blockno_ = 0;
  uint32_t size_ = 0;
};

class BlockDevice {
 public:
  virtual ~BlockDevice() = default;

  virtual uint32_t block_size() const = 0;
  virtual uint64_t block_count() const = 0;

  // Reads block n (from the cache when present). EIO on a device error, EINVAL past the end.
  virtual Result<BufferHead> bread(uint64_t n) = 0;
  // Returns block n's buffer without reading the device: for blocks about to be fully
  // overwritten. Its contents are the cached ones if cached, else zeroes.
  virtual Result<BufferHead> getblk(uint64_t n) = 0;
  // Writes every dirty buffer, then makes everything written durable (a barrier).
  virtual Status sync_all() = 0;
  // Makes every completed write durable (FLUSH/FUA): the ordering point for journals.
  virtual Status flush() = 0;
  // Writes data (one block) to block n on the device around the cache: a cached buffer of
  // n is left as it is, so it must not be dirty (its write-back would undo this write).
  // Lets a journal write a frozen copy of a block home while the live buffer changes
  // again. Not durable before flush(). EOPNOTSUPP (the default): the device cannot
  // (can_write_around() says so beforehand), and the caller writes the buffer itself.
  virtual Status write_around(uint64_t n, std::span<const uint8_t> data) {
    (void)n;
    (void)data;
    return Err(EOPNOTSUPP);
  }
  virtual bool can_write_around() const { return false; }

 protected:
  friend class BufferHead;
  virtual void buffer_mark_dirty(BufferSlot* slot) = 0;
  virtual Status buffer_sync(BufferSlot* slot) = 0;
  virtual void buffer_release(BufferSlot* slot) = 0;
};

inline void BufferHead::mark_dirty() {
  dev_->buffer_mark_dirty(slot_);
}
inline Status BufferHead::sync() {
  return dev_->buffer_sync(slot_);
}
inline void BufferHead::release() {
  if (slot_ != nullptr) dev_->buffer_release(slot_);
  dev_ = nullptr;
  slot_ = nullptr;
  data_ = nullptr;
}

}  // namespace bento
