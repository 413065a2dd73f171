// A simple userspace BlockDevice for the tools and tests: a write-back cache over an image
// held in memory or in a file. Written by the fs team so mkfs/fsck/tests do not wait for
// kernel/user's BufferCache; it is deliberately small (one mutex, evicts on unpin above
// capacity). "Durable" means written to the backing (vector or file).
#pragma once

#include <bento/block_device.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace bentofs {

class ImageDevice final : public bento::BlockDevice {
 public:
  // In-memory image of `blocks` zeroed blocks, or of the given bytes.
  static std::unique_ptr<ImageDevice> memory(uint64_t blocks);
  static std::unique_ptr<ImageDevice> from_bytes(std::vector<uint8_t> bytes);
  // An image file opened read-write (or read-only). nullptr and *err on failure.
  static std::unique_ptr<ImageDevice> open_file(const std::string& path, bool read_only,
                                                std::string* err);
  ~ImageDevice() override;

  uint32_t block_size() const override { return 4096; }
  uint64_t block_count() const override { return blocks_; }
  bento::Result<bento::BufferHead> bread(uint64_t n) override;
  bento::Result<bento::BufferHead> getblk(uint64_t n) override;
  bento::Status sync_all() override;
  bento::Status flush() override;
  bento::Status write_around(uint64_t n, std::span<const uint8_t> data) override;
  bool can_write_around() const override { return write_around_; }

  // Memory images: a copy of what is durable now (the crash image), ignoring the cache.
  std::vector<uint8_t> durable_bytes();
  // Drops every unpinned cached buffer without writing it (simulates losing the cache).
  void drop_clean_cache();
  uint64_t cached_blocks();
  // Writes raw bytes straight to the backing (tests corrupt images with this).
  void poke(uint64_t offset, const void* data, size_t len);
  void peek(uint64_t offset, void* data, size_t len);
  void set_capacity(uint64_t blocks) { capacity_ = blocks; }

  // Crash testing (memory images): records every write reaching the backing and every
  // flush, so any prefix of the write stream can be rebuilt as a crash image.
  void start_recording();
  size_t recorded();  // number of records so far
  bool record_is_flush(size_t i);
  std::vector<uint8_t> image_after(size_t nrecords);  // base + the first n records
  // Applies records [from, to) to *img (an image_after(from)): walks crash points forward
  // without rebuilding each image from the base.
  void apply_records(std::vector<uint8_t>* img, size_t from, size_t to);
  // Tests: called at the start of every flush() (a journal commit's barrier), outside the
  // device's lock; it may block to hold a commit in flight. Empty: none.
  void set_flush_hook(std::function<void()> hook);
  // Tests: off makes the device one that cannot write around its cache (the kernel host's
  // today), so the journal's checkpoint writes the live buffers with handles kept out.
  void set_write_around(bool on) { write_around_ = on; }

 protected:
  void buffer_mark_dirty(bento::BufferSlot* slot) override;
  bento::Status buffer_sync(bento::BufferSlot* slot) override;
  void buffer_release(bento::BufferSlot* slot) override;

 private:
  struct Slot {
    uint64_t blockno = 0;
    uint32_t pins = 0;
    bool dirty = false;
    alignas(64) uint8_t data[4096];
  };
  ImageDevice() = default;
  bento::Result<bento::BufferHead> get(uint64_t n, bool read);
  bento::Status write_back(Slot* s);
  bento::Status store(uint64_t n, const uint8_t* data);  // to the backing, recorded
  bento::Status read_backing(uint64_t n, uint8_t* out);

  uint64_t blocks_ = 0;
  uint64_t capacity_ = 65536;
  int fd_ = -1;
  std::vector<uint8_t> mem_;
  struct Record {
    int64_t block;  // -1: flush
    std::vector<uint8_t> data;
  };
  bool recording_ = false;
  bool write_around_ = true;
  std::mutex hook_mu_;  // guards flush_hook_ (set while the commit thread may flush)
  std::function<void()> flush_hook_;
  std::vector<uint8_t> base_;
  std::vector<Record> records_;
  std::mutex mu_;
  std::unordered_map<uint64_t, std::unique_ptr<Slot>> cache_;
};

}  // namespace bentofs
