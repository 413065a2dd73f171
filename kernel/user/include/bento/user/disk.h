// Raw block storage under the userspace buffer cache: an image file or a block device.
// Kept separate from the cache so tests can interpose (record writes for crash replay,
// inject I/O errors) without touching the file system or the cache.
#pragma once

#include <bento/result.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace bento::user {

class Disk {
 public:
  virtual ~Disk() = default;
  virtual uint32_t block_size() const = 0;
  virtual uint64_t block_count() const = 0;
  // Whole blocks only: buf.size() == block_size(). EIO on failure, EINVAL past the end.
  virtual Status read_block(uint64_t n, std::span<uint8_t> buf) = 0;
  virtual Status write_block(uint64_t n, std::span<const uint8_t> buf) = 0;
  // Durability barrier: every completed write is on stable storage when this returns.
  virtual Status flush() = 0;
};

// An image file or a block device opened with O_RDWR (or O_RDONLY). The size is the
// file's size (or BLKGETSIZE64) rounded down to whole blocks. Errors carry a message.
struct OpenError {
  int error = 0;
  std::string message;
};
struct DiskOpenResult {
  std::unique_ptr<Disk> disk;  // null on error
  OpenError error;
};
DiskOpenResult open_file_disk(const std::string& path, uint32_t block_size, bool read_only);

}  // namespace bento::user
