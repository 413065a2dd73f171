// MemoryDisk and FaultyDisk: see test_disks.h.
#include <bento/user/test_disks.h>

#include <cstring>

namespace bento::user {

MemoryDisk::MemoryDisk(uint32_t block_size, uint64_t block_count)
    : block_size_(block_size),
      block_count_(block_count),
      bytes_(static_cast<size_t>(block_size) * block_count, 0) {}

Status MemoryDisk::read_block(uint64_t n, std::span<uint8_t> buf) {
  if (n >= block_count_ || buf.size() != block_size_) return Err(EINVAL);
  reads_++;
  std::lock_guard lk(mu_);
  memcpy(buf.data(), bytes_.data() + n * block_size_, block_size_);
  return Status::Ok();
}

Status MemoryDisk::write_block(uint64_t n, std::span<const uint8_t> buf) {
  if (n >= block_count_ || buf.size() != block_size_) return Err(EINVAL);
  writes_++;
  std::lock_guard lk(mu_);
  memcpy(bytes_.data() + n * block_size_, buf.data(), block_size_);
  return Status::Ok();
}

Status MemoryDisk::flush() {
  flushes_++;
  return Status::Ok();
}

std::unique_ptr<MemoryDisk> MemoryDisk::clone() const {
  auto copy = std::make_unique<MemoryDisk>(block_size_, block_count_);
  std::lock_guard lk(mu_);
  copy->bytes_ = bytes_;
  return copy;
}

std::vector<uint8_t> MemoryDisk::block(uint64_t n) const {
  if (n >= block_count_) return {};
  std::lock_guard lk(mu_);
  auto first = bytes_.begin() + static_cast<ptrdiff_t>(n * block_size_);
  return std::vector<uint8_t>(first, first + block_size_);
}

bool MemoryDisk::same_contents(const MemoryDisk& other) const {
  if (this == &other) return true;
  std::scoped_lock lk(mu_, other.mu_);
  return block_size_ == other.block_size_ && bytes_ == other.bytes_;
}

FaultyDisk::FaultyDisk(std::unique_ptr<Disk> inner) : inner_(std::move(inner)) {}

bool FaultyDisk::should_fail(const std::set<uint64_t>* blocks, uint64_t n) {
  std::lock_guard lk(mu_);
  bool fail = false;
  if (countdown_) {
    if (remaining_ == 0) {
      fail = true;
    } else {
      remaining_--;
    }
  }
  if (blocks != nullptr && blocks->count(n) != 0) fail = true;
  if (fail) injected_++;
  return fail;
}

Status FaultyDisk::read_block(uint64_t n, std::span<uint8_t> buf) {
  if (should_fail(&bad_reads_, n)) return Err(EIO);
  return inner_->read_block(n, buf);
}

Status FaultyDisk::write_block(uint64_t n, std::span<const uint8_t> buf) {
  if (should_fail(&bad_writes_, n)) return Err(EIO);
  return inner_->write_block(n, buf);
}

Status FaultyDisk::flush() {
  bool bad;
  {
    std::lock_guard lk(mu_);
    bad = bad_flushes_;
  }
  if (bad) {
    injected_++;
    return Err(EIO);
  }
  if (should_fail(nullptr, 0)) return Err(EIO);
  return inner_->flush();
}

void FaultyDisk::fail_reads_of(uint64_t n) {
  std::lock_guard lk(mu_);
  bad_reads_.insert(n);
}

void FaultyDisk::fail_writes_of(uint64_t n) {
  std::lock_guard lk(mu_);
  bad_writes_.insert(n);
}

void FaultyDisk::fail_flushes(bool on) {
  std::lock_guard lk(mu_);
  bad_flushes_ = on;
}

void FaultyDisk::fail_after(uint64_t n) {
  std::lock_guard lk(mu_);
  countdown_ = true;
  remaining_ = n;
}

void FaultyDisk::heal() {
  std::lock_guard lk(mu_);
  bad_reads_.clear();
  bad_writes_.clear();
  bad_flushes_ = false;
  countdown_ = false;
}

}  // namespace bento::user
