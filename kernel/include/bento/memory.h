// Owning pointers over the kernel-services allocator. Allocation failure yields a null
// pointer, never an exception: check it (make_unique returns Result).
#pragma once

#include <bento/result.h>
#include <bento/services.h>

#include <new>
#include <type_traits>
#include <utility>

namespace bento {

template <typename T>
class UniquePtr {
 public:
  UniquePtr() = default;
  UniquePtr(decltype(nullptr)) {}
  // Adopts p, which must come from bento::make_unique (or new_object) of the same type.
  static UniquePtr adopt(T* p) { return UniquePtr(p); }
  UniquePtr(UniquePtr&& o) noexcept : p_(o.p_) { o.p_ = nullptr; }
  template <typename U, typename = std::enable_if_t<std::is_convertible_v<U*, T*>>>
  UniquePtr(UniquePtr<U>&& o) noexcept : p_(o.release()) {}
  UniquePtr& operator=(UniquePtr&& o) noexcept {
    if (this != &o) {
      reset();
      p_ = o.p_;
      o.p_ = nullptr;
    }
    return *this;
  }
  UniquePtr(const UniquePtr&) = delete;
  UniquePtr& operator=(const UniquePtr&) = delete;
  ~UniquePtr() { reset(); }

  T* get() const { return p_; }
  T* operator->() const { return p_; }
  T& operator*() const { return *p_; }
  explicit operator bool() const { return p_ != nullptr; }
  T* release() {
    T* p = p_;
    p_ = nullptr;
    return p;
  }
  void reset() {
    if (p_ != nullptr) {
      // Polymorphic objects must be destroyed through a virtual destructor; the storage
      // address is then the most-derived object's, recovered with dynamic-free arithmetic
      // only for single inheritance, which is all Bento uses.
      p_->~T();
      bento_ks_free(static_cast<void*>(p_));
      p_ = nullptr;
    }
  }

 private:
  explicit UniquePtr(T* p) : p_(p) {}
  T* p_ = nullptr;
};

// Constructs a T on the kernel-services heap. ENOMEM when the allocator is exhausted.
template <typename T, typename... Args>
Result<UniquePtr<T>> make_unique(Args&&... args) {
  void* mem = bento_ks_alloc(sizeof(T), alignof(T));
  if (mem == nullptr) return Err(ENOMEM);
  return UniquePtr<T>::adopt(new (mem) T(std::forward<Args>(args)...));
}

}  // namespace bento
