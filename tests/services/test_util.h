// Helpers shared by the services tests: block patterns and disks that stall on purpose.
#pragma once

#include <bento/user/disk.h>
#include <bento/user/test_disks.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

namespace bento::user::testing {

// A block's contents that name the block and a version, so misplaced or stale data shows.
inline void fill_pattern(std::span<uint8_t> d, uint64_t block, uint64_t version) {
  uint64_t x = block * 0x9e3779b97f4a7c15ULL ^ (version + 1) * 0xc2b2ae3d27d4eb4fULL;
  for (size_t i = 0; i < d.size(); i += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    memcpy(d.data() + i, &x, std::min<size_t>(8, d.size() - i));
  }
}

// version 0 means "never written": all zeroes.
inline bool has_pattern(std::span<const uint8_t> d, uint64_t block, uint64_t version) {
  std::vector<uint8_t> want(d.size(), 0);
  if (version != 0) fill_pattern(want, block, version);
  return memcmp(want.data(), d.data(), d.size()) == 0;
}

// Blocks the first write (or read) of one block until open() is called, so a test can act
// while that I/O is provably in flight.
class GateDisk final : public Disk {
 public:
  GateDisk(std::unique_ptr<Disk> inner, uint64_t block, bool gate_reads)
      : inner_(std::move(inner)), block_(block), gate_reads_(gate_reads) {}
  uint32_t block_size() const override { return inner_->block_size(); }
  uint64_t block_count() const override { return inner_->block_count(); }
  Status read_block(uint64_t n, std::span<uint8_t> buf) override {
    if (gate_reads_ && n == block_) pass();
    return inner_->read_block(n, buf);
  }
  Status write_block(uint64_t n, std::span<const uint8_t> buf) override {
    if (!gate_reads_ && n == block_) pass();
    return inner_->write_block(n, buf);
  }
  Status flush() override { return inner_->flush(); }

  // Waits until some thread is held at the gate; false after 10 s.
  bool wait_entered() {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, std::chrono::seconds(10), [&] { return entered_ > 0; });
  }
  void open() {
    std::lock_guard lk(mu_);
    open_ = true;
    cv_.notify_all();
  }
  int passes() {
    std::lock_guard lk(mu_);
    return entered_;
  }

 private:
  void pass() {
    std::unique_lock lk(mu_);
    if (entered_++ != 0) return;  // only the first one is held
    cv_.notify_all();
    cv_.wait(lk, [&] { return open_; });
  }
  std::unique_ptr<Disk> inner_;
  uint64_t block_;
  bool gate_reads_;
  std::mutex mu_;
  std::condition_variable cv_;
  int entered_ = 0;
  bool open_ = false;
};

// Forwards to a disk the test keeps owning (a BufferCache insists on owning its disk).
class BorrowedDisk final : public Disk {
 public:
  explicit BorrowedDisk(Disk& d) : d_(d) {}
  uint32_t block_size() const override { return d_.block_size(); }
  uint64_t block_count() const override { return d_.block_count(); }
  Status read_block(uint64_t n, std::span<uint8_t> b) override { return d_.read_block(n, b); }
  Status write_block(uint64_t n, std::span<const uint8_t> b) override {
    return d_.write_block(n, b);
  }
  Status flush() override { return d_.flush(); }

 private:
  Disk& d_;
};

// Adds latency to reads, widening the window in which concurrent misses overlap.
class SlowDisk final : public Disk {
 public:
  SlowDisk(std::unique_ptr<Disk> inner, std::chrono::microseconds delay)
      : inner_(std::move(inner)), delay_(delay) {}
  uint32_t block_size() const override { return inner_->block_size(); }
  uint64_t block_count() const override { return inner_->block_count(); }
  Status read_block(uint64_t n, std::span<uint8_t> buf) override {
    std::this_thread::sleep_for(delay_);
    return inner_->read_block(n, buf);
  }
  Status write_block(uint64_t n, std::span<const uint8_t> buf) override {
    return inner_->write_block(n, buf);
  }
  Status flush() override { return inner_->flush(); }

 private:
  std::unique_ptr<Disk> inner_;
  std::chrono::microseconds delay_;
};

}  // namespace bento::user::testing
