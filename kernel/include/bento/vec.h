// A growable array on the kernel-services allocator. Growth is fallible: every operation
// that may allocate returns a Status (ENOMEM) instead of throwing.
#pragma once

#include <bento/result.h>
#include <bento/services.h>

#include <cstddef>
#include <new>
#include <span>
#include <type_traits>
#include <utility>

namespace bento {

template <typename T>
class Vec {
 public:
  Vec() = default;
  Vec(Vec&& o) noexcept : data_(o.data_), size_(o.size_), cap_(o.cap_) {
    o.data_ = nullptr;
    o.size_ = o.cap_ = 0;
  }
  Vec& operator=(Vec&& o) noexcept {
    if (this != &o) {
      free_all();
      data_ = o.data_;
      size_ = o.size_;
      cap_ = o.cap_;
      o.data_ = nullptr;
      o.size_ = o.cap_ = 0;
    }
    return *this;
  }
  Vec(const Vec&) = delete;
  Vec& operator=(const Vec&) = delete;
  ~Vec() { free_all(); }

  size_t size() const { return size_; }
  size_t capacity() const { return cap_; }
  bool empty() const { return size_ == 0; }
  T* data() { return data_; }
  const T* data() const { return data_; }
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }
  T& back() { return data_[size_ - 1]; }
  T* begin() { return data_; }
  T* end() { return data_ + size_; }
  const T* begin() const { return data_; }
  const T* end() const { return data_ + size_; }
  std::span<T> span() { return {data_, size_}; }
  std::span<const T> span() const { return {data_, size_}; }

  Status reserve(size_t n) {
    if (n <= cap_) return Status::Ok();
    void* mem = bento_ks_alloc(n * sizeof(T), alignof(T));
    if (mem == nullptr) return Err(ENOMEM);
    T* fresh = static_cast<T*>(mem);
    for (size_t i = 0; i < size_; i++) {
      new (&fresh[i]) T(std::move(data_[i]));
      data_[i].~T();
    }
    if (data_ != nullptr) bento_ks_free(data_);
    data_ = fresh;
    cap_ = n;
    return Status::Ok();
  }

  Status push_back(T v) {
    if (size_ == cap_) BENTO_TRY(reserve(cap_ < 4 ? 4 : cap_ * 2));
    new (&data_[size_]) T(std::move(v));
    size_++;
    return Status::Ok();
  }

  template <typename... Args>
  Status emplace_back(Args&&... args) {
    if (size_ == cap_) BENTO_TRY(reserve(cap_ < 4 ? 4 : cap_ * 2));
    new (&data_[size_]) T(std::forward<Args>(args)...);
    size_++;
    return Status::Ok();
  }

  void pop_back() {
    size_--;
    data_[size_].~T();
  }

  // Grows with value-initialised elements or shrinks.
  Status resize(size_t n) {
    if (n > size_) {
      BENTO_TRY(reserve(n));
      for (size_t i = size_; i < n; i++) new (&data_[i]) T();
    } else {
      for (size_t i = n; i < size_; i++) data_[i].~T();
    }
    size_ = n;
    return Status::Ok();
  }

  // Removes element i by moving the last one into its place (O(1), order not kept).
  void swap_remove(size_t i) {
    if (i + 1 != size_) data_[i] = std::move(data_[size_ - 1]);
    pop_back();
  }

  // Removes element i keeping order (O(n)).
  void erase(size_t i) {
    for (size_t j = i; j + 1 < size_; j++) data_[j] = std::move(data_[j + 1]);
    pop_back();
  }

  // Drops elements from index n on (no-op when n >= size()).
  void truncate(size_t n) {
    while (size_ > n) pop_back();
  }

  void clear() {
    for (size_t i = 0; i < size_; i++) data_[i].~T();
    size_ = 0;
  }

 private:
  void free_all() {
    clear();
    if (data_ != nullptr) bento_ks_free(data_);
    data_ = nullptr;
    cap_ = 0;
  }
  T* data_ = nullptr;
  size_t size_ = 0;
  size_t cap_ = 0;
};

}  // namespace bento
