// ImageLock: see bento/user/image_lock.h.
#include "bento/user/image_lock.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace bento::user {

std::unique_ptr<ImageLock> ImageLock::acquire(const std::string& path, bool exclusive,
                                              std::string* err) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    *err = path + ": " + std::strerror(errno);
    return nullptr;
  }
  if (S_ISBLK(st.st_mode)) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | (exclusive ? O_EXCL : 0));
    if (fd < 0) {
      int e = errno;
      *err = e == EBUSY ? path + " is in use (mounted, or opened by another bentofs/mkfs/fsck)"
                        : path + ": " + std::strerror(e);
      return nullptr;
    }
    return std::unique_ptr<ImageLock>(new ImageLock(fd));
  }
  int fd = ::open(path.c_str(), (exclusive ? O_RDWR : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) {
    *err = path + ": " + std::strerror(errno);
    return nullptr;
  }
  struct flock fl {};
  fl.l_type = exclusive ? F_WRLCK : F_RDLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = 0;
  fl.l_len = 0;  // the whole file
  if (::fcntl(fd, F_OFD_SETLK, &fl) != 0) {
    int e = errno;
    if (e == EAGAIN || e == EACCES) {
      // OFD locks carry no pid (F_OFD_GETLK reports -1): say what kind of user holds it.
      struct flock q {};
      q.l_type = F_WRLCK;
      q.l_whence = SEEK_SET;
      bool writer = ::fcntl(fd, F_OFD_GETLK, &q) == 0 && q.l_type == F_WRLCK;
      *err = path + " is in use by another bentofs/mkfs/fsck (" +
             (writer ? "mounted read-write or being formatted/repaired" : "mounted read-only") +
             "); unmount it first";
    } else {
      *err = path + ": cannot lock: " + std::strerror(e);
    }
    ::close(fd);
    return nullptr;
  }
  return std::unique_ptr<ImageLock>(new ImageLock(fd));
}

ImageLock::~ImageLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace bento::user
