// One writer per image: bentofs, mkfs.bento and fsck.bento (unless -n) hold a lock on the
// image for as long as they use it, so a second mount, a mkfs or a repairing fsck of a
// mounted image is refused instead of destroying it.
//
// Regular file: an open-file-description lock (fcntl F_OFD_SETLK) on the whole file,
// exclusive for writers, shared for read-only mounts (many readers, no writer). OFD locks
// survive fork (bentofs takes it before it daemonises) and vanish when the last descriptor
// closes, also on a crash. Block device: open(O_EXCL), which the kernel also refuses while
// the device is mounted; read-only users take no lock there.
#pragma once

#include <memory>
#include <string>

namespace bento::user {

class ImageLock {
 public:
  // nullptr and *err ("IMAGE is in use by another bentofs/mkfs/fsck ...") when the lock is
  // held elsewhere or the image cannot be opened.
  static std::unique_ptr<ImageLock> acquire(const std::string& path, bool exclusive,
                                            std::string* err);
  ~ImageLock();
  ImageLock(const ImageLock&) = delete;
  ImageLock& operator=(const ImageLock&) = delete;
  // The descriptor holding the lock (O_RDWR when exclusive on a regular file).
  int fd() const { return fd_; }

 private:
  explicit ImageLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace bento::user
