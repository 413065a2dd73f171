// Locks that own the data they protect (Rust-style), over the kernel-services shim:
// pthreads in userspace, rw_semaphore/mutex in the kernel. The only way to reach the data
// is through a guard, and guards release in their destructors.
//
//   RwLock<Table> table;
//   { auto r = table.read();  r->lookup(...); }
//   { auto w = table.write(); w->insert(...); }
#pragma once

#include <bento/services.h>

#include <cstdint>
#include <utility>

namespace bento {

// The untyped primitives. Not movable: the shim's storage may be self-referential.
class RawRwLock {
 public:
  RawRwLock() { bento_ks_rwlock_init(storage_); }
  ~RawRwLock() { bento_ks_rwlock_destroy(storage_); }
  RawRwLock(const RawRwLock&) = delete;
  RawRwLock& operator=(const RawRwLock&) = delete;
  void lock_shared() { bento_ks_rwlock_read_lock(storage_); }
  void unlock_shared() { bento_ks_rwlock_read_unlock(storage_); }
  void lock() { bento_ks_rwlock_write_lock(storage_); }
  void unlock() { bento_ks_rwlock_write_unlock(storage_); }

 private:
  alignas(16) unsigned char storage_[BENTO_KS_LOCK_STORAGE];
};

class RawMutex {
 public:
  RawMutex() { bento_ks_mutex_init(storage_); }
  ~RawMutex() { bento_ks_mutex_destroy(storage_); }
  RawMutex(const RawMutex&) = delete;
  RawMutex& operator=(const RawMutex&) = delete;
  void lock() { bento_ks_mutex_lock(storage_); }
  bool try_lock() { return bento_ks_mutex_trylock(storage_) == 1; }
  void unlock() { bento_ks_mutex_unlock(storage_); }
  void* native() { return storage_; }

 private:
  alignas(16) unsigned char storage_[BENTO_KS_LOCK_STORAGE];
};

template <typename T>
class RwLock {
 public:
  template <typename... Args>
  explicit RwLock(Args&&... args) : value_(std::forward<Args>(args)...) {}

  class ReadGuard {
   public:
    explicit ReadGuard(RwLock& l) : l_(&l) { l_->raw_.lock_shared(); }
    ReadGuard(ReadGuard&& o) noexcept : l_(o.l_) { o.l_ = nullptr; }
    ReadGuard(const ReadGuard&) = delete;
    ReadGuard& operator=(const ReadGuard&) = delete;
    ~ReadGuard() {
      if (l_ != nullptr) l_->raw_.unlock_shared();
    }
    const T* operator->() const { return &l_->value_; }
    const T& operator*() const { return l_->value_; }

   private:
    RwLock* l_;
  };

  class WriteGuard {
   public:
    explicit WriteGuard(RwLock& l) : l_(&l) { l_->raw_.lock(); }
    WriteGuard(WriteGuard&& o) noexcept : l_(o.l_) { o.l_ = nullptr; }
    WriteGuard(const WriteGuard&) = delete;
    WriteGuard& operator=(const WriteGuard&) = delete;
    ~WriteGuard() {
      if (l_ != nullptr) l_->raw_.unlock();
    }
    T* operator->() const { return &l_->value_; }
    T& operator*() const { return l_->value_; }

   private:
    RwLock* l_;
  };

  ReadGuard read() { return ReadGuard(*this); }
  WriteGuard write() { return WriteGuard(*this); }
  // Access without locking, for code that holds exclusive ownership (construction,
  // teardown, update_prepare with all calls quiesced).
  T& unlocked() { return value_; }

 private:
  RawRwLock raw_;
  T value_;
};

template <typename T>
class Mutex {
 public:
  template <typename... Args>
  explicit Mutex(Args&&... args) : value_(std::forward<Args>(args)...) {}

  class Guard {
   public:
    explicit Guard(Mutex& m) : m_(&m) { m_->raw_.lock(); }
    Guard(Guard&& o) noexcept : m_(o.m_) { o.m_ = nullptr; }
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;
    ~Guard() {
      if (m_ != nullptr) m_->raw_.unlock();
    }
    T* operator->() const { return &m_->value_; }
    T& operator*() const { return m_->value_; }
    RawMutex& raw() const { return m_->raw_; }

   private:
    Mutex* m_;
  };

  Guard lock() { return Guard(*this); }
  T& unlocked() { return value_; }

 private:
  RawMutex raw_;
  T value_;
};

// Waits on a Mutex<T>'s guard: the guard's mutex is released while waiting.
class CondVar {
 public:
  CondVar() { bento_ks_condvar_init(storage_); }
  ~CondVar() { bento_ks_condvar_destroy(storage_); }
  CondVar(const CondVar&) = delete;
  CondVar& operator=(const CondVar&) = delete;

  template <typename G>
  void wait(G& guard) {
    (void)bento_ks_condvar_wait(storage_, guard.raw().native(), -1);
  }
  // Returns false on timeout.
  template <typename G>
  bool wait_for(G& guard, int64_t timeout_ns) {
    return bento_ks_condvar_wait(storage_, guard.raw().native(), timeout_ns) == 0;
  }
  void notify_one() { bento_ks_condvar_notify_one(storage_); }
  void notify_all() { bento_ks_condvar_notify_all(storage_); }

 private:
  alignas(16) unsigned char storage_[BENTO_KS_CONDVAR_STORAGE];
};

}  // namespace bento
