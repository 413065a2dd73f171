// Scoped read/write guards for the raw per-inode locks (InodeObj::lock).
#pragma once

#include <bento/sync.h>

namespace bentofs {

class ReadLock {
 public:
  explicit ReadLock(bento::RawRwLock& l) : l_(l) { l_.lock_shared(); }
  ~ReadLock() { l_.unlock_shared(); }
  ReadLock(const ReadLock&) = delete;

 private:
  bento::RawRwLock& l_;
};
class WriteLock {
 public:
  explicit WriteLock(bento::RawRwLock& l) : l_(&l) { l_->lock(); }
  WriteLock() = default;
  ~WriteLock() {
    if (l_ != nullptr) l_->unlock();
  }
  void lock(bento::RawRwLock& l) {
    l_ = &l;
    l_->lock();
  }
  WriteLock(const WriteLock&) = delete;

 private:
  bento::RawRwLock* l_ = nullptr;
};

}  // namespace bentofs
