// RecordingDisk, DiskLog and crash_image(): see recording_disk.h.
#include <bento/user/recording_disk.h>

namespace bento::user {

void DiskLog::append_write(uint64_t block, std::span<const uint8_t> data) {
  DiskLogEntry e;
  e.kind = DiskLogEntry::Kind::kWrite;
  e.block = block;
  e.data.assign(data.begin(), data.end());
  std::lock_guard lk(mu_);
  entries_.push_back(std::move(e));
  writes_++;
}

void DiskLog::append_flush() {
  std::lock_guard lk(mu_);
  entries_.push_back(DiskLogEntry{DiskLogEntry::Kind::kFlush, 0, {}});
}

void DiskLog::clear() {
  std::lock_guard lk(mu_);
  entries_.clear();
  writes_ = 0;
}

std::vector<DiskLogEntry> DiskLog::entries() const {
  std::lock_guard lk(mu_);
  return entries_;
}

size_t DiskLog::write_count() const {
  std::lock_guard lk(mu_);
  return writes_;
}

std::vector<size_t> DiskLog::flush_points() const {
  std::lock_guard lk(mu_);
  std::vector<size_t> points;
  size_t writes = 0;
  for (const DiskLogEntry& e : entries_) {
    if (e.kind == DiskLogEntry::Kind::kWrite) {
      writes++;
    } else {
      points.push_back(writes);
    }
  }
  return points;
}

RecordingDisk::RecordingDisk(std::unique_ptr<Disk> inner, std::shared_ptr<DiskLog> log)
    : inner_(std::move(inner)), log_(std::move(log)) {}

Status RecordingDisk::read_block(uint64_t n, std::span<uint8_t> buf) {
  return inner_->read_block(n, buf);
}

Status RecordingDisk::write_block(uint64_t n, std::span<const uint8_t> buf) {
  // Held across the inner write: two racing writes of one block must be logged in the order
  // they reached the disk, or replay would end with the wrong one.
  std::lock_guard lk(order_mu_);
  Status st = inner_->write_block(n, buf);
  if (st.ok()) log_->append_write(n, buf);  // a failed write changed nothing to replay
  return st;
}

Status RecordingDisk::flush() {
  std::lock_guard lk(order_mu_);
  Status st = inner_->flush();
  if (st.ok()) log_->append_flush();
  return st;
}

Status DiskLog::apply(Disk& target, size_t k) const {
  std::lock_guard lk(mu_);
  size_t applied = 0;
  for (const DiskLogEntry& e : entries_) {
    if (applied == k) break;
    if (e.kind != DiskLogEntry::Kind::kWrite) continue;
    BENTO_TRY(target.write_block(e.block, e.data));
    applied++;
  }
  return Status::Ok();
}

std::unique_ptr<MemoryDisk> crash_image(const MemoryDisk& base, const DiskLog& log, size_t k) {
  auto image = base.clone();
  if (!log.apply(*image, k).ok()) return nullptr;
  return image;
}

}  // namespace bento::user
