// ImageDevice: see image_device.h.
#include "tools/image_device.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace bentofs {

using bento::BufferHead;
using bento::Err;
using bento::Result;
using bento::Status;

std::unique_ptr<ImageDevice> ImageDevice::memory(uint64_t blocks) {
  std::unique_ptr<ImageDevice> d(new ImageDevice());
  d->blocks_ = blocks;
  d->mem_.assign(blocks * 4096, 0);
  return d;
}

std::unique_ptr<ImageDevice> ImageDevice::from_bytes(std::vector<uint8_t> bytes) {
  std::unique_ptr<ImageDevice> d(new ImageDevice());
  d->blocks_ = bytes.size() / 4096;
  d->mem_ = std::move(bytes);
  return d;
}

std::unique_ptr<ImageDevice> ImageDevice::open_file(const std::string& path, bool read_only,
                                                    std::string* err) {
  int fd = ::open(path.c_str(), (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
  if (fd < 0) {
    *err = path + ": " + strerror(errno);
    return nullptr;
  }
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    *err = path + ": " + strerror(errno);
    ::close(fd);
    return nullptr;
  }
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (S_ISBLK(st.st_mode)) {
    off_t end = lseek(fd, 0, SEEK_END);
    size = end > 0 ? static_cast<uint64_t>(end) : 0;
  }
  std::unique_ptr<ImageDevice> d(new ImageDevice());
  d->fd_ = fd;
  d->blocks_ = size / 4096;
  return d;
}

ImageDevice::~ImageDevice() {
  (void)sync_all();
  if (fd_ >= 0) ::close(fd_);
}

Status ImageDevice::read_backing(uint64_t n, uint8_t* out) {
  if (fd_ < 0) {
    memcpy(out, mem_.data() + n * 4096, 4096);
    return Status::Ok();
  }
  ssize_t r = pread(fd_, out, 4096, static_cast<off_t>(n * 4096));
  if (r != 4096) return Err(EIO);
  return Status::Ok();
}

Status ImageDevice::store(uint64_t n, const uint8_t* data) {
  if (fd_ < 0) {
    memcpy(mem_.data() + n * 4096, data, 4096);
    if (recording_)
      records_.push_back({static_cast<int64_t>(n), std::vector<uint8_t>(data, data + 4096)});
  } else if (pwrite(fd_, data, 4096, static_cast<off_t>(n * 4096)) != 4096) {
    return Err(EIO);
  }
  return Status::Ok();
}

Status ImageDevice::write_back(Slot* s) {
  if (!s->dirty) return Status::Ok();
  BENTO_TRY(store(s->blockno, s->data));
  s->dirty = false;
  return Status::Ok();
}

Status ImageDevice::write_around(uint64_t n, std::span<const uint8_t> data) {
  if (!write_around_) return Err(EOPNOTSUPP);
  if (n >= blocks_ || data.size() != 4096) return Err(EINVAL);
  std::lock_guard<std::mutex> g(mu_);
  return store(n, data.data());
}

Result<BufferHead> ImageDevice::get(uint64_t n, bool read) {
  if (n >= blocks_) return Err(EINVAL);
  std::lock_guard<std::mutex> g(mu_);
  auto it = cache_.find(n);
  Slot* s;
  if (it != cache_.end()) {
    s = it->second.get();
  } else {
    auto fresh = std::make_unique<Slot>();
    fresh->blockno = n;
    if (read) {
      BENTO_TRY(read_backing(n, fresh->data));
    } else {
      memset(fresh->data, 0, 4096);
    }
    s = fresh.get();
    cache_.emplace(n, std::move(fresh));
  }
  s->pins++;
  return BufferHead(this, reinterpret_cast<bento::BufferSlot*>(s), s->data, n, 4096);
}

Result<BufferHead> ImageDevice::bread(uint64_t n) {
  return get(n, true);
}
Result<BufferHead> ImageDevice::getblk(uint64_t n) {
  return get(n, false);
}

Status ImageDevice::sync_all() {
  {
    std::lock_guard<std::mutex> g(mu_);
    for (auto& [n, s] : cache_) BENTO_TRY(write_back(s.get()));
    // Trim unpinned buffers above capacity.
    if (cache_.size() > capacity_) {
      for (auto it = cache_.begin(); it != cache_.end();) {
        if (it->second->pins == 0)
          it = cache_.erase(it);
        else
          ++it;
      }
    }
  }
  return flush();
}

void ImageDevice::set_flush_hook(std::function<void()> hook) {
  std::lock_guard<std::mutex> g(hook_mu_);
  flush_hook_ = std::move(hook);
}

Status ImageDevice::flush() {
  std::function<void()> hook;
  {
    std::lock_guard<std::mutex> g(hook_mu_);
    hook = flush_hook_;
  }
  if (hook) hook();
  if (recording_) {
    std::lock_guard<std::mutex> g(mu_);
    records_.push_back({-1, {}});
  }
  if (fd_ >= 0 && fdatasync(fd_) != 0) return Err(EIO);
  return Status::Ok();
}

void ImageDevice::buffer_mark_dirty(bento::BufferSlot* slot) {
  std::lock_guard<std::mutex> g(mu_);
  reinterpret_cast<Slot*>(slot)->dirty = true;
}

Status ImageDevice::buffer_sync(bento::BufferSlot* slot) {
  std::lock_guard<std::mutex> g(mu_);
  // Like kernel/user's BufferCache: only a dirty buffer is written.
  return write_back(reinterpret_cast<Slot*>(slot));
}

void ImageDevice::buffer_release(bento::BufferSlot* slot) {
  std::lock_guard<std::mutex> g(mu_);
  Slot* s = reinterpret_cast<Slot*>(slot);
  s->pins--;
  if (s->pins == 0 && cache_.size() > capacity_) {
    if (write_back(s).ok()) cache_.erase(s->blockno);
  }
}

std::vector<uint8_t> ImageDevice::durable_bytes() {
  std::lock_guard<std::mutex> g(mu_);
  if (fd_ < 0) return mem_;
  std::vector<uint8_t> out(blocks_ * 4096);
  for (uint64_t n = 0; n < blocks_; n++) (void)read_backing(n, out.data() + n * 4096);
  return out;
}

void ImageDevice::drop_clean_cache() {
  std::lock_guard<std::mutex> g(mu_);
  for (auto it = cache_.begin(); it != cache_.end();) {
    if (it->second->pins == 0 && !it->second->dirty)
      it = cache_.erase(it);
    else
      ++it;
  }
}

void ImageDevice::start_recording() {
  std::lock_guard<std::mutex> g(mu_);
  base_ = mem_;
  records_.clear();
  recording_ = true;
}

size_t ImageDevice::recorded() {
  std::lock_guard<std::mutex> g(mu_);
  return records_.size();
}

bool ImageDevice::record_is_flush(size_t i) {
  std::lock_guard<std::mutex> g(mu_);
  return records_[i].block < 0;
}

std::vector<uint8_t> ImageDevice::image_after(size_t n) {
  std::lock_guard<std::mutex> g(mu_);
  std::vector<uint8_t> img = base_;
  for (size_t i = 0; i < n && i < records_.size(); i++)
    if (records_[i].block >= 0)
      memcpy(img.data() + records_[i].block * 4096, records_[i].data.data(), 4096);
  return img;
}

void ImageDevice::apply_records(std::vector<uint8_t>* img, size_t from, size_t to) {
  std::lock_guard<std::mutex> g(mu_);
  for (size_t i = from; i < to && i < records_.size(); i++)
    if (records_[i].block >= 0)
      memcpy(img->data() + records_[i].block * 4096, records_[i].data.data(), 4096);
}

uint64_t ImageDevice::cached_blocks() {
  std::lock_guard<std::mutex> g(mu_);
  return cache_.size();
}

void ImageDevice::poke(uint64_t offset, const void* data, size_t len) {
  std::lock_guard<std::mutex> g(mu_);
  if (fd_ < 0) {
    memcpy(mem_.data() + offset, data, len);
  } else {
    (void)!pwrite(fd_, data, len, static_cast<off_t>(offset));
  }
  // Keep the cache coherent with the poke.
  for (uint64_t b = offset / 4096; b <= (offset + len - 1) / 4096; b++) {
    auto it = cache_.find(b);
    if (it != cache_.end() && it->second->pins == 0) cache_.erase(it);
  }
}

void ImageDevice::peek(uint64_t offset, void* data, size_t len) {
  std::lock_guard<std::mutex> g(mu_);
  if (fd_ < 0)
    memcpy(data, mem_.data() + offset, len);
  else
    (void)!pread(fd_, data, len, static_cast<off_t>(offset));
}

}  // namespace bentofs
