// Disks for tests: one in RAM, and a decorator that injects I/O errors.
#pragma once

#include <bento/user/disk.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <vector>

namespace bento::user {

// A Disk held in memory, zero-filled at creation. Thread-safe. Counts its operations so
// tests can check how often the cache went to the disk.
class MemoryDisk final : public Disk {
 public:
  MemoryDisk(uint32_t block_size, uint64_t block_count);

  uint32_t block_size() const override { return block_size_; }
  uint64_t block_count() const override { return block_count_; }
  Status read_block(uint64_t n, std::span<uint8_t> buf) override;
  Status write_block(uint64_t n, std::span<const uint8_t> buf) override;
  Status flush() override;

  // A copy of the whole disk (for example a base image before a recorded run).
  std::unique_ptr<MemoryDisk> clone() const;
  // Copies block n out (empty if out of range).
  std::vector<uint8_t> block(uint64_t n) const;
  bool same_contents(const MemoryDisk& other) const;

  uint64_t reads() const { return reads_.load(); }
  uint64_t writes() const { return writes_.load(); }
  uint64_t flushes() const { return flushes_.load(); }

 private:
  uint32_t block_size_;
  uint64_t block_count_;
  mutable std::mutex mu_;  // guards bytes_
  std::vector<uint8_t> bytes_;
  std::atomic<uint64_t> reads_{0}, writes_{0}, flushes_{0};
};

// Passes operations through to an inner disk, failing chosen ones with EIO: reads or writes
// of given blocks, every flush, or every operation after the next N have succeeded.
// Thread-safe; the failure set can change while the disk is in use.
class FaultyDisk final : public Disk {
 public:
  explicit FaultyDisk(std::unique_ptr<Disk> inner);

  uint32_t block_size() const override { return inner_->block_size(); }
  uint64_t block_count() const override { return inner_->block_count(); }
  Status read_block(uint64_t n, std::span<uint8_t> buf) override;
  Status write_block(uint64_t n, std::span<const uint8_t> buf) override;
  Status flush() override;

  void fail_reads_of(uint64_t n);
  void fail_writes_of(uint64_t n);
  void fail_flushes(bool on);
  // After n more successful operations (reads, writes, flushes), every operation fails.
  void fail_after(uint64_t n);
  // Stops injecting failures.
  void heal();

  uint64_t injected_failures() const { return injected_.load(); }
  Disk& inner() { return *inner_; }

 private:
  bool should_fail(const std::set<uint64_t>* blocks, uint64_t n);

  std::unique_ptr<Disk> inner_;
  std::mutex mu_;  // guards the failure configuration
  std::set<uint64_t> bad_reads_, bad_writes_;
  bool bad_flushes_ = false;
  bool countdown_ = false;
  uint64_t remaining_ = 0;
  std::atomic<uint64_t> injected_{0};
};

}  // namespace bento::user
