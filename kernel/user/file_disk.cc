// A Disk over an image file or a block device, with plain pread/pwrite (the buffer cache
// above does the caching, the page cache below is left on: O_DIRECT is not wanted here).
#include <bento/services.h>
#include <bento/user/disk.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

namespace bento::user {
namespace {

void log_io_error(const char* what, const std::string& path, uint64_t n, int err) {
  char msg[512];
  int len = snprintf(msg, sizeof(msg), "%s %s block %llu: %s", what, path.c_str(),
                     static_cast<unsigned long long>(n), strerror(err));
  if (len < 0) return;
  bento_ks_log(0, msg, std::min(static_cast<size_t>(len), sizeof(msg) - 1));
}

class FileDisk final : public Disk {
 public:
  FileDisk(int fd, std::string path, uint32_t block_size, uint64_t block_count, bool read_only,
           bool is_block_device)
      : fd_(fd),
        path_(std::move(path)),
        block_size_(block_size),
        block_count_(block_count),
        read_only_(read_only),
        is_block_device_(is_block_device) {}
  ~FileDisk() override { (void)close(fd_); }

  uint32_t block_size() const override { return block_size_; }
  uint64_t block_count() const override { return block_count_; }

  Status read_block(uint64_t n, std::span<uint8_t> buf) override {
    if (n >= block_count_ || buf.size() != block_size_) return Err(EINVAL);
    size_t done = 0;
    while (done < buf.size()) {
      ssize_t r = pread(fd_, buf.data() + done, buf.size() - done, offset(n) + done);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        // r == 0: the image shrank under us; the block we were promised is gone.
        log_io_error("read", path_, n, r == 0 ? EIO : errno);
        return Err(EIO);
      }
      done += static_cast<size_t>(r);
    }
    return Status::Ok();
  }

  Status write_block(uint64_t n, std::span<const uint8_t> buf) override {
    if (n >= block_count_ || buf.size() != block_size_) return Err(EINVAL);
    if (read_only_) return Err(EROFS);
    size_t done = 0;
    while (done < buf.size()) {
      ssize_t r = pwrite(fd_, buf.data() + done, buf.size() - done, offset(n) + done);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        int err = r == 0 ? EIO : errno;
        log_io_error("write", path_, n, err);
        return Err(err == ENOSPC ? ENOSPC : EIO);
      }
      done += static_cast<size_t>(r);
    }
    return Status::Ok();
  }

  Status flush() override {
    if (read_only_) return Status::Ok();
    // fdatasync skips metadata a block device does not have; an image file's size never
    // changes through us, so its data is all that needs to be durable.
    int rc;
    do {
      rc = is_block_device_ ? fsync(fd_) : fdatasync(fd_);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) {
      log_io_error("flush", path_, 0, errno);
      return Err(EIO);
    }
    return Status::Ok();
  }

 private:
  off_t offset(uint64_t n) const { return static_cast<off_t>(n * block_size_); }

  int fd_;
  std::string path_;
  uint32_t block_size_;
  uint64_t block_count_;
  bool read_only_;
  bool is_block_device_;
};

DiskOpenResult fail(const std::string& path, int err, const std::string& why) {
  DiskOpenResult r;
  r.error.error = err;
  r.error.message = "image " + path + ": " + why;
  return r;
}

}  // namespace

DiskOpenResult open_file_disk(const std::string& path, uint32_t block_size, bool read_only) {
  if (block_size == 0 || (block_size & (block_size - 1)) != 0)
    return fail(path, EINVAL,
                "block size " + std::to_string(block_size) + " is not a power of two");
  int fd;
  do {
    fd = open(path.c_str(), (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    int err = errno;
    return fail(path, err, strerror(err));
  }
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    int err = errno;
    (void)close(fd);
    return fail(path, err, strerror(err));
  }
  uint64_t bytes = 0;
  bool is_blk = S_ISBLK(st.st_mode);
  if (is_blk) {
    if (ioctl(fd, BLKGETSIZE64, &bytes) != 0) {
      int err = errno;
      (void)close(fd);
      return fail(path, err, std::string("cannot get device size: ") + strerror(err));
    }
  } else if (S_ISREG(st.st_mode)) {
    bytes = static_cast<uint64_t>(st.st_size);
  } else {
    (void)close(fd);
    return fail(path, EINVAL, "not a regular file or block device");
  }
  uint64_t count = bytes / block_size;
  if (count == 0) {
    (void)close(fd);
    return fail(path, EINVAL,
                "smaller than one block (" + std::to_string(bytes) + " bytes, block size " +
                    std::to_string(block_size) + ")");
  }
  DiskOpenResult r;
  r.disk = std::make_unique<FileDisk>(fd, path, block_size, count, read_only, is_blk);
  return r;
}

}  // namespace bento::user
