// Background threads (kthreads in the kernel), e.g. a journal's commit thread.
#pragma once

#include <bento/result.h>
#include <bento/services.h>

namespace bento {

class Thread {
 public:
  Thread() = default;
  Thread(Thread&& o) noexcept : handle_(o.handle_) { o.handle_ = nullptr; }
  Thread& operator=(Thread&& o) noexcept {
    if (this != &o) {
      join();
      handle_ = o.handle_;
      o.handle_ = nullptr;
    }
    return *this;
  }
  Thread(const Thread&) = delete;
  Thread& operator=(const Thread&) = delete;
  ~Thread() { join(); }

  // Runs fn(arg) on a new thread. arg must outlive the thread (join before freeing it).
  static Result<Thread> spawn(bento_ks_thread_fn fn, void* arg, const char* name) {
    void* h = bento_ks_thread_spawn(fn, arg, name);
    if (h == nullptr) return Err(EAGAIN);
    Thread t;
    t.handle_ = h;
    return t;
  }

  bool joinable() const { return handle_ != nullptr; }
  void join() {
    if (handle_ != nullptr) bento_ks_thread_join(handle_);
    handle_ = nullptr;
  }

 private:
  void* handle_ = nullptr;
};

}  // namespace bento
