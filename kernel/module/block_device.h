// The kernel host's BlockDevice: the fs's blocks are the mounted device's buffer_heads
// (sb_bread/sb_getblk, mark_buffer_dirty, sync_dirty_buffer, brelse in glue/bdev.c). A
// BufferSlot is the buffer_head itself; each BufferHead holds one reference to it.
// No write_around yet (a bio of a private page would do it): Bento-fs's checkpoints keep
// handles out for their write-back here (fs/NOTES.md "Checkpoints that keep no handle out").
#pragma once

#include <bento/block_device.h>

#include "bridge.h"

namespace bento::kernel {

class KernelBlockDevice final : public BlockDevice {
 public:
  KernelBlockDevice(void* sb, uint64_t block_count, uint32_t block_size)
      : sb_(sb), block_count_(block_count), block_size_(block_size) {}

  uint32_t block_size() const override { return block_size_; }
  uint64_t block_count() const override { return block_count_; }
  Result<BufferHead> bread(uint64_t n) override { return get(n, true); }
  Result<BufferHead> getblk(uint64_t n) override { return get(n, false); }
  Status sync_all() override { return status(bento_kbd_sync_all(sb_)); }
  Status flush() override { return status(bento_kbd_flush(sb_)); }

 protected:
  void buffer_mark_dirty(BufferSlot* slot) override { bento_kbd_mark_dirty(slot); }
  Status buffer_sync(BufferSlot* slot) override { return status(bento_kbd_sync(slot)); }
  void buffer_release(BufferSlot* slot) override { bento_kbd_release(slot); }

 private:
  static Status status(int rc) { return rc == 0 ? Status::Ok() : Status::Error(-rc); }
  Result<BufferHead> get(uint64_t n, bool read) {
    if (n >= block_count_) return Err(EINVAL);
    unsigned char* data = nullptr;
    int err = 0;
    void* bh = read ? bento_kbd_bread(sb_, n, &data, &err) : bento_kbd_getblk(sb_, n, &data, &err);
    if (bh == nullptr) return Err(err > 0 ? err : EIO);
    return BufferHead(this, static_cast<BufferSlot*>(bh), data, n, block_size_);
  }

  void* sb_;
  uint64_t block_count_;
  uint32_t block_size_;
};

}  // namespace bento::kernel
