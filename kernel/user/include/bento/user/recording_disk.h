// Write recording for crash-consistency tests.
//
// A RecordingDisk passes every operation through to an inner disk and appends each
// successful write (block number and a copy of the data) and flush to a DiskLog, in the
// order the inner disk saw them. crash_image() then rebuilds "the disk as it was at crash
// point k": a base image (a copy taken before the run) plus the first k logged writes.
// Crash points at flushes (flush_points()) are the states a correct fs must always recover
// from; the points in between test that it also survives torn sequences of writes.
#pragma once

#include <bento/user/disk.h>
#include <bento/user/test_disks.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

namespace bento::user {

struct DiskLogEntry {
  enum class Kind { kWrite, kFlush };
  Kind kind = Kind::kWrite;
  uint64_t block = 0;         // kWrite only
  std::vector<uint8_t> data;  // kWrite only
};

// The ordered log of writes and flushes. Thread-safe.
class DiskLog {
 public:
  void append_write(uint64_t block, std::span<const uint8_t> data);
  void append_flush();
  void clear();

  // A snapshot of the entries, in order.
  std::vector<DiskLogEntry> entries() const;
  size_t write_count() const;
  // For each flush, how many writes preceded it: the crash points a flush made durable.
  std::vector<size_t> flush_points() const;
  // Writes the first k logged writes to target, in order (without copying the log).
  Status apply(Disk& target, size_t k) const;

 private:
  mutable std::mutex mu_;
  std::vector<DiskLogEntry> entries_;
  size_t writes_ = 0;
};

class RecordingDisk final : public Disk {
 public:
  // The log is shared so that it outlives the disk (a BufferCache owns its disk).
  explicit RecordingDisk(std::unique_ptr<Disk> inner,
                         std::shared_ptr<DiskLog> log = std::make_shared<DiskLog>());

  uint32_t block_size() const override { return inner_->block_size(); }
  uint64_t block_count() const override { return inner_->block_count(); }
  Status read_block(uint64_t n, std::span<uint8_t> buf) override;
  Status write_block(uint64_t n, std::span<const uint8_t> buf) override;
  Status flush() override;

  const std::shared_ptr<DiskLog>& log() const { return log_; }
  Disk& inner() { return *inner_; }

 private:
  std::unique_ptr<Disk> inner_;
  std::shared_ptr<DiskLog> log_;
  std::mutex order_mu_;  // makes the log order the order the inner disk applied writes in
};

// base + the first k writes of log (k is clamped to the number of writes). Null if one of
// those writes does not fit base's geometry (the log came from another disk).
std::unique_ptr<MemoryDisk> crash_image(const MemoryDisk& base, const DiskLog& log, size_t k);

}  // namespace bento::user
